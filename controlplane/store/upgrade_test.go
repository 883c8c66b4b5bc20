package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
)

// Schema version 2 applies over a populated version-1 database: a role
// already named catalog_admin becomes the built-in one, files, row filters
// and grants survive, and on MySQL the migration can run again after an
// interruption.
func TestUpgradeFromVersion1(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		cfg := storetest.Config(t, d)
		v1, err := store.OpenAtVersion(ctx, cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := v1.SchemaVersion(ctx); err != nil || v != 1 {
			t.Fatalf("schema version %d, %v; want 1", v, err)
		}
		_ = v1.Close()
		for _, st := range []struct {
			q    string
			args []any
		}{
			{"INSERT INTO principals (id, kind, name, comment, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
				[]any{"old-admin", "role", "catalog_admin", "made by hand", 3, 1, 1}},
			{"INSERT INTO principals (id, kind, name, comment, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
				[]any{"u1", "user", "alice", "", 1, 1, 1}},
			{"INSERT INTO catalog_databases (id, name, location, comment, properties, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
				[]any{"d1", "sales", "", "", "{}", 1, 1, 1}},
			{`INSERT INTO catalog_tables (id, database_id, name, location, format, format_options, properties, comment, version, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, []any{"t1", "d1", "orders", "s3://x/", "parquet", "{}", "{}", "", 1, 1, 1}},
			{`INSERT INTO catalog_columns (id, table_id, name, arrow_type, position, nullable, comment, is_partition, version, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, []any{"c1", "t1", "region", "utf8", 0, false, "", false, 1, 1, 1}},
			{`INSERT INTO table_files (id, table_id, path, path_sha256, size_bytes, etag, modified_at, partition_values, version, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, []any{"f1", "t1", "s3://x/b.parquet", hashOf("s3://x/b.parquet"), 7, "", 0, "{}", 1, 1, 1}},
			{`INSERT INTO table_files (id, table_id, path, path_sha256, size_bytes, etag, modified_at, partition_values, version, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, []any{"f2", "t1", "s3://x/a.parquet", hashOf("s3://x/a.parquet"), 8, "", 0, "{}", 1, 1, 1}},
			{"INSERT INTO row_filters (id, table_id, name, expression, comment, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
				[]any{"rf1", "t1", "eu", euFilter, "", 1, 1, 1}},
			{`INSERT INTO grants (id, principal_id, privilege, securable_kind, database_id, table_id, column_names, row_filter_id,
				grant_option, granted_by, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				[]any{"g1", "u1", "SELECT", "table", "d1", "t1", nil, "rf1", false, "admin", 1, 1, 1}},
		} {
			storetest.Exec(t, cfg, st.q, st.args...)
		}

		check := func(s *store.Store) {
			t.Helper()
			if v, err := s.SchemaVersion(ctx); err != nil || v != store.LatestSchemaVersion {
				t.Fatalf("schema version %d, %v", v, err)
			}
			admin, err := s.GetPrincipal(ctx, store.CatalogAdmin)
			if err != nil || admin.ID != "old-admin" || admin.Comment != "made by hand" {
				t.Fatalf("catalog_admin = %+v, %v; want the role that was there", admin, err)
			}
			if n := count(t, cfg, "SELECT COUNT(*) FROM principals WHERE kind = 'role'"); n != 1 {
				t.Fatalf("%d roles, want 1", n)
			}
			files := listAllFiles(t, s, store.TableRef{Database: "sales", Name: "orders"}, 1)
			if len(files) != 2 || files[0].Path != "s3://x/a.parquet" || files[1].Size != 7 {
				t.Fatalf("files after the upgrade = %+v", files)
			}
			g, err := s.GetGrant(ctx, "g1")
			if err != nil || g.Filter == nil || g.Filter.ID != "rf1" || g.Filter.Expression != euFilter || g.Filter.SQL != "" ||
				g.Securable != tableSec("sales", "orders") || g.Principal != ref(store.User, "alice") {
				t.Fatalf("grant after the upgrade = %+v, %v", g, err)
			}
		}
		s := storetest.OpenConfig(t, cfg)
		check(s)
		if d != store.MySQL {
			return
		}
		// MySQL runs a migration statement by statement: interrupt 0002 after
		// some of them (drop what its last statements made and forget the
		// version), and the next start completes it.
		_ = s.Close()
		storetest.Exec(t, cfg, "DROP TABLE policies")
		storetest.Exec(t, cfg, "DELETE FROM schema_version WHERE version >= 2")
		s = storetest.OpenConfig(t, cfg)
		check(s)
		if n := count(t, cfg, "SELECT COUNT(*) FROM policies"); n != 0 {
			t.Fatalf("policies has %d rows", n)
		}
		mustTx(t, s, func(tx *store.Tx) error {
			return tx.ReplaceFiles(ctx, store.TableRef{ID: "t1"}, []store.File{{Path: "s3://x/c.parquet"}}, time.Time{})
		})
	})
}
