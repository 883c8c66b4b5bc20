package enrol

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nscale/nscale/internal/iidevidence"
)

// The EC2 evidence is read with IMDSv2: a session token first, then the
// document and its RSA-2048 signature with it; the agent refuses answers
// without the token's protection and too-large ones.
func TestIMDSEvidence(t *testing.T) {
	const doc = `{"accountId":"123456789012","instanceId":"i-0abc12345678","region":"us-east-1"}`
	const sig = "MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwGggCSABIIB\nAQ=="
	var sawPut bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" && r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") != "":
			sawPut = true
			w.Write([]byte("session"))
		case r.Header.Get("X-aws-ec2-metadata-token") != "session":
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		case r.URL.Path == "/latest/dynamic/instance-identity/document":
			w.Write([]byte(doc))
		case r.URL.Path == "/latest/dynamic/instance-identity/rsa2048":
			w.Write([]byte(sig))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	src, err := evidenceSource(Config{Method: AWSIID, IMDSURL: srv.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := src(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, err := iidevidence.Parse(ev)
	if err != nil || string(got.Document) != doc || !sawPut {
		t.Fatalf("evidence = %+v, %v (IMDSv2 token asked: %v)", got, err, sawPut)
	}

	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "forbidden", http.StatusForbidden)
	}))
	defer down.Close()
	src, _ = evidenceSource(Config{Method: AWSIID, IMDSURL: down.URL})
	if _, err := src(context.Background()); err == nil || !strings.Contains(err.Error(), "IMDSv2 token") {
		t.Fatalf("IMDS refusing: %v", err)
	}
}

// A token file is the token alone: blank lines and # comments aside (the
// output of `nscalectl agents join-token create` as it is), and anything
// else is refused with a message that does not repeat the file's content.
func TestReadToken(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, content, want, err string
	}{
		{"bare", "nsj_abc\n", "nsj_abc", ""},
		{"nscalectl output", "nsj_abc\n# join token jt-1: enrols 1 agent(s) until 2026-12-08T00:00:00Z; shown once, keep it secret\n", "nsj_abc", ""},
		{"spaces and blank lines", "\n  nsj_abc  \r\n\n", "nsj_abc", ""},
		{"empty", "\n# only a comment\n", "", "is empty"},
		{"two tokens", "nsj_abc\nnsj_def\n", "", "holds 2 lines"},
		{"too large", strings.Repeat("x", maxEvidence+1), "", "larger than"},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
		if err := os.WriteFile(p, []byte(c.content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readToken(p, "join token")
		if c.err == "" {
			if err != nil || string(got) != c.want {
				t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), "nsj_") {
			t.Errorf("%s: err = %v, want one containing %q and no token", c.name, err, c.err)
		}
	}
}
