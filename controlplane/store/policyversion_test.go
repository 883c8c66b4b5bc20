package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
)

func TestPolicyVersion(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		alice, eng := ref(store.User, "alice"), ref(store.Group, "eng")
		var sales store.Database

		// Each step runs in its own transaction; bump says whether it is a
		// policy change. Failed writes and reads must not move the version.
		steps := []struct {
			name    string
			bump    bool
			wantErr bool
			op      func(tx *store.Tx) error
		}{
			{"create database", true, false, func(tx *store.Tx) error {
				var err error
				sales, err = tx.CreateDatabase(ctx, store.Database{Name: "sales"})
				return err
			}},
			{"read database", false, false, func(tx *store.Tx) error {
				_, err := tx.GetDatabase(ctx, "sales")
				return err
			}},
			{"list databases", false, false, func(tx *store.Tx) error {
				_, _, err := tx.ListDatabases(ctx, store.Page{})
				return err
			}},
			{"update database", true, false, func(tx *store.Tx) error {
				sales.Comment = "changed"
				var err error
				sales, err = tx.UpdateDatabase(ctx, sales)
				return err
			}},
			{"stale update fails", false, true, func(tx *store.Tx) error {
				stale := sales
				stale.Version--
				_, err := tx.UpdateDatabase(ctx, stale)
				return err
			}},
			{"duplicate create fails", false, true, func(tx *store.Tx) error {
				_, err := tx.CreateDatabase(ctx, store.Database{Name: "sales"})
				return err
			}},
			{"create user", true, false, func(tx *store.Tx) error {
				_, err := tx.CreatePrincipal(ctx, store.Principal{Kind: store.User, Name: "alice"})
				return err
			}},
			{"two changes in one transaction bump once", true, false, func(tx *store.Tx) error {
				if _, err := tx.CreatePrincipal(ctx, store.Principal{Kind: store.Group, Name: "eng"}); err != nil {
					return err
				}
				return tx.AddMembership(ctx, alice, eng)
			}},
			{"remove membership", true, false, func(tx *store.Tx) error { return tx.RemoveMembership(ctx, alice, eng) }},
			{"add membership", true, false, func(tx *store.Tx) error { return tx.AddMembership(ctx, alice, eng) }},
			{"set attribute", true, false, func(tx *store.Tx) error { return tx.SetAttribute(ctx, alice, "region", "eu") }},
			{"delete attribute", true, false, func(tx *store.Tx) error { return tx.DeleteAttribute(ctx, alice, "region") }},
			{"read principal", false, false, func(tx *store.Tx) error {
				_, err := tx.GetPrincipal(ctx, alice)
				return err
			}},
			{"enrol agent", false, false, func(tx *store.Tx) error {
				_, err := tx.EnrolAgent(ctx, store.Agent{ID: "agent-1", NodeName: "node-a", Method: "join_token"}, false, time.Now())
				return err
			}},
			{"create join token", false, false, func(tx *store.Tx) error {
				_, err := tx.CreateJoinToken(ctx, store.JoinToken{SHA256: strings.Repeat("ab", 32), MaxUses: 1, ExpiresAt: time.Now().Add(time.Hour)})
				return err
			}},
			{"append audit", false, false, func(tx *store.Tx) error {
				_, err := tx.AppendAudit(ctx, store.AuditEvent{Action: "query.plan", Time: time.Now()})
				return err
			}},
			{"explicit bump", true, false, func(tx *store.Tx) error {
				b1, a1, err := tx.BumpPolicyVersion(ctx)
				if err != nil {
					return err
				}
				b2, a2, err := tx.BumpPolicyVersion(ctx)
				if err != nil || b1 != b2 || a1 != a2 || a1 != b1+1 {
					t.Errorf("bumps in one tx: (%d,%d) then (%d,%d), %v", b1, a1, b2, a2, err)
				}
				if v, err := tx.PolicyVersion(ctx); err != nil || v != a1 {
					t.Errorf("in-tx policy version %d, %v; want %d", v, err, a1)
				}
				return nil
			}},
			{"delete database", true, false, func(tx *store.Tx) error { return tx.DeleteDatabase(ctx, "sales", sales.Version) }},
			{"delete user", true, false, func(tx *store.Tx) error { return tx.DeletePrincipal(ctx, alice, 1) }},
		}
		prev, err := s.PolicyVersion(ctx)
		if err != nil || prev != 0 {
			t.Fatalf("initial policy version %d, %v", prev, err)
		}
		for _, st := range steps {
			err := s.InTx(ctx, st.op)
			if (err != nil) != st.wantErr {
				t.Fatalf("%s: error %v, want error %v", st.name, err, st.wantErr)
			}
			v, err := s.PolicyVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := prev
			if st.bump {
				want++
			}
			if v != want {
				t.Fatalf("%s: policy version %d -> %d, want %d", st.name, prev, v, want)
			}
			prev = v
		}
	})
}
