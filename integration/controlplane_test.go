//go:build integration

package integration

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// A fresh control plane on the embedded default answers nscalectl status
// with READY, in table and JSON form, and creates its admin token file.
func TestStatusThroughNscalectl(t *testing.T) {
	dir := t.TempDir()
	d, api, ops := startControlPlane(t, dir, nil)
	tokenFile := filepath.Join(dir, "data", "admin.token")
	fi, err := os.Stat(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "nscale.db")); err != nil {
		t.Errorf("SQLite store not at ./data/nscale.db: %v", err)
	}

	out, errOut, code := runCmd(t, dir, nil, "nscalectl", "--server", "http://"+api, "--token-file", tokenFile, "status", "--detail")
	if code != 0 {
		t.Fatalf("status exit %d: %s", code, errOut)
	}
	for _, want := range []string{"nscale-controlplane", "READY", "sqlite (schema version", "COMPONENT", "store", "api"} {
		if !strings.Contains(out, want) {
			t.Errorf("table output lacks %q:\n%s", want, out)
		}
	}

	out, _, code = runCmd(t, dir, []string{"NSCALE_SERVER=http://" + api, "NSCALE_TOKEN_FILE=" + tokenFile}, "nscalectl", "-o", "json", "status")
	var st struct {
		Code, StoreDialect string
		SchemaVersion      int `json:"schema_version"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.Code != "READY" || st.SchemaVersion < 1 {
		t.Fatalf("json status (exit %d): %s", code, out)
	}

	resp, err := http.Get("http://" + ops + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("readyz %d", resp.StatusCode)
	}
	resp, err = http.Get("http://" + ops + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var metrics strings.Builder
	buf := make([]byte, 1<<16)
	for {
		n, err := resp.Body.Read(buf)
		metrics.Write(buf[:n])
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	for _, want := range []string{"go_goroutines", "process_resident_memory_bytes", "nscale_controlplane_api_requests_total"} {
		if !strings.Contains(metrics.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.exit(t, 10*time.Second); code != 0 {
		t.Errorf("exit %d", code)
	}
}

func TestBadConfigExitsTwoNamingKeyAndLine(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "api:\n  listen: 127.0.0.1:0\nstore:\n  dialect: sqlite\n  conect_timeout: 5s\n", []string{"cp.yaml:5", `"store.conect_timeout"`, "unknown key"}},
		{"bad duration", "shutdown_timeout: 15\n", []string{"cp.yaml:1", `"shutdown_timeout"`, "invalid duration"}},
		{"bad address", "ops:\n  listen: localhost\n", []string{"cp.yaml:2", `"ops.listen"`, "want host:port"}},
		{"unknown dialect", "store:\n  dialect: oracle\n", []string{`store.dialect "oracle"`}},
		{"password in file", "store:\n  dialect: postgres\n  dsn: postgres://u:s3cretpw@127.0.0.1/db\n", []string{"contains a password", "dsn_file"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "cp.yaml"), []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, errOut, code := runCmd(t, dir, nil, "nscale-controlplane", "--config", "cp.yaml")
			if code != 2 {
				t.Fatalf("exit %d, want 2: %s", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if strings.Contains(errOut, "s3cretpw") || strings.Contains(errOut, "goroutine") {
				t.Errorf("stderr leaks: %s", errOut)
			}
			if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
				t.Error("a rejected config still created ./data")
			}
		})
	}
	t.Run("bad flag", func(t *testing.T) {
		_, errOut, code := runCmd(t, t.TempDir(), nil, "nscale-controlplane", "--api-listen", "nope")
		if code != 2 || !strings.Contains(errOut, "api-listen") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("agent unknown key", func(t *testing.T) {
		dir := t.TempDir()
		_ = os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("ops:\n  listen: 127.0.0.1:0\nflihgt: {}\n"), 0o600)
		_, errOut, code := runCmd(t, dir, nil, "nscale-agent", "run", "--allow-root", "--config", "a.yaml")
		if code != 2 || !strings.Contains(errOut, "a.yaml:3") || !strings.Contains(errOut, `"flihgt"`) {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("print default config round-trips", func(t *testing.T) {
		dir := t.TempDir()
		out, _, code := runCmd(t, dir, nil, "nscale-controlplane", "--print-default-config")
		if code != 0 || !strings.Contains(out, "# ") {
			t.Fatalf("exit %d: %s", code, out)
		}
		_ = os.WriteFile(filepath.Join(dir, "d.yaml"), []byte(out+"api:\n  listen: nope\n"), 0o600)
		// a duplicate key after the defaults proves the printed file is parsed strictly
		_, errOut, code := runCmd(t, dir, nil, "nscale-controlplane", "--config", "d.yaml")
		if code != 2 || !strings.Contains(errOut, "duplicate key") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
}

func TestUnreachableStoreFailsClearly(t *testing.T) {
	cases := []struct {
		dialect, dsn, addr string
	}{
		{"postgres", "postgres://nscale:Sup3rSecret@127.0.0.1:1/nscale?sslmode=disable&connect_timeout=2", "127.0.0.1:1"},
		{"mysql", "nscale:Sup3rSecret@tcp(127.0.0.1:1)/nscale?timeout=2s", "127.0.0.1:1"},
	}
	for _, tc := range cases {
		t.Run(tc.dialect, func(t *testing.T) {
			dir := t.TempDir()
			begin := time.Now()
			_, errOut, code := runCmd(t, dir, []string{"NSCALE_STORE_DSN=" + tc.dsn}, "nscale-controlplane",
				"--store-dialect", tc.dialect, "--api-listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0", "--agent-api-listen", "127.0.0.1:0")
			if code != 1 {
				t.Fatalf("exit %d, want 1: %s", code, errOut)
			}
			if took := time.Since(begin); took > 30*time.Second {
				t.Errorf("took %s to give up", took)
			}
			last := lastLine(errOut)
			if !strings.Contains(last, tc.addr) || !strings.Contains(strings.ToLower(last), tc.dialect) {
				t.Errorf("last line should name the dialect and %s: %q", tc.addr, last)
			}
			if strings.Contains(errOut, "Sup3rSecret") || strings.Contains(errOut, "goroutine") {
				t.Errorf("stderr leaks the password or a stack:\n%s", errOut)
			}
		})
	}
}

func TestNscalectlErrorsAreOneLine(t *testing.T) {
	dir := t.TempDir()
	_, api, _ := startControlPlane(t, dir, nil)
	wrong := filepath.Join(dir, "wrong.token")
	_ = os.WriteFile(wrong, []byte("not-the-token\n"), 0o600)

	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>login</html>"))
	}))
	defer html.Close()

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"wrong token", []string{"--server", "http://" + api, "--token-file", wrong, "status"}, "UNAUTHENTICATED: invalid bearer token"},
		{"no token", []string{"--server", "http://" + api, "status"}, "UNAUTHENTICATED: missing bearer token"},
		{"unreachable", []string{"--server", "http://127.0.0.1:1", "--token-file", wrong, "status"}, "cannot reach the control plane at http://127.0.0.1:1: connection refused"},
		{"not json", []string{"--server", html.URL, "--token-file", wrong, "status"}, "not JSON"},
		{"bad server url", []string{"--server", "127.0.0.1:7080", "status"}, "invalid --server"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"missing token file", []string{"--token-file", filepath.Join(dir, "absent"), "status"}, "--token-file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCmd(t, dir, []string{"NSCALE_TOKEN=", "NSCALE_TOKEN_FILE=", "NSCALE_SERVER="}, "nscalectl", tc.args...)
			if code == 0 {
				t.Fatalf("exit 0; stdout %q", out)
			}
			if strings.Count(strings.TrimRight(errOut, "\n"), "\n") != 0 {
				t.Errorf("stderr is not one line:\n%s", errOut)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q lacks %q", errOut, tc.want)
			}
			if strings.Contains(errOut, "goroutine") || strings.Contains(errOut, "panic") {
				t.Errorf("stack trace: %s", errOut)
			}
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// A binary refuses a store whose schema is newer than it knows, naming both
// versions, and leaves the store untouched.
func TestNewerSchemaIsRefused(t *testing.T) {
	dir := t.TempDir()
	d, _, _ := startControlPlane(t, dir, nil)
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.exit(t, 10*time.Second); code != 0 {
		t.Fatalf("first run exit %d", code)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "data", "nscale.db"))
	if err != nil {
		t.Fatal(err)
	}
	var known int
	if err := db.QueryRow("SELECT MAX(version) FROM schema_version").Scan(&known); err != nil {
		t.Fatal(err)
	}
	newer := known + 41
	if _, err := db.Exec("INSERT INTO schema_version (version, description, applied_at) VALUES (?, 'from the future', 0)", newer); err != nil {
		t.Fatal(err)
	}
	db.Close()

	_, errOut, code := runCmd(t, dir, nil, "nscale-controlplane", "--api-listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0", "--agent-api-listen", "127.0.0.1:0")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errOut)
	}
	last := lastLine(errOut)
	if !strings.Contains(last, strconv.Itoa(newer)) || !strings.Contains(last, "("+strconv.Itoa(known)+")") || !strings.Contains(last, "newer") {
		t.Errorf("last line should name schema %d and the known %d: %q", newer, known, last)
	}
}

// The embedded store and the admin token are readable by their owner only.
func TestEmbeddedFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	d, _, _ := startControlPlane(t, dir, nil)
	for _, f := range []string{"nscale.db", "nscale.db-wal", "admin.token"} {
		fi, err := os.Stat(filepath.Join(dir, "data", f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v; others may read it", f, fi.Mode().Perm())
		}
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	d.exit(t, 10*time.Second)
}
