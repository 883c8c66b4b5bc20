package enrol

import (
	"context"
	"net/http"
	"net/http/httptest"
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
