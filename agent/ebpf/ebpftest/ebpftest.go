// Package ebpftest gives tests a place to install the eBPF connect guard:
// it skips unless they run as root where the guard works (and fails
// instead under CI=true, where a root runner must run them), and makes a
// throwaway child cgroup and pin directory.
package ebpftest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/agent/ebpf"
)

// CgroupRoot is where this machine kind mounts cgroup v2.
const CgroupRoot = "/sys/fs/cgroup/unified"

// Require skips unless the guard can be installed here.
func Require(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("installing the eBPF guard needs root; running as uid %d", os.Geteuid())
	}
	if err := ebpf.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("eBPF guard unavailable as root in CI: %v", err)
		}
		t.Skipf("eBPF guard unavailable: %v", err)
	}
}

// Name is a fresh name with prefix, safe for cgroups and bpffs (no dots).
func Name(t *testing.T, prefix string) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// Cgroup makes a child cgroup v2, removed at cleanup (stragglers moved out).
func Cgroup(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(CgroupRoot, Name(t, "nscale-test-"))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("creating cgroup: %v", err)
	}
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")); err == nil {
			for _, pid := range strings.Fields(string(b)) {
				os.WriteFile(filepath.Join(CgroupRoot, "cgroup.procs"), []byte(pid), 0o644)
			}
		}
		var err error
		for range 50 {
			if err = os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("removing cgroup %s: %v", dir, err)
	})
	return dir
}

// PinDir is a fresh, not yet existing pin directory on bpffs, with the
// guard uninstalled from it at cleanup.
func PinDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("/sys/fs/bpf", Name(t, "nscale_test_"))
	t.Cleanup(func() { ebpf.Uninstall(dir) })
	return dir
}
