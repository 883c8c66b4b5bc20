package tlsfiles

import (
	"crypto/tls"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/internal/tlsfiles/tlstest"
)

// serve answers TLS handshakes with cfg until the test ends.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.(*tls.Conn).Handshake()
			}()
		}
	}()
	return ln.Addr().String()
}

// peer dials addr trusting caFile and returns the server certificate's
// subject, or the handshake error.
func peer(t *testing.T, addr, caFile string) (string, error) {
	t.Helper()
	cfg, err := ClientConfig(caFile, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

// A renewed certificate is served without a restart; a broken renewal
// keeps the previous one.
func TestReloadOnChange(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "test")
	cert, key := ca.Issue(t, dir, "first", "127.0.0.1")
	r, err := NewReloader(Files{CertFile: cert, KeyFile: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	r.now = func() time.Time { return clock }
	addr := serve(t, ServerConfig(r))
	if cn, err := peer(t, addr, ca.File); err != nil || cn != "first" {
		t.Fatalf("before the renewal: %q, %v", cn, err)
	}

	// Renew: the new pair replaces the files.
	c2, k2 := ca.Issue(t, dir, "second", "127.0.0.1")
	for _, p := range [][2]string{{c2, cert}, {k2, key}} {
		if err := os.Rename(p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}
	clock = clock.Add(2 * reloadCheck)
	if cn, err := peer(t, addr, ca.File); err != nil || cn != "second" {
		t.Fatalf("after the renewal: %q, %v", cn, err)
	}

	// A half-written certificate keeps the previous one.
	if err := os.WriteFile(cert, []byte("-----BEGIN CERTIFICATE-----\ngarbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * reloadCheck)
	if cn, err := peer(t, addr, ca.File); err != nil || cn != "second" {
		t.Fatalf("after a broken renewal: %q, %v; want the previous certificate", cn, err)
	}
}

// The client trusts the bundle it is given and nothing else.
func TestClientVerifies(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "right")
	other := tlstest.NewCA(t, dir, "other")
	cert, key := ca.Issue(t, dir, "server", "127.0.0.1")
	r, err := NewReloader(Files{CertFile: cert, KeyFile: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, ServerConfig(r))
	if _, err := peer(t, addr, other.File); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("another CA's bundle: %v", err)
	}
	if _, err := peer(t, addr, ""); err == nil {
		t.Error("the system roots trusted a test CA")
	}
	if cn, err := peer(t, addr, ca.File); err != nil || cn != "server" {
		t.Errorf("the right bundle: %q, %v", cn, err)
	}
	// A certificate for another name is refused.
	wrong, wkey := ca.Issue(t, dir, "wrong", "db.example.com")
	r2, err := NewReloader(Files{CertFile: wrong, KeyFile: wkey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := peer(t, serve(t, ServerConfig(r2)), ca.File); err == nil || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("a certificate for another host: %v", err)
	}
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewReloader(Files{CertFile: dir + "/none.pem", KeyFile: dir + "/none-key.pem"}, nil); err == nil || !strings.Contains(err.Error(), "none.pem") {
		t.Errorf("missing files: %v", err)
	}
	empty := dir + "/empty.pem"
	if err := os.WriteFile(empty, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ClientConfig(empty, ""); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Errorf("a CA file without a certificate: %v", err)
	}
	if _, err := SystemPoolWith(empty); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Errorf("a system pool with a CA file without a certificate: %v", err)
	}
	if err := (Files{CertFile: "a.pem"}).Check("api.tls"); err == nil || !strings.Contains(err.Error(), "api.tls.cert_file and api.tls.key_file go together") {
		t.Errorf("a certificate without a key: %v", err)
	}
}
