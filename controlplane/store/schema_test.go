package store_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/apierr/apierrtest"
)

func TestMigrateFromEmptyIsIdempotent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		cfg := storetest.Config(t, d)
		for round := 1; round <= 3; round++ {
			s, err := store.Open(ctx, cfg, nil)
			if err != nil {
				t.Fatalf("open #%d: %v", round, err)
			}
			v, err := s.SchemaVersion(ctx)
			if err != nil || v != store.LatestSchemaVersion {
				t.Fatalf("open #%d: schema version %d, %v; want %d", round, v, err, store.LatestSchemaVersion)
			}
			if pv, err := s.PolicyVersion(ctx); err != nil || pv != 0 {
				t.Fatalf("open #%d: policy version %d, %v; want 0", round, pv, err)
			}
			if s.Dialect() != d {
				t.Fatalf("Dialect() = %q, want %q", s.Dialect(), d)
			}
			if err := s.Ping(ctx); err != nil {
				t.Fatalf("ping: %v", err)
			}
			_ = s.Close()
			if n := storetest.QueryInt(t, cfg, "SELECT COUNT(*) FROM schema_version"); n != store.LatestSchemaVersion {
				t.Fatalf("after open #%d: %d schema_version rows, want %d", round, n, store.LatestSchemaVersion)
			}
			if n := storetest.QueryInt(t, cfg, "SELECT COUNT(*) FROM policy_version"); n != 1 {
				t.Fatalf("after open #%d: %d policy_version rows, want 1", round, n)
			}
		}
	})
}

func TestNewerSchemaIsRefused(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		cfg := storetest.Config(t, d)
		s := storetest.OpenConfig(t, cfg)
		_ = s.Close()
		newer := store.LatestSchemaVersion + 2
		storetest.Exec(t, cfg, "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)", newer, "from_the_future", 0)
		for _, readOnly := range []bool{false, true} {
			c := cfg
			c.ReadOnly = readOnly
			s, err := store.Open(ctx, c, nil)
			if err == nil {
				_ = s.Close()
				t.Fatalf("read-only=%v: Open succeeded on schema version %d", readOnly, newer)
			}
			apierrtest.Code(t, "", err, apierr.FailedPrecondition, "")
			want := fmt.Sprintf("database schema version %d is newer than this nscale-controlplane supports (%d)", newer, store.LatestSchemaVersion)
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("read-only=%v: error %q does not say %q", readOnly, err, want)
			}
		}
		// Nothing was applied or removed.
		if n := storetest.QueryInt(t, cfg, "SELECT MAX(version) FROM schema_version"); n != int64(newer) {
			t.Fatalf("schema version is now %d, want %d untouched", n, newer)
		}
	})
}

func TestConcurrentOpenMigratesOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		cfg := storetest.Config(t, d)
		const n = 2
		var wg sync.WaitGroup
		start := make(chan struct{})
		stores := make([]*store.Store, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				stores[i], errs[i] = store.Open(ctx, cfg, nil)
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("concurrent Open #%d: %v", i, err)
			}
			defer stores[i].Close()
		}
		if got := storetest.QueryInt(t, cfg, "SELECT COUNT(*) FROM schema_version"); got != store.LatestSchemaVersion {
			t.Fatalf("%d schema_version rows, want %d", got, store.LatestSchemaVersion)
		}
		if got := storetest.QueryInt(t, cfg, "SELECT COUNT(*) FROM policy_version"); got != 1 {
			t.Fatalf("%d policy_version rows, want 1", got)
		}
		// Both stores work on the one schema.
		for i, s := range stores {
			err := s.InTx(ctx, func(tx *store.Tx) error {
				_, err := tx.CreateDatabase(ctx, store.Database{Name: fmt.Sprintf("db%d", i)})
				return err
			})
			if err != nil {
				t.Fatalf("store #%d: create database: %v", i, err)
			}
		}
	})
}

func TestReadOnlyStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()

		t.Run("unmigrated database is refused", func(t *testing.T) {
			cfg := storetest.Config(t, d)
			if d == store.SQLite {
				// An empty file: reachable, schema version 0.
				if err := os.WriteFile(cfg.DSN, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfg.ReadOnly = true
			s, err := store.Open(ctx, cfg, nil)
			if err == nil {
				_ = s.Close()
				t.Fatal("read-only Open of an unmigrated database succeeded")
			}
			apierrtest.Code(t, "", err, apierr.FailedPrecondition, "")
			if want := fmt.Sprintf("version 0 is older than this nscale-controlplane expects (%d)", store.LatestSchemaVersion); !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not say %q", err, want)
			}
		})

		t.Run("migrated database reads but refuses writes", func(t *testing.T) {
			cfg := storetest.Config(t, d)
			rw := storetest.OpenConfig(t, cfg)
			if err := rw.InTx(ctx, func(tx *store.Tx) error {
				_, err := tx.CreateDatabase(ctx, store.Database{Name: "sales"})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			cfg.ReadOnly = true
			ro := storetest.OpenConfig(t, cfg)
			if !ro.ReadOnly() {
				t.Fatal("ReadOnly() = false")
			}
			if _, err := ro.GetDatabase(ctx, "sales"); err != nil {
				t.Fatalf("read on a read-only store: %v", err)
			}
			called := false
			err := ro.InTx(ctx, func(tx *store.Tx) error {
				called = true
				_, err := tx.CreateDatabase(ctx, store.Database{Name: "other"})
				return err
			})
			apierrtest.Code(t, "", err, apierr.FailedPrecondition, "")
			if !strings.Contains(err.Error(), "store is read-only") || called {
				t.Fatalf("error %q (fn called: %v), want \"store is read-only\" without calling fn", err, called)
			}
			if pv, _ := ro.PolicyVersion(ctx); pv != 1 {
				t.Fatalf("policy version %d, want 1", pv)
			}
		})
	})
}

func TestInvalidConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  store.Config
	}{
		{"no dialect", store.Config{DSN: "x.db"}},
		{"unknown dialect", store.Config{Dialect: "oracle", DSN: "x"}},
		{"empty postgres DSN", store.Config{Dialect: store.Postgres}},
		{"negative timeout", store.Config{Dialect: store.SQLite, DSN: "x.db", ConnectTimeout: -1}},
		{"mysql DSN without database", store.Config{Dialect: store.MySQL, DSN: "root:pw@tcp(127.0.0.1:3306)/"}},
		{"unparseable postgres DSN", store.Config{Dialect: store.Postgres, DSN: "postgres://u:S3cr3tPassw0rd@[::1/db"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := store.Open(context.Background(), tc.cfg, nil)
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			apierrtest.Code(t, "", err, apierr.InvalidArgument, "")
			if strings.Contains(err.Error(), "S3cr3tPassw0rd") || strings.Contains(err.Error(), ":pw@") {
				t.Fatalf("error %q shows the password", err)
			}
		})
	}
}

func TestSQLiteInMemory(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{Dialect: store.SQLite, DSN: ":memory:"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.CreateDatabase(ctx, store.Database{Name: "mem"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetDatabase(ctx, "mem"); err != nil {
		t.Fatalf("in-memory database lost its row: %v", err)
	}
}
