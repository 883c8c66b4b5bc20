// Package peer tells the agent which local user is calling: SO_PEERCRED
// on the unix socket, and on loopback TCP the owner of the client's socket
// through NETLINK_SOCK_DIAG (what `ss -tne` shows; no privilege needed).
// The Flight SQL server refuses callers outside the configured allow-list
// before it looks at their token.
package peer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/credentials"
	grpcpeer "google.golang.org/grpc/peer"
)

// Cred is a caller's identity on this node. PID is the process that opened
// the connection, for logs only: a pid can be reused once that process has
// exited, so nothing is decided on it (the uid is fixed per socket).
type Cred struct {
	UID   uint32
	GID   uint32 // unix socket only; TCP peers have no gid in sock_diag
	PID   int32  // unix socket only
	Known bool   // false when the transport could not tell (the caller is refused when an allow-list is set)
	Via   string // "unix" or "tcp"
}

func (c Cred) String() string {
	if !c.Known {
		return "an unknown local user"
	}
	return "uid " + strconv.FormatUint(uint64(c.UID), 10)
}

// Of reads the caller of conn.
func Of(conn net.Conn) (Cred, error) {
	switch c := conn.(type) {
	case *net.UnixConn:
		return unixCred(c)
	case *net.TCPConn:
		local, _ := c.LocalAddr().(*net.TCPAddr)
		remote, _ := c.RemoteAddr().(*net.TCPAddr)
		if local == nil || remote == nil {
			return Cred{Via: "tcp"}, errors.New("peer: not a TCP connection")
		}
		uid, err := TCPUID(local, remote)
		if err != nil {
			return Cred{Via: "tcp"}, err
		}
		return Cred{UID: uid, Known: true, Via: "tcp"}, nil
	}
	return Cred{}, fmt.Errorf("peer: cannot tell the caller of a %T", conn)
}

func unixCred(c *net.UnixConn) (Cred, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Cred{Via: "unix"}, err
	}
	var uc *unix.Ucred
	var gerr error
	if err := raw.Control(func(fd uintptr) { uc, gerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) }); err != nil {
		return Cred{Via: "unix"}, err
	}
	if gerr != nil {
		return Cred{Via: "unix"}, fmt.Errorf("peer: SO_PEERCRED: %w", gerr)
	}
	return Cred{UID: uc.Uid, GID: uc.Gid, PID: uc.Pid, Known: true, Via: "unix"}, nil
}

// AuthInfo carries the caller's Cred through gRPC.
type AuthInfo struct {
	credentials.CommonAuthInfo
	Cred Cred
	Err  error // why the caller could not be told, if it could not
}

// AuthType names the transport.
func (AuthInfo) AuthType() string { return "nscale-peer" }

// FromContext is the caller of the call ctx belongs to.
func FromContext(ctx context.Context) (Cred, error) {
	p, ok := grpcpeer.FromContext(ctx)
	if !ok {
		return Cred{}, errors.New("peer: no connection")
	}
	ai, ok := p.AuthInfo.(AuthInfo)
	if !ok {
		return Cred{}, errors.New("peer: the connection did not record its caller")
	}
	return ai.Cred, ai.Err
}

// Credentials are plaintext transport credentials (the agent serves
// loopback and a unix socket) that record each connection's caller.
type Credentials struct{}

func (Credentials) ClientHandshake(_ context.Context, _ string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return conn, AuthInfo{CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.NoSecurity}}, nil
}

// ServerHandshake reads the caller once per connection: a socket's owner
// does not change.
func (Credentials) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	c, err := Of(conn)
	return conn, AuthInfo{CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.NoSecurity}, Cred: c, Err: err}, nil
}

func (Credentials) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "nscale-peer"}
}
func (c Credentials) Clone() credentials.TransportCredentials { return c }
func (Credentials) OverrideServerName(string) error           { return nil }
