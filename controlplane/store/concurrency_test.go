package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
	"github.com/nscale/nscale/internal/apierr"
)

// Concurrent optimistic writers never lose an update: each update either
// commits or fails with Conflict, and the final version counts the commits.
func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		const writers, updates = 8, 20
		ctx := context.Background()
		s := storetest.Open(t, d)
		created := createDatabase(t, s, store.Database{Name: "hot"})
		var ok, conflicts atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range updates {
					cur, err := s.GetDatabase(ctx, "hot")
					if err != nil {
						errs <- err
						return
					}
					cur.Properties = map[string]string{"writer": fmt.Sprint(w), "update": fmt.Sprint(i)}
					err = s.InTx(ctx, func(tx *store.Tx) error {
						_, err := tx.UpdateDatabase(ctx, cur)
						return err
					})
					switch apierr.CodeOf(err) {
					case "":
						ok.Add(1)
					case apierr.Conflict:
						conflicts.Add(1)
					default:
						errs <- fmt.Errorf("writer %d update %d: %w", w, i, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if t.Failed() {
			return
		}
		final, err := s.GetDatabase(ctx, "hot")
		if err != nil {
			t.Fatal(err)
		}
		if ok.Load()+conflicts.Load() != writers*updates {
			t.Fatalf("%d ok + %d conflicts != %d attempts", ok.Load(), conflicts.Load(), writers*updates)
		}
		if ok.Load() == 0 || final.Version != created.Version+ok.Load() {
			t.Fatalf("final version %d, want %d (1 + %d successful updates; %d conflicts)",
				final.Version, created.Version+ok.Load(), ok.Load(), conflicts.Load())
		}
		// Every successful update and the create bumped the policy version once.
		if pv, err := s.PolicyVersion(ctx); err != nil || pv != 1+ok.Load() {
			t.Fatalf("policy version %d, %v; want %d", pv, err, 1+ok.Load())
		}
		t.Logf("%s: %d updates committed, %d conflicts", d, ok.Load(), conflicts.Load())
	})
}
