//go:build integration

package integration

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nscale/nscale/presign"
)

// The control plane serves local_files.root at /blob/ to holders of a URL
// signed with its key file, and to nobody else.
func TestControlPlaneServesSignedLocalFiles(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "data", "files")
	if err := os.MkdirAll(filepath.Join(root, "sales", "dt=2024-05-06"), 0o755); err != nil {
		t.Fatal(err)
	}
	content := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	if err := os.WriteFile(filepath.Join(root, "sales", "dt=2024-05-06", "part 0.parquet"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("outside the root"), 0o644)

	d, api, _ := startControlPlane(t, dir, nil)
	keyFile := filepath.Join(dir, "data", "blob.key")
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	key, err := presign.LoadKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := presign.NewFileSigner(presign.FileConfig{BaseURL: "http://" + api, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := signer.SignGet(context.Background(), presign.Object{Key: "sales/dt=2024-05-06/part 0.parquet"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	get := func(url, rng string) (int, []byte) {
		req, _ := http.NewRequest("GET", url, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, b := get(signed.URL, ""); code != 200 || string(b) != string(content) {
		t.Fatalf("full GET: %d %q", code, b)
	}
	if code, b := get(signed.URL, "bytes=10-19"); code != 206 || string(b) != "abcdefghij" {
		t.Fatalf("range GET: %d %q", code, b)
	}
	if code, _ := get(signed.URL, "bytes=1000-"); code != 416 {
		t.Fatalf("range past end: %d", code)
	}

	otherKey := make([]byte, presign.KeySize)
	forger, _ := presign.NewFileSigner(presign.FileConfig{BaseURL: "http://" + api, Key: otherKey})
	forged, _ := forger.SignGet(context.Background(), presign.Object{Key: "sales/dt=2024-05-06/part 0.parquet"}, time.Minute)
	tampered := strings.Replace(signed.URL, "part%200", "part%201", 1)
	unsigned := signed.URL[:strings.Index(signed.URL, "?")]
	for name, u := range map[string]string{"other key": forged.URL, "changed path": tampered, "no signature": unsigned} {
		if code, b := get(u, ""); code != 403 || strings.Contains(string(b), "0123") {
			t.Errorf("%s: %d %q, want 403", name, code, b)
		}
	}
	if _, err := signer.SignGet(context.Background(), presign.Object{Key: "../secret.txt"}, time.Minute); err == nil {
		t.Error("signer accepted a path with ..")
	}
	// The admin API behind the same listener still wants its token.
	if code, _ := get("http://"+api+"/api/v1/status", ""); code != 401 {
		t.Errorf("status without token: %d", code)
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.exit(t, 10*time.Second); code != 0 {
		t.Errorf("exit %d", code)
	}
}
