package store_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/apierr/apierrtest"
)

func TestTableCRUD(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		db := createDatabase(t, s, store.Database{Name: "sales"})
		created := createTable(t, s, ordersTable("sales"))
		if created.ID == "" || created.Version != 1 || created.CreatedAt.IsZero() || !created.CreatedAt.Equal(created.UpdatedAt) ||
			created.FilesListedAt != nil || created.Database != "sales" {
			t.Fatalf("created = %+v", created)
		}
		for i, c := range created.Columns {
			if c.Position != i {
				t.Fatalf("column %s at position %d, want %d", c.Name, c.Position, i)
			}
		}
		got, err := s.GetTable(ctx, "sales", "orders")
		if err != nil || !reflect.DeepEqual(got, created) {
			t.Fatalf("get = %+v, %v\nwant %+v", got, err, created)
		}
		if byID, err := s.GetTableByID(ctx, created.ID); err != nil || !reflect.DeepEqual(byID, created) {
			t.Fatalf("get by id = %+v, %v", byID, err)
		}
		if p := got.PartitionColumns(); len(p) != 1 || p[0].Name != "region" || p[0].Position != 5 {
			t.Fatalf("partition columns = %+v", p)
		}

		upd := got
		upd.Comment, upd.Properties, upd.FormatOptions = "new comment", nil, map[string]string{"compression": "zstd"}
		upd.Location, upd.Format = "s3://elsewhere/", store.FormatCSV // not changed by UpdateTable
		var updated store.Table
		mustTx(t, s, func(tx *store.Tx) error {
			var err error
			updated, err = tx.UpdateTable(ctx, upd)
			return err
		})
		if updated.Version != 2 || updated.Comment != "new comment" || updated.Properties != nil ||
			updated.FormatOptions["compression"] != "zstd" || updated.Location != created.Location ||
			updated.Format != store.FormatParquet || !reflect.DeepEqual(updated.Columns, created.Columns) ||
			updated.UpdatedAt.Before(created.UpdatedAt) || !updated.CreatedAt.Equal(created.CreatedAt) {
			t.Fatalf("updated = %+v", updated)
		}
		var grown store.Table
		mustTx(t, s, func(tx *store.Tx) error {
			var err error
			grown, err = tx.AddColumns(ctx, "sales", "orders", []store.Column{
				{Name: "note", Type: "utf8", Nullable: true, Position: 99},
				{Name: "channel", Type: "dictionary<values=utf8, indices=int32>"},
			}, updated.Version)
			return err
		})
		if grown.Version != 3 || len(grown.Columns) != 8 || grown.Columns[6].Name != "note" || grown.Columns[6].Position != 6 ||
			grown.Columns[7].Name != "channel" || grown.Columns[7].Position != 7 {
			t.Fatalf("after AddColumns = %+v", grown)
		}

		cases := []struct {
			name string
			op   func(tx *store.Tx) error
			code apierr.Code
			msg  string
		}{
			{"update with stale version", func(tx *store.Tx) error {
				_, err := tx.UpdateTable(ctx, got)
				return err
			}, apierr.Conflict, `table "sales.orders" was changed by someone else: expected version 1, current version 3`},
			{"add columns with stale version", func(tx *store.Tx) error {
				_, err := tx.AddColumns(ctx, "sales", "orders", []store.Column{{Name: "x", Type: "int8"}}, 2)
				return err
			}, apierr.Conflict, "expected version 2, current version 3"},
			{"add existing column", func(tx *store.Tx) error {
				_, err := tx.AddColumns(ctx, "sales", "orders", []store.Column{{Name: "x", Type: "int8"}, {Name: "email", Type: "utf8"}}, 3)
				return err
			}, apierr.AlreadyExists, `column "sales.orders.email" already exists`},
			{"add a column twice", func(tx *store.Tx) error {
				_, err := tx.AddColumns(ctx, "sales", "orders", []store.Column{{Name: "x", Type: "int8"}, {Name: "x", Type: "int8"}}, 3)
				return err
			}, apierr.InvalidArgument, `column "x" is listed twice`},
			{"add no columns", func(tx *store.Tx) error {
				_, err := tx.AddColumns(ctx, "sales", "orders", nil, 3)
				return err
			}, apierr.InvalidArgument, "no columns"},
			{"create duplicate", func(tx *store.Tx) error {
				_, err := tx.CreateTable(ctx, ordersTable("sales"))
				return err
			}, apierr.AlreadyExists, `table "sales.orders" already exists`},
			{"create in missing database", func(tx *store.Tx) error {
				_, err := tx.CreateTable(ctx, ordersTable("nope"))
				return err
			}, apierr.NotFound, `database "nope" not found`},
			{"create with unknown format", func(tx *store.Tx) error {
				tbl := ordersTable("sales")
				tbl.Name, tbl.Format = "t2", "orc"
				_, err := tx.CreateTable(ctx, tbl)
				return err
			}, apierr.InvalidArgument, `unknown table format "orc"`},
			{"create without columns", func(tx *store.Tx) error {
				tbl := ordersTable("sales")
				tbl.Name, tbl.Columns = "t2", nil
				_, err := tx.CreateTable(ctx, tbl)
				return err
			}, apierr.InvalidArgument, "has no columns"},
			{"create without location", func(tx *store.Tx) error {
				tbl := ordersTable("sales")
				tbl.Name, tbl.Location = "t2", ""
				_, err := tx.CreateTable(ctx, tbl)
				return err
			}, apierr.InvalidArgument, "has no location"},
			{"create with an untyped column", func(tx *store.Tx) error {
				tbl := ordersTable("sales")
				tbl.Name, tbl.Columns = "t2", []store.Column{{Name: "a"}}
				_, err := tx.CreateTable(ctx, tbl)
				return err
			}, apierr.InvalidArgument, `column "a" has no type`},
			{"create with a column twice", func(tx *store.Tx) error {
				tbl := ordersTable("sales")
				tbl.Name, tbl.Columns = "t2", []store.Column{{Name: "a", Type: "int8"}, {Name: "a", Type: "int16"}}
				_, err := tx.CreateTable(ctx, tbl)
				return err
			}, apierr.InvalidArgument, "listed twice"},
			{"get missing", func(tx *store.Tx) error {
				_, err := tx.GetTable(ctx, "sales", "nope")
				return err
			}, apierr.NotFound, `table "sales.nope" not found`},
			{"get in missing database", func(tx *store.Tx) error {
				_, err := tx.GetTable(ctx, "nope", "orders")
				return err
			}, apierr.NotFound, `database "nope" not found`},
			{"update missing", func(tx *store.Tx) error {
				_, err := tx.UpdateTable(ctx, store.Table{Database: "sales", Name: "nope", Version: 1})
				return err
			}, apierr.NotFound, `table "sales.nope" not found`},
			{"update without version", func(tx *store.Tx) error {
				_, err := tx.UpdateTable(ctx, store.Table{Database: "sales", Name: "orders"})
				return err
			}, apierr.InvalidArgument, "needs the version"},
			{"delete with stale version", func(tx *store.Tx) error {
				return tx.DeleteTable(ctx, "sales", "orders", 2)
			}, apierr.Conflict, "expected version 2, current version 3"},
			{"delete missing", func(tx *store.Tx) error {
				return tx.DeleteTable(ctx, "sales", "nope", 1)
			}, apierr.NotFound, `table "sales.nope" not found`},
			{"delete database with tables", func(tx *store.Tx) error {
				return tx.DeleteDatabase(ctx, "sales", db.Version)
			}, apierr.FailedPrecondition, `database "sales" still has tables`},
			{"delete", func(tx *store.Tx) error {
				return tx.DeleteTable(ctx, "sales", "orders", 3)
			}, "", ""},
			{"get deleted", func(tx *store.Tx) error {
				_, err := tx.GetTable(ctx, "sales", "orders")
				return err
			}, apierr.NotFound, `table "sales.orders" not found`},
			{"recreate", func(tx *store.Tx) error {
				_, err := tx.CreateTable(ctx, ordersTable("sales"))
				return err
			}, "", ""},
		}
		for _, tc := range cases {
			apierrtest.Code(t, tc.name, s.InTx(ctx, tc.op), tc.code, tc.msg)
		}
		if tbl, err := s.GetTable(ctx, "sales", "orders"); err != nil || tbl.Version != 1 || tbl.ID == created.ID || len(tbl.Columns) != 6 {
			t.Fatalf("recreated table = %+v, %v", tbl, err)
		}
	})
}

