package presign

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var testKey = bytes.Repeat([]byte{0x42}, KeySize)

type fileEnv struct {
	root   string
	srv    *httptest.Server
	signer *FileSigner
	clock  *fakeClock
	data   []byte
}

// newFileEnv serves a table root with FileServer at /blob/ (as the control
// plane mounts it) and returns a signer for it. Outside the root sits a
// secret file that an escaping symlink points at.
func newFileEnv(t *testing.T) *fileEnv {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "tables")
	env := &fileEnv{root: root, clock: &fakeClock{t: time.Now()}, data: []byte("0123456789abcdefghij")}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "sales", "dt=2024-05-06"), 0o755))
	must(os.WriteFile(filepath.Join(root, "sales", "dt=2024-05-06", "part 0+é.parquet"), env.data, 0o644))
	must(os.WriteFile(filepath.Join(base, "outside-secret.txt"), []byte("TOP SECRET"), 0o600))
	must(os.Symlink(filepath.Join(base, "outside-secret.txt"), filepath.Join(root, "sales", "escape.parquet")))
	must(os.Symlink("../../outside-secret.txt", filepath.Join(root, "sales", "escape-relative.parquet")))
	must(os.Symlink("dt=2024-05-06/part 0+é.parquet", filepath.Join(root, "sales", "inside-link.parquet")))
	must(os.Mkdir(filepath.Join(root, "adir"), 0o755))

	mux := http.NewServeMux()
	mux.Handle("GET /blob/", FileServer(root, testKey, env.clock.Now))
	env.srv = httptest.NewServer(mux)
	t.Cleanup(env.srv.Close)
	s, err := NewFileSigner(FileConfig{BaseURL: env.srv.URL, Key: testKey, Now: env.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	env.signer = s
	return env
}

func (e *fileEnv) sign(t *testing.T, path string, ttl time.Duration) Signed {
	t.Helper()
	s, err := e.signer.SignGet(context.Background(), Object{Key: path}, ttl)
	if err != nil {
		t.Fatalf("sign %q: %v", path, err)
	}
	return s
}

// get fetches a raw URL without letting the client clean its path.
func get(t *testing.T, rawURL, rangeHdr string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rangeHdr != "" {
		req.Header.Set("Range", rangeHdr)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

const dataPath = "sales/dt=2024-05-06/part 0+é.parquet"

func TestFileServerHappyPathAndRange(t *testing.T) {
	e := newFileEnv(t)
	s := e.sign(t, dataPath, time.Minute)
	if !strings.HasPrefix(s.URL, e.srv.URL+"/blob/sales/dt%3D2024-05-06/part%200%2B%C3%A9.parquet?X-Nscale-Expires=") {
		t.Fatalf("unexpected URL shape %s", s.URL)
	}
	if code, body := get(t, s.URL, ""); code != http.StatusOK || !bytes.Equal(body, e.data) {
		t.Fatalf("GET = %d %q", code, body)
	}
	if code, body := get(t, s.URL, "bytes=0-9"); code != http.StatusPartialContent || string(body) != "0123456789" {
		t.Fatalf("Range 0-9 = %d %q, want 206", code, body)
	}
	if code, body := get(t, s.URL, "bytes=-5"); code != http.StatusPartialContent || string(body) != "fghij" {
		t.Fatalf("suffix range = %d %q, want 206 fghij", code, body)
	}
	if code, _ := get(t, s.URL, "bytes=100-200"); code != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("range past end = %d, want 416", code)
	}
	// A symlink that stays inside the root is followed.
	if code, body := get(t, e.sign(t, "sales/inside-link.parquet", time.Minute).URL, ""); code != http.StatusOK || !bytes.Equal(body, e.data) {
		t.Fatalf("inside symlink = %d %q", code, body)
	}
	// HEAD is allowed with a GET URL; other methods are not.
	resp, err := http.Head(s.URL)
	if err != nil || resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(e.data)) {
		t.Fatalf("HEAD = %v %v", resp, err)
	}
	resp, err = http.Post(s.URL, "text/plain", nil)
	if err != nil || resp.StatusCode == http.StatusOK {
		t.Fatalf("POST = %v %v, want refused", resp, err)
	}
	if !s.Expires.Equal(e.clock.Now().Truncate(time.Second).Add(time.Minute)) {
		t.Fatalf("Expires = %s", s.Expires)
	}
}

// TestFileServerRefusesTampering: a tampered path, expiry or signature, or
// an expired URL, gets 403 with the same body.
func TestFileServerRefusesTampering(t *testing.T) {
	e := newFileEnv(t)
	s := e.sign(t, dataPath, time.Minute)
	exp := strconv.FormatInt(s.Expires.Unix(), 10)
	sig := s.URL[strings.LastIndex(s.URL, "=")+1:]
	flipped := []byte(sig)
	flipped[0] = map[bool]byte{true: '1', false: '0'}[flipped[0] == '0']
	other := e.sign(t, "sales/inside-link.parquet", time.Minute)

	cases := map[string]string{
		"tampered path":       strings.Replace(s.URL, "part%200", "part%201", 1),
		"path of another URL": strings.Replace(other.URL, "/blob/sales/inside-link.parquet", "/blob/sales/dt%3D2024-05-06/part%200%2B%C3%A9.parquet", 1),
		"raised expiry":       strings.Replace(s.URL, exp, strconv.FormatInt(s.Expires.Unix()+3600, 10), 1),
		"lowered expiry":      strings.Replace(s.URL, exp, strconv.FormatInt(s.Expires.Unix()-1, 10), 1),
		"expiry with zero":    strings.Replace(s.URL, "Expires="+exp, "Expires=0"+exp, 1),
		"tampered signature":  strings.Replace(s.URL, sig, string(flipped), 1),
		"upper-case sig":      strings.Replace(s.URL, sig, strings.ToUpper(sig), 1),
		"short signature":     strings.Replace(s.URL, sig, sig[:63], 1),
		"missing signature":   s.URL[:strings.Index(s.URL, "&")],
		"duplicate signature": s.URL + "&X-Nscale-Signature=" + sig,
		"extra parameter":     s.URL + "&x=1",
		"escaped param name":  strings.Replace(s.URL, "X-Nscale-Signature", "X%2DNscale-Signature", 1),
		"wrong key":           signWithKey(t, e, bytes.Repeat([]byte{7}, KeySize)),
	}
	if strings.ToUpper(sig) == sig {
		delete(cases, "upper-case sig")
	}
	var body403 []byte
	check := func(name, u string) {
		t.Helper()
		if u == s.URL {
			t.Fatalf("%s: URL unchanged", name)
		}
		code, body := get(t, u, "")
		if code != http.StatusForbidden {
			t.Errorf("%s: got %d %q, want 403", name, code, body)
		}
		if body403 == nil {
			body403 = body
		} else if !bytes.Equal(body, body403) {
			t.Errorf("%s: body %q differs from %q: a 403 must not say what was wrong", name, body, body403)
		}
	}
	for name, u := range cases {
		check(name, u)
	}
	// Expired: the same URL after the clock passes its expiry.
	if code, _ := get(t, s.URL, ""); code != http.StatusOK {
		t.Fatalf("untampered URL = %d", code)
	}
	check("trailing ampersand", s.URL+"&")
	e.clock.Advance(time.Minute + time.Second)
	code, body := get(t, s.URL, "")
	if code != http.StatusForbidden || !bytes.Equal(body, body403) {
		t.Fatalf("expired URL: %d %q", code, body)
	}
}

func signWithKey(t *testing.T, e *fileEnv, key []byte) string {
	t.Helper()
	s, err := NewFileSigner(FileConfig{BaseURL: e.srv.URL, Key: key, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := s.SignGet(context.Background(), Object{Key: dataPath}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return signed.URL
}

// TestFileServerRefusesEscapes: ".." paths and symlinks out of the root are
// refused even when the path itself is validly signed.
func TestFileServerRefusesEscapes(t *testing.T) {
	e := newFileEnv(t)
	// The signer refuses to sign non-canonical paths.
	for _, p := range []string{"../outside-secret.txt", "sales/../../outside-secret.txt", "/etc/passwd", "sales//x", "./sales", "sales/", "a\\b", "a\x00b"} {
		if _, err := e.signer.SignGet(context.Background(), Object{Key: p}, time.Minute); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("SignGet(%q) err = %v, want ErrInvalidKey", p, err)
		}
	}
	// A ".." path with a correct MAC (forged with the key) is still refused.
	for _, p := range []string{"../outside-secret.txt", "sales/../../outside-secret.txt"} {
		exp := strconv.FormatInt(e.clock.Now().Unix()+60, 10)
		var mac [32]byte
		blobMAC(&mac, testKey, http.MethodGet, p, exp)
		raw := e.srv.URL + "/blob/" + strings.ReplaceAll(p, ".", "%2E") + "?X-Nscale-Expires=" + exp + "&X-Nscale-Signature=" + hex.EncodeToString(mac[:])
		if code, body := get(t, raw, ""); code == http.StatusOK || bytes.Contains(body, []byte("TOP SECRET")) {
			t.Errorf("traversal %q: got %d %q", p, code, body)
		}
	}
	// The same, straight to the handler (no ServeMux path cleaning).
	h := FileServer(e.root, testKey, e.clock.Now)
	for _, p := range []string{"../outside-secret.txt", "sales/../../outside-secret.txt", "sales/./x"} {
		exp := strconv.FormatInt(e.clock.Now().Unix()+60, 10)
		var mac [32]byte
		blobMAC(&mac, testKey, http.MethodGet, p, exp)
		req := httptest.NewRequest(http.MethodGet, "/blob/x", nil)
		req.URL.Path = "/blob/" + p
		req.URL.RawQuery = "X-Nscale-Expires=" + exp + "&X-Nscale-Signature=" + hex.EncodeToString(mac[:])
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), "TOP SECRET") {
			t.Errorf("handler, traversal %q: got %d %q, want 403", p, rec.Code, rec.Body)
		}
	}
	// Symlinks leading out of the root: signed fine, never served.
	for _, p := range []string{"sales/escape.parquet", "sales/escape-relative.parquet"} {
		code, body := get(t, e.sign(t, p, time.Minute).URL, "")
		if code != http.StatusNotFound || bytes.Contains(body, []byte("TOP SECRET")) {
			t.Errorf("escaping symlink %q: got %d %q, want 404", p, code, body)
		}
	}
	// Directories and missing files are not served.
	for _, p := range []string{"adir", "sales/missing.parquet"} {
		if code, _ := get(t, e.sign(t, p, time.Minute).URL, ""); code != http.StatusNotFound {
			t.Errorf("%q: got %d, want 404", p, code)
		}
	}
}

func TestFileSignerConfig(t *testing.T) {
	for _, cfg := range []FileConfig{
		{BaseURL: "http://h", Key: testKey[:16]},
		{BaseURL: "ftp://h", Key: testKey},
		{BaseURL: "http://h/?q=1", Key: testKey},
		{BaseURL: "http://u:p@h", Key: testKey},
		{BaseURL: "http://h", Key: testKey, MaxTTL: -time.Second},
	} {
		if _, err := NewFileSigner(cfg); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("NewFileSigner(%+v) err = %v, want invalid argument", cfg.BaseURL, err)
		}
	}
	s, err := NewFileSigner(FileConfig{BaseURL: "https://cp.example.com:8443/", Key: testKey, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignGet(context.Background(), Object{Bucket: "b", Key: "k"}, time.Minute); !errors.Is(err, ErrInvalidBucket) {
		t.Errorf("bucket given to the file signer: err = %v", err)
	}
	got, err := s.SignGet(context.Background(), Object{Key: "t/x.parquet"}, time.Hour) // capped at 15 min
	if err != nil {
		t.Fatal(err)
	}
	want := "https://cp.example.com:8443/blob/t/x.parquet?X-Nscale-Expires=" + strconv.FormatInt(t0.Add(15*time.Minute).Unix(), 10) + "&X-Nscale-Signature="
	if !strings.HasPrefix(got.URL, want) || len(got.URL) != len(want)+64 || !got.Expires.Equal(t0.Add(15*time.Minute)) {
		t.Fatalf("got %s (%s), want prefix %s", got.URL, got.Expires, want)
	}
	defer func() {
		if recover() == nil {
			t.Error("FileServer accepted a short key")
		}
	}()
	FileServer("/", testKey[:31], nil)
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "blob.key")
	k1, err := LoadOrCreateKeyFile(p)
	if err != nil || len(k1) != KeySize {
		t.Fatalf("create: %v (%d bytes)", err, len(k1))
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", fi.Mode(), err)
	}
	k2, err := LoadOrCreateKeyFile(p)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("reload gave a different key (%v)", err)
	}
	if _, err := GenerateKeyFile(p); err == nil {
		t.Fatal("GenerateKeyFile overwrote an existing key")
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(p); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key accepted: %v", err)
	}
	short := writeFile(t, "short.key", "abcd\n", 0o600)
	if _, err := LoadKeyFile(short); err == nil || !strings.Contains(err.Error(), "64 hex digits") {
		t.Fatalf("short key accepted: %v", err)
	}
	if _, err := LoadOrCreateKeyFile(filepath.Join(dir, "no", "such", "dir", "k")); err == nil {
		t.Fatal("key file in a missing directory accepted")
	}
}

// TestFileServerETag: the server's ETag is LocalETag of the file (what the
// listing records), If-Match with it reads, and once the file is rewritten
// (same size) the planned ETag gets 412.
func TestFileServerETag(t *testing.T) {
	e := newFileEnv(t)
	p := filepath.Join(e.root, filepath.FromSlash(dataPath))
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	planned := LocalETag(fi.ModTime(), fi.Size())
	u := e.sign(t, dataPath, time.Minute).URL
	do := func() (int, string) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("If-Match", `"`+planned+`"`)
		req.Header.Set("Range", "bytes=0-3")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("ETag")
	}
	if code, etag := do(); code != http.StatusPartialContent || etag != `"`+planned+`"` {
		t.Fatalf("planned ETag: %d %s, want 206 %q", code, etag, planned)
	}
	if err := os.WriteFile(p, []byte("ZZZZZZZZZZZZZZZZZZZZ"), 0o644); err != nil {
		t.Fatal(err)
	}
	later := fi.ModTime().Add(time.Second)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	if code, _ := do(); code != http.StatusPreconditionFailed {
		t.Fatalf("rewritten file with the planned ETag: %d, want 412", code)
	}
}
