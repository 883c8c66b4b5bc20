package oidc_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/auth/oidc"
	"github.com/nscale/nscale/controlplane/auth/oidc/oidctest"
	"github.com/nscale/nscale/internal/apierr"
)

const (
	issuer   = "https://idp.example.com/realms/data"
	audience = "nscale"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// keys are one test IdP's signing keys, one of each type.
type keys struct{ rsa, ec, ed oidctest.Key }

var (
	testKeysOnce sync.Once
	testKeys     keys
)

// newKeys shares one set of keys between tests: RSA generation is slow.
func newKeys(t testing.TB) keys {
	testKeysOnce.Do(func() {
		testKeys = keys{rsa: oidctest.NewRSAKey(t, "rsa-1"), ec: oidctest.NewECKey(t, "ec-1"), ed: oidctest.NewEd25519Key(t, "ed-1")}
	})
	return testKeys
}

func baseConfig() oidc.Config {
	return oidc.Config{Issuer: issuer, Audience: audience}
}

// claims are valid claims for user at t0, modified by mod.
func claims(user string, mod func(map[string]any)) map[string]any {
	c := oidctest.Claims(issuer, audience, user, t0)
	if mod != nil {
		mod(c)
	}
	return c
}

// wantRefused checks err's code and that its message names reason, and
// that it does not repeat the token.
func wantRefused(t *testing.T, err error, token string, code apierr.Code, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want %s %q", code, reason)
	}
	t.Logf("refused: %v", err)
	if got := apierr.CodeOf(err); got != code {
		t.Fatalf("code %s (%v), want %s %q", got, err, code, reason)
	}
	if !strings.HasPrefix(err.Error(), "oidc: ") || !strings.Contains(err.Error(), reason) {
		t.Fatalf("error %q, want it to say %q", err, reason)
	}
	if len(token) > 8 && strings.Contains(err.Error(), token) {
		t.Fatalf("error repeats the token: %v", err)
	}
	for _, part := range strings.Split(token, ".") {
		if len(part) > 16 && strings.Contains(err.Error(), part) {
			t.Fatalf("error repeats part of the token: %v", err)
		}
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// handmade assembles a compact JWS from a raw header, claims and
// signature, for tokens go-jose would not sign.
func handmade(header string, c map[string]any, sig []byte) string {
	payload, _ := json.Marshal(c)
	return b64(header) + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// hs256 is the key-confusion attack: HMAC-SHA256 keyed with the
// verifier's public key, as a naive verifier would check it.
func hs256(t *testing.T, pub any, kid string, c map[string]any) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	payload, _ := json.Marshal(c)
	input := b64(`{"alg":"HS256","typ":"JWT","kid":"`+kid+`"}`) + "." + base64.RawURLEncoding.EncodeToString(payload)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// tamper replaces a signed token's payload, keeping its signature.
func tamper(token string, c map[string]any) string {
	parts := strings.Split(token, ".")
	payload, _ := json.Marshal(c)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func TestAuthenticate(t *testing.T) {
	k := newKeys(t)
	attacker := oidctest.NewECKey(t, k.ec.ID) // same kid, other key
	psKey := oidctest.Key{ID: "rsa-ps", Alg: jose.PS256, Private: k.rsa.Private}
	long := strings.Repeat("x", 256)

	type tc struct {
		name       string
		cfg        func(*oidc.Config)
		token      func(t *testing.T) string
		wantUser   string
		wantGroups []string
		wantTID    string
		code       apierr.Code // "" accepts
		reason     string
		notMine    bool
	}
	signed := func(key oidctest.Key, c any) func(*testing.T) string {
		return func(t *testing.T) string { return key.Sign(t, c) }
	}
	fixed := func(s string) func(*testing.T) string { return func(*testing.T) string { return s } }
	cases := []tc{
		{name: "valid RSA", token: signed(k.rsa, claims("alice", nil)), wantUser: "alice", wantTID: "jti-alice"},
		{name: "valid ECDSA P-256", token: signed(k.ec, claims("bob", nil)), wantUser: "bob", wantTID: "jti-bob"},
		{name: "valid Ed25519", token: signed(k.ed, claims("carol", nil)), wantUser: "carol", wantTID: "jti-carol"},
		{name: "valid PS256 when allowed", cfg: func(c *oidc.Config) { c.AllowedAlgorithms = []string{"PS256"} },
			token: signed(psKey, claims("alice", nil)), wantUser: "alice", wantTID: "jti-alice"},
		{name: "PS256 by default is not allowed",
			token: signed(psKey, claims("alice", nil)),
			code:  apierr.Unauthenticated, reason: `algorithm "PS256" is not allowed`},
		{name: "PS256 under a key published for RS256", cfg: func(c *oidc.Config) { c.AllowedAlgorithms = []string{"PS256", "RS256"} },
			token: signed(psKey.WithID(k.rsa.ID), claims("alice", nil)),
			code:  apierr.Unauthenticated, reason: "unknown signing key"},
		{name: "ES384 with a P-256 key", cfg: func(c *oidc.Config) { c.AllowedAlgorithms = []string{"ES384", "ES256"} },
			token: func(t *testing.T) string {
				return handmade(`{"alg":"ES384","kid":"`+k.ec.ID+`"}`, claims("alice", nil), make([]byte, 96))
			}, code: apierr.Unauthenticated, reason: "unknown signing key"},
		{name: "aud array holding ours", token: signed(k.rsa, claims("alice", func(c map[string]any) { c["aud"] = []string{"other", audience} })),
			wantUser: "alice", wantTID: "jti-alice"},
		{name: "expired within clock skew", token: signed(k.rsa, claims("alice", func(c map[string]any) { c["exp"] = t0.Add(-30 * time.Second).Unix() })),
			wantUser: "alice", wantTID: "jti-alice"},
		{name: "no jti", token: signed(k.rsa, claims("alice", func(c map[string]any) { delete(c, "jti") })), wantUser: "alice"},
		{name: "custom user claim", cfg: func(c *oidc.Config) { c.UserClaim = "email" },
			token: signed(k.ed, claims("u-1", func(c map[string]any) { c["email"] = "dana@example.com" })), wantUser: "dana@example.com", wantTID: "jti-u-1"},

		{name: "expired", token: signed(k.rsa, claims("alice", func(c map[string]any) { c["exp"] = t0.Add(-2 * time.Minute).Unix() })),
			code: apierr.Unauthenticated, reason: "token expired"},
		{name: "no exp", token: signed(k.rsa, claims("alice", func(c map[string]any) { delete(c, "exp") })),
			code: apierr.Unauthenticated, reason: `missing claim "exp"`},
		{name: "exp not a number", token: signed(k.rsa, claims("alice", func(c map[string]any) { c["exp"] = "tomorrow" })),
			code: apierr.Unauthenticated, reason: "malformed token"},
		{name: "not yet valid", token: signed(k.ec, claims("alice", func(c map[string]any) { c["nbf"] = t0.Add(2 * time.Minute).Unix() })),
			code: apierr.Unauthenticated, reason: "token not valid yet"},
		{name: "issued in the future", token: signed(k.ec, claims("alice", func(c map[string]any) { c["iat"] = t0.Add(5 * time.Minute).Unix() })),
			code: apierr.Unauthenticated, reason: "issued in the future"},
		{name: "wrong audience", token: signed(k.rsa, claims("alice", func(c map[string]any) { c["aud"] = "other-app" })),
			code: apierr.Unauthenticated, reason: "wrong audience"},
		{name: "wrong audience array", token: signed(k.rsa, claims("alice", func(c map[string]any) { c["aud"] = []string{"a", "b"} })),
			code: apierr.Unauthenticated, reason: "wrong audience"},
		{name: "no audience", token: signed(k.rsa, claims("alice", func(c map[string]any) { delete(c, "aud") })),
			code: apierr.Unauthenticated, reason: "wrong audience"},
		{name: "wrong issuer", token: signed(k.rsa, claims("alice", func(c map[string]any) { c["iss"] = "https://evil.example.com" })),
			code: apierr.Unauthenticated, reason: "wrong issuer"},
		{name: "issuer differs in case", token: signed(k.rsa, claims("alice", func(c map[string]any) { c["iss"] = strings.ToUpper(issuer) })),
			code: apierr.Unauthenticated, reason: "wrong issuer"},
		{name: "alg none", token: fixed(handmade(`{"alg":"none","typ":"JWT","kid":"rsa-1"}`, claims("alice", nil), nil)),
			code: apierr.Unauthenticated, reason: `algorithm "none" is not allowed`},
		{name: "alg none without kid", token: fixed(handmade(`{"alg":"none"}`, claims("alice", nil), nil)),
			code: apierr.Unauthenticated, reason: `algorithm "none" is not allowed`},
		{name: "HS256 keyed with the RSA public key", token: func(t *testing.T) string { return hs256(t, k.rsa.PublicKey(), k.rsa.ID, claims("alice", nil)) },
			code: apierr.Unauthenticated, reason: `algorithm "HS256" is not allowed`},
		{name: "HS256 keyed with the EC public key", token: func(t *testing.T) string { return hs256(t, k.ec.PublicKey(), k.ec.ID, claims("alice", nil)) },
			code: apierr.Unauthenticated, reason: `algorithm "HS256" is not allowed`},
		{name: "algorithm not configured", cfg: func(c *oidc.Config) { c.AllowedAlgorithms = []string{"RS256"} },
			token: signed(k.ed, claims("alice", nil)), code: apierr.Unauthenticated, reason: `algorithm "EdDSA" is not allowed`},
		{name: "tampered payload", token: func(t *testing.T) string {
			return tamper(k.rsa.Sign(t, claims("alice", nil)), claims("admin", nil))
		}, code: apierr.Unauthenticated, reason: "signature does not verify"},
		{name: "tampered payload EdDSA", token: func(t *testing.T) string {
			return tamper(k.ed.Sign(t, claims("alice", nil)), claims("alice", func(c map[string]any) { c["exp"] = t0.Add(1000 * time.Hour).Unix() }))
		}, code: apierr.Unauthenticated, reason: "signature does not verify"},
		{name: "signed by another key under a known kid", token: signed(attacker, claims("alice", nil)),
			code: apierr.Unauthenticated, reason: "signature does not verify"},
		{name: "embedded jwk header is not trusted", token: func(t *testing.T) string {
			// The attacker's own public key travels in the header.
			return embeddedJWK(t, attacker, claims("alice", nil))
		}, code: apierr.Unauthenticated, reason: "signature does not verify"},
		{name: "kid of a key of another type", token: signed(k.ec.WithID(k.rsa.ID), claims("alice", nil)),
			code: apierr.Unauthenticated, reason: "unknown signing key"},
		{name: "no kid, one key of its type", token: signed(k.rsa.WithID(""), claims("alice", nil)), wantUser: "alice", wantTID: "jti-alice"},

		{name: "missing user claim", cfg: func(c *oidc.Config) { c.UserClaim = "email" }, token: signed(k.rsa, claims("alice", nil)),
			code: apierr.Unauthenticated, reason: `missing user claim "email"`},
		{name: "empty user claim", token: signed(k.rsa, claims("", nil)),
			code: apierr.Unauthenticated, reason: `missing user claim "sub"`},
		{name: "user claim not a string", cfg: func(c *oidc.Config) { c.UserClaim = "uid" },
			token: signed(k.rsa, claims("alice", func(c map[string]any) { c["uid"] = 1234 })),
			code:  apierr.Unauthenticated, reason: `user claim "uid" is a number`},
		{name: "user name with a control character", token: signed(k.rsa, claims("alice\nadmin", nil)),
			code: apierr.Unauthenticated, reason: "control"},
		{name: "user name with a bidi override", token: signed(k.rsa, claims("alice\u202e", nil)),
			code: apierr.Unauthenticated, reason: "control or invisible"},
		{name: "user name too long", token: signed(k.rsa, claims(long, nil)),
			code: apierr.Unauthenticated, reason: "longer than 255 characters"},

		{name: "groups passed through", cfg: func(c *oidc.Config) { c.GroupsClaim = "groups" },
			token:    signed(k.rsa, claims("alice", func(c map[string]any) { c["groups"] = []string{"analysts", "eu", "analysts"} })),
			wantUser: "alice", wantGroups: []string{"analysts", "eu"}, wantTID: "jti-alice"},
		{name: "groups mapped, unmapped dropped", cfg: func(c *oidc.Config) {
			c.GroupsClaim = "groups"
			c.GroupMap = map[string]string{"/data/analysts": "analysts", "/data/admins": "data-admins"}
		}, token: signed(k.rsa, claims("alice", func(c map[string]any) { c["groups"] = []string{"/data/analysts", "/hr", "/data/admins"} })),
			wantUser: "alice", wantGroups: []string{"analysts", "data-admins"}, wantTID: "jti-alice"},
		{name: "groups all unmapped", cfg: func(c *oidc.Config) {
			c.GroupsClaim = "groups"
			c.GroupMap = map[string]string{"/data/analysts": "analysts"}
		}, token: signed(k.rsa, claims("alice", func(c map[string]any) { c["groups"] = []string{"/hr", "/finance"} })),
			wantUser: "alice", wantTID: "jti-alice"},
		{name: "groups as a separated string", cfg: func(c *oidc.Config) { c.GroupsClaim = "roles" },
			token:    signed(k.rsa, claims("alice", func(c map[string]any) { c["roles"] = "analysts, eu  ops" })),
			wantUser: "alice", wantGroups: []string{"analysts", "eu", "ops"}, wantTID: "jti-alice"},
		{name: "groups claim absent", cfg: func(c *oidc.Config) { c.GroupsClaim = "groups" },
			token: signed(k.rsa, claims("alice", nil)), wantUser: "alice", wantTID: "jti-alice"},
		{name: "groups claim an object", cfg: func(c *oidc.Config) { c.GroupsClaim = "groups" },
			token: signed(k.rsa, claims("alice", func(c map[string]any) { c["groups"] = map[string]any{"a": 1} })),
			code:  apierr.Unauthenticated, reason: `groups claim "groups" is an object`},
		{name: "groups array of numbers", cfg: func(c *oidc.Config) { c.GroupsClaim = "groups" },
			token: signed(k.rsa, claims("alice", func(c map[string]any) { c["groups"] = []any{"a", 7} })),
			code:  apierr.Unauthenticated, reason: `groups claim "groups" holds a number`},
		{name: "groups not configured are ignored",
			token:    signed(k.rsa, claims("alice", func(c map[string]any) { c["groups"] = []string{"admins"} })),
			wantUser: "alice", wantTID: "jti-alice"},

		{name: "crit header", token: func(t *testing.T) string {
			opts := (&jose.SignerOptions{}).WithHeader("b64", false).WithCritical("b64")
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.ed.Alg, Key: jose.JSONWebKey{Key: k.ed.Private, KeyID: k.ed.ID}}, opts)
			if err != nil {
				t.Fatal(err)
			}
			payload, _ := json.Marshal(claims("alice", nil))
			jws, err := signer.Sign(payload)
			if err != nil {
				t.Fatal(err)
			}
			s, err := jws.CompactSerialize()
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, code: apierr.Unauthenticated, reason: "critical header parameters (crit) are not supported"},
		{name: "JWE is refused", token: fixed(b64(`{"alg":"RSA-OAEP","enc":"A256GCM"}`) + ".a.b.c.d"),
			code: apierr.Unauthenticated, reason: "encrypted tokens (JWE) are not supported"},
		{name: "bad base64 payload", token: fixed(b64(`{"alg":"RS256","kid":"rsa-1"}`) + ".***.AAAA"),
			code: apierr.Unauthenticated, reason: "malformed token"},
		{name: "two parts", token: fixed(b64(`{"alg":"RS256"}`) + "." + b64(`{}`)),
			code: apierr.Unauthenticated, reason: "malformed token"},
		{name: "claims not an object", token: func(t *testing.T) string { return signBytes(t, k.rsa, []byte(`["a"]`)) },
			code: apierr.Unauthenticated, reason: "malformed token: the claims are not a JSON object"},
		{name: "claims not JSON", token: func(t *testing.T) string { return signBytes(t, k.ed, []byte(`{"sub":`)) },
			code: apierr.Unauthenticated, reason: "malformed token"},
		{name: "claims followed by data", token: func(t *testing.T) string { return signBytes(t, k.ed, []byte(`{"sub":"a"} {}`)) },
			code: apierr.Unauthenticated, reason: "malformed token"},

		{name: "nscale user token", token: fixed(auth.UserTokenPrefix + "c2VjcmV0LnRva2VuLnZhbHVl"), notMine: true},
		{name: "opaque token", token: fixed("hello"), notMine: true},
		{name: "dotted non-JWT", token: fixed("a.b.c"), notMine: true},
		{name: "header not an object", token: fixed(b64(`["x"]`) + ".e30.e30"), notMine: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig()
			cfg.JWKSFile = oidctest.WriteJWKS(t, t.TempDir(), k.rsa, k.ec, k.ed, psKey)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			a, err := oidc.New(cfg, oidc.WithNow(newClock().Now))
			if err != nil {
				t.Fatal(err)
			}
			token := tc.token(t)
			p, err := a.Authenticate(context.Background(), token)
			switch {
			case tc.notMine:
				if !errors.Is(err, auth.ErrNotMine) {
					t.Fatalf("err = %v, want auth.ErrNotMine", err)
				}
			case tc.code != "":
				wantRefused(t, err, token, tc.code, tc.reason)
			default:
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				want := auth.Principal{User: tc.wantUser, Groups: tc.wantGroups, Method: "oidc", TokenID: tc.wantTID}
				if p.User != want.User || !slices.Equal(p.Groups, want.Groups) || p.Method != want.Method || p.TokenID != want.TokenID || p.Bootstrap {
					t.Fatalf("principal %+v, want %+v", p, want)
				}
			}
		})
	}
}

// embeddedJWK signs with key and puts its public key in the "jwk" header
// beside kid: a careless verifier would trust the key the token brings.
func embeddedJWK(t *testing.T, key oidctest.Key, c map[string]any) string {
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithHeader("kid", key.ID)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: key.Alg, Key: jose.JSONWebKey{Key: key.Private}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(tok, ".")
	if h, _ := base64.RawURLEncoding.DecodeString(head); !strings.Contains(string(h), `"jwk"`) || !strings.Contains(string(h), `"kid"`) {
		t.Fatalf("header %s lacks jwk or kid", h)
	}
	return tok
}

// signBytes signs an arbitrary payload.
func signBytes(t *testing.T, key oidctest.Key, payload []byte) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: key.Alg, Key: jose.JSONWebKey{Key: key.Private, KeyID: key.ID}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNoKID(t *testing.T) {
	k := newKeys(t)
	cfg := baseConfig()
	cfg.JWKSFile = oidctest.WriteJWKS(t, t.TempDir(), k.ec)
	a, err := oidc.New(cfg, oidc.WithNow(newClock().Now))
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Authenticate(context.Background(), k.ec.WithID("").Sign(t, claims("alice", nil)))
	if err != nil || p.User != "alice" {
		t.Fatalf("p = %+v, err = %v", p, err)
	}
	// A key of another type does not match a kid-less token.
	tok := k.rsa.WithID("").Sign(t, claims("alice", nil))
	_, err = a.Authenticate(context.Background(), tok)
	wantRefused(t, err, tok, apierr.Unauthenticated, "unknown signing key")

	// With two keys of the token's type, which one signed is not guessed.
	cfg.JWKSFile = oidctest.WriteJWKS(t, t.TempDir(), k.ec, oidctest.NewECKey(t, "ec-2"))
	a, err = oidc.New(cfg, oidc.WithNow(newClock().Now))
	if err != nil {
		t.Fatal(err)
	}
	tok = k.ec.WithID("").Sign(t, claims("alice", nil))
	_, err = a.Authenticate(context.Background(), tok)
	wantRefused(t, err, tok, apierr.Unauthenticated, "unknown signing key: the token names no key (kid) and the key set holds 2 ES256 keys")
}

func TestKeyRotation(t *testing.T) {
	k := newKeys(t)
	next := oidctest.NewEd25519Key(t, "ed-2")
	srv := oidctest.NewServer(t, k.rsa)
	clk := newClock()
	reg := prometheus.NewRegistry()
	cfg := baseConfig()
	cfg.JWKSURL = srv.URL()
	a, err := oidc.New(cfg, oidc.WithNow(clk.Now), oidc.WithHTTPClient(srv.Client()), oidc.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if srv.Requests() != 0 {
		t.Fatalf("New fetched the JWKS (%d requests): it must wait for the first token or Run", srv.Requests())
	}
	// The first token fetches the set lazily.
	if _, err := a.Authenticate(ctx, k.rsa.Sign(t, claims("alice", nil))); err != nil {
		t.Fatal(err)
	}
	if srv.Requests() != 1 {
		t.Fatalf("%d requests after the first token, want 1", srv.Requests())
	}
	// The IdP rotates in a new key; a token signed with it arrives within
	// jwks_min_refresh_interval of the first fetch: no refetch yet.
	srv.SetKeys(k.rsa, next)
	tok := next.Sign(t, claims("bob", nil))
	clk.Add(5 * time.Second)
	_, err = a.Authenticate(ctx, tok)
	wantRefused(t, err, tok, apierr.Unauthenticated, "unknown signing key")
	if srv.Requests() != 1 {
		t.Fatalf("%d requests, want 1: an unknown kid within jwks_min_refresh_interval must not fetch", srv.Requests())
	}
	// Later, the unknown kid triggers one refresh and the token passes.
	clk.Add(6 * time.Second)
	p, err := a.Authenticate(ctx, tok)
	if err != nil || p.User != "bob" {
		t.Fatalf("after rotation: p = %+v, err = %v", p, err)
	}
	if srv.Requests() != 2 {
		t.Fatalf("%d requests, want 2", srv.Requests())
	}
	// A flood of made-up kids within jwks_min_refresh_interval causes no
	// further fetch.
	for i := range 50 {
		clk.Add(100 * time.Millisecond)
		forged := oidctest.NewEd25519Key(t, "random-"+string(rune('a'+i%26))+time.Duration(i).String())
		tok := forged.Sign(t, claims("mallory", nil))
		_, err := a.Authenticate(ctx, tok)
		wantRefused(t, err, tok, apierr.Unauthenticated, "unknown signing key")
	}
	if srv.Requests() != 2 {
		t.Fatalf("%d requests after a flood of unknown kids, want 2", srv.Requests())
	}
	// A key the IdP retires stops working after the next refresh.
	srv.SetKeys(next)
	clk.Add(time.Hour)
	if _, err := a.Authenticate(ctx, next.Sign(t, claims("bob", nil))); err != nil {
		t.Fatal(err)
	}
	tok = k.rsa.Sign(t, claims("alice", nil))
	_, err = a.Authenticate(ctx, tok)
	wantRefused(t, err, tok, apierr.Unauthenticated, "unknown signing key")

	if got := testutil.ToFloat64(counter(t, reg, "nscale_controlplane_oidc_tokens_total", "unknown_key")); got != 52 {
		t.Errorf("tokens_total{result=unknown_key} = %v, want 52", got)
	}
	if got := testutil.ToFloat64(counter(t, reg, "nscale_controlplane_oidc_jwks_refresh_total", "ok")); got != 3 {
		t.Errorf("jwks_refresh_total{result=ok} = %v, want 3", got)
	}
}

// counter finds name{result=...} on reg.
func counter(t *testing.T, reg *prometheus.Registry, name, result string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x", Help: "x"}, func() float64 { return m.GetCounter().GetValue() })
				}
			}
		}
	}
	t.Fatalf("no %s{result=%q}", name, result)
	return nil
}