func TestTablePagination(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		createDatabase(t, s, store.Database{Name: "sales"})
		createDatabase(t, s, store.Database{Name: "other"})
		const total = 13
		var want []string
		mustTx(t, s, func(tx *store.Tx) error {
			for i := range total {
				tbl := ordersTable("sales")
				tbl.Name = fmt.Sprintf("t_%02d", (i*5)%total)
				if _, err := tx.CreateTable(ctx, tbl); err != nil {
					return err
				}
				want = append(want, tbl.Name)
			}
			_, err := tx.CreateTable(ctx, ordersTable("other"))
			return err
		})
		sort.Strings(want)
		for _, size := range []int{1, 4, 13, 0} {
			var got []string
			tok := ""
			for pages := 0; ; pages++ {
				if pages > total {
					t.Fatalf("size %d: pagination does not end", size)
				}
				page, next, err := s.ListTables(ctx, "sales", store.Page{PageSize: size, PageToken: tok})
				if err != nil {
					t.Fatal(err)
				}
				for _, tbl := range page {
					if tbl.Database != "sales" || len(tbl.Columns) != 6 || tbl.Columns[5].Name != "region" {
						t.Fatalf("listed %+v", tbl)
					}
					got = append(got, tbl.Name)
				}
				if tok = next; tok == "" {
					break
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("size %d: listed %v, want %v", size, got, want)
			}
		}
		_, tok, err := s.ListTables(ctx, "sales", store.Page{PageSize: 2})
		if err != nil || tok == "" {
			t.Fatalf("first page: %q, %v", tok, err)
		}
		if _, _, err := s.ListTables(ctx, "other", store.Page{PageToken: tok}); apierr.CodeOf(err) != apierr.InvalidArgument {
			t.Fatalf("a sales token on other: %v, want InvalidArgument", err)
		}
		if _, _, err := s.ListTables(ctx, "nope", store.Page{}); apierr.CodeOf(err) != apierr.NotFound {
			t.Fatalf("tables of a missing database: %v, want NotFound", err)
		}
	})
}

