package secretfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckMode(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		mode os.FileMode
		ok   bool
	}{
		{0o600, true}, {0o400, true}, {0o440, true}, {0o640, true},
		{0o660, false}, {0o604, false}, {0o644, false}, {0o602, false}, {0o601, false}, {0o620, false},
	} {
		p := filepath.Join(dir, "k")
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, c.mode); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		err = CheckMode("key file "+p, fi)
		if (err == nil) != c.ok {
			t.Errorf("mode %04o: err = %v, want ok=%v", c.mode, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), p) {
			t.Errorf("mode %04o: error %q does not name the file", c.mode, err)
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckMode("dir", fi); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
}
