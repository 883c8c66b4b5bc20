package agentapitest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/agentid"
)

// CA is the control plane's agent CA as agent tests need it: it serves
// the agent API's certificate, signs agent certificates on Enroll for one
// join token, and verifies them on every other call. (The real one is
// controlplane/agentca, which agent tests may not import.)
type CA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	pool    *x509.CertPool
	File    string // PEM of the CA certificate, for control_plane.tls.ca_file
	Token   string // the join token Enroll accepts
	TTL     time.Duration
	Enrolls atomic.Int64 // certificates issued
}

// NewCA makes a CA in dir that accepts token.
func NewCA(tb testing.TB, dir, token string) *CA {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test agent CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &CA{cert: cert, key: key, pool: x509.NewCertPool(), File: filepath.Join(dir, "agent-ca.crt"), Token: token, TTL: time.Hour}
	ca.pool.AddCert(cert)
	if err := os.WriteFile(ca.File, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		tb.Fatal(err)
	}
	return ca
}

func (ca *CA) sign(tmpl *x509.Certificate, pub any) ([]byte, error) {
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	return x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
}

// Enroll signs the request's key when the evidence is the join token.
func (ca *CA) Enroll(_ context.Context, req *agentapi.EnrollRequest) (*agentapi.CertificateResponse, error) {
	if req.GetMethod() != "join_token" || string(req.GetEvidence()) != ca.Token {
		return nil, status.Error(codes.Unauthenticated, "unknown join token")
	}
	return ca.issue(req.GetCsr(), "jt-test")
}

// Renew signs a new key for the calling agent.
func (ca *CA) Renew(ctx context.Context, req *agentapi.RenewRequest) (*agentapi.CertificateResponse, error) {
	if err := ca.Check(ctx); err != nil {
		return nil, err
	}
	return ca.issue(req.GetCsr(), "jt-test")
}

// Heartbeat accepts heartbeats of enrolled agents.
func (ca *CA) Heartbeat(ctx context.Context, _ *agentapi.HeartbeatRequest) (*agentapi.HeartbeatResponse, error) {
	if err := ca.Check(ctx); err != nil {
		return nil, err
	}
	return &agentapi.HeartbeatResponse{IntervalSeconds: 1}, nil
}

func (ca *CA) issue(csrDER []byte, agent string) (*agentapi.CertificateResponse, error) {
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil || csr.CheckSignature() != nil {
		return nil, status.Error(codes.InvalidArgument, "bad certificate request")
	}
	id := agentid.ID{TrustDomain: "test", Method: "join_token", Agent: agent}
	now := time.Now()
	der, err := ca.sign(&x509.Certificate{NotBefore: now.Add(-time.Minute), NotAfter: now.Add(ca.TTL), URIs: []*url.URL{id.URI()},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, csr.PublicKey)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	ca.Enrolls.Add(1)
	return &agentapi.CertificateResponse{AgentId: agent, SpiffeId: id.String(), CertificateChain: [][]byte{der},
		ExpiresAt: timestamppb.New(now.Add(ca.TTL))}, nil
}

// Check refuses a call without a certificate of this CA.
func (ca *CA) Check(ctx context.Context) error {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return status.Error(codes.Unauthenticated, "no agent certificate")
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.PeerCertificates) == 0 {
		return status.Error(codes.Unauthenticated, "no agent certificate")
	}
	if _, err := ti.State.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: ca.pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return status.Error(codes.Unauthenticated, "agent certificate not signed by the agent CA")
	}
	return nil
}

// ServeTLS serves srv over TLS with a certificate of ca for 127.0.0.1,
// asking for (not requiring) client certificates, as the control plane
// does.
func ServeTLS(tb testing.TB, srv agentapi.AgentServer, ca *CA) string {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := ca.sign(&x509.Certificate{NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, &key.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		ClientAuth: tls.RequestClientCert}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(tc)))
	agentapi.RegisterAgentServer(gs, srv)
	go func() { _ = gs.Serve(ln) }()
	tb.Cleanup(gs.Stop)
	return ln.Addr().String()
}
