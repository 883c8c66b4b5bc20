package agent

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cebpf "github.com/cilium/ebpf"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nscale/nscale/agent/ebpf"
	"github.com/nscale/nscale/agent/ebpf/ebpftest"
)

func metricsText(t *testing.T, a *Agent) string {
	t.Helper()
	resp, err := http.Get("http://" + a.OpsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func runAgent(t *testing.T, cfg Config) *Agent {
	t.Helper()
	a, err := newAgent(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), func() int { return 1000 })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-a.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("not ready")
	}
	return a
}

// Without a guard the agent runs and says so in a metric; with the one a
// bootstrap installed, it makes the guard's allow-list its own and
// exports the guard as enabled.
func TestGuardWiring(t *testing.T) {
	addr, ca := startKeysCP(t, "nsj_g")
	cfg := DefaultConfig()
	cfg.Ops.Listen, cfg.Flight.Listen, cfg.Flight.Socket = "127.0.0.1:0", "127.0.0.1:0", ""
	enrolWith(t, &cfg, addr, ca, "nsj_g")
	cfg.EBPF.PinDir = filepath.Join(t.TempDir(), "no-guard-here")
	a := runAgent(t, cfg)
	if m := metricsText(t, a); !strings.Contains(m, "nscale_agent_ebpf_guard_enabled 0") {
		t.Fatalf("without a guard:\n%s", m)
	}

	ebpftest.Require(t)
	pins := ebpftest.PinDir(t)
	if err := ebpf.Install(ebpf.InstallOptions{CgroupPath: ebpftest.Cgroup(t), PinDir: pins, Port: 7443, AllowedUIDs: []uint32{4242}}); err != nil {
		t.Fatal(err)
	}
	cfg2 := DefaultConfig()
	cfg2.Ops.Listen, cfg2.Flight.Listen, cfg2.Flight.Socket = "127.0.0.1:0", "127.0.0.1:0", ""
	addr2, ca2 := startKeysCP(t, "nsj_h")
	enrolWith(t, &cfg2, addr2, ca2, "nsj_h")
	cfg2.EBPF.PinDir = pins
	cfg2.Flight.AllowedUIDs = []int{0, 1234}
	a2 := runAgent(t, cfg2)
	if m := metricsText(t, a2); !strings.Contains(m, "nscale_agent_ebpf_guard_enabled 1") {
		t.Fatalf("with a guard:\n%s", m)
	}
	m, err := cebpf.LoadPinnedMap(filepath.Join(pins, "allowed"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var got []uint32
	var k uint32
	var v uint8
	for it := m.Iterate(); it.Next(&k, &v); {
		got = append(got, k)
	}
	if len(got) != 2 || !(got[0] == 0 && got[1] == 1234 || got[0] == 1234 && got[1] == 0) {
		t.Fatalf("guard allow-list = %v, want the agent's [0 1234] (not the bootstrap's 4242)", got)
	}
}
