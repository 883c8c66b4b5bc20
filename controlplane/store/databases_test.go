package store_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/apierr/apierrtest"
)

func createDatabase(t *testing.T, s *store.Store, d store.Database) store.Database {
	t.Helper()
	var out store.Database
	err := s.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		out, err = tx.CreateDatabase(context.Background(), d)
		return err
	})
	if err != nil {
		t.Fatalf("create database %q: %v", d.Name, err)
	}
	return out
}

func TestDatabaseCRUD(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		created := createDatabase(t, s, store.Database{
			Name:       "sales",
			Location:   "s3://lake/warehouse/sales/",
			Comment:    "Sales ✓ data",
			Properties: map[string]string{"owner": "team-a", "tier": "gold"},
		})
		if created.ID == "" || created.Version != 1 || created.CreatedAt.IsZero() || !created.CreatedAt.Equal(created.UpdatedAt) {
			t.Fatalf("created = %+v: want an id, version 1 and equal times", created)
		}
		got, err := s.GetDatabase(ctx, "sales")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, created) {
			t.Fatalf("get = %+v\nwant %+v", got, created)
		}

		upd := got
		upd.Comment, upd.Properties, upd.Location = "renamed comment", nil, ""
		var updated store.Database
		if err := s.InTx(ctx, func(tx *store.Tx) error {
			var err error
			updated, err = tx.UpdateDatabase(ctx, upd)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if updated.Version != 2 || updated.Comment != "renamed comment" || updated.Properties != nil || updated.Location != "" ||
			updated.ID != created.ID || !updated.CreatedAt.Equal(created.CreatedAt) || updated.UpdatedAt.Before(created.UpdatedAt) {
			t.Fatalf("updated = %+v", updated)
		}

		// Errors, in order: each case runs against the state the previous left.
		cases := []struct {
			name string
			op   func(tx *store.Tx) error
			code apierr.Code
			msg  string
		}{
			{"update with stale version", func(tx *store.Tx) error {
				_, err := tx.UpdateDatabase(ctx, got) // version 1, now 2
				return err
			}, apierr.Conflict, `database "sales" was changed by someone else: expected version 1, current version 2`},
			{"delete with stale version", func(tx *store.Tx) error {
				return tx.DeleteDatabase(ctx, "sales", 1)
			}, apierr.Conflict, "expected version 1, current version 2"},
			{"create duplicate", func(tx *store.Tx) error {
				_, err := tx.CreateDatabase(ctx, store.Database{Name: "sales"})
				return err
			}, apierr.AlreadyExists, `database "sales" already exists`},
			{"update missing", func(tx *store.Tx) error {
				_, err := tx.UpdateDatabase(ctx, store.Database{Name: "nope", Version: 1})
				return err
			}, apierr.NotFound, `database "nope" not found`},
			{"delete missing", func(tx *store.Tx) error {
				return tx.DeleteDatabase(ctx, "nope", 1)
			}, apierr.NotFound, `database "nope" not found`},
			{"get missing", func(tx *store.Tx) error {
				_, err := tx.GetDatabase(ctx, "nope")
				return err
			}, apierr.NotFound, `database "nope" not found`},
			{"update without version", func(tx *store.Tx) error {
				_, err := tx.UpdateDatabase(ctx, store.Database{Name: "sales"})
				return err
			}, apierr.InvalidArgument, "needs the version"},
			{"delete", func(tx *store.Tx) error {
				return tx.DeleteDatabase(ctx, "sales", 2)
			}, "", ""},
			{"get deleted", func(tx *store.Tx) error {
				_, err := tx.GetDatabase(ctx, "sales")
				return err
			}, apierr.NotFound, `database "sales" not found`},
			{"delete deleted", func(tx *store.Tx) error {
				return tx.DeleteDatabase(ctx, "sales", 2)
			}, apierr.NotFound, `database "sales" not found`},
			{"recreate deleted name", func(tx *store.Tx) error {
				_, err := tx.CreateDatabase(ctx, store.Database{Name: "sales"})
				return err
			}, "", ""},
		}
		for _, tc := range cases {
			err := s.InTx(ctx, tc.op)
			if got := apierr.CodeOf(err); got != tc.code {
				t.Fatalf("%s: got %v (code %q), want code %q", tc.name, err, got, tc.code)
			}
			if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("%s: error %q does not say %q", tc.name, err, tc.msg)
			}
		}
	})
}

