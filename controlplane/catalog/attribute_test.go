package catalog_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/apierr"
)

// TestDateFilterOnUserAttribute is docs/policy.md's example: a row filter
// `hired >= user_attribute('since')` on a date column is accepted, reads as
// a date comparison for a user whose attribute converts, and fails that
// user's evaluation with FailedPrecondition when it does not.
func TestDateFilterOnUserAttribute(t *testing.T) {
	e := newEnv(t, store.SQLite)
	ctx := context.Background()
	e.exec(t, admin, `
		CREATE DATABASE hr;
		CREATE EXTERNAL TABLE hr.staff (id bigint, hired date) PARTITIONED BY (dt date) STORED AS PARQUET LOCATION 'file://`+e.root+`/tx/';
		GRANT SELECT ON TABLE hr.staff TO USER ivy WHERE hired >= user_attribute('since');
		GRANT SELECT ON TABLE hr.staff TO USER caster WHERE hired >= CAST(user_attribute('since') AS date);
		GRANT SELECT ON TABLE hr.staff TO USER odd WHERE hired >= user_attribute('since');
	`)
	for _, u := range []string{"ivy", "caster"} {
		if err := e.svc.SetAttribute(ctx, admin, u, "since", "2024-01-01", "r"); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.svc.SetAttribute(ctx, admin, "odd", "since", "last spring", "r"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"ivy", "caster"} {
		eff, err := e.svc.ReadPolicy(ctx, u, "hr", "staff")
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if f := eff.Filter.String(); !strings.Contains(f, "hired >= DATE '2024-01-01'") {
			t.Fatalf("%s's filter = %s, want a date comparison", u, f)
		}
	}
	if _, err := e.svc.ReadPolicy(ctx, "odd", "hr", "staff"); apierr.CodeOf(err) != apierr.FailedPrecondition {
		t.Fatalf("odd (since='last spring'): %v, want FailedPrecondition", err)
	}
}
