package agentrpc_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/apierr/apierrtest"
)

// TestPlanAuditedWhateverTheText: a NUL byte in a comment or a text over
// 1 MiB used to make the audit insert fail while the plan was served.
func TestPlanAuditedWhateverTheText(t *testing.T) {
	e := newEnv(t)
	for _, sql := range []string{
		"SELECT id FROM sales.tx /* \x00 */",
		"SELECT id FROM sales.tx /*" + strings.Repeat("y", 1<<20+10) + "*/",
	} {
		_, _, _, err := e.plan(t, e.carol, sql, 0)
		if len(sql) > agentapi.MaxStatementBytes && (apierr.CodeOf(apierr.FromGRPC(err)) != apierr.InvalidArgument || !strings.Contains(err.Error(), "at most 1048576 are accepted")) {
			t.Errorf("a statement of %d bytes: %v, want INVALID_ARGUMENT naming the limit", len(sql), err)
		}
		events, _, lerr := e.cat.ListAudit(context.Background(), adminP, store.Page{PageSize: 1})
		if lerr != nil || len(events) != 1 {
			t.Fatal(events, lerr)
		}
		ev := events[0]
		if ev.Action != "query.plan" || ev.Actor != "carol" || !strings.Contains(string(ev.Detail), "statement_sha256") {
			t.Fatalf("plan of %d bytes (err %v): newest audit event %+v, want carol's query.plan with the text's hash", len(sql), err, ev)
		}
	}
}

// TestPlanFailsWhenAuditFails: a plan whose audit event cannot be written is
// not served: no totals reach the agent, and the error says why.
func TestPlanFailsWhenAuditFails(t *testing.T) {
	e := newEnv(t)
	if _, _, totals, err := e.plan(t, e.carol, "SELECT id FROM sales.tx", 0); err != nil || totals == nil {
		t.Fatalf("before: %v %v", totals, err)
	}
	db, err := sql.Open("sqlite", e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER audit_full BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
		t.Fatal(err)
	}
	_, pages, totals, err := e.plan(t, e.carol, "SELECT id FROM sales.tx", 0)
	apierrtest.Code(t, "plan with a failing audit", err, apierr.Unavailable, "cannot be audited")
	if totals != nil {
		t.Fatalf("the totals were sent (%d pages): an agent would serve an unaudited plan", len(pages))
	}
}
