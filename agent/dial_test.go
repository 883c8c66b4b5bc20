package agent

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"

	"github.com/nscale/nscale/internal/tlsfiles"
	"github.com/nscale/nscale/internal/tlsfiles/tlstest"
)

// The client for pre-signed URLs trusts the control plane's CA for its
// https /blob/ URLs, and nothing it is not given.
func TestBlobClientTrustsTheControlPlaneCA(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "cp")
	other := tlstest.NewCA(t, dir, "other")
	cert, key := ca.Issue(t, dir, "blob", "127.0.0.1")
	r, err := tlsfiles.NewReloader(tlsfiles.Files{CertFile: cert, KeyFile: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Not httptest's StartTLS: it would serve its own certificate.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", tlsfiles.ServerConfig(r))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("object")) })}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := "https://" + ln.Addr().String() + "/blob/x"

	if _, err := blobClient(ControlPlaneConfig{TLS: ClientTLS{CAFile: "/nonexistent/ca.crt"}}); err == nil || !strings.Contains(err.Error(), "control_plane.tls.ca_file") {
		t.Fatalf("missing CA file: %v", err)
	}
	good, err := blobClient(ControlPlaneConfig{TLS: ClientTLS{CAFile: ca.File}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := good.Get(url)
	if err != nil {
		t.Fatalf("with the control plane's CA: %v", err)
	}
	resp.Body.Close()
	bad, err := blobClient(ControlPlaneConfig{TLS: ClientTLS{CAFile: other.File}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Get(url); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Fatalf("with another CA: %v", err)
	}
	if tr := good.Transport.(*http.Transport); tr.TLSClientConfig.MinVersion < tls.VersionTLS12 || tr.TLSClientConfig.InsecureSkipVerify {
		t.Fatal("the blob client's TLS is weaker than the rest")
	}
}
