package controlplane

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The admin token is created 0600 on first start; a token file others may
// read is refused, and the kubelet's 0440 for a Secret is accepted.
func TestAdminTokenFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "admin.token")
	tok, created, err := loadOrCreateToken(path, "api.admin_token_file")
	if err != nil || !created || len(tok) < 16 {
		t.Fatalf("create: %q %v %v", tok, created, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("created file: %v %v", fi.Mode(), err)
	}
	again, created, err := loadOrCreateToken(path, "api.admin_token_file")
	if err != nil || created || string(again) != string(tok) {
		t.Fatalf("reload: %q %v %v", again, created, err)
	}
	for mode, ok := range map[os.FileMode]bool{0o440: true, 0o644: false, 0o660: false} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, _, err := loadOrCreateToken(path, "api.admin_token_file")
		if (err == nil) != ok {
			t.Errorf("mode %04o: err = %v, want ok=%v", mode, err, ok)
		}
		if err != nil && (!strings.Contains(err.Error(), "api.admin_token_file") || strings.Contains(err.Error(), string(tok))) {
			t.Errorf("mode %04o: error %q must name the key and not hold the token", mode, err)
		}
	}
}
