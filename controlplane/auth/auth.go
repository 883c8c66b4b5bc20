// Package auth turns a bearer token into a principal. Authenticators are
// tried in order behind one interface so OIDC/JWT validation can be added
// beside the admin token and nscale's own user tokens.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

// Principal is who made a request.
type Principal struct {
	// User is the user name; empty for the bootstrap admin token.
	User string
	// Bootstrap is true for the admin token from the control plane's
	// configuration: it may manage everything but is no catalog user.
	Bootstrap bool
	// TokenID identifies the user token used, for audit.
	TokenID string
	// Groups are nscale group names the credential itself vouches for (an
	// OIDC token's mapped groups claim), on top of the user's memberships
	// in the store. Empty for nscale tokens.
	Groups []string
	// Method is how the principal authenticated: "admin-token",
	// "nscale-token" or "oidc", for audit.
	Method string
}

// Name is how the principal appears in audit events.
func (p Principal) Name() string {
	if p.Bootstrap {
		return "admin-token"
	}
	return p.User
}

// Authenticator checks one kind of credential. It returns ErrNotMine when
// the token is not of its kind, so the next authenticator can try.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Principal, error)
}

// ErrNotMine tells Chain to try the next authenticator.
var ErrNotMine = errors.New("token not handled by this authenticator")

// ErrStatedReason marks a refusal whose reason the caller may be told (an
// OIDC token's "token expired", "wrong audience"): the holder of a JWT
// can read all of it anyway, and the reason tells them what to fix.
// Refusals without it (nscale tokens) all read "invalid bearer token".
var ErrStatedReason = errors.New("the reason may be stated")

// Refusal is Unauthenticated with a reason the caller may be told.
func Refusal(format string, args ...any) error {
	return apierr.Wrap(apierr.Unauthenticated, ErrStatedReason, format, args...)
}

// StatedReason is the reason of a Refusal in err's chain, "" for others.
func StatedReason(err error) string {
	var e *apierr.Error
	if errors.Is(err, ErrStatedReason) && errors.As(err, &e) {
		return e.Message
	}
	return ""
}

// Chain tries each authenticator in order.
type Chain []Authenticator

// Authenticate returns the first principal an authenticator accepts. Every
// refusal looks the same to the caller, so a token's kind or state (unknown,
// expired, revoked) is not revealed.
func (c Chain) Authenticate(ctx context.Context, token string) (Principal, error) {
	if token == "" {
		return Principal{}, apierr.New(apierr.Unauthenticated, "missing bearer token: send Authorization: Bearer <token>")
	}
	for _, a := range c {
		p, err := a.Authenticate(ctx, token)
		if errors.Is(err, ErrNotMine) {
			continue
		}
		if err != nil {
			if apierr.Is(err, apierr.Unauthenticated) {
				if r := StatedReason(err); r != "" {
					return Principal{}, Refusal("invalid bearer token: %s", strings.TrimPrefix(r, "invalid bearer token: "))
				}
				return Principal{}, apierr.New(apierr.Unauthenticated, "invalid bearer token")
			}
			return Principal{}, err
		}
		return p, nil
	}
	return Principal{}, apierr.New(apierr.Unauthenticated, "invalid bearer token")
}

// AdminToken accepts the control plane's bootstrap admin token.
type AdminToken struct{ Token []byte }

// Authenticate compares in constant time; both sides are hashed first so the
// comparison also hides the length.
func (a AdminToken) Authenticate(_ context.Context, token string) (Principal, error) {
	if len(a.Token) == 0 {
		return Principal{}, ErrNotMine
	}
	got := sha256.Sum256([]byte(token))
	want := sha256.Sum256(a.Token)
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return Principal{}, ErrNotMine
	}
	return Principal{Bootstrap: true}, nil
}

// UserTokenPrefix marks nscale user tokens so they are recognisable in a
// leaked file or log (and by secret scanners).
const UserTokenPrefix = "nsu_"

// NewUserToken returns a fresh random token and the SHA-256 hex under which
// it is stored. Only the hash is kept; the token is shown once.
func NewUserToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = UserTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken is the stored form of a user token.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// TokenRecord is what a TokenStore knows of a user token.
type TokenRecord struct {
	ID        string
	User      string
	ExpiresAt *time.Time
	RevokedAt *time.Time
}

// TokenStore finds user tokens by hash. Lookup by hash of a high-entropy
// token needs no constant-time compare: the hash is the index key and
// reveals nothing usable about other tokens.
type TokenStore interface {
	TokenRecordByHash(ctx context.Context, sha256hex string) (TokenRecord, error)
}

// UserTokens accepts tokens issued by `nscalectl tokens create`.
type UserTokens struct {
	Store TokenStore
	Now   func() time.Time
}

// Authenticate looks the token up by hash and checks expiry and revocation.
func (u UserTokens) Authenticate(ctx context.Context, token string) (Principal, error) {
	if !strings.HasPrefix(token, UserTokenPrefix) {
		return Principal{}, ErrNotMine
	}
	rec, err := u.Store.TokenRecordByHash(ctx, HashToken(token))
	if apierr.Is(err, apierr.NotFound) {
		return Principal{}, apierr.New(apierr.Unauthenticated, "unknown token")
	}
	if err != nil {
		return Principal{}, err
	}
	now := time.Now
	if u.Now != nil {
		now = u.Now
	}
	if rec.RevokedAt != nil {
		return Principal{}, apierr.New(apierr.Unauthenticated, "token revoked")
	}
	if rec.ExpiresAt != nil && !now().Before(*rec.ExpiresAt) {
		return Principal{}, apierr.New(apierr.Unauthenticated, "token expired")
	}
	return Principal{User: rec.User, TokenID: rec.ID}, nil
}

type ctxKey struct{}

// WithPrincipal stores p in ctx.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the request's principal.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// GroupsFor are the groups the request's credential vouches for (an OIDC
// token's mapped groups claim) when the request is on behalf of user;
// policy evaluates them beside the user's memberships in the store.
func GroupsFor(ctx context.Context, user string) []string {
	if p, ok := FromContext(ctx); ok && p.User == user {
		return p.Groups
	}
	return nil
}
