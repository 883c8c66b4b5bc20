//go:build integration

package integration

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// joinTokenFile creates a one-use join token through the REST API of a
// plaintext (loopback) control plane and writes it into dir.
func joinTokenFile(tb testing.TB, api, adminFile, dir string) string {
	tb.Helper()
	admin, err := os.ReadFile(adminFile)
	if err != nil {
		tb.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, api+"/api/v1/join-tokens", bytes.NewReader([]byte(`{"ttl":"10m","uses":1}`)))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(admin)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var jt struct{ Secret string }
	if err := json.NewDecoder(resp.Body).Decode(&jt); err != nil || resp.StatusCode != http.StatusCreated || jt.Secret == "" {
		tb.Fatalf("create join token: %s, %v", resp.Status, err)
	}
	f := filepath.Join(dir, "join-token")
	if err := os.WriteFile(f, []byte(jt.Secret+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	return f
}
