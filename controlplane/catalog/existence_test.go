package catalog_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/apierr"
)

// TestUsersCannotProbeExistence: for a user, a hidden database or table and
// one that does not exist get the same answers (SHOW TABLES IN, DESCRIBE),
// storage locations are blank, and a table whose policy cannot be enforced
// is left out of listings instead of failing them.
func TestUsersCannotProbeExistence(t *testing.T) {
	e := newEnv(t, store.SQLite)
	e.setup(t)
	e.exec(t, admin, `
		CREATE DATABASE secret;
		CREATE EXTERNAL TABLE secret.s (id bigint) PARTITIONED BY (dt date) STORED AS PARQUET LOCATION 'file://`+e.root+`/tx/';
		CREATE EXTERNAL TABLE sales.broken (n bigint) PARTITIONED BY (dt date) STORED AS PARQUET LOCATION 'file://`+e.root+`/tx/';
		ALTER TABLE sales.broken ALTER COLUMN n SET TAGS ('pii.email');
		CREATE TAG POLICY pii_email ON TAG 'pii' MASK email_domain;
		GRANT SELECT ON TABLE sales.broken TO USER alice;
	`)
	alice := auth.Principal{User: "alice"}
	ctx := context.Background()
	for _, db := range []string{"secret", "nosuch"} {
		if res := e.exec(t, alice, "SHOW TABLES IN "+db); len(res[0].Rows) != 0 {
			t.Fatalf("SHOW TABLES IN %s: %v", db, res[0].Rows)
		}
	}
	var msgs []string
	for _, tbl := range []string{"secret.s", "sales.nosuch", "nosuch.t"} {
		_, err := e.svc.Exec(ctx, alice, "DESCRIBE "+tbl, "req")
		if apierr.CodeOf(err) != apierr.PermissionDenied {
			t.Fatalf("DESCRIBE %s: %v, want PermissionDenied", tbl, err)
		}
		msgs = append(msgs, strings.Replace(err.Error(), tbl, "T", 1))
	}
	if msgs[0] != msgs[1] || msgs[1] != msgs[2] {
		t.Fatalf("DESCRIBE tells the tables apart: %q", msgs)
	}
	res := e.exec(t, alice, "SHOW TABLES")
	if len(res[0].Rows) != 1 || res[0].Rows[0][1] != "tx" || res[0].Rows[0][3] != "" {
		t.Fatalf("alice's SHOW TABLES = %v, want sales.tx alone, without its location", res[0].Rows)
	}
	if res := e.exec(t, alice, "SHOW DATABASES"); len(res[0].Rows) != 1 || res[0].Rows[0][0] != "sales" {
		t.Fatalf("alice's SHOW DATABASES = %v", res[0].Rows)
	}
	dbs, tables, err := e.svc.Visible(ctx, "alice")
	if err != nil || len(dbs) != 1 || len(tables) != 1 || tables[0].Name != "tx" {
		t.Fatalf("Visible = %v %v %v", dbs, tables, err)
	}
	// The admin still sees everything, locations included.
	res = e.exec(t, admin, "SHOW TABLES IN sales")
	if len(res[0].Rows) != 2 || !strings.HasPrefix(res[0].Rows[0][3], "file://") {
		t.Fatalf("admin SHOW TABLES = %v", res[0].Rows)
	}
	if _, err := e.svc.Exec(ctx, admin, "SHOW TABLES IN nosuch", "req"); !apierr.Is(err, apierr.NotFound) {
		t.Fatalf("admin SHOW TABLES IN nosuch: %v, want NotFound", err)
	}
}
