package store_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
)

func TestPolicySnapshot(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		alice, eng := ref(store.User, "alice"), ref(store.Group, "eng")
		createPrincipals(t, s, alice, eng)
		sales := createDatabase(t, s, store.Database{Name: "sales"})
		orders := createTable(t, s, ordersTable("sales"))
		var grant store.Grant
		var mask store.Mask
		var unmask store.Unmask
		var policy store.Policy
		mustTx(t, s, func(tx *store.Tx) error {
			if err := tx.AddMembership(ctx, alice, eng); err != nil {
				return err
			}
			if err := tx.SetAttribute(ctx, alice, "region", "eu"); err != nil {
				return err
			}
			if err := tx.ReplaceFiles(ctx, store.TableRef{ID: orders.ID}, []store.File{{Path: "s3://x/a", Size: 1}}, time.Time{}); err != nil {
				return err
			}
			var err error
			if grant, err = tx.CreateGrant(ctx, store.Grant{Principal: eng, Privilege: store.Select, Securable: tableSec("sales", "orders"),
				Columns: []string{"id", "email"}, Filter: &store.RowFilter{Expression: euFilter, SQL: "region = 'eu'"}}); err != nil {
				return err
			}
			if mask, err = tx.SetMask(ctx, store.Mask{Database: "sales", Table: "orders", Column: "email", Function: "redact"}); err != nil {
				return err
			}
			if err := tx.SetColumnTags(ctx, "sales", "orders", "email", []string{"pii.email"}); err != nil {
				return err
			}
			if unmask, err = tx.CreateUnmask(ctx, store.Unmask{Principal: alice, Tag: "pii.*"}); err != nil {
				return err
			}
			policy, err = tx.CreatePolicy(ctx, store.Policy{Name: "pii", Kind: store.TagMask, TagPattern: "pii.*", MaskFunction: "redact"})
			return err
		})
		snap, err := s.PolicySnapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if pv := policyVersion(t, s); snap.PolicyVersion != pv {
			t.Fatalf("snapshot at policy version %d, store at %d", snap.PolicyVersion, pv)
		}
		principals, _, err := s.ListPrincipals(ctx, "", store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		withTables, err := s.GetTable(ctx, "sales", "orders") // FilesListedAt set by ReplaceFiles
		if err != nil {
			t.Fatal(err)
		}
		want := store.Snapshot{
			PolicyVersion: snap.PolicyVersion,
			Principals:    principals,
			Memberships:   []store.Membership{{Member: alice, Parent: eng}},
			Attributes:    map[string]map[string]string{"alice": {"region": "eu"}},
			Databases:     []store.Database{sales},
			Tables:        []store.Table{withTables},
			Grants:        []store.Grant{grant},
			Masks:         []store.Mask{mask},
			ColumnTags:    []store.ColumnTag{{Database: "sales", Table: "orders", Column: "email", Tag: "pii.email"}},
			Unmasks:       []store.Unmask{unmask},
			Policies:      []store.Policy{policy},
		}
		if !reflect.DeepEqual(snap, want) {
			t.Fatalf("snapshot =\n%+v\nwant\n%+v", snap, want)
		}
		// A read-only store takes snapshots too.
		cfg := storetest.Config(t, d)
		storetest.OpenConfig(t, cfg).Close()
		cfg.ReadOnly = true
		if snap, err := storetest.OpenConfig(t, cfg).PolicySnapshot(ctx); err != nil || snap.PolicyVersion != 0 || len(snap.Principals) != 1 {
			t.Fatalf("read-only snapshot = %+v, %v", snap, err)
		}
	})
}

// A writer keeps creating two grants in one transaction and deleting both
// in the next, while readers take snapshots: every snapshot holds both or
// neither, and its policy version says which.
func TestPolicySnapshotIsConsistent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		alice, bob := ref(store.User, "alice"), ref(store.User, "bob")
		createPrincipals(t, s, alice, bob)
		createDatabase(t, s, store.Database{Name: "sales"})
		createTable(t, s, ordersTable("sales"))
		base := policyVersion(t, s)

		const pairs = 25
		var done atomic.Bool
		writerErr := make(chan error, 1)
		go func() {
			defer done.Store(true)
			for range pairs {
				var ids [2]string
				err := s.InTx(ctx, func(tx *store.Tx) error {
					for i, p := range []store.PrincipalRef{alice, bob} {
						g, err := tx.CreateGrant(ctx, store.Grant{Principal: p, Privilege: store.Select, Securable: tableSec("sales", "orders"),
							Filter: &store.RowFilter{Expression: euFilter}})
						if err != nil {
							return err
						}
						ids[i] = g.ID
					}
					return nil
				})
				if err == nil {
					err = s.InTx(ctx, func(tx *store.Tx) error {
						for _, id := range ids {
							if err := tx.DeleteGrant(ctx, id, 1); err != nil {
								return err
							}
						}
						return nil
					})
				}
				if err != nil {
					writerErr <- err
					return
				}
			}
			writerErr <- nil
		}()

		var snaps, both, neither atomic.Int64
		var wg sync.WaitGroup
		readerErrs := make(chan error, 2)
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !done.Load() {
					snap, err := s.PolicySnapshot(ctx)
					if err != nil {
						readerErrs <- err
						return
					}
					snaps.Add(1)
					n := len(snap.Grants)
					filters := 0
					for _, g := range snap.Grants {
						if g.Filter != nil && g.Filter.Expression == euFilter {
							filters++
						}
					}
					inside := (snap.PolicyVersion-base)%2 == 1
					switch {
					case n == 2 && filters == 2 && inside:
						both.Add(1)
					case n == 0 && !inside:
						neither.Add(1)
					default:
						readerErrs <- errors.New("torn snapshot")
						t.Errorf("torn snapshot at policy version %d (base %d): %d grants, %d with their filter", snap.PolicyVersion, base, n, filters)
						return
					}
				}
			}()
		}
		wg.Wait()
		if err := <-writerErr; err != nil {
			t.Fatalf("writer: %v", err)
		}
		close(readerErrs)
		for err := range readerErrs {
			t.Fatal(err)
		}
		if got := policyVersion(t, s); got != base+2*pairs {
			t.Fatalf("policy version %d, want %d", got, base+2*pairs)
		}
		t.Logf("%s: %d snapshots: %d with both grants, %d with neither", d, snaps.Load(), both.Load(), neither.Load())
		if snaps.Load() == 0 {
			t.Fatal("no snapshot was taken while the writer ran")
		}
	})
}
