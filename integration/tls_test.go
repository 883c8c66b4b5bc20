//go:build integration

package integration

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/internal/tlsfiles"
	"github.com/nscale/nscale/internal/tlsfiles/tlstest"
)

// serverCN is the common name of the certificate addr serves, verified
// against caFile.
func serverCN(t *testing.T, addr, caFile string) (string, error) {
	t.Helper()
	pool, err := tlsfiles.CAPool(caFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

// TestTLS: the stack every integration test runs on serves TLS on both
// control-plane listeners; here, what a client without the right CA, a
// plaintext client and a bad configuration get, and a certificate renewed
// on disk while the control plane runs.
func TestTLS(t *testing.T) {
	s := startStack(t, stackOptions{})

	t.Run("nscalectl with another CA", func(t *testing.T) {
		other := tlstest.NewCA(t, t.TempDir(), "other")
		_, errOut, code := runCmd(t, s.dir, []string{"NSCALE_SERVER=https://" + s.api, "NSCALE_CA_FILE=" + other.File,
			"NSCALE_TOKEN_FILE=" + s.adminFile}, "nscalectl", "status")
		if code != 1 || !strings.Contains(errOut, "certificate signed by unknown authority") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("nscalectl without a CA trusts only the system roots", func(t *testing.T) {
		_, errOut, code := runCmd(t, s.dir, []string{"NSCALE_SERVER=https://" + s.api, "NSCALE_TOKEN_FILE=" + s.adminFile}, "nscalectl", "status")
		if code != 1 || !strings.Contains(errOut, "certificate") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("plaintext to the TLS API", func(t *testing.T) {
		_, errOut, code := runCmd(t, s.dir, []string{"NSCALE_SERVER=http://" + s.api, "NSCALE_TOKEN_FILE=" + s.adminFile}, "nscalectl", "status")
		if code == 0 {
			t.Fatalf("a plaintext request was answered: %s", errOut)
		}
	})
	t.Run("--ca-file with an http server", func(t *testing.T) {
		_, errOut, code := runCmd(t, s.dir, []string{"NSCALE_SERVER=http://" + s.api, "NSCALE_CA_FILE=" + s.caFile, "NSCALE_TOKEN_FILE=" + s.adminFile}, "nscalectl", "status")
		if code != 2 || !strings.Contains(errOut, "--ca-file is for an https:// --server") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("the right CA", func(t *testing.T) {
		out, errOut, code := s.ctl(t, s.adminFile, "status")
		if code != 0 || !strings.Contains(out, "READY") {
			t.Fatalf("exit %d: %s %s", code, out, errOut)
		}
	})

	t.Run("renewed certificate is served without a restart", func(t *testing.T) {
		if cn, err := serverCN(t, s.api, s.caFile); err != nil || cn != "api" {
			t.Fatalf("before: %q, %v", cn, err)
		}
		dir := t.TempDir()
		cert, key := s.ca.Issue(t, dir, "api-renewed", "127.0.0.1", "localhost")
		// The key first, then the certificate, each renamed into place.
		for _, p := range [][2]string{{key, filepath.Join(s.dir, "api-key.pem")}, {cert, filepath.Join(s.dir, "api.pem")}} {
			if err := os.Rename(p[0], p[1]); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "the renewed certificate is served", func() bool {
			cn, err := serverCN(t, s.api, s.caFile)
			return err == nil && cn == "api-renewed"
		})
		if out, errOut, code := s.ctl(t, s.adminFile, "status"); code != 0 {
			t.Fatalf("status after the renewal: exit %d: %s %s", code, out, errOut)
		}
	})

	t.Run("agent with another CA is not ready", func(t *testing.T) {
		other := tlstest.NewCA(t, t.TempDir(), "other")
		dir, err := os.MkdirTemp("", "nsa")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		m := s.cp.waitLog(t, "control plane starting", time.Second)
		a := startEnv(t, dir, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, "nscale-agent", "run", "--allow-root",
			"--ops-listen", "127.0.0.1:0", "--flight-listen", "127.0.0.1:0", "--socket", "",
			"--control-plane", m["agent_api"].(string), "--control-plane-ca-file", other.File,
			"--join-token-file", s.joinTokenFile(t, dir, 1), "--state-dir", "", "--shutdown-timeout", "2s")
		am := a.waitLog(t, "agent starting", 30*time.Second)
		time.Sleep(2 * time.Second)
		if code, _ := httpGet("http://" + am["ops"].(string) + "/readyz"); code != 503 {
			t.Fatalf("an agent that cannot verify the control plane answers readyz %d", code)
		}
		if !strings.Contains(a.log(), "certificate signed by unknown authority") {
			t.Errorf("the agent's log does not say why:\n%s", a.log())
		}
	})
}

// A listener off loopback without TLS, and an agent dialling a control
// plane off loopback without a CA, refuse to start and say what to set.
func TestPlaintextOffLoopbackRefused(t *testing.T) {
	dir := t.TempDir()
	_, errOut, code := runCmd(t, dir, nil, "nscale-controlplane", "--api-listen", "0.0.0.0:0", "--ops-listen", "127.0.0.1:0", "--agent-api-listen", "127.0.0.1:0")
	if code != 2 || !strings.Contains(errOut, "api.listen 0.0.0.0:0 is not a loopback address and api.tls is not set") {
		t.Errorf("control plane: exit %d: %s", code, errOut)
	}
	_, errOut, code = runCmd(t, dir, nil, "nscale-agent", "run", "--allow-root", "--control-plane-ca-file", "",
		"--ops-listen", "127.0.0.1:0", "--flight-listen", "127.0.0.1:0", "--socket", "", "--control-plane", "10.255.255.1:7081")
	if code != 2 || !strings.Contains(errOut, "control_plane.tls.ca_file is required") {
		t.Errorf("agent: exit %d: %s", code, errOut)
	}
}
