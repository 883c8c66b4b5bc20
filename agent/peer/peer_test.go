package peer

import (
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Over a real unix socket and loopback TCP (IPv4, ::1 and an AF_INET6
// client to ::ffff:127.0.0.1), the server reads the client's uid: this
// process's own.
func TestOfRealSockets(t *testing.T) {
	me := uint32(os.Getuid())
	check := func(name, network, listen, dial string) {
		t.Helper()
		ln, err := net.Listen(network, listen)
		if err != nil {
			t.Skipf("%s: cannot listen on %s here: %v", name, listen, err)
		}
		defer ln.Close()
		addr := ln.Addr().String()
		if dial != "" {
			_, port, _ := net.SplitHostPort(addr)
			addr = net.JoinHostPort(dial, port)
		}
		var c net.Conn
		if dial != "" {
			c = dialMapped(t, ln.Addr().(*net.TCPAddr).Port)
		} else if c, err = net.Dial(network, addr); err != nil {
			t.Fatalf("%s: dial: %v", name, err)
		}
		defer c.Close()
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		cred, err := Of(s)
		if err != nil || !cred.Known || cred.UID != me {
			t.Fatalf("%s: Of = %+v, %v; want uid %d", name, cred, err, me)
		}
	}
	check("unix socket", "unix", filepath.Join(t.TempDir(), "s"), "")
	check("tcp 127.0.0.1", "tcp4", "127.0.0.1:0", "")
	check("tcp ::1", "tcp6", "[::1]:0", "")
	check("tcp6 client to ::ffff:127.0.0.1", "tcp4", "127.0.0.1:0", "::ffff:127.0.0.1")
}

// dialMapped connects an AF_INET6 socket to ::ffff:127.0.0.1:port (Go's
// dialer would use AF_INET for a v4-mapped address).
func dialMapped(t *testing.T, port int) net.Conn {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	sa := &unix.SockaddrInet6{Port: port}
	copy(sa.Addr[:], net.ParseIP("::ffff:127.0.0.1").To16())
	if err := unix.Connect(fd, sa); err != nil {
		unix.Close(fd)
		t.Fatalf("connect ::ffff:127.0.0.1: %v", err)
	}
	f := os.NewFile(uintptr(fd), "mapped")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A connection whose client socket is gone is not attributed to anyone.
func TestTCPUIDUnknownSocket(t *testing.T) {
	_, err := TCPUID(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2})
	if err == nil {
		t.Fatal("found a socket that does not exist")
	}
}

// TestHelperDial is not a test: run by TestOfAnotherUser as another user,
// it connects to PEER_TEST_DIAL and waits to be killed.
func TestHelperDial(t *testing.T) {
	target := os.Getenv("PEER_TEST_DIAL")
	if target == "" {
		t.Skip("helper process only")
	}
	network, addr, _ := strings.Cut(target, " ")
	c, err := net.Dial(network, addr)
	if err != nil {
		os.Exit(3)
	}
	defer c.Close()
	time.Sleep(30 * time.Second)
}

// A client run as another user (setpriv) is seen as that user, on the
// socket and over TCP: the uid is not simply this process's.
func TestOfAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a client as another user")
	}
	u, err := user.Lookup("nscale-test")
	if err != nil {
		t.Skip("no user nscale-test (make tools creates it)")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv missing")
	}
	uid, _ := strconv.Atoi(u.Uid)
	// A directory the other user can enter, holding a copy of this test
	// binary it can run (go test's own directory is private).
	dir, err := os.MkdirTemp("", "peer")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "peer.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ network, listen string }{{"unix", filepath.Join(dir, "s")}, {"tcp", "127.0.0.1:0"}} {
		ln, err := net.Listen(tc.network, tc.listen)
		if err != nil {
			t.Fatal(err)
		}
		if tc.network == "unix" {
			os.Chmod(tc.listen, 0o777)
		}
		cmd := exec.Command(setpriv, "--reuid="+u.Uid, "--regid="+u.Gid, "--clear-groups", bin, "-test.run=^TestHelperDial$")
		cmd.Env = append(os.Environ(), "PEER_TEST_DIAL="+tc.network+" "+ln.Addr().String())
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		accepted := make(chan net.Conn, 1)
		go func() {
			if c, err := ln.Accept(); err == nil {
				accepted <- c
			}
		}()
		var s net.Conn
		select {
		case s = <-accepted:
		case err := <-exited:
			t.Fatalf("%s: the client as %s exited before connecting: %v", tc.network, u.Username, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the client did not connect", tc.network)
		}
		cred, err := Of(s)
		s.Close()
		ln.Close()
		cmd.Process.Kill()
		<-exited
		if err != nil || cred.UID != uint32(uid) || cred.UID == 0 {
			t.Fatalf("%s: Of = %+v, %v; want uid %d", tc.network, cred, err, uid)
		}
	}
}