func TestDatabaseNamesAreValidated(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		cases := []struct {
			name string
			db   store.Database
			code apierr.Code
		}{
			{"empty", store.Database{}, apierr.InvalidArgument},
			{"too long", store.Database{Name: strings.Repeat("x", 256)}, apierr.InvalidArgument},
			{"longest", store.Database{Name: strings.Repeat("é", 255)}, ""},
			{"spaces around", store.Database{Name: " sales"}, apierr.InvalidArgument},
			{"control character", store.Database{Name: "sa\nles"}, apierr.InvalidArgument},
			{"invalid utf-8", store.Database{Name: "sa\xffles"}, apierr.InvalidArgument},
			{"NUL in comment", store.Database{Name: "c", Comment: "a\x00b"}, apierr.InvalidArgument},
			{"case differs", store.Database{Name: "Sales"}, ""},
			{"lower case too", store.Database{Name: "sales"}, ""},
		}
		for _, tc := range cases {
			err := s.InTx(ctx, func(tx *store.Tx) error {
				_, err := tx.CreateDatabase(ctx, tc.db)
				return err
			})
			if got := apierr.CodeOf(err); got != tc.code {
				t.Errorf("%s: got %v, want code %q", tc.name, err, tc.code)
			}
		}
	})
}

func TestDatabasePagination(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		const total = 23
		var want []string
		err := s.InTx(ctx, func(tx *store.Tx) error {
			for i := range total {
				name := fmt.Sprintf("db_%02d", (i*7)%total) // not in insertion order
				if _, err := tx.CreateDatabase(ctx, store.Database{Name: name}); err != nil {
					return err
				}
				want = append(want, name)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(want)
		for _, size := range []int{1, 5, 10, 22, 23, 24, 0} {
			var got []string
			tok, pages := "", 0
			for {
				page, next, err := s.ListDatabases(ctx, store.Page{PageSize: size, PageToken: tok})
				if err != nil {
					t.Fatalf("size %d page %d: %v", size, pages, err)
				}
				pages++
				if size > 0 && len(page) > size {
					t.Fatalf("size %d: page of %d", size, len(page))
				}
				for _, db := range page {
					got = append(got, db.Name)
				}
				if next == "" {
					break
				}
				if pages > total+1 {
					t.Fatalf("size %d: pagination does not end", size)
				}
				tok = next
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("size %d: listed %v\nwant %v", size, got, want)
			}
			wantPages := 1
			if size > 0 {
				wantPages = (total + size - 1) / size
			}
			if pages != wantPages {
				t.Fatalf("size %d: %d pages, want %d", size, pages, wantPages)
			}
		}

		// A row added behind the cursor is not repeated; one ahead shows up.
		first, tok, err := s.ListDatabases(ctx, store.Page{PageSize: 10})
		if err != nil {
			t.Fatal(err)
		}
		createDatabase(t, s, store.Database{Name: "db_00a"}) // sorts within the first page
		createDatabase(t, s, store.Database{Name: "zz_last"})
		seen := map[string]bool{}
		for _, db := range first {
			seen[db.Name] = true
		}
		for tok != "" {
			var page []store.Database
			page, tok, err = s.ListDatabases(ctx, store.Page{PageSize: 10, PageToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			for _, db := range page {
				if seen[db.Name] {
					t.Fatalf("%q listed twice", db.Name)
				}
				seen[db.Name] = true
			}
		}
		if !seen["zz_last"] || seen["db_00a"] || len(seen) != total+1 {
			t.Fatalf("after concurrent inserts saw %d names (zz_last %v, db_00a %v)", len(seen), seen["zz_last"], seen["db_00a"])
		}

		bad := []store.Page{
			{PageSize: -1},
			{PageToken: "not-a-token"},
			{PageToken: "eyJsIjoicHJpbmNpcGFscyIsImsiOlsidXNlciIsImEiXX0"}, // a principals token
		}
		for _, p := range bad {
			if _, _, err := s.ListDatabases(ctx, p); apierr.CodeOf(err) != apierr.InvalidArgument {
				t.Errorf("page %+v: got %v, want InvalidArgument", p, err)
			}
		}
	})
}

func TestDeleteDatabaseWithTables(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		cfg := storetest.Config(t, d)
		s := storetest.OpenConfig(t, cfg)
		db := createDatabase(t, s, store.Database{Name: "sales"})
		storetest.Exec(t, cfg, `INSERT INTO catalog_tables (id, database_id, name, location, format, format_options,
			properties, comment, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			"t1", db.ID, "orders", "s3://lake/sales/orders/", "parquet", "{}", "{}", "", 1, 0, 0)
		err := s.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteDatabase(ctx, "sales", db.Version) })
		apierrtest.Code(t, "", err, apierr.FailedPrecondition, "")
		if !strings.Contains(err.Error(), `database "sales" still has tables`) {
			t.Fatalf("error %q", err)
		}
		if _, err := s.GetDatabase(ctx, "sales"); err != nil {
			t.Fatalf("database gone after a refused delete: %v", err)
		}
	})
}
