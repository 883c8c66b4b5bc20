package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/apierr/apierrtest"
)

func hashOf(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func TestTokens(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		cfg := storetest.Config(t, d)
		s := storetest.OpenConfig(t, cfg)
		createPrincipals(t, s, ref(store.User, "alice"), ref(store.User, "bob"), ref(store.Group, "eng"))
		pv := policyVersion(t, s)

		expires := time.Now().Add(time.Hour).Round(time.Second)
		var ci store.Token
		mustTx(t, s, func(tx *store.Tx) error {
			var err error
			ci, err = tx.CreateToken(ctx, store.Token{User: "alice", Name: "ci", SHA256: hashOf("s1"), ExpiresAt: &expires})
			return err
		})
		if ci.ID == "" || ci.User != "alice" || ci.CreatedAt.IsZero() || ci.RevokedAt != nil || ci.LastUsedAt != nil ||
			!ci.ExpiresAt.Equal(expires) || !ci.Active(time.Now()) || ci.Active(expires) {
			t.Fatalf("created = %+v", ci)
		}
		got, user, err := s.TokenByHash(ctx, hashOf("s1"))
		if err != nil || got.ID != ci.ID || got.Name != "ci" || got.User != "alice" || !got.ExpiresAt.Equal(expires) ||
			user.Kind != store.User || user.Name != "alice" || user.ID == "" {
			t.Fatalf("by hash = %+v, %+v, %v", got, user, err)
		}

		secretHash := hashOf("s1")
		cases := []struct {
			name string
			op   func(tx *store.Tx) error
			code apierr.Code
			msg  string
		}{
			{"same hash again", func(tx *store.Tx) error {
				_, err := tx.CreateToken(ctx, store.Token{User: "bob", Name: "other", SHA256: secretHash})
				return err
			}, apierr.AlreadyExists, "a token with the same SHA-256 already exists"},
			{"for a group", func(tx *store.Tx) error {
				_, err := tx.CreateToken(ctx, store.Token{User: "eng", Name: "x", SHA256: hashOf("s2")})
				return err
			}, apierr.NotFound, `user "eng" not found`},
			{"for a missing user", func(tx *store.Tx) error {
				_, err := tx.CreateToken(ctx, store.Token{User: "carol", Name: "x", SHA256: hashOf("s2")})
				return err
			}, apierr.NotFound, `user "carol" not found`},
			{"upper-case hash", func(tx *store.Tx) error {
				_, err := tx.CreateToken(ctx, store.Token{User: "bob", Name: "x", SHA256: strings.ToUpper(hashOf("s2"))})
				return err
			}, apierr.InvalidArgument, "lower-case hex"},
			{"short hash", func(tx *store.Tx) error {
				_, err := tx.CreateToken(ctx, store.Token{User: "bob", Name: "x", SHA256: "abc"})
				return err
			}, apierr.InvalidArgument, "64 lower-case hex digits"},
			{"no name", func(tx *store.Tx) error {
				_, err := tx.CreateToken(ctx, store.Token{User: "bob", SHA256: hashOf("s2")})
				return err
			}, apierr.InvalidArgument, "token name is empty"},
			{"revoke missing", func(tx *store.Tx) error {
				_, err := tx.RevokeToken(ctx, "nope")
				return err
			}, apierr.NotFound, `token "nope" not found`},
		}
		for _, tc := range cases {
			err := s.InTx(ctx, tc.op)
			apierrtest.Code(t, tc.name, err, tc.code, tc.msg)
			if strings.Contains(err.Error(), secretHash) {
				t.Fatalf("%s: error %q shows the hash", tc.name, err)
			}
		}
		if _, _, err := s.TokenByHash(ctx, hashOf("nope")); apierr.CodeOf(err) != apierr.NotFound {
			t.Fatalf("unknown hash: %v", err)
		}

		// Touch: written, then skipped within TouchInterval, then written again.
		t0 := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
		for _, step := range []struct {
			at, want time.Time
		}{
			{t0, t0},
			{t0.Add(30 * time.Second), t0},
			{t0.Add(store.TouchInterval - time.Microsecond), t0},
			{t0.Add(store.TouchInterval + time.Second), t0.Add(store.TouchInterval + time.Second)},
		} {
			mustTx(t, s, func(tx *store.Tx) error { return tx.TouchToken(ctx, ci.ID, step.at) })
			tok, err := s.GetToken(ctx, ci.ID)
			if err != nil || tok.LastUsedAt == nil || !tok.LastUsedAt.Equal(step.want) {
				t.Fatalf("touch at %v: last used %v, %v; want %v", step.at, tok.LastUsedAt, err, step.want)
			}
		}
		mustTx(t, s, func(tx *store.Tx) error { return tx.TouchToken(ctx, "nope", t0) })

		var revoked store.Token
		mustTx(t, s, func(tx *store.Tx) error {
			var err error
			revoked, err = tx.RevokeToken(ctx, ci.ID)
			return err
		})
		if revoked.RevokedAt == nil || revoked.Active(time.Now()) {
			t.Fatalf("revoked = %+v", revoked)
		}
		var again store.Token
		mustTx(t, s, func(tx *store.Tx) error {
			var err error
			again, err = tx.RevokeToken(ctx, ci.ID)
			return err
		})
		if !again.RevokedAt.Equal(*revoked.RevokedAt) {
			t.Fatalf("second revoke moved the time: %v -> %v", revoked.RevokedAt, again.RevokedAt)
		}
		if tok, _, err := s.TokenByHash(ctx, hashOf("s1")); err != nil || tok.RevokedAt == nil || tok.Active(time.Now()) {
			t.Fatalf("revoked token by hash = %+v, %v", tok, err)
		}
		if got := policyVersion(t, s); got != pv {
			t.Fatalf("token operations moved the policy version %d -> %d", pv, got)
		}

		// Listing.
		mustTx(t, s, func(tx *store.Tx) error {
			for i := range 5 {
				if _, err := tx.CreateToken(ctx, store.Token{User: "bob", Name: fmt.Sprintf("t%d", i), SHA256: hashOf(fmt.Sprint("bob", i))}); err != nil {
					return err
				}
			}
			return nil
		})
		for _, tc := range []struct {
			user string
			want int
		}{{"bob", 5}, {"alice", 1}, {"", 6}} {
			var names []string
			tok := ""
			for {
				page, next, err := s.ListTokens(ctx, tc.user, store.Page{PageSize: 2, PageToken: tok})
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range page {
					if tc.user != "" && k.User != tc.user {
						t.Fatalf("user %q: listed a token of %s", tc.user, k.User)
					}
					names = append(names, k.Name)
				}
				if tok = next; tok == "" {
					break
				}
			}
			if len(names) != tc.want {
				t.Fatalf("user %q: listed %v, want %d tokens", tc.user, names, tc.want)
			}
			if tc.user == "bob" && strings.Join(names, ",") != "t0,t1,t2,t3,t4" {
				t.Fatalf("bob's tokens out of creation order: %v", names)
			}
		}
		if _, _, err := s.ListTokens(ctx, "carol", store.Page{}); apierr.CodeOf(err) != apierr.NotFound {
			t.Fatalf("tokens of a missing user: %v", err)
		}

		// A deleted user's tokens go with it.
		bob, _ := s.GetPrincipal(ctx, ref(store.User, "bob"))
		mustTx(t, s, func(tx *store.Tx) error { return tx.DeletePrincipal(ctx, ref(store.User, "bob"), bob.Version) })
		if n := count(t, cfg, "SELECT COUNT(*) FROM tokens"); n != 1 {
			t.Fatalf("%d tokens left, want alice's 1", n)
		}
	})
}
