package agentca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/internal/agentid"
	"github.com/nscale/nscale/internal/apierr"
)

func testConfig(dir, name string) Config {
	return Config{KeyFile: filepath.Join(dir, name+".key"), CertFile: filepath.Join(dir, name+".crt"), TrustDomain: "test.example", CertTTL: time.Hour}
}

func csr(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestSignAndVerify(t *testing.T) {
	dir := t.TempDir()
	clock := time.Now()
	now := func() time.Time { return clock }
	ca, created, err := Load(testConfig(dir, "ca"), now)
	if err != nil || !created {
		t.Fatalf("Load = %v, created %v", err, created)
	}
	if fi, err := os.Stat(filepath.Join(dir, "ca.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi.Mode(), err)
	}
	// A second load reads the same CA.
	again, created, err := Load(testConfig(dir, "ca"), now)
	if err != nil || created || !again.cert.Equal(ca.cert) {
		t.Fatalf("reload: %v, created %v", err, created)
	}
	iss, err := ca.SignAgent(csr(t), agentid.ID{Method: "join_token", Agent: "jt-1"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(iss.DER)
	if err != nil {
		t.Fatal(err)
	}
	if got := leaf.URIs[0].String(); got != "spiffe://test.example/nscale/agent/join_token/jt-1" {
		t.Fatalf("SAN = %s", got)
	}
	if d := leaf.NotAfter.Sub(clock); d < 59*time.Minute || d > time.Hour {
		t.Fatalf("lifetime %s, want 1h", d)
	}
	id, _, err := ca.Verify([]*x509.Certificate{leaf})
	if err != nil || id.Agent != "jt-1" || id.Method != "join_token" {
		t.Fatalf("Verify = %+v, %v", id, err)
	}

	other, _, err := Load(testConfig(dir, "other"), now)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.SignAgent(csr(t), agentid.ID{Method: "join_token", Agent: "jt-1"})
	if err != nil {
		t.Fatal(err)
	}
	fleaf, _ := x509.ParseCertificate(foreign.DER)
	cases := []struct {
		name  string
		chain []*x509.Certificate
		at    time.Time
		want  string
	}{
		{"none", nil, clock, "no agent certificate"},
		{"expired", []*x509.Certificate{leaf}, clock.Add(61 * time.Minute), "expired"},
		{"another CA", []*x509.Certificate{fleaf}, clock, "not signed by this control plane"},
		{"not yet valid", []*x509.Certificate{leaf}, clock.Add(-time.Hour), "not valid before"},
	}
	for _, c := range cases {
		clock0 := clock
		clock = c.at
		_, _, err := ca.Verify(c.chain)
		clock = clock0
		if apierr.CodeOf(err) != apierr.Unauthenticated || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want UNAUTHENTICATED %q", c.name, err, c.want)
		}
	}
	// A certificate of the previous CA is trusted during a rotation.
	cfg := testConfig(dir, "ca")
	cfg.PreviousCertFiles = []string{filepath.Join(dir, "other.crt")}
	rotated, _, err := Load(cfg, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := rotated.Verify([]*x509.Certificate{fleaf}); err != nil {
		t.Fatalf("previous CA's certificate refused during rotation: %v", err)
	}
	if !strings.Contains(string(rotated.Bundle()), "BEGIN CERTIFICATE") || strings.Count(string(rotated.Bundle()), "BEGIN") != 2 {
		t.Fatalf("bundle holds %d certificates", strings.Count(string(rotated.Bundle()), "BEGIN"))
	}
	// A server certificate of the CA is refused as an agent's.
	ca.SetServerNames([]string{"localhost", "127.0.0.1"})
	sc, err := ca.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ca.Verify([]*x509.Certificate{sc.Leaf}); apierr.CodeOf(err) != apierr.Unauthenticated {
		t.Fatalf("server certificate accepted as an agent's: %v", err)
	}
	if sc.Leaf.VerifyHostname("127.0.0.1") != nil || sc.Leaf.VerifyHostname("localhost") != nil {
		t.Fatalf("server certificate names: %v %v", sc.Leaf.DNSNames, sc.Leaf.IPAddresses)
	}
}

func TestLoadRefuses(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir, "ca")
	if _, _, err := Load(cfg, nil); err != nil {
		t.Fatal(err)
	}
	os.Chmod(cfg.KeyFile, 0o644)
	if _, _, err := Load(cfg, nil); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key: %v", err)
	}
	os.Remove(cfg.KeyFile)
	if _, _, err := Load(cfg, nil); err == nil || !strings.Contains(err.Error(), "only one of") {
		t.Fatalf("missing key, cert present: %v", err)
	}
	bad := cfg
	bad.TrustDomain = "a/b"
	bad.CertTTL = time.Second
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "trust_domain") || !strings.Contains(err.Error(), "cert_ttl") {
		t.Fatalf("Validate = %v", err)
	}
}

func TestSignAgentRefusesBadRequests(t *testing.T) {
	ca, _, err := Load(testConfig(t.TempDir(), "ca"), nil)
	if err != nil {
		t.Fatal(err)
	}
	good := csr(t)
	tampered := append([]byte(nil), good...)
	tampered[len(tampered)-3] ^= 0xff
	for name, der := range map[string][]byte{"garbage": []byte("nope"), "bad signature": tampered} {
		if _, err := ca.SignAgent(der, agentid.ID{Method: "m", Agent: "a"}); apierr.CodeOf(err) != apierr.InvalidArgument {
			t.Errorf("%s: %v", name, err)
		}
	}
}
