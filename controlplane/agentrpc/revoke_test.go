package agentrpc_test

import (
	"context"
	"testing"

	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/apierr/apierrtest"
)

// TestSignURLsAfterPolicyChange: a ticket planned before a change of its
// user's policy on the table gets no more URLs: after a new mask it is
// FailedPrecondition (plan again), after REVOKE PermissionDenied. A change
// on another table leaves it valid.
func TestSignURLsAfterPolicyChange(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ticket := func() []byte {
		t.Helper()
		_, pages, _, err := e.plan(t, e.carol, "SELECT id FROM sales.tx WHERE dt = '2024-01-03'", 0)
		if err != nil || len(pages) != 1 {
			t.Fatalf("plan: %v %v", pages, err)
		}
		return pages[0][0]
	}
	sign := func(tk []byte) error {
		_, err := e.client.SignURLs(agentCtx(), &agentapi.SignURLsRequest{Ticket: tk})
		return err
	}
	tk := ticket()
	if _, err := e.cat.Exec(ctx, adminP, "CREATE DATABASE other; GRANT SELECT ON DATABASE other TO USER carol", "req"); err != nil {
		t.Fatal(err)
	}
	if err := sign(tk); err != nil {
		t.Fatalf("after a change elsewhere: %v", err)
	}
	if _, err := e.cat.Exec(ctx, adminP, "ALTER TABLE sales.tx ALTER COLUMN id SET MASK zero FOR USER carol", "req"); err != nil {
		t.Fatal(err)
	}
	apierrtest.Code(t, "after a new mask", sign(tk), apierr.FailedPrecondition, "changed after the query was planned")
	tk = ticket()
	if err := sign(tk); err != nil {
		t.Fatalf("a ticket planned under the new policy: %v", err)
	}
	if _, err := e.cat.Exec(ctx, adminP, "REVOKE SELECT (id, email, dt) ON TABLE sales.tx FROM USER carol", "req"); err != nil {
		t.Fatal(err)
	}
	apierrtest.Code(t, "after REVOKE", sign(tk), apierr.PermissionDenied, "may no longer read sales.tx")
}
