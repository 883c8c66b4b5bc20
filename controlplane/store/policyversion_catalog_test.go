package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
)

// Every catalog and policy write moves the policy version by exactly one
// per transaction; files, tokens, reads and failed writes do not move it.
func TestPolicyVersionCatalog(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		alice := ref(store.User, "alice")
		createPrincipals(t, s, alice)
		createDatabase(t, s, store.Database{Name: "sales"})
		var tbl store.Table
		var grant store.Grant
		var unmask store.Unmask
		var token store.Token
		sec := tableSec("sales", "orders")
		steps := []struct {
			name    string
			bump    bool
			wantErr bool
			op      func(tx *store.Tx) error
		}{
			{"create table", true, false, func(tx *store.Tx) error {
				var err error
				tbl, err = tx.CreateTable(ctx, ordersTable("sales"))
				return err
			}},
			{"read table", false, false, func(tx *store.Tx) error {
				_, err := tx.GetTable(ctx, "sales", "orders")
				return err
			}},
			{"update table", true, false, func(tx *store.Tx) error {
				tbl.Comment = "x"
				var err error
				tbl, err = tx.UpdateTable(ctx, tbl)
				return err
			}},
			{"stale update fails", false, true, func(tx *store.Tx) error {
				stale := tbl
				stale.Version--
				_, err := tx.UpdateTable(ctx, stale)
				return err
			}},
			{"add columns", true, false, func(tx *store.Tx) error {
				var err error
				tbl, err = tx.AddColumns(ctx, "sales", "orders", []store.Column{{Name: "note", Type: "utf8"}}, tbl.Version)
				return err
			}},
			{"replace files", false, false, func(tx *store.Tx) error {
				return tx.ReplaceFiles(ctx, store.TableRef{ID: tbl.ID}, []store.File{{Path: "s3://x/1"}}, time.Time{})
			}},
			{"create token", false, false, func(tx *store.Tx) error {
				var err error
				token, err = tx.CreateToken(ctx, store.Token{User: "alice", Name: "t", SHA256: hashOf("t")})
				return err
			}},
			{"touch token", false, false, func(tx *store.Tx) error { return tx.TouchToken(ctx, token.ID, time.Now()) }},
			{"revoke token", false, false, func(tx *store.Tx) error {
				_, err := tx.RevokeToken(ctx, token.ID)
				return err
			}},
			{"create grant", true, false, func(tx *store.Tx) error {
				var err error
				grant, err = tx.CreateGrant(ctx, store.Grant{Principal: alice, Privilege: store.Select, Securable: sec,
					Filter: &store.RowFilter{Expression: euFilter}})
				return err
			}},
			{"duplicate grant fails", false, true, func(tx *store.Tx) error {
				_, err := tx.CreateGrant(ctx, store.Grant{Principal: alice, Privilege: store.Select, Securable: sec,
					Filter: &store.RowFilter{Expression: euFilter}})
				return err
			}},
			{"grant, mask, tags, unmask and policy in one transaction bump once", true, false, func(tx *store.Tx) error {
				if _, err := tx.CreateGrant(ctx, store.Grant{Principal: alice, Privilege: store.Select, Securable: sec, Columns: []string{"id"}}); err != nil {
					return err
				}
				if _, err := tx.SetMask(ctx, store.Mask{Database: "sales", Table: "orders", Column: "email", Function: "redact"}); err != nil {
					return err
				}
				if err := tx.SetColumnTags(ctx, "sales", "orders", "email", []string{"pii"}); err != nil {
					return err
				}
				var err error
				if unmask, err = tx.CreateUnmask(ctx, store.Unmask{Principal: alice, Tag: "pii"}); err != nil {
					return err
				}
				_, err = tx.CreatePolicy(ctx, store.Policy{Name: "p", Kind: store.TagMask, TagPattern: "pii", MaskFunction: "redact"})
				return err
			}},
			{"set mask", true, false, func(tx *store.Tx) error {
				_, err := tx.SetMask(ctx, store.Mask{Database: "sales", Table: "orders", Column: "email", Function: "hash"})
				return err
			}},
			{"drop mask", true, false, func(tx *store.Tx) error { return tx.DropMask(ctx, "sales", "orders", "email", nil) }},
			{"drop missing mask fails", false, true, func(tx *store.Tx) error { return tx.DropMask(ctx, "sales", "orders", "email", nil) }},
			{"unset tags", true, false, func(tx *store.Tx) error {
				return tx.UnsetColumnTags(ctx, "sales", "orders", "email", []string{"pii"})
			}},
			{"delete unmask", true, false, func(tx *store.Tx) error { return tx.DeleteUnmask(ctx, unmask.ID, unmask.Version) }},
			{"delete policy", true, false, func(tx *store.Tx) error { return tx.DeletePolicy(ctx, "p", 1) }},
			{"revoke grants", true, false, func(tx *store.Tx) error {
				_, err := tx.RevokeGrants(ctx, alice, sec, []string{"id"})
				return err
			}},
			{"revoke nothing fails", false, true, func(tx *store.Tx) error {
				_, err := tx.RevokeGrants(ctx, alice, sec, []string{"id"})
				return err
			}},
			{"list grants", false, false, func(tx *store.Tx) error {
				_, _, err := tx.ListGrants(ctx, store.GrantFilter{}, store.Page{})
				return err
			}},
			{"delete grant", true, false, func(tx *store.Tx) error { return tx.DeleteGrant(ctx, grant.ID, grant.Version) }},
			{"delete table", true, false, func(tx *store.Tx) error { return tx.DeleteTable(ctx, "sales", "orders", tbl.Version) }},
		}
		prev := policyVersion(t, s)
		for _, st := range steps {
			err := s.InTx(ctx, st.op)
			if (err != nil) != st.wantErr {
				t.Fatalf("%s: error %v, want error %v", st.name, err, st.wantErr)
			}
			if _, err := s.PolicySnapshot(ctx); err != nil {
				t.Fatalf("%s: snapshot: %v", st.name, err)
			}
			v := policyVersion(t, s)
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