// DeleteTable leaves nothing behind: columns, files, grants and their row
// filters, masks, column tags and UNMASK grants on the table all go; what
// belongs to other tables, the database and tag policies stays.
func TestDeleteTableCascades(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		cfg := storetest.Config(t, d)
		s := storetest.OpenConfig(t, cfg)
		createDatabase(t, s, store.Database{Name: "sales"})
		createPrincipals(t, s, ref(store.User, "alice"), ref(store.Group, "eng"))
		orders := createTable(t, s, ordersTable("sales"))
		other := ordersTable("sales")
		other.Name = "other"
		other = createTable(t, s, other)
		filter := &store.RowFilter{Expression: `{"op":"eq","args":[{"col":"region"},{"lit":"eu"}]}`, SQL: "region = 'eu'"}
		for _, tbl := range []string{"orders", "other"} {
			mustTx(t, s, func(tx *store.Tx) error {
				if err := tx.ReplaceFiles(ctx, store.TableRef{Database: "sales", Name: tbl}, []store.File{
					{Path: "s3://lake/" + tbl + "/a.parquet", Size: 1}, {Path: "s3://lake/" + tbl + "/b.parquet", Size: 2},
				}, time.Time{}); err != nil {
					return err
				}
				table := store.Securable{Kind: store.SecurableTable, Database: "sales", Table: tbl}
				for _, g := range []store.Grant{
					{Principal: ref(store.User, "alice"), Privilege: store.Select, Securable: table, Filter: filter},
					{Principal: ref(store.Group, "eng"), Privilege: store.Select, Securable: table, Columns: []string{"id", "amount"}},
				} {
					if _, err := tx.CreateGrant(ctx, g); err != nil {
						return err
					}
				}
				if _, err := tx.SetMask(ctx, store.Mask{Database: "sales", Table: tbl, Column: "email", Function: "redact"}); err != nil {
					return err
				}
				if _, err := tx.SetMask(ctx, store.Mask{Database: "sales", Table: tbl, Column: "email", Function: "hash",
					Principal: refPtr(store.User, "alice")}); err != nil {
					return err
				}
				if err := tx.SetColumnTags(ctx, "sales", tbl, "email", []string{"pii", "pii.email"}); err != nil {
					return err
				}
				_, err := tx.CreateUnmask(ctx, store.Unmask{Principal: ref(store.User, "alice"), Database: "sales", Table: tbl, Column: "email"})
				return err
			})
		}
		mustTx(t, s, func(tx *store.Tx) error {
			if _, err := tx.CreateGrant(ctx, store.Grant{Principal: ref(store.User, "alice"), Privilege: store.Select,
				Securable: store.Securable{Kind: store.SecurableDatabase, Database: "sales"}}); err != nil {
				return err
			}
			if _, err := tx.CreateUnmask(ctx, store.Unmask{Principal: ref(store.User, "alice"), Tag: "pii.*"}); err != nil {
				return err
			}
			_, err := tx.CreatePolicy(ctx, store.Policy{Name: "eu-only", Kind: store.SafeguardFilter, Database: "sales", Table: "orders",
				FilterExpression: filter.Expression, FilterSQL: filter.SQL})
			return err
		})
		perTable := []string{"catalog_columns", "table_files", "grants", "row_filters", "masks", "column_tags", "unmasks"}
		before := map[string]int64{}
		for _, tbl := range perTable {
			before[tbl] = count(t, cfg, "SELECT COUNT(*) FROM "+tbl+" WHERE table_id = ?", orders.ID)
			if before[tbl] == 0 {
				t.Fatalf("setup: no %s rows on orders", tbl)
			}
		}
		pv := policyVersion(t, s)
		mustTx(t, s, func(tx *store.Tx) error { return tx.DeleteTable(ctx, "sales", "orders", orders.Version) })
		if got := policyVersion(t, s); got != pv+1 {
			t.Fatalf("policy version %d -> %d, want one bump", pv, got)
		}
		for _, tbl := range perTable {
			if n := count(t, cfg, "SELECT COUNT(*) FROM "+tbl+" WHERE table_id = ?", orders.ID); n != 0 {
				t.Errorf("%d %s rows of the deleted table are left", n, tbl)
			}
			if n := count(t, cfg, "SELECT COUNT(*) FROM "+tbl+" WHERE table_id = ?", other.ID); n != before[tbl] {
				t.Errorf("other table: %d %s rows, want %d untouched", n, tbl, before[tbl])
			}
		}
		if n := count(t, cfg, "SELECT COUNT(*) FROM catalog_tables WHERE id = ?", orders.ID); n != 0 {
			t.Errorf("the table row is left")
		}
		// Every remaining row filter belongs to a remaining grant.
		if n := count(t, cfg, "SELECT COUNT(*) FROM row_filters f WHERE NOT EXISTS (SELECT 1 FROM grants g WHERE g.row_filter_id = f.id)"); n != 0 {
			t.Errorf("%d orphan row filters", n)
		}
		for what, q := range map[string]string{
			"database grant": "SELECT COUNT(*) FROM grants WHERE securable_kind = 'database'",
			"tag unmask":     "SELECT COUNT(*) FROM unmasks WHERE table_id IS NULL",
			"policy":         "SELECT COUNT(*) FROM policies",
			"tags":           "SELECT COUNT(*) FROM tags",
		} {
			want := int64(1)
			if what == "tags" {
				want = 2
			}
			if n := count(t, cfg, q); n != want {
				t.Errorf("%s: %d rows, want %d", what, n, want)
			}
		}
		if _, err := s.GetPolicy(ctx, "eu-only"); err != nil {
			t.Errorf("safeguard policy on the deleted table: %v", err)
		}
	})
}
