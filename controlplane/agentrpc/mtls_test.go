package agentrpc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"net"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/nscale/nscale/controlplane/agentca"
	"github.com/nscale/nscale/controlplane/agentrpc"
	"github.com/nscale/nscale/controlplane/catalog"
	"github.com/nscale/nscale/controlplane/enrol"
	"github.com/nscale/nscale/controlplane/enrol/jointoken"
	"github.com/nscale/nscale/internal/agentapi"
)

// newCA makes a CA in a temp dir whose clock is now().
func newCA(t testing.TB, now func() time.Time) *agentca.CA {
	if now == nil {
		now = time.Now
	}
	t.Helper()
	dir := t.TempDir()
	ca, _, err := agentca.Load(agentca.Config{KeyFile: filepath.Join(dir, "ca.key"), CertFile: filepath.Join(dir, "ca.crt"),
		TrustDomain: "test", CertTTL: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	ca.SetServerNames([]string{"127.0.0.1"})
	return ca
}

func attestors(cat *catalog.Service) map[string]enrol.Attestor {
	return map[string]enrol.Attestor{enrol.JoinToken: jointoken.Attestor{Store: cat}}
}

// serve serves svc over TLS with its CA's serving certificate.
func serve(t testing.TB, svc *agentrpc.Service, ca *agentca.CA) string {
	t.Helper()
	srv := grpc.NewServer(append(svc.ServerOptions(), grpc.Creds(credentials.NewTLS(agentrpc.ServerTLS(ca.GetCertificate))))...)
	svc.Register(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// dial connects to addr trusting ca, presenting cert when not nil.
func dial(t testing.TB, addr string, ca *agentca.CA, cert *tls.Certificate) agentapi.AgentClient {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.Bundle())
	tc := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, ServerName: "127.0.0.1"}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(tc)),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return agentapi.NewAgentClient(conn)
}

// newCSR returns a key and a certificate request for it.
func newCSR(t testing.TB) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

// enrolWith enrols through Enroll with a fresh join token and returns the
// agent's certificate.
func enrolWith(t testing.TB, client agentapi.AgentClient, cat *catalog.Service, node string) (tls.Certificate, *agentapi.CertificateResponse) {
	t.Helper()
	tok, _, err := cat.CreateJoinToken(context.Background(), adminP, time.Hour, 1, "test", "req")
	if err != nil {
		t.Fatal(err)
	}
	key, csr := newCSR(t)
	resp, err := client.Enroll(context.Background(), &agentapi.EnrollRequest{Method: enrol.JoinToken, Evidence: []byte(tok), Csr: csr, Node: node, AgentVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: resp.CertificateChain, PrivateKey: key}, resp
}
