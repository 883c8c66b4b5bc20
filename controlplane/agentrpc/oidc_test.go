package agentrpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nscale/nscale/controlplane/agentrpc"
	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/auth/oidc"
	"github.com/nscale/nscale/controlplane/auth/oidc/oidctest"
	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/apierr/apierrtest"
)

// An OIDC user's groups claim, mapped onto an nscale group, decides what
// the user reads: at planning, and again when URLs are signed (the ticket
// carries the groups).
func TestOIDCGroupsDecideAccess(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.cat.Exec(ctx, adminP, `GRANT SELECT (id, country) ON TABLE sales.tx TO GROUP analysts;`, "req"); err != nil {
		t.Fatal(err)
	}
	key := oidctest.NewECKey(t, "k1")
	idp := oidctest.NewServer(t, key)
	o, err := oidc.New(oidc.Config{Issuer: "https://idp.test", Audience: "nscale", JWKSURL: idp.URL(), UserClaim: "email",
		GroupsClaim: "groups", GroupMap: map[string]string{"okta-analysts": "analysts"}}, oidc.WithRegisterer(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := agentrpc.New(agentrpc.Config{
		CA: e.ca, Attestors: attestors(e.cat), Users: auth.Chain{auth.UserTokens{Store: e.cat}, o},
		Planner: e.pl, Catalog: e.cat, Signer: e.signer, Files: e.files, LocalRoot: e.blobRoot, URLTTL: time.Minute,
		MaskingKey: e.maskingKey, Registry: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, svc, e.ca)
	cert, _ := enrolWith(t, dial(t, addr, e.ca, nil), e.cat, "node-o")
	oe := *e
	oe.client = dial(t, addr, e.ca, &cert)

	token := func(groups ...string) string {
		c := oidctest.Claims("https://idp.test", "nscale", "dana-sub", time.Now())
		c["email"] = "dana@example.com"
		if groups != nil {
			c["groups"] = groups
		}
		return key.Sign(t, c)
	}
	r, err := oe.client.Authenticate(ctx, &agentapi.AuthenticateRequest{UserToken: token()})
	if err != nil || r.Principal != "dana@example.com" {
		t.Fatalf("Authenticate = %v, %v", r, err)
	}
	// In the mapped group: the group's grant applies, and URLs are signed.
	h, pages, _, err := oe.plan(t, token("okta-analysts", "okta-other"), "SELECT id, country FROM sales.tx", 0)
	if err != nil || h.Principal != "dana@example.com" || len(pages) == 0 {
		t.Fatalf("plan in the group: %v %v", h, err)
	}
	if _, err := oe.client.SignURLs(ctx, &agentapi.SignURLsRequest{Ticket: pages[0][0]}); err != nil {
		t.Fatalf("SignURLs of a group-derived ticket: %v", err)
	}
	// Not in it (no claim, or only an unmapped group): no grant.
	for name, tok := range map[string]string{"no groups": token(), "unmapped group": token("okta-other"), "the nscale name itself": token("analysts")} {
		_, _, _, err := oe.plan(t, tok, "SELECT id FROM sales.tx", 0)
		apierrtest.Code(t, name, err, apierr.PermissionDenied, "no SELECT grant")
	}
	// Refusals say why, as UNAUTHENTICATED.
	expired := oidctest.Claims("https://idp.test", "nscale", "x", time.Now().Add(-3*time.Hour))
	expired["email"] = "dana@example.com"
	wrongAud := oidctest.Claims("https://idp.test", "other-app", "x", time.Now())
	wrongAud["email"] = "dana@example.com"
	for name, c := range map[string]struct {
		tok, want string
	}{"expired": {key.Sign(t, expired), "expired"}, "wrong audience": {key.Sign(t, wrongAud), "audience"}} {
		_, err := oe.client.Authenticate(ctx, &agentapi.AuthenticateRequest{UserToken: c.tok})
		apierrtest.Code(t, name, err, apierr.Unauthenticated, c.want)
	}
	// A token from another key is refused as any bad credential.
	other := oidctest.NewECKey(t, "k1")
	_, err = oe.client.Authenticate(ctx, &agentapi.AuthenticateRequest{UserToken: other.Sign(t, oidctest.Claims("https://idp.test", "nscale", "x", time.Now()))})
	apierrtest.Code(t, "forged token", err, apierr.Unauthenticated, "invalid user credential")
}
