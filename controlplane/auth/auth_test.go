package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/internal/apierr"
)

// memTokens is a fake TokenStore for the error paths; the real store is
// exercised by the API tests.
type memTokens map[string]auth.TokenRecord

func (m memTokens) TokenRecordByHash(_ context.Context, h string) (auth.TokenRecord, error) {
	r, ok := m[h]
	if !ok {
		return auth.TokenRecord{}, apierr.New(apierr.NotFound, "no token")
	}
	return r, nil
}

func TestChain(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	good, goodHash, err := auth.NewUserToken()
	if err != nil {
		t.Fatal(err)
	}
	expired, expiredHash, _ := auth.NewUserToken()
	revoked, revokedHash, _ := auth.NewUserToken()
	unknown, _, _ := auth.NewUserToken()
	store := memTokens{
		goodHash:    {ID: "t1", User: "alice", ExpiresAt: &future},
		expiredHash: {ID: "t2", User: "bob", ExpiresAt: &past},
		revokedHash: {ID: "t3", User: "carol", RevokedAt: &past},
	}
	chain := auth.Chain{auth.AdminToken{Token: []byte("admin-secret-0123456789")}, auth.UserTokens{Store: store, Now: func() time.Time { return now }}}
	cases := []struct {
		name, token string
		wantUser    string
		bootstrap   bool
		wantMsg     string
	}{
		{"admin", "admin-secret-0123456789", "", true, ""},
		{"user", good, "alice", false, ""},
		{"expired", expired, "", false, "invalid bearer token"},
		{"revoked", revoked, "", false, "invalid bearer token"},
		{"unknown user token", unknown, "", false, "invalid bearer token"},
		{"admin prefix", "admin-secret-012345678", "", false, "invalid bearer token"},
		{"garbage", "hello", "", false, "invalid bearer token"},
		{"empty", "", "", false, "missing bearer token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := chain.Authenticate(context.Background(), tc.token)
			if tc.wantMsg != "" {
				if !apierr.Is(err, apierr.Unauthenticated) || !strings.Contains(err.Error(), tc.wantMsg) {
					t.Fatalf("err = %v, want Unauthenticated %q", err, tc.wantMsg)
				}
				// the caller must not learn which check failed
				if strings.Contains(err.Error(), "expired") || strings.Contains(err.Error(), "revoked") {
					t.Errorf("error reveals the token state: %v", err)
				}
				return
			}
			if err != nil || p.User != tc.wantUser || p.Bootstrap != tc.bootstrap {
				t.Fatalf("p = %+v, err = %v", p, err)
			}
		})
	}
}

func TestUserTokensAreDistinctAndHashed(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		tok, h, err := auth.NewUserToken()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok, auth.UserTokenPrefix) || len(tok) < 40 || seen[tok] {
			t.Fatalf("bad or repeated token %q", tok)
		}
		seen[tok] = true
		if h != auth.HashToken(tok) || len(h) != 64 || strings.Contains(h, tok) {
			t.Fatalf("hash %q", h)
		}
	}
}
