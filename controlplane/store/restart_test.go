package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/dbtest"
)

// TestServerRestart stops the database server under an open store: reads
// and writes fail with Unavailable naming the dialect (never Internal),
// and once the server is back the same store serves again, with what was
// committed before the outage, without being reopened.
func TestServerRestart(t *testing.T) {
	for _, c := range []struct {
		d store.Dialect
		k dbtest.Kind
	}{{store.Postgres, dbtest.Postgres}, {store.MySQL, dbtest.MySQL}} {
		t.Run(string(c.d), func(t *testing.T) {
			t.Parallel()
			srv := dbtest.New(t, c.k)
			cfg := storetest.ConfigOn(t, c.d, srv.DSN())
			cfg.ConnectTimeout = 2 * time.Second
			s := storetest.OpenConfig(t, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			create := func(name string) error {
				return s.InTx(ctx, func(tx *store.Tx) error {
					_, err := tx.CreateDatabase(ctx, store.Database{Name: name})
					return err
				})
			}
			if err := create("before"); err != nil {
				t.Fatal(err)
			}
			if err := srv.Stop(); err != nil {
				t.Fatal(err)
			}
			for what, err := range map[string]error{
				"ping":  s.Ping(ctx),
				"read":  func() error { _, err := s.GetDatabase(ctx, "before"); return err }(),
				"write": create("during"),
			} {
				if apierr.CodeOf(err) != apierr.Unavailable {
					t.Errorf("%s while the server is down: %v (code %s), want Unavailable", what, err, apierr.CodeOf(err))
				}
			}
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			if err := s.Ping(ctx); err != nil {
				t.Fatalf("ping after restart: %v", err)
			}
			if _, err := s.GetDatabase(ctx, "before"); err != nil {
				t.Fatalf("read after restart: %v", err)
			}
			if _, err := s.GetDatabase(ctx, "during"); apierr.CodeOf(err) != apierr.NotFound {
				t.Fatalf("the write made while down: %v, want NotFound", err)
			}
			if err := create("after"); err != nil {
				t.Fatalf("write after restart: %v", err)
			}
		})
	}
}
