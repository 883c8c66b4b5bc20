// Package agentapitest is the control plane's side of the agent API for
// agent tests: the key service every agent needs at start (ticket keys,
// sealing keys, masking key) behind the agent-token check, and a loopback
// gRPC server to serve a fake on. Fakes embed Keys and add what they plan.
package agentapitest

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/taskplan"
)

// Keys answers PublicKeys, SealingKeys and MaskingKey from a real Signer
// and Sealer (tests rotate them in place), to the agent token only.
type Keys struct {
	agentapi.UnimplementedAgentServer
	// Token is the agent credential expected as "authorization: Bearer".
	Token   string
	Signer  *taskplan.Signer
	Sealer  *taskplan.Sealer
	Masking []byte
	// KeyCalls counts PublicKeys calls (an agent refetches on a ticket of
	// an unknown key).
	KeyCalls atomic.Int64
	// CA, when set, replaces the token check: calls need a certificate of
	// it (ServeTLS), and Enroll, Renew and Heartbeat are its.
	CA *CA
}

func (k *Keys) Enroll(ctx context.Context, req *agentapi.EnrollRequest) (*agentapi.CertificateResponse, error) {
	if k.CA == nil {
		return k.UnimplementedAgentServer.Enroll(ctx, req)
	}
	return k.CA.Enroll(ctx, req)
}

func (k *Keys) Renew(ctx context.Context, req *agentapi.RenewRequest) (*agentapi.CertificateResponse, error) {
	if k.CA == nil {
		return k.UnimplementedAgentServer.Renew(ctx, req)
	}
	return k.CA.Renew(ctx, req)
}

func (k *Keys) Heartbeat(ctx context.Context, req *agentapi.HeartbeatRequest) (*agentapi.HeartbeatResponse, error) {
	if k.CA == nil {
		return k.UnimplementedAgentServer.Heartbeat(ctx, req)
	}
	return k.CA.Heartbeat(ctx, req)
}

// NewKeys makes fresh ticket, sealing and masking keys for token.
func NewKeys(tb testing.TB, token string) *Keys {
	tb.Helper()
	id, priv, err := taskplan.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := taskplan.NewSigner(id, priv)
	if err != nil {
		tb.Fatal(err)
	}
	sealKey := make([]byte, taskplan.SealKeySize)
	if _, err := rand.Read(sealKey); err != nil {
		tb.Fatal(err)
	}
	sealer, err := taskplan.NewSealer(sealKey)
	if err != nil {
		tb.Fatal(err)
	}
	return &Keys{Token: token, Signer: signer, Sealer: sealer, Masking: bytes.Repeat([]byte("m"), 32)}
}

// CheckAgent refuses a call without the agent token, as the control plane
// does.
func (k *Keys) CheckAgent(ctx context.Context) error {
	if k.CA != nil {
		return k.CA.Check(ctx)
	}
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("authorization"); len(v) != 1 || v[0] != "Bearer "+k.Token {
		return status.Error(codes.Unauthenticated, "agent credential required")
	}
	return nil
}

func (k *Keys) PublicKeys(ctx context.Context, _ *agentapi.PublicKeysRequest) (*agentapi.PublicKeysResponse, error) {
	if err := k.CheckAgent(ctx); err != nil {
		return nil, err
	}
	k.KeyCalls.Add(1)
	resp := &agentapi.PublicKeysResponse{}
	for id, pub := range k.Signer.PublicKeys() {
		resp.Keys = append(resp.Keys, &agentapi.PublicKey{KeyId: id, Ed25519: pub})
	}
	return resp, nil
}

func (k *Keys) SealingKeys(ctx context.Context, _ *agentapi.SealingKeysRequest) (*agentapi.SealingKeysResponse, error) {
	if err := k.CheckAgent(ctx); err != nil {
		return nil, err
	}
	return &agentapi.SealingKeysResponse{Keys: k.Sealer.Keys()}, nil
}

func (k *Keys) MaskingKey(ctx context.Context, _ *agentapi.MaskingKeyRequest) (*agentapi.MaskingKeyResponse, error) {
	if err := k.CheckAgent(ctx); err != nil {
		return nil, err
	}
	return &agentapi.MaskingKeyResponse{Key: bytes.Clone(k.Masking)}, nil
}

// Serve serves srv on a loopback port until the test ends and returns
// its address.
func Serve(tb testing.TB, srv agentapi.AgentServer) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	gs := grpc.NewServer()
	agentapi.RegisterAgentServer(gs, srv)
	go func() { _ = gs.Serve(ln) }()
	tb.Cleanup(gs.Stop)
	return ln.Addr().String()
}
