package catalog_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/nscale/nscale/controlplane/store"
)

// Visible lists only what the user may read, with the user's columns; a
// database without a readable table stays hidden.
func TestVisible(t *testing.T) {
	e := newEnv(t, store.SQLite)
	e.setup(t)
	e.exec(t, admin, `
		CREATE DATABASE hr;
		CREATE EXTERNAL TABLE hr.pay (id bigint, salary decimal(10,2)) PARTITIONED BY (dt date) STORED AS PARQUET LOCATION 'file://`+e.root+`/tx/';
		CREATE EXTERNAL TABLE sales.hidden (id bigint) PARTITIONED BY (dt date) STORED AS PARQUET LOCATION 'file://`+e.root+`/tx/';
		GRANT SELECT (id) ON TABLE hr.pay TO USER carol;
	`)
	ctx := context.Background()
	type col struct{ name, typ, mask string }
	render := func(user string) (dbs []string, tables map[string][]col) {
		dbs, ts, err := e.svc.Visible(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		tables = map[string][]col{}
		for _, vt := range ts {
			for _, c := range vt.Columns {
				m := ""
				if c.Mask != nil {
					m = c.Mask.String()
				}
				tables[vt.Database+"."+vt.Name] = append(tables[vt.Database+"."+vt.Name], col{c.Name, c.Type.String(), m})
			}
		}
		return dbs, tables
	}
	dbs, tables := render("alice")
	if !reflect.DeepEqual(dbs, []string{"sales"}) || len(tables) != 1 {
		t.Fatalf("alice sees %v %v, want sales.tx only", dbs, tables)
	}
	masks := map[string]string{}
	for _, c := range tables["sales.tx"] {
		masks[c.name] = c.mask
	}
	if masks["email"] != "email_domain" || masks["card"] != "show_last(4)" || masks["id"] != "" {
		t.Fatalf("alice's columns %v", tables["sales.tx"])
	}
	dbs, tables = render("carol")
	if !reflect.DeepEqual(dbs, []string{"hr"}) || !reflect.DeepEqual(tables["hr.pay"], []col{{"id", "int64", ""}}) || len(tables) != 1 {
		t.Fatalf("carol sees %v %v, want hr.pay (id) only", dbs, tables)
	}
	if dbs, tables := render("nobody"); len(dbs) != 0 || len(tables) != 0 {
		t.Fatalf("a user without grants sees %v %v", dbs, tables)
	}
}
