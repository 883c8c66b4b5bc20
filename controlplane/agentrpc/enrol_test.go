package agentrpc_test

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/enrol"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/apierr/apierrtest"
)

// uniqueAttestor proves one fixed pod, as the Kubernetes and EC2 methods do.
type uniqueAttestor struct{}

func (uniqueAttestor) Method() string { return "test_unique" }
func (uniqueAttestor) Attest(_ context.Context, req enrol.Request) (enrol.Identity, error) {
	if string(req.Evidence) != "good" {
		return enrol.Identity{}, apierr.New(apierr.Unauthenticated, "test: bad evidence")
	}
	return enrol.Identity{ID: "pod-1", Node: "n1", Subject: "pod 1", Unique: true}, nil
}

func auditActions(t *testing.T, e *env) map[string][]store.AuditEvent {
	t.Helper()
	evs, _, err := e.cat.ListAudit(context.Background(), adminP, store.Page{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]store.AuditEvent{}
	for _, ev := range evs {
		out[ev.Action+" "+ev.Outcome] = append(out[ev.Action+" "+ev.Outcome], ev)
	}
	return out
}

func TestEnrollJoinToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok, _, err := e.cat.CreateJoinToken(ctx, adminP, time.Hour, 1, "one node", "req")
	if err != nil {
		t.Fatal(err)
	}
	// A bad certificate request is refused before the token is spent.
	_, err = e.anon.Enroll(ctx, &agentapi.EnrollRequest{Method: enrol.JoinToken, Evidence: []byte(tok), Csr: []byte("junk")})
	apierrtest.Code(t, "bad csr", err, apierr.InvalidArgument, "certificate request")
	key, csr := newCSR(t)
	resp, err := e.anon.Enroll(ctx, &agentapi.EnrollRequest{Method: enrol.JoinToken, Evidence: []byte(tok), Csr: csr, Node: "node-7", AgentVersion: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(resp.CertificateChain[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.SpiffeId, "spiffe://test/nscale/agent/join_token/jt-") || leaf.URIs[0].String() != resp.SpiffeId ||
		!key.PublicKey.Equal(leaf.PublicKey) {
		t.Fatalf("certificate %v for %s", leaf.URIs, resp.SpiffeId)
	}
	a, _, err := e.cat.ListAgents(ctx, adminP, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var got store.Agent
	for _, x := range a {
		if x.ID == resp.AgentId {
			got = x
		}
	}
	if got.NodeName != "node-7" || got.Method != enrol.JoinToken || got.AgentVersion != "1.2.3" || !strings.HasPrefix(got.Subject, "join token ") {
		t.Fatalf("registry entry = %+v", got)
	}
	// Single use.
	_, csr2 := newCSR(t)
	_, err = e.anon.Enroll(ctx, &agentapi.EnrollRequest{Method: enrol.JoinToken, Evidence: []byte(tok), Csr: csr2})
	apierrtest.Code(t, "second use", err, apierr.Unauthenticated, "used up")
	_, err = e.anon.Enroll(ctx, &agentapi.EnrollRequest{Method: enrol.JoinToken, Evidence: []byte("nsj_made-up"), Csr: csr2})
	apierrtest.Code(t, "unknown token", err, apierr.Unauthenticated, "unknown join token")
	// Revoked before use.
	tok2, jt2, err := e.cat.CreateJoinToken(ctx, adminP, time.Hour, 5, "", "req")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cat.RevokeJoinToken(ctx, adminP, jt2.ID, "req"); err != nil {
		t.Fatal(err)
	}
	_, err = e.anon.Enroll(ctx, &agentapi.EnrollRequest{Method: enrol.JoinToken, Evidence: []byte(tok2), Csr: csr2})
	apierrtest.Code(t, "revoked token", err, apierr.Unauthenticated, "revoked")
	_, err = e.anon.Enroll(ctx, &agentapi.EnrollRequest{Method: "kubernetes", Evidence: []byte("x"), Csr: csr2})
	apierrtest.Code(t, "method not enabled", err, apierr.InvalidArgument, "not enabled")
	// Every attempt is audited.
	acts := auditActions(t, e)
	if len(acts["agent.enrol ok"]) < 2 || len(acts["agent.enrol denied"]) < 3 {
		t.Fatalf("audit: %d ok, %d denied enrolments", len(acts["agent.enrol ok"]), len(acts["agent.enrol denied"]))
	}
	for _, ev := range acts["agent.enrol denied"] {
		if strings.Contains(string(ev.Detail), tok) || strings.Contains(string(ev.Detail), tok2) {
			t.Fatalf("audit event holds a join token: %s", ev.Detail)
		}
	}
}

func TestEnrollUniqueIdentityOnce(t *testing.T) {
	e := newEnv(t)
	svc := newServiceWith(t, e, e.ca, map[string]enrol.Attestor{"test_unique": uniqueAttestor{}})
	client := dial(t, serve(t, svc, e.ca), e.ca, nil)
	_, csr := newCSR(t)
	if _, err := client.Enroll(context.Background(), &agentapi.EnrollRequest{Method: "test_unique", Evidence: []byte("good"), Csr: csr}); err != nil {
		t.Fatal(err)
	}
	// The same evidence again while the first certificate lives: a replay.
	_, err := client.Enroll(context.Background(), &agentapi.EnrollRequest{Method: "test_unique", Evidence: []byte("good"), Csr: csr})
	apierrtest.Code(t, "replay", err, apierr.FailedPrecondition, "already enrolled")
	_, err = client.Enroll(context.Background(), &agentapi.EnrollRequest{Method: "test_unique", Evidence: []byte("bad"), Csr: csr})
	apierrtest.Code(t, "bad evidence", err, apierr.Unauthenticated, "bad evidence")
}

func TestRenewAndHeartbeat(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cert, first := enrolWith(t, e.anon, e.cat, "node-h")
	client := dial(t, e.addr, e.ca, &cert)
	*e.caNow = e.caNow.Add(40 * time.Minute)
	_, csr := newCSR(t)
	renewed, err := client.Renew(ctx, &agentapi.RenewRequest{Csr: csr})
	if err != nil {
		t.Fatal(err)
	}
	if renewed.AgentId != first.AgentId || renewed.SpiffeId != first.SpiffeId || !renewed.ExpiresAt.AsTime().After(first.ExpiresAt.AsTime()) {
		t.Fatalf("renewed %v, first %v", renewed, first)
	}
	hb, err := client.Heartbeat(ctx, &agentapi.HeartbeatRequest{AgentVersion: "9.9", Listeners: []string{"127.0.0.1:7443", "/run/nscale/agent.sock"}, Health: "ok"})
	if err != nil || hb.IntervalSeconds != 15 {
		t.Fatalf("Heartbeat = %v, %v", hb, err)
	}
	a, _, err := e.cat.ListAgents(ctx, adminP, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range a {
		if x.ID == first.AgentId && (x.AgentVersion != "9.9" || x.Listeners != "127.0.0.1:7443 /run/nscale/agent.sock" || x.Health != "ok") {
			t.Fatalf("after heartbeat: %+v", x)
		}
	}
	// Revoked: the next call, and a renewal, are refused.
	if _, err := e.cat.RevokeAgent(ctx, adminP, first.AgentId, "req"); err != nil {
		t.Fatal(err)
	}
	_, err = client.Renew(ctx, &agentapi.RenewRequest{Csr: csr})
	apierrtest.Code(t, "renew revoked (before the refresh)", err, apierr.Unauthenticated, "revoked")
	_, err = client.Heartbeat(ctx, &agentapi.HeartbeatRequest{})
	apierrtest.Code(t, "heartbeat revoked", err, apierr.Unauthenticated, "revoked")
	if acts := auditActions(t, e); len(acts["agent.renew ok"]) != 1 || len(acts["agent.renew denied"]) != 1 || len(acts["REVOKE AGENT ok"]) != 1 {
		t.Fatalf("audit: %d ok and %d denied renewals, %d revocations", len(acts["agent.renew ok"]), len(acts["agent.renew denied"]), len(acts["REVOKE AGENT ok"]))
	}
}
