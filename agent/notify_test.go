package agent

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The agent sends READY=1 to the NOTIFY_SOCKET systemd gives a Type=notify
// service once it is enrolled, and not before: a control plane that
// refuses its token leaves systemd waiting. STOPPING=1 follows at shutdown.
func TestNotifiesSystemdWhenEnrolled(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cpToken   string
		wantReady bool
	}{
		{"refused", "another-token", false},
		{"enrolled", "nsj_agent-token", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, err := os.MkdirTemp("", "nsn")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			notify := filepath.Join(dir, "notify")
			conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notify, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			t.Setenv("NOTIFY_SOCKET", notify)

			cfg := DefaultConfig()
			cfg.Ops.Listen = "127.0.0.1:0"
			cfg.Flight.Listen = "127.0.0.1:0"
			cfg.Flight.Socket = ""
			cfg.EBPF.PinDir = ""
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

			read := func(wait time.Duration) string {
				buf := make([]byte, 4096)
				_ = conn.SetReadDeadline(time.Now().Add(wait))
				n, _, err := conn.ReadFromUnix(buf)
				if err != nil {
					return ""
				}
				return string(buf[:n])
			}
			msg := read(map[bool]time.Duration{true: 10 * time.Second, false: 1500 * time.Millisecond}[tc.wantReady])
			if tc.wantReady && (!strings.Contains(msg, "READY=1") || !strings.Contains(msg, "STATUS=enrolled as ")) {
				t.Fatalf("notify = %q, want READY=1 with the enrolment status", msg)
			}
			if !tc.wantReady && msg != "" {
				t.Fatalf("notify = %q before enrolment, want nothing", msg)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run: %v", err)
			}
			if tc.wantReady {
				if msg := read(2 * time.Second); msg != "STOPPING=1" {
					t.Fatalf("at shutdown notify = %q, want STOPPING=1", msg)
				}
			}
		})
	}
}
