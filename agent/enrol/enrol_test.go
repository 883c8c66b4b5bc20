package enrol

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/agentapi/agentapitest"
)

func setup(t *testing.T, token string, ttl time.Duration) (*agentapitest.Keys, string, Options) {
	t.Helper()
	dir := t.TempDir()
	keys := agentapitest.NewKeys(t, "unused")
	keys.CA = agentapitest.NewCA(t, dir, "nsj_good")
	keys.CA.TTL = ttl
	addr := agentapitest.ServeTLS(t, keys, keys.CA)
	pem, err := os.ReadFile(keys.CA.File)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tokFile := filepath.Join(dir, "join-token")
	if err := os.WriteFile(tokFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return keys, dir, Options{
		Config:  Config{Method: JoinToken, JoinTokenFile: tokFile, StateDir: filepath.Join(dir, "state"), NodeName: "n1"},
		Address: addr, TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		Version: "test", Registerer: prometheus.NewRegistry(),
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The agent enrols, calls with its certificate, renews at two thirds of the
// lifetime onto a new connection, and a restart reuses the saved one.
func TestEnrolRenewAndRestart(t *testing.T) {
	keys, _, o := setup(t, "nsj_good", 3*time.Second)
	id, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- id.Run(ctx) }()
	waitFor(t, "enrolment", func() bool { ok, _ := id.Ready(); return ok })
	first := id.current().Leaf.SerialNumber
	if _, err := agentapi.NewAgentClient(id.Conn()).PublicKeys(ctx, &agentapi.PublicKeysRequest{}); err != nil {
		t.Fatalf("a call with the enrolled certificate: %v", err)
	}
	// Renewed at two thirds of 3s (~2s), before the first one expires.
	waitFor(t, "renewal", func() bool { return id.current().Leaf.SerialNumber.Cmp(first) != 0 })
	if keys.CA.Enrolls.Load() < 2 {
		t.Fatalf("%d certificates issued, want a renewal", keys.CA.Enrolls.Load())
	}
	if _, err := agentapi.NewAgentClient(id.Conn()).PublicKeys(ctx, &agentapi.PublicKeysRequest{}); err != nil {
		t.Fatalf("a call after renewal: %v", err)
	}
	cancel()
	<-done
	fi, err := os.Stat(filepath.Join(o.Config.StateDir, keyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved key: %v %v", fi, err)
	}
	// A restart within the lifetime uses the saved certificate: no new
	// evidence needed (the token file is gone).
	os.Remove(o.Config.JoinTokenFile)
	o.Registerer = prometheus.NewRegistry()
	again, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if ok, msg := again.Ready(); !ok || !strings.Contains(msg, "jt-test") {
		t.Fatalf("after restart: %v %s", ok, msg)
	}
	again.Close()
}

// A refused join token leaves the agent not ready, saying why.
func TestEnrolRefused(t *testing.T) {
	_, _, o := setup(t, "nsj_wrong", time.Hour)
	id, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go id.Run(ctx)
	waitFor(t, "a refusal", func() bool { _, msg := id.Ready(); return strings.Contains(msg, "unknown join token") })
	if ok, _ := id.Ready(); ok {
		t.Fatal("ready without a certificate")
	}
	if _, err := agentapi.NewAgentClient(id.Conn()).PublicKeys(ctx, &agentapi.PublicKeysRequest{}); err == nil || !strings.Contains(err.Error(), "not enrolled") {
		t.Fatalf("a call before enrolment: %v", err)
	}
}
