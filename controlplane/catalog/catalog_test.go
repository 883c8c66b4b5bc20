package catalog_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/apitypes"
	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/catalog"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
	"github.com/nscale/nscale/internal/apierr"
)

var admin = auth.Principal{Bootstrap: true}

type env struct {
	svc  *catalog.Service
	st   *store.Store
	root string
}

func newEnv(t *testing.T, d store.Dialect) *env {
	t.Helper()
	root := t.TempDir()
	for _, f := range []string{"tx/dt=2024-01-01/part-0.parquet", "tx/dt=2024-01-02/part-0.parquet", "tx/_SUCCESS", "tx/dt=2024-01-02/.part-0.parquet.crc"} {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st := storetest.Open(t, d)
	svc := catalog.New(catalog.Config{Store: st, Objects: &catalog.ObjectStore{LocalRoot: root}, LocalRoot: root,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return &env{svc: svc, st: st, root: root}
}

func (e *env) exec(t *testing.T, p auth.Principal, sql string) []apitypes.SQLResult {
	t.Helper()
	res, err := e.svc.Exec(context.Background(), p, sql, "req-test")
	if err != nil {
		t.Fatalf("%s\n-> %v", sql, err)
	}
	return res
}

func (e *env) setup(t *testing.T) {
	e.exec(t, admin, `
		CREATE DATABASE sales COMMENT 'card transactions';
		CREATE EXTERNAL TABLE sales.tx (id bigint, email string, card string, country string, amount decimal(10,2))
			PARTITIONED BY (dt date) STORED AS PARQUET LOCATION 'file://`+e.root+`/tx/';
		CREATE ROLE analyst;
		GRANT SELECT ON TABLE sales.tx TO ROLE analyst WHERE country = user_attribute('country');
		ALTER TABLE sales.tx ALTER COLUMN email SET MASK email_domain FOR ROLE analyst;
		ALTER TABLE sales.tx ALTER COLUMN card SET MASK show_last(4) FOR ROLE analyst;
		GRANT ROLE analyst TO USER alice;
	`)
}

func TestNewcomerFlow(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		e.setup(t)
		ctx := context.Background()

		if n, err := e.st.CountFiles(ctx, store.TableRef{Database: "sales", Name: "tx"}); err != nil || n != 2 {
			t.Fatalf("files = %d (%v), want 2 (hidden files skipped)", n, err)
		}
		alice := auth.Principal{User: "alice"}
		text, eff, err := e.svc.Explain(ctx, admin, "alice", "sales", "tx")
		if err != nil {
			t.Fatal(err)
		}
		if eff == nil || len(eff.Columns) != 6 {
			t.Fatalf("effective = %+v\n%s", eff, text)
		}
		masks := map[string]string{}
		for _, c := range eff.Columns {
			if c.Mask != nil {
				masks[c.Name] = c.Mask.String()
			}
		}
		if masks["email"] != "email_domain" || masks["card"] != "show_last(4)" || len(masks) != 2 {
			t.Errorf("masks = %v", masks)
		}
		// alice has no country attribute: NULL admits nothing.
		if eff.Filter == nil || eff.Filter.String() != "FALSE" {
			t.Errorf("filter without attribute = %v, want FALSE", eff.Filter)
		}
		if err := e.svc.SetAttribute(ctx, admin, "alice", "country", "DE", "r"); err != nil {
			t.Fatal(err)
		}
		_, eff, err = e.svc.Explain(ctx, admin, "alice", "sales", "tx")
		if err != nil || eff.Filter == nil || eff.Filter.String() != "country = 'DE'" {
			t.Fatalf("filter with attribute = %v (%v)", eff.Filter, err)
		}

		// alice sees her table, with masks, but may not change anything.
		res := e.exec(t, alice, "SHOW TABLES; DESCRIBE sales.tx")
		if len(res[0].Rows) != 1 || res[0].Rows[0][1] != "tx" {
			t.Errorf("alice SHOW TABLES = %v", res[0].Rows)
		}
		if got := len(res[1].Rows); got != 6 {
			t.Errorf("alice DESCRIBE rows = %d", got)
		}
		_, err = e.svc.Exec(ctx, alice, "CREATE DATABASE mine", "req-alice")
		if !apierr.Is(err, apierr.PermissionDenied) {
			t.Errorf("alice CREATE DATABASE: %v", err)
		}
		// bob has no grant at all.
		res = e.exec(t, auth.Principal{User: "bob"}, "SHOW TABLES")
		if len(res[0].Rows) != 0 {
			t.Errorf("bob sees %v", res[0].Rows)
		}
		_, eff, err = e.svc.Explain(ctx, admin, "alice", "sales", "missing")
		if !apierr.Is(err, apierr.NotFound) {
			t.Errorf("explain missing table: %v %v", eff, err)
		}

		// Every change and the refusal are in the audit trail, newest first.
		events, _, err := e.st.ListAudit(ctx, store.Page{PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		var denied, ok int
		for _, ev := range events {
			switch ev.Outcome {
			case "denied":
				denied++
				if ev.Actor != "alice" || ev.RequestID != "req-alice" || !strings.Contains(ev.Statement, "CREATE DATABASE mine") {
					t.Errorf("denied event = %+v", ev)
				}
			case "ok":
				ok++
				if ev.Action == "GRANT SELECT" && ev.PolicyVersionAfter <= ev.PolicyVersionBefore {
					t.Errorf("grant did not raise the policy version: %+v", ev)
				}
			}
		}
		if denied != 1 || ok != 8 {
			t.Errorf("audit: %d denied, %d ok; want 1 and 8 (7 statements + 1 attribute)", denied, ok)
		}
	})
}

func TestWriteTimeValidation(t *testing.T) {
	e := newEnv(t, store.SQLite)
	e.setup(t)
	loc := "file://" + e.root + "/tx/"
	cases := []struct {
		name, sql string
		code      apierr.Code
		want      string
	}{
		{"filter unknown column", "GRANT SELECT ON TABLE sales.tx TO ROLE analyst WHERE region = 'EU'", apierr.InvalidArgument, "region"},
		{"filter unknown function", "GRANT SELECT ON TABLE sales.tx TO ROLE analyst WHERE lower(country) = 'de'", apierr.InvalidArgument, "lower"},
		{"filter type mismatch", "GRANT SELECT ON TABLE sales.tx TO ROLE analyst WHERE amount = 'lots'", apierr.InvalidArgument, "amount"},
		{"grant unknown column", "GRANT SELECT (id, nope) ON TABLE sales.tx TO ROLE analyst", apierr.NotFound, "nope"},
		{"filter on database grant", "GRANT SELECT ON DATABASE sales TO ROLE analyst WHERE id = 1", apierr.InvalidArgument, "ON TABLE"},
		{"grant to missing role", "GRANT SELECT ON TABLE sales.tx TO ROLE ghosts", apierr.NotFound, "CREATE ROLE ghosts"},
		{"mask wrong type", "ALTER TABLE sales.tx ALTER COLUMN amount SET MASK show_last(4)", apierr.InvalidArgument, "amount"},
		{"mask unknown column", "ALTER TABLE sales.tx ALTER COLUMN nope SET MASK null", apierr.NotFound, "nope"},
		{"missing table", "GRANT SELECT ON TABLE sales.nope TO ROLE analyst", apierr.NotFound, "nope"},
		{"duplicate database", "CREATE DATABASE sales", apierr.AlreadyExists, "sales"},
		{"location outside root", "CREATE EXTERNAL TABLE sales.t2 (a int) STORED AS PARQUET LOCATION 'file:///etc/'", apierr.PermissionDenied, "outside local_files.root"},
		{"location scheme", "CREATE EXTERNAL TABLE sales.t2 (a int) STORED AS PARQUET LOCATION 'http://x/'", apierr.InvalidArgument, "s3://"},
		{"partition mismatch", "CREATE EXTERNAL TABLE sales.t3 (a int) PARTITIONED BY (day date) STORED AS PARQUET LOCATION '" + loc + "'", apierr.InvalidArgument, "day"},
		{"csv delimiter", "CREATE EXTERNAL TABLE sales.t4 (a int) STORED AS CSV LOCATION '" + loc + "' TBLPROPERTIES ('delimiter'='ab')", apierr.InvalidArgument, "delimiter"},
		{"drop non-empty database", "DROP DATABASE sales", apierr.FailedPrecondition, "CASCADE"},
		{"second statement fails", "CREATE ROLE auditors; CREATE ROLE auditors", apierr.AlreadyExists, "statement 2 of 2"},
		{"parse error", "GRANT SELEC ON sales.tx TO analyst", apierr.InvalidArgument, "line 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := e.st.PolicyVersion(context.Background())
			_, err := e.svc.Exec(context.Background(), admin, tc.sql, "r")
			if apierr.CodeOf(err) != tc.code || !strings.Contains(apierr.PublicMessage(err), tc.want) {
				t.Fatalf("err = %v (code %s), want %s containing %q", err, apierr.CodeOf(err), tc.code, tc.want)
			}
			after, _ := e.st.PolicyVersion(context.Background())
			if after != before && !strings.Contains(tc.sql, ";") {
				t.Errorf("a refused statement changed the policy version %d -> %d", before, after)
			}
		})
	}
}

// Location spellings a Hadoop or Spark user types are accepted and stored
// in one form.
func TestLocationSpellings(t *testing.T) {
	e := newEnv(t, store.SQLite)
	e.exec(t, admin, "CREATE DATABASE d")
	for i, loc := range []string{"file://localhost" + e.root + "/tx", "file:" + e.root + "/tx/"} {
		name := fmt.Sprintf("t%d", i)
		e.exec(t, admin, "CREATE EXTERNAL TABLE d."+name+" (id bigint) PARTITIONED BY (dt date) STORED AS PARQUET LOCATION '"+loc+"'")
		tb, err := e.st.GetTable(context.Background(), "d", name)
		if err != nil {
			t.Fatal(err)
		}
		if tb.Location != "file://"+e.root+"/tx/" {
			t.Errorf("%s stored as %s", loc, tb.Location)
		}
	}
}

func TestDropDatabaseCascadeAndRevoke(t *testing.T) {
	e := newEnv(t, store.SQLite)
	e.setup(t)
	ctx := context.Background()
	e.exec(t, admin, "REVOKE SELECT ON TABLE sales.tx FROM ROLE analyst")
	_, eff, err := e.svc.Explain(ctx, admin, "alice", "sales", "tx")
	if err != nil || eff != nil {
		t.Fatalf("after revoke alice still has %v (%v)", eff, err)
	}
	if _, err := e.svc.Exec(ctx, admin, "REVOKE SELECT ON TABLE sales.tx FROM ROLE analyst", "r"); !apierr.Is(err, apierr.NotFound) {
		t.Errorf("second revoke: %v", err)
	}
	e.exec(t, admin, "DROP DATABASE sales CASCADE")
	res := e.exec(t, admin, "SHOW DATABASES")
	if len(res[0].Rows) != 0 {
		t.Errorf("databases left: %v", res[0].Rows)
	}
}

// Re-running idempotent statements must work on every dialect (a failed
// INSERT aborts a PostgreSQL transaction) and must not change policy.
func TestIdempotentStatements(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d)
		e.setup(t)
		ctx := context.Background()
		before, _ := e.st.PolicyVersion(ctx)
		res := e.exec(t, admin, `
			CREATE DATABASE IF NOT EXISTS sales;
			CREATE EXTERNAL TABLE IF NOT EXISTS sales.tx (id bigint) STORED AS PARQUET LOCATION 'file://`+e.root+`/tx/';
			GRANT ROLE analyst TO USER alice`)
		if !strings.Contains(res[0].Message, "already exists") || !strings.Contains(res[1].Message, "already exists") {
			t.Errorf("results = %+v", res)
		}
		after, _ := e.st.PolicyVersion(ctx)
		if after != before {
			t.Errorf("no-op statements moved the policy version %d -> %d", before, after)
		}
	})
}