func TestJWKSDown(t *testing.T) {
	k := newKeys(t)
	ctx := context.Background()

	t.Run("last good set kept", func(t *testing.T) {
		srv := oidctest.NewServer(t, k.rsa)
		clk := newClock()
		var logs bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		reg := prometheus.NewRegistry()
		cfg := baseConfig()
		cfg.JWKSURL = srv.URL()
		a, err := oidc.New(cfg, oidc.WithNow(clk.Now), oidc.WithHTTPClient(srv.Client()), oidc.WithLogger(log), oidc.WithRegisterer(reg))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Authenticate(ctx, k.rsa.Sign(t, claims("alice", nil))); err != nil {
			t.Fatal(err)
		}
		srv.Close()
		// The set is now stale: the next token tries a refresh, which
		// fails, and is still checked with the last good set.
		clk.Add(2 * time.Hour)
		tok := k.rsa.Sign(t, oidctest.Claims(issuer, audience, "alice", clk.Now()))
		if p, err := a.Authenticate(ctx, tok); err != nil || p.User != "alice" {
			t.Fatalf("with the IdP down: p = %+v, err = %v", p, err)
		}
		if got := testutil.ToFloat64(counter(t, reg, "nscale_controlplane_oidc_jwks_refresh_total", "fetch_error")); got != 1 {
			t.Errorf("jwks_refresh_total{result=fetch_error} = %v, want 1", got)
		}
		if !strings.Contains(logs.String(), "keeping the last good key set") {
			t.Errorf("refresh failure not logged:\n%s", logs.String())
		}
		// An unknown kid still gets "unknown signing key", not Unavailable.
		clk.Add(time.Minute)
		tok = k.ed.Sign(t, oidctest.Claims(issuer, audience, "bob", clk.Now()))
		_, err = a.Authenticate(ctx, tok)
		wantRefused(t, err, tok, apierr.Unauthenticated, "unknown signing key")
		if strings.Contains(logs.String(), tok) {
			t.Fatal("a token was logged")
		}
	})

	t.Run("no good set", func(t *testing.T) {
		srv := oidctest.NewServer(t, k.rsa)
		srv.Close()
		clk := newClock()
		cfg := baseConfig()
		cfg.JWKSURL = srv.URL()
		a, err := oidc.New(cfg, oidc.WithNow(clk.Now), oidc.WithHTTPClient(srv.Client()))
		if err != nil {
			t.Fatal(err)
		}
		tok := k.rsa.Sign(t, claims("alice", nil))
		_, err = a.Authenticate(ctx, tok)
		wantRefused(t, err, tok, apierr.Unavailable, "signing keys (JWKS) could not be fetched and none are cached")
		// The chain passes Unavailable through: the client learns to retry.
		_, err = auth.Chain{a}.Authenticate(ctx, tok)
		if !apierr.Is(err, apierr.Unavailable) {
			t.Fatalf("chain: %v, want Unavailable", err)
		}
	})

	t.Run("error status and no usable key", func(t *testing.T) {
		srv := oidctest.NewServer(t, k.rsa)
		srv.SetStatus(http.StatusServiceUnavailable)
		clk := newClock()
		reg := prometheus.NewRegistry()
		cfg := baseConfig()
		cfg.JWKSURL = srv.URL()
		a, err := oidc.New(cfg, oidc.WithNow(clk.Now), oidc.WithHTTPClient(srv.Client()), oidc.WithRegisterer(reg))
		if err != nil {
			t.Fatal(err)
		}
		tok := k.rsa.Sign(t, claims("alice", nil))
		_, err = a.Authenticate(ctx, tok)
		wantRefused(t, err, tok, apierr.Unavailable, "could not be fetched")
		// Retries while the IdP is down are paced too.
		for range 20 {
			_, _ = a.Authenticate(ctx, tok)
		}
		if srv.Requests() != 1 {
			t.Fatalf("%d requests, want 1 within jwks_min_refresh_interval", srv.Requests())
		}
		// A set with only a symmetric key is no set.
		srv.SetStatus(http.StatusOK)
		srv.SetBody([]byte(`{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}`))
		clk.Add(11 * time.Second)
		_, err = a.Authenticate(ctx, tok)
		wantRefused(t, err, tok, apierr.Unavailable, "could not be fetched")
		// Too large.
		srv.SetBody(bytes.Repeat([]byte(" "), 1<<20+1))
		clk.Add(11 * time.Second)
		_, err = a.Authenticate(ctx, tok)
		wantRefused(t, err, tok, apierr.Unavailable, "could not be fetched")
		for result, want := range map[string]float64{"bad_status": 1, "invalid": 1, "too_large": 1, "rate_limited": 20} {
			if got := testutil.ToFloat64(counter(t, reg, "nscale_controlplane_oidc_jwks_refresh_total", result)); got != want {
				t.Errorf("jwks_refresh_total{result=%s} = %v, want %v", result, got, want)
			}
		}
		// The IdP recovers.
		srv.SetKeys(k.rsa)
		clk.Add(11 * time.Second)
		if _, err := a.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	})
}

