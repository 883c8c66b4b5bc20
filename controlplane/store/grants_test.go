package store_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/apierr/apierrtest"
)

const (
	euFilter = `{"op":"eq","args":[{"col":"region"},{"lit":"eu"}]}`
	usFilter = `{"op":"eq","args":[{"col":"region"},{"lit":"us"}]}`
)

func tableSec(db, table string) store.Securable {
	return store.Securable{Kind: store.SecurableTable, Database: db, Table: table}
}

func createGrant(t *testing.T, s *store.Store, g store.Grant) store.Grant {
	t.Helper()
	var out store.Grant
	mustTx(t, s, func(tx *store.Tx) error {
		var err error
		out, err = tx.CreateGrant(context.Background(), g)
		return err
	})
	return out
}

func listGrants(t *testing.T, s *store.Store, f store.GrantFilter, size int) []store.Grant {
	t.Helper()
	var out []store.Grant
	tok := ""
	for {
		page, next, err := s.ListGrants(context.Background(), f, store.Page{PageSize: size, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if tok = next; tok == "" {
			return out
		}
	}
}

func TestGrants(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		cfg := storetest.Config(t, d)
		s := storetest.OpenConfig(t, cfg)
		alice, eng := ref(store.User, "alice"), ref(store.Group, "eng")
		createPrincipals(t, s, alice, eng)
		createDatabase(t, s, store.Database{Name: "sales"})
		createDatabase(t, s, store.Database{Name: "hr"})
		createTable(t, s, ordersTable("sales"))
		createTable(t, s, ordersTable("hr"))

		catalog := createGrant(t, s, store.Grant{Principal: eng, Privilege: store.Select,
			Securable: store.Securable{Kind: store.SecurableCatalog}, GrantedBy: "admin"})
		database := createGrant(t, s, store.Grant{Principal: alice, Privilege: store.Select,
			Securable: store.Securable{Kind: store.SecurableDatabase, Database: "sales"}})
		columns := createGrant(t, s, store.Grant{Principal: alice, Privilege: store.Select,
			Securable: tableSec("sales", "orders"), Columns: []string{"region", "id", "id"}})
		filtered := createGrant(t, s, store.Grant{Principal: alice, Privilege: store.Select,
			Securable: tableSec("sales", "orders"), Filter: &store.RowFilter{Expression: euFilter, SQL: "region = 'eu'"}})
		hr := createGrant(t, s, store.Grant{Principal: eng, Privilege: store.Select, Securable: tableSec("hr", "orders"),
			Columns: []string{"email"}, Filter: &store.RowFilter{Expression: usFilter, SQL: "region = 'us'"}})

		if !reflect.DeepEqual(columns.Columns, []string{"id", "region"}) || columns.Filter != nil || columns.Version != 1 {
			t.Fatalf("column grant = %+v", columns)
		}
		if filtered.Filter == nil || filtered.Filter.ID == "" || filtered.Filter.SQL != "region = 'eu'" || filtered.Columns != nil {
			t.Fatalf("filtered grant = %+v", filtered)
		}
		all := []store.Grant{catalog, database, columns, filtered, hr}
		for _, g := range all {
			got, err := s.GetGrant(ctx, g.ID)
			if err != nil || !reflect.DeepEqual(got, g) {
				t.Fatalf("get = %+v, %v\nwant %+v", got, err, g)
			}
		}

		cases := []struct {
			name string
			g    store.Grant
			code apierr.Code
			msg  string
		}{
			{"duplicate catalog grant", store.Grant{Principal: eng, Privilege: store.Select,
				Securable: store.Securable{Kind: store.SecurableCatalog}}, apierr.AlreadyExists, `group "eng" already has SELECT on catalog`},
			{"duplicate columns in another order", store.Grant{Principal: alice, Privilege: store.Select,
				Securable: tableSec("sales", "orders"), Columns: []string{"region", "id"}}, apierr.AlreadyExists, "(id, region)"},
			{"duplicate filter", store.Grant{Principal: alice, Privilege: store.Select, Securable: tableSec("sales", "orders"),
				Filter: &store.RowFilter{Expression: euFilter}}, apierr.AlreadyExists, "with the same row filter"},
			{"columns on a database", store.Grant{Principal: alice, Privilege: store.Select,
				Securable: store.Securable{Kind: store.SecurableDatabase, Database: "hr"}, Columns: []string{"id"}},
				apierr.InvalidArgument, "only to grants on a table"},
			{"filter on the catalog", store.Grant{Principal: alice, Privilege: store.Select,
				Securable: store.Securable{Kind: store.SecurableCatalog}, Filter: &store.RowFilter{Expression: euFilter}},
				apierr.InvalidArgument, "only to grants on a table"},
			{"catalog naming a database", store.Grant{Principal: alice, Privilege: store.Select,
				Securable: store.Securable{Kind: store.SecurableCatalog, Database: "sales"}}, apierr.InvalidArgument, "names no database"},
			{"unknown securable kind", store.Grant{Principal: alice, Privilege: store.Select,
				Securable: store.Securable{Kind: "view", Database: "sales"}}, apierr.InvalidArgument, `unknown securable kind "view"`},
			{"unknown privilege", store.Grant{Principal: alice, Privilege: "DELETE",
				Securable: store.Securable{Kind: store.SecurableCatalog}}, apierr.InvalidArgument, `unknown privilege "DELETE"`},
			{"filter that is not JSON", store.Grant{Principal: alice, Privilege: store.Select, Securable: tableSec("hr", "orders"),
				Filter: &store.RowFilter{Expression: "region = 'eu'"}}, apierr.InvalidArgument, "not valid JSON"},
			{"empty filter", store.Grant{Principal: alice, Privilege: store.Select, Securable: tableSec("hr", "orders"),
				Filter: &store.RowFilter{}}, apierr.InvalidArgument, "expression is empty"},
			{"missing column", store.Grant{Principal: alice, Privilege: store.Select, Securable: tableSec("hr", "orders"),
				Columns: []string{"id", "salary"}}, apierr.NotFound, `column "hr.orders.salary" not found`},
			{"missing table", store.Grant{Principal: alice, Privilege: store.Select, Securable: tableSec("hr", "nope")},
				apierr.NotFound, `table "hr.nope" not found`},
			{"missing database", store.Grant{Principal: alice, Privilege: store.Select,
				Securable: store.Securable{Kind: store.SecurableDatabase, Database: "nope"}}, apierr.NotFound, `database "nope" not found`},
			{"missing principal", store.Grant{Principal: ref(store.Role, "nope"), Privilege: store.Select,
				Securable: store.Securable{Kind: store.SecurableCatalog}}, apierr.NotFound, `role "nope" not found`},
		}
		for _, tc := range cases {
			err := s.InTx(ctx, func(tx *store.Tx) error {
				_, err := tx.CreateGrant(ctx, tc.g)
				return err
			})
			apierrtest.Code(t, tc.name, err, tc.code, tc.msg)
		}
		// Another filter on the same table is another grant.
		us := createGrant(t, s, store.Grant{Principal: alice, Privilege: store.Select, Securable: tableSec("sales", "orders"),
			Filter: &store.RowFilter{Expression: usFilter, SQL: "region = 'us'"}})
		all = append(all, us)

		ids := func(gs []store.Grant) []string {
			var out []string
			for _, g := range gs {
				out = append(out, g.ID)
			}
			return out
		}
		for _, tc := range []struct {
			name string
			f    store.GrantFilter
			want []store.Grant
		}{
			{"all", store.GrantFilter{}, all},
			{"alice", store.GrantFilter{Principal: &alice}, []store.Grant{database, columns, filtered, us}},
			{"eng", store.GrantFilter{Principal: &eng}, []store.Grant{catalog, hr}},
			{"sales", store.GrantFilter{Database: "sales"}, []store.Grant{database, columns, filtered, us}},
			{"sales.orders", store.GrantFilter{Database: "sales", Table: "orders"}, []store.Grant{columns, filtered, us}},
			{"eng on hr", store.GrantFilter{Principal: &eng, Database: "hr"}, []store.Grant{hr}},
		} {
			for _, size := range []int{1, 2, 0} {
				if got := listGrants(t, s, tc.f, size); !reflect.DeepEqual(ids(got), ids(tc.want)) || !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("%s, size %d: listed %v, want %v", tc.name, size, ids(got), ids(tc.want))
				}
			}
		}
		for name, f := range map[string]store.GrantFilter{
			"missing principal": {Principal: refPtr(store.User, "bob")},
			"missing database":  {Database: "nope"},
			"missing table":     {Database: "sales", Table: "nope"},
		} {
			if _, _, err := s.ListGrants(ctx, f, store.Page{}); apierr.CodeOf(err) != apierr.NotFound {
				t.Fatalf("%s: %v, want NotFound", name, err)
			}
		}
		if _, _, err := s.ListGrants(ctx, store.GrantFilter{Table: "orders"}, store.Page{}); apierr.CodeOf(err) != apierr.InvalidArgument {
			t.Fatalf("table without database: %v, want InvalidArgument", err)
		}

		// DeleteGrant takes the row filter with it.
		filters := count(t, cfg, "SELECT COUNT(*) FROM row_filters")
		apierrtest.Code(t, "delete stale", s.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteGrant(ctx, filtered.ID, 2) }),
			apierr.Conflict, "expected version 2, current version 1")
		mustTx(t, s, func(tx *store.Tx) error { return tx.DeleteGrant(ctx, filtered.ID, filtered.Version) })
		if n := count(t, cfg, "SELECT COUNT(*) FROM row_filters"); n != filters-1 {
			t.Fatalf("%d row filters after DeleteGrant, want %d", n, filters-1)
		}
		if n := count(t, cfg, "SELECT COUNT(*) FROM row_filters WHERE id = ?", filtered.Filter.ID); n != 0 {
			t.Fatal("the deleted grant's row filter is left")
		}
		apierrtest.Code(t, "get deleted", func() error { _, err := s.GetGrant(ctx, filtered.ID); return err }(), apierr.NotFound, "not found")
		apierrtest.Code(t, "delete deleted", s.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteGrant(ctx, filtered.ID, 1) }),
			apierr.NotFound, "not found")

		// RevokeGrants matches the column list exactly.
		revoke := func(p store.PrincipalRef, sec store.Securable, cols []string) (int, error) {
			var n int
			err := s.InTx(ctx, func(tx *store.Tx) error {
				var err error
				n, err = tx.RevokeGrants(ctx, p, sec, cols)
				return err
			})
			return n, err
		}
		_, err := revoke(alice, tableSec("sales", "orders"), []string{"id"})
		apierrtest.Code(t, "revoke a column subset", err, apierr.NotFound, `user "alice" has no grant on table "sales.orders" on exactly the columns (id) to revoke`)
		if n, err := revoke(alice, tableSec("sales", "orders"), []string{"region", "id"}); err != nil || n != 1 {
			t.Fatalf("revoke columns: %d, %v", n, err)
		}
		if n, err := revoke(alice, tableSec("sales", "orders"), nil); err != nil || n != 1 { // the us-filtered grant
			t.Fatalf("revoke all columns: %d, %v", n, err)
		}
		_, err = revoke(alice, tableSec("sales", "orders"), nil)
		apierrtest.Code(t, "revoke again", err, apierr.NotFound, "on every column to revoke")
		if n, err := revoke(eng, store.Securable{Kind: store.SecurableCatalog}, nil); err != nil || n != 1 {
			t.Fatalf("revoke catalog: %d, %v", n, err)
		}
		_, err = revoke(alice, tableSec("sales", "nope"), nil)
		apierrtest.Code(t, "revoke on a missing table", err, apierr.NotFound, `table "sales.nope" not found`)
		if got := ids(listGrants(t, s, store.GrantFilter{}, 0)); !reflect.DeepEqual(got, []string{database.ID, hr.ID}) {
			t.Fatalf("left %v, want the database grant and the hr grant", got)
		}
		if n := count(t, cfg, "SELECT COUNT(*) FROM row_filters"); n != 1 {
			t.Fatalf("%d row filters left, want hr's 1", n)
		}

		// Deleting a principal takes its grants and their row filters.
		p, _ := s.GetPrincipal(ctx, eng)
		mustTx(t, s, func(tx *store.Tx) error { return tx.DeletePrincipal(ctx, eng, p.Version) })
		if n := count(t, cfg, "SELECT COUNT(*) FROM row_filters"); n != 0 {
			t.Fatalf("%d row filters left after the grantee was deleted", n)
		}
		if got := ids(listGrants(t, s, store.GrantFilter{}, 0)); !reflect.DeepEqual(got, []string{database.ID}) {
			t.Fatalf("left %v, want the database grant", got)
		}
	})
}
