package peer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// Sizes of the kernel's inet_diag structures (linux/inet_diag.h).
const (
	sizeofInetDiagReqV2 = 56
	sizeofInetDiagMsg   = 72
	inetDiagNoCookie    = ^uint32(0)
)

// TCPUID is the uid owning the client end of a loopback TCP connection:
// the socket whose source is remote and destination local, as the server
// sees them. It asks the kernel for exactly that socket, as AF_INET, then
// (a client's AF_INET6 socket connected to ::ffff:127.0.0.1) as AF_INET6.
func TCPUID(local, remote *net.TCPAddr) (uint32, error) {
	var tries [][2]net.IP
	switch {
	case local.IP.To4() != nil && remote.IP.To4() != nil:
		tries = append(tries, [2]net.IP{remote.IP.To4(), local.IP.To4()},
			[2]net.IP{remote.IP.To4().To16(), local.IP.To4().To16()})
	default:
		tries = append(tries, [2]net.IP{remote.IP.To16(), local.IP.To16()})
	}
	var lastErr error
	for _, t := range tries {
		family := uint8(unix.AF_INET6)
		if len(t[0]) == net.IPv4len {
			family = unix.AF_INET
		}
		uid, err := diag(family, t[0], uint16(remote.Port), t[1], uint16(local.Port))
		if err == nil {
			return uid, nil
		}
		lastErr = err
	}
	return 0, lastErr
}

var errNoSocket = errors.New("peer: sock_diag found no such socket")

func diag(family uint8, src net.IP, sport uint16, dst net.IP, dport uint16) (uint32, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return 0, fmt.Errorf("peer: netlink socket: %w", err)
	}
	defer unix.Close(fd)
	tv := unix.Timeval{Sec: 1}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, fmt.Errorf("peer: netlink bind: %w", err)
	}
	// nlmsghdr + inet_diag_req_v2
	req := make([]byte, unix.NLMSG_HDRLEN+sizeofInetDiagReqV2)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], 20) // SOCK_DIAG_BY_FAMILY
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST)
	ne.PutUint32(req[8:], 1)
	r := req[unix.NLMSG_HDRLEN:]
	r[0] = family
	r[1] = unix.IPPROTO_TCP
	ne.PutUint32(r[4:], ^uint32(0)) // every state
	// inet_diag_sockid: ports and addresses in network byte order.
	binary.BigEndian.PutUint16(r[8:], sport)
	binary.BigEndian.PutUint16(r[10:], dport)
	copy(r[12:28], src)
	copy(r[28:44], dst)
	ne.PutUint32(r[48:], inetDiagNoCookie)
	ne.PutUint32(r[52:], inetDiagNoCookie)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, fmt.Errorf("peer: sock_diag request: %w", err)
	}
	buf := make([]byte, 8192)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return 0, fmt.Errorf("peer: sock_diag answer: %w", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil {
		return 0, fmt.Errorf("peer: sock_diag answer: %w", err)
	}
	for _, m := range msgs {
		switch m.Header.Type {
		case unix.NLMSG_ERROR:
			if len(m.Data) >= 4 {
				if code := int32(ne.Uint32(m.Data)); code != 0 {
					if unix.Errno(-code) == unix.ENOENT {
						return 0, errNoSocket
					}
					return 0, fmt.Errorf("peer: sock_diag: %w", unix.Errno(-code))
				}
			}
			return 0, errNoSocket
		case unix.NLMSG_DONE:
			return 0, errNoSocket
		default:
			if len(m.Data) >= sizeofInetDiagMsg {
				return ne.Uint32(m.Data[64:]), nil // idiag_uid
			}
		}
	}
	return 0, errNoSocket
}