func TestJWKSFileRefresh(t *testing.T) {
	k := newKeys(t)
	dir := t.TempDir()
	clk := newClock()
	cfg := baseConfig()
	cfg.JWKSFile = oidctest.WriteJWKS(t, dir, k.rsa)
	a, err := oidc.New(cfg, oidc.WithNow(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok := k.ec.Sign(t, claims("alice", nil))
	_, err = a.Authenticate(ctx, tok)
	wantRefused(t, err, tok, apierr.Unauthenticated, "unknown signing key")
	oidctest.WriteJWKS(t, dir, k.rsa, k.ec)
	clk.Add(11 * time.Second)
	if _, err := a.Authenticate(ctx, tok); err != nil {
		t.Fatalf("after the file gained the key: %v", err)
	}
	// A broken file keeps the last good set.
	if err := os.WriteFile(cfg.JWKSFile, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Hour)
	if _, err := a.Authenticate(ctx, k.ec.Sign(t, oidctest.Claims(issuer, audience, "alice", clk.Now()))); err != nil {
		t.Fatalf("with a broken file: %v", err)
	}

	// New refuses a file it cannot use.
	for name, body := range map[string]string{
		"not JSON":      "nope",
		"no keys":       `{"keys":[]}`,
		"private key":   `{"keys":[` + privateJWK(t, k.ec) + `]}`,
		"no keys field": `{}`,
	} {
		f := filepath.Join(dir, "bad.json")
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.JWKSFile = f
		if _, err := oidc.New(cfg); err == nil || !strings.Contains(err.Error(), "oidc.jwks_file") {
			t.Errorf("%s: New = %v, want an error naming oidc.jwks_file", name, err)
		}
	}
	cfg.JWKSFile = filepath.Join(dir, "missing.json")
	if _, err := oidc.New(cfg); err == nil {
		t.Error("New accepted a missing jwks_file")
	}
}

func privateJWK(t *testing.T, k oidctest.Key) string {
	b, err := json.Marshal(jose.JSONWebKey{Key: k.Private, KeyID: k.ID})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCAFile(t *testing.T) {
	k := newKeys(t)
	srv := oidctest.NewTLSServer(t, k.ed)
	ctx := context.Background()
	tok := k.ed.Sign(t, claims("alice", nil))

	cfg := baseConfig()
	cfg.JWKSURL = srv.URL()
	cfg.CAFile = srv.CAFile(t, t.TempDir())
	a, err := oidc.New(cfg, oidc.WithNow(newClock().Now))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, tok); err != nil {
		t.Fatalf("with ca_file: %v", err)
	}

	// Without it the server's certificate is not trusted.
	cfg.CAFile = ""
	a, err = oidc.New(cfg, oidc.WithNow(newClock().Now))
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Authenticate(ctx, tok)
	wantRefused(t, err, tok, apierr.Unavailable, "could not be fetched")
}

func TestRedirectsFollowTheURLRules(t *testing.T) {
	k := newKeys(t)
	srv := oidctest.NewServer(t, k.ed)
	tok := k.ed.Sign(t, claims("alice", nil))
	for _, tc := range []struct {
		name, target string
		ok           bool
	}{
		{"to loopback http", srv.URL(), true},
		{"to http elsewhere", "http://idp.example.com/jwks.json", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := httptest.NewServer(http.RedirectHandler(tc.target, http.StatusFound))
			t.Cleanup(rs.Close)
			var logs bytes.Buffer
			cfg := baseConfig()
			cfg.JWKSURL = rs.URL + "/jwks.json"
			a, err := oidc.New(cfg, oidc.WithNow(newClock().Now), oidc.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.Authenticate(context.Background(), tok)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantRefused(t, err, tok, apierr.Unavailable, "could not be fetched")
			if !strings.Contains(logs.String(), "refusing redirect") {
				t.Errorf("log does not say the redirect was refused:\n%s", logs.String())
			}
		})
	}
}

func TestRun(t *testing.T) {
	k := newKeys(t)
	srv := oidctest.NewServer(t, k.rsa)
	cfg := baseConfig()
	cfg.JWKSURL = srv.URL()
	cfg.JWKSRefreshInterval = time.Second
	cfg.JWKSMinRefreshInterval = time.Second
	a, err := oidc.New(cfg, oidc.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for srv.Requests() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if srv.Requests() < 2 {
		t.Fatalf("Run made %d fetches in 10s with a 1s interval, want at least 2", srv.Requests())
	}
	tok := k.rsa.Sign(t, oidctest.Claims(issuer, audience, "alice", time.Now()))
	before := srv.Requests()
	if _, err := a.Authenticate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if srv.Requests() > before+1 {
		t.Errorf("a token fetched the set while Run keeps it fresh")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestChainWithOIDC(t *testing.T) {
	k := newKeys(t)
	cfg := baseConfig()
	cfg.JWKSFile = oidctest.WriteJWKS(t, t.TempDir(), k.rsa)
	a, err := oidc.New(cfg, oidc.WithNow(newClock().Now))
	if err != nil {
		t.Fatal(err)
	}
	chain := auth.Chain{auth.AdminToken{Token: []byte("admin-secret-0123456789")}, a}
	ctx := context.Background()
	if p, err := chain.Authenticate(ctx, "admin-secret-0123456789"); err != nil || !p.Bootstrap {
		t.Fatalf("admin token: %+v %v", p, err)
	}
	if p, err := chain.Authenticate(ctx, k.rsa.Sign(t, claims("alice", nil))); err != nil || p.User != "alice" || p.Method != "oidc" {
		t.Fatalf("oidc token: %+v %v", p, err)
	}
	tok := k.rsa.Sign(t, claims("alice", func(c map[string]any) { c["exp"] = t0.Add(-time.Hour).Unix() }))
	// The chain states an OIDC refusal's reason (the holder can read the
	// token anyway), and never repeats the token.
	if _, err := chain.Authenticate(ctx, tok); !apierr.Is(err, apierr.Unauthenticated) ||
		!strings.HasPrefix(err.Error(), "invalid bearer token: oidc: token expired") || strings.Contains(err.Error(), tok) {
		t.Fatalf("expired oidc token through the chain: %v", err)
	}
}

func TestMetricsSharedBetweenAuthenticators(t *testing.T) {
	k := newKeys(t)
	reg := prometheus.NewRegistry()
	for _, iss := range []string{"https://a.example.com", "https://b.example.com"} {
		cfg := baseConfig()
		cfg.Issuer = iss
		cfg.JWKSFile = oidctest.WriteJWKS(t, t.TempDir(), k.rsa)
		if _, err := oidc.New(cfg, oidc.WithRegisterer(reg)); err != nil {
			t.Fatalf("second authenticator on one registry: %v", err)
		}
	}
	if got := testutil.ToFloat64(counter(t, reg, "nscale_controlplane_oidc_jwks_refresh_total", "ok")); got != 2 {
		t.Errorf("jwks_refresh_total{result=ok} = %v, want 2", got)
	}
}

func TestNothingSecretInLogs(t *testing.T) {
	k := newKeys(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := baseConfig()
	cfg.JWKSFile = oidctest.WriteJWKS(t, t.TempDir(), k.rsa)
	a, err := oidc.New(cfg, oidc.WithNow(newClock().Now), oidc.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	var tokens []string
	for _, c := range []map[string]any{
		claims("alice", nil),
		claims("alice", func(c map[string]any) { c["exp"] = t0.Add(-time.Hour).Unix() }),
		claims("alice", func(c map[string]any) { c["aud"] = "x" }),
	} {
		tokens = append(tokens, k.rsa.Sign(t, c))
	}
	tokens = append(tokens, tamper(tokens[0], claims("admin", nil)), handmade(`{"alg":"none"}`, claims("a", nil), nil))
	for _, tok := range tokens {
		_, _ = a.Authenticate(context.Background(), tok)
	}
	for _, tok := range tokens {
		for _, part := range strings.Split(tok, ".") {
			if len(part) > 16 && strings.Contains(logs.String(), part) {
				t.Fatalf("log holds part of a token:\n%s", logs.String())
			}
		}
	}
	if !strings.Contains(logs.String(), "token expired") {
		t.Errorf("refusal reasons are not logged at debug:\n%s", logs.String())
	}
}

// TestConcurrentUnknownKid: many tokens naming a freshly rotated key at
// once cause one fetch, and all of them pass once it is in.
func TestConcurrentUnknownKid(t *testing.T) {
	k := newKeys(t)
	next := oidctest.NewECKey(t, "ec-2")
	srv := oidctest.NewServer(t, k.rsa)
	clk := newClock()
	cfg := baseConfig()
	cfg.JWKSURL = srv.URL()
	a, err := oidc.New(cfg, oidc.WithNow(clk.Now), oidc.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(context.Background(), k.rsa.Sign(t, claims("alice", nil))); err != nil {
		t.Fatal(err)
	}
	srv.SetKeys(k.rsa, next)
	clk.Add(time.Minute)
	tok := next.Sign(t, claims("bob", nil))
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			if _, err := a.Authenticate(context.Background(), tok); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("refused: %v", err)
	}
	if srv.Requests() != 2 {
		t.Fatalf("%d requests, want 2 (the first token, one refresh)", srv.Requests())
	}
}

// TestJWKSKeysSkipped: keys that cannot verify tokens are left out of the
// set without costing the others.
func TestJWKSKeysSkipped(t *testing.T) {
	k := newKeys(t)
	short, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	shortKey := oidctest.Key{ID: "short", Alg: jose.RS256, Private: short}
	encKey := k.rsa.WithID("enc")
	declared := k.rsa.WithID("rs384-only")
	jwk := func(v jose.JSONWebKey) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	encJWK := encKey.JWK()
	encJWK.Use = "enc"
	declaredJWK := declared.JWK()
	declaredJWK.Algorithm = "RS384"
	set, err := json.Marshal(map[string]any{"keys": []json.RawMessage{
		json.RawMessage(`{"kty":"oct","kid":"hmac","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}`),
		jwk(encJWK),
		jwk(jose.JSONWebKey{Key: k.ec.Private, KeyID: "leaked"}),
		jwk(shortKey.JWK()),
		json.RawMessage(`{"kty":"XYZ","kid":"future"}`),
		json.RawMessage(`"not an object"`),
		jwk(declaredJWK),
		jwk(k.ed.JWK()),
	}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(file, set, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cfg := baseConfig()
	cfg.JWKSFile = file
	a, err := oidc.New(cfg, oidc.WithNow(newClock().Now), oidc.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, k.ed.Sign(t, claims("alice", nil))); err != nil {
		t.Fatalf("the good key: %v", err)
	}
	for name, key := range map[string]oidctest.Key{
		"encryption key": encKey, "published private key": k.ec.WithID("leaked"),
		"short RSA key": shortKey, "key declared for another alg": declared,
	} {
		tok := key.Sign(t, claims("alice", nil))
		_, err := a.Authenticate(ctx, tok)
		t.Run(name, func(t *testing.T) { wantRefused(t, err, tok, apierr.Unauthenticated, "unknown signing key") })
	}
	for _, want := range []string{"private key material", "shorter than 2048", "unsupported or invalid key", "not a JSON object"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no warning %q in:\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), "use \\\"enc\\\"") || strings.Contains(logs.String(), "symmetric") {
		t.Errorf("usual keys (enc, oct) warned about at info level:\n%s", logs.String())
	}
}