func TestRefusedAdminActionIsAudited(t *testing.T) {
	e := newEnv(t, store.SQLite)
	ctx := context.Background()
	_, _, err := e.svc.CreateToken(ctx, auth.Principal{User: "mallory"}, "alice", "", time.Hour, "req-m")
	if !apierr.Is(err, apierr.PermissionDenied) {
		t.Fatalf("err = %v", err)
	}
	events, _, _ := e.st.ListAudit(ctx, store.Page{PageSize: 10})
	if len(events) != 1 || events[0].Outcome != "denied" || events[0].Actor != "mallory" || events[0].Action != "CREATE TOKEN" {
		t.Fatalf("audit = %+v", events)
	}
}

// TestExecStopsWhenTheClientLeaves: a long script stops at the next
// statement once its context is cancelled, instead of running to the end.
func TestExecStopsWhenTheClientLeaves(t *testing.T) {
	e := newEnv(t, store.SQLite)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.svc.Exec(ctx, admin, "CREATE DATABASE a; CREATE DATABASE b", "req")
	if apierr.CodeOf(err) != apierr.Unavailable || !strings.Contains(err.Error(), "cancelled after 0 of 2") {
		t.Fatalf("err = %v", err)
	}
	if res := e.exec(t, admin, "SHOW DATABASES"); len(res) != 1 || len(res[0].Rows) != 0 {
		t.Fatalf("a database was created after the cancel: %+v", res)
	}
}
