package bootstrap

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The chart's init container hands the kubelet-made hostPath to the agent's
// uid, and a symlink or file planted at that path is refused, its target
// left as it was.
func TestPrepareSocketDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("PrepareSocketDir chowns to another uid: needs root (CI runs as root)")
	}
	const uid, gid = 65532, 65532
	root := t.TempDir()
	check := func(p string) {
		t.Helper()
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if !fi.IsDir() || fi.Mode().Perm() != SocketDirMode || st.Uid != uid || st.Gid != gid {
			t.Fatalf("%s: %v %d:%d, want a directory %04o %d:%d", p, fi.Mode(), st.Uid, st.Gid, SocketDirMode, uid, gid)
		}
	}
	missing := filepath.Join(root, "missing")
	if err := PrepareSocketDir(missing, uid, gid); err != nil {
		t.Fatal(err)
	}
	check(missing)

	kubelet := filepath.Join(root, "kubelet")
	if err := os.Mkdir(kubelet, 0o755); err != nil {
		t.Fatal(err)
	}
	for range 2 { // and again: idempotent
		if err := PrepareSocketDir(kubelet, uid, gid); err != nil {
			t.Fatal(err)
		}
		check(kubelet)
	}

	target := filepath.Join(root, "etc")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{link, file} {
		err := PrepareSocketDir(p, uid, gid)
		if err == nil || !strings.Contains(err.Error(), "is not a directory") || !strings.Contains(err.Error(), p) {
			t.Fatalf("%s: err = %v, want a refusal naming it", p, err)
		}
	}
	for _, p := range []string{target, file} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 || fi.Mode().Perm() == SocketDirMode {
			t.Fatalf("%s was changed through the refused path: uid %d mode %v", p, st.Uid, fi.Mode())
		}
	}
}
