package agent

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/nscale/nscale/internal/agentapi/agentapitest"
	"github.com/nscale/nscale/internal/configfile"
)

// startKeysCP serves the calls an agent makes at start over TLS: Enroll
// for the join token it expects, then the keys to enrolled agents only.
// It returns the address and the CA.
func startKeysCP(t *testing.T, joinToken string) (string, *agentapitest.CA) {
	t.Helper()
	keys := agentapitest.NewKeys(t, "unused")
	keys.CA = agentapitest.NewCA(t, t.TempDir(), joinToken)
	return agentapitest.ServeTLS(t, keys, keys.CA), keys.CA
}

// enrolWith points cfg at a control plane and a join token file holding token.
func enrolWith(t *testing.T, cfg *Config, addr string, ca *agentapitest.CA, token string) {
	t.Helper()
	dir := t.TempDir()
	cfg.ControlPlane.Address = configfile.HostPort(addr)
	cfg.ControlPlane.TLS.CAFile = ca.File
	cfg.ControlPlane.Enrolment.JoinTokenFile = filepath.Join(dir, "join-token")
	cfg.ControlPlane.Enrolment.StateDir = filepath.Join(dir, "state")
	if err := os.WriteFile(cfg.ControlPlane.Enrolment.JoinTokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readyz(t *testing.T, addr net.Addr) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get("http://" + addr.String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep struct {
		Components []struct{ Name, Code, Message string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	codes := map[string]string{}
	for _, c := range rep.Components {
		codes[c.Name] = c.Code
	}
	return resp.StatusCode, codes
}

// TestRun starts the agent against a control plane that refuses its join
// token (never ready) and one that enrols it (ready), and checks the listeners,
// the socket's mode and its removal at shutdown, and what systemd hears
// (sd_notify READY=1 only once enrolled, STOPPING=1 at shutdown).
func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cpToken   string
		wantReady bool
	}{
		{"control plane refuses the join token", "another-token", false},
		{"control plane enrols the agent", "nsj_agent-token", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, err := os.MkdirTemp("", "nsa") // short: socket paths are limited
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			sock := filepath.Join(dir, "agent.sock")
			// systemd's NOTIFY_SOCKET (Type=notify), listened on here.
			notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "notify"), Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			defer notify.Close()
			t.Setenv("NOTIFY_SOCKET", filepath.Join(dir, "notify"))
			readNotify := func(wait time.Duration) string {
				buf := make([]byte, 4096)
				_ = notify.SetReadDeadline(time.Now().Add(wait))
				n, _, err := notify.ReadFromUnix(buf)
				if err != nil {
					return ""
				}
				return string(buf[:n])
			}

			cfg := DefaultConfig()
			cfg.Ops.Listen = "127.0.0.1:0"
			cfg.Flight.Listen = "127.0.0.1:0"
			cfg.Flight.Socket = sock
			addr, ca := startKeysCP(t, tc.cpToken)
			enrolWith(t, &cfg, addr, ca, "nsj_agent-token")
			cfg.ShutdownTimeout = 5 * time.Second
			a, err := newAgent(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), func() int { return 1000 })
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- a.Run(ctx) }()
			select {
			case <-a.Ready():
			case err := <-done:
				t.Fatalf("Run: %v", err)
			}

			fi, err := os.Lstat(sock)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o660 {
				t.Errorf("socket mode = %v, want socket 0660", fi.Mode())
			}
			if a.FlightAddr() == nil || strings.HasSuffix(a.FlightAddr().String(), ":0") {
				t.Fatalf("FlightAddr = %v", a.FlightAddr())
			}

			// Readiness follows the keys.
			deadline := time.Now().Add(5 * time.Second)
			var code int
			var comps map[string]string
			for {
				code, comps = readyz(t, a.OpsAddr())
				if !tc.wantReady || code == http.StatusOK || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if tc.wantReady && (code != http.StatusOK || comps["control_plane"] != "READY" || comps["enrolment"] != "READY") {
				t.Errorf("readyz = %d %v, want READY", code, comps)
			}
			if !tc.wantReady && (code != http.StatusServiceUnavailable || comps["control_plane"] != "NOT_READY" || comps["enrolment"] != "NOT_READY") {
				t.Errorf("readyz = %d %v, want NOT_READY", code, comps)
			}

			// systemd hears READY=1 once the agent is enrolled, and not
			// before: a refused token leaves systemd waiting.
			msg := readNotify(map[bool]time.Duration{true: 10 * time.Second, false: 1500 * time.Millisecond}[tc.wantReady])
			if tc.wantReady && (!strings.Contains(msg, "READY=1") || !strings.Contains(msg, "STATUS=enrolled as ")) {
				t.Errorf("notify = %q, want READY=1 with the enrolment status", msg)
			}
			if !tc.wantReady && msg != "" {
				t.Errorf("notify = %q before enrolment, want nothing", msg)
			}

			// Flight SQL answers on both listeners (and wants a credential).
			for _, addr := range []string{a.FlightAddr().String(), "unix://" + sock} {
				cl, err := flightsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
				if err != nil {
					t.Fatal(err)
				}
				_, err = cl.GetCatalogs(context.Background())
				if status.Code(err) != codes.Unauthenticated {
					t.Errorf("%s: GetCatalogs without a credential: %v, want Unauthenticated", addr, err)
				}
				cl.Close()
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run after cancel: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return")
			}
			if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("socket left behind after shutdown: %v", err)
			}
			if tc.wantReady {
				if msg := readNotify(2 * time.Second); msg != "STOPPING=1" {
					t.Errorf("at shutdown notify = %q, want STOPPING=1", msg)
				}
			}
		})
	}
}

func TestRunRefusesBusySocketPath(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.sock")
	if err := os.WriteFile(path, []byte("not a socket"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Ops.Listen = "127.0.0.1:0"
	cfg.Flight.Listen = "127.0.0.1:0"
	cfg.Flight.Socket = path
	addr, ca := startKeysCP(t, "nsj_x")
	enrolWith(t, &cfg, addr, ca, "nsj_x")
	a, err := newAgent(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), func() int { return 1000 })
	if err != nil {
		t.Fatal(err)
	}
	err = a.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Run = %v, want a refusal", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "not a socket" {
		t.Error("the file at the socket path was touched")
	}
}
