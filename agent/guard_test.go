package agent

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
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

// A user named in flight.allowed_users that the node creates after the
// agent started (EMR's spark) reaches the guard's map without a restart,
// and until then the map lets no one through.
func TestGuardFollowsPendingUser(t *testing.T) {
	ebpftest.Require(t)
	if _, err := exec.LookPath("useradd"); err != nil {
		t.Skip("useradd missing")
	}
	old := allowListSync
	allowListSync = 100 * time.Millisecond
	t.Cleanup(func() { allowListSync = old })
	pins := ebpftest.PinDir(t)
	if err := ebpf.Install(ebpf.InstallOptions{CgroupPath: ebpftest.Cgroup(t), PinDir: pins, Port: 7443, AllowedUIDs: []uint32{4242}}); err != nil {
		t.Fatal(err)
	}
	name := "nscale-late-" + strconv.Itoa(os.Getpid()%100000)
	cfg := DefaultConfig()
	cfg.Ops.Listen, cfg.Flight.Listen, cfg.Flight.Socket = "127.0.0.1:0", "127.0.0.1:0", ""
	addr, ca := startKeysCP(t, "nsj_late")
	enrolWith(t, &cfg, addr, ca, "nsj_late")
	cfg.EBPF.PinDir = pins
	cfg.Flight.AllowedUsers = []string{name}
	runAgent(t, cfg)
	m, err := cebpf.LoadPinnedMap(filepath.Join(pins, "allowed"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	keys := func() []uint32 {
		var got []uint32
		var k uint32
		var v uint8
		for it := m.Iterate(); it.Next(&k, &v); {
			got = append(got, k)
		}
		return got
	}
	if got := keys(); len(got) != 0 {
		t.Fatalf("guard allow-list = %v before the user exists, want none", got)
	}
	if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("userdel", name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got := keys(); len(got) == 1 && got[0] == uint32(uid) {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("guard allow-list = %v 10s after %s (uid %d) was created", got, name, uid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
