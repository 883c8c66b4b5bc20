package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nscale/nscale/agent/ebpf/ebpftest"
)

// bootstrap --ebpf installs the guard (pins present, owned by the agent's
// user) and --uninstall removes every pin; bad input is a usage error.
func TestBootstrapEBPF(t *testing.T) {
	var out, errb bytes.Buffer
	if code := bootstrapCmd([]string{"--ebpf", "--port", "0"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--port 0") {
		t.Fatalf("port 0: %d %s", code, errb.String())
	}
	ebpftest.Require(t)
	cg, pins := ebpftest.Cgroup(t), ebpftest.PinDir(t)
	// A user the node does not have yet (EMR's spark) is said to be
	// pending, not an error: the agent adds it once it exists.
	args := []string{"--ebpf", "--cgroup", cg, "--pin-dir", pins, "--port", "7443", "--allowed-users", "root,no-such-user-nscale", "--agent-user", "nscale-test"}
	out.Reset()
	errb.Reset()
	if code := bootstrapCmd(args, &out, &errb); code != 0 {
		t.Fatalf("install: %d %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "no-such-user-nscale not on this node yet") {
		t.Fatalf("install output %q does not name the pending user", out.String())
	}
	fi, err := os.Stat(filepath.Join(pins, "allowed"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("allowed pin mode %v", fi.Mode())
	}
	if code := bootstrapCmd(args, &out, &errb); code != 0 {
		t.Fatalf("second install (stale pins): %d %s", code, errb.String())
	}
	if code := bootstrapCmd([]string{"--ebpf", "--uninstall", "--pin-dir", pins}, &out, &errb); code != 0 {
		t.Fatalf("uninstall: %d %s", code, errb.String())
	}
	if _, err := os.Stat(pins); !os.IsNotExist(err) {
		t.Fatalf("pins left after uninstall: %v", err)
	}
}

// The chart's init container names the agent by uid: its image has no
// passwd entry for 65532.
func TestAgentOwnerNumeric(t *testing.T) {
	uid, gid, err := agentOwner("65532")
	if err != nil || uid != 65532 || gid != 65532 {
		t.Fatalf("agentOwner(65532) = %d %d %v", uid, gid, err)
	}
	if _, _, err := agentOwner("no-such-user-nscale"); err == nil {
		t.Fatal("an unknown user name was accepted")
	}
}

// --socket-dir alone prepares the directory; mixed with the node install's
// flags it is a usage error.
func TestBootstrapSocketDir(t *testing.T) {
	var out, errb bytes.Buffer
	if code := bootstrapCmd([]string{"--socket-dir", t.TempDir(), "--control-plane", "cp:7081"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--socket-dir") {
		t.Fatalf("mixed flags: %d %s", code, errb.String())
	}
	if os.Geteuid() != 0 {
		t.Skip("chown to 65532 needs root (CI runs as root)")
	}
	dir := filepath.Join(t.TempDir(), "nscale")
	errb.Reset()
	if code := bootstrapCmd([]string{"--socket-dir", dir, "--agent-user", "65532"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o750 {
		t.Fatalf("%s: %v %v", dir, fi, err)
	}
}
