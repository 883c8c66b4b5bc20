// Package oidc authenticates end users by the JWTs their OpenID Connect
// identity provider signs: ID tokens, or JWT access tokens. The IdP's
// public keys come from its JWK Set (jwks_uri, or a local file), fetched
// lazily on the first token, refreshed periodically by Run, and on demand
// (rate-limited) when a token names a key the set does not hold yet.
//
// Only asymmetric algorithms are accepted, chosen by configuration and not
// by the token; a key is picked by the token's kid and must fit the
// token's algorithm. A token is never logged or put in an error.
package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/logging"
)

// Method is the auth.Principal.Method of OIDC principals.
const Method = "oidc"

// maxTokenBytes bounds a token. IdPs that list many groups issue tokens of
// a few KiB; 64 KiB leaves room and bounds the work on a made-up one.
const maxTokenBytes = 64 << 10

// Log attribute keys of this package.
const (
	keyIssuer = "issuer"
	keyJWKS   = "jwks"
	keyKeys   = "keys"
	keyResult = "result"
	keyReason = "reason"
)

// Option sets a dependency of New.
type Option func(*options)

type options struct {
	client *http.Client
	now    func() time.Time
	log    *slog.Logger
	reg    prometheus.Registerer
}

// WithHTTPClient fetches the JWK Set with c (a copy of it: its redirect
// policy is replaced). With ca_file, c's transport must be an
// *http.Transport or nil.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// WithNow sets the clock that checks exp, nbf and iat and paces refreshes.
func WithNow(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLogger logs refreshes and refusals (never a token) to log.
func WithLogger(log *slog.Logger) Option { return func(o *options) { o.log = log } }

// WithRegisterer registers the package's metrics on reg.
func WithRegisterer(reg prometheus.Registerer) Option { return func(o *options) { o.reg = reg } }

// Authenticator checks the JWTs of one IdP. It is an auth.Authenticator.
type Authenticator struct {
	cfg  Config
	algs []jose.SignatureAlgorithm
	src  source
	now  func() time.Time
	log  *slog.Logger
	m    *metrics

	keys    atomic.Pointer[keySet]
	running atomic.Bool // Run keeps the set fresh

	// sem lets one fetch run at a time; lastAttempt, guarded by it, paces
	// on-demand fetches.
	sem         chan struct{}
	lastAttempt time.Time
}

var _ auth.Authenticator = (*Authenticator)(nil)

// New validates cfg and returns its authenticator. A jwks_file is read
// now, so that a bad file fails start-up; a jwks_url is first fetched by
// Run or the first token, so start-up never waits on the IdP.
func New(cfg Config, opts ...Option) (*Authenticator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{
		cfg:  cfg,
		algs: cfg.algorithms(),
		now:  o.now,
		m:    newMetrics(o.reg),
		sem:  make(chan struct{}, 1),
	}
	if cfg.JWKSFile != "" {
		a.src = fileSource(cfg.JWKSFile)
	} else {
		client, err := newHTTPClient(cfg, o.client)
		if err != nil {
			return nil, err
		}
		a.src = urlSource{url: cfg.JWKSURL, client: client}
	}
	a.log = o.log.With(logging.KeyComponent, "oidc", keyIssuer, cfg.Issuer)
	if cfg.JWKSFile != "" {
		if err := a.refresh(context.Background(), false); err != nil {
			return nil, fmt.Errorf("oidc.jwks_file %s: %w", cfg.JWKSFile, err)
		}
	}
	return a, nil
}

// Run refreshes the key set every jwks_refresh_interval (sooner, backing
// off from jwks_min_refresh_interval, after a failure) until ctx is
// cancelled, and then returns nil.
func (a *Authenticator) Run(ctx context.Context) error {
	a.running.Store(true)
	defer a.running.Store(false)
	var wait time.Duration
	if set := a.keys.Load(); set != nil {
		wait = max(0, a.cfg.JWKSRefreshInterval-a.now().Sub(set.fetched))
	}
	backoff := a.cfg.JWKSMinRefreshInterval
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := a.refresh(ctx, false); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			t.Reset(backoff)
			backoff = min(2*backoff, a.cfg.JWKSRefreshInterval)
			continue
		}
		backoff = a.cfg.JWKSMinRefreshInterval
		t.Reset(a.cfg.JWKSRefreshInterval)
	}
}

var errRateLimited = errors.New("a fetch was made less than jwks_min_refresh_interval ago")

// refresh fetches the key set and keeps it if it holds a usable key;
// otherwise the last good set stays. An onDemand refresh (from a token)
// is skipped when the last attempt is younger than
// jwks_min_refresh_interval, and is not cut short when the request that
// asked for it goes away: others may be waiting on it.
func (a *Authenticator) refresh(ctx context.Context, onDemand bool) error {
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-a.sem }()
	now := a.now()
	if onDemand && !a.lastAttempt.IsZero() && now.Sub(a.lastAttempt) < a.cfg.JWKSMinRefreshInterval {
		a.m.refreshs.WithLabelValues(refreshSkipped).Inc()
		return errRateLimited
	}
	a.lastAttempt = now
	if onDemand {
		ctx = context.WithoutCancel(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()

	b, result, err := a.src.read(ctx)
	var keys []jose.JSONWebKey
	var skipped []skippedKey
	if err == nil {
		if keys, skipped, err = parseJWKS(b); err != nil {
			result = refreshInvalid
		}
	}
	for _, s := range skipped {
		level := slog.LevelDebug
		if s.odd {
			level = slog.LevelWarn
		}
		a.log.Log(ctx, level, "oidc: JWK Set key skipped", keyJWKS, a.src.String(), keyReason, s.reason)
	}
	if err != nil {
		a.m.refreshs.WithLabelValues(result).Inc()
		if result != refreshCancelled {
			held := 0
			if set := a.keys.Load(); set != nil {
				held = len(set.keys)
			}
			a.log.Warn("oidc: JWK Set refresh failed; keeping the last good key set",
				keyJWKS, a.src.String(), keyResult, result, keyKeys, held, logging.KeyError, err)
		}
		return err
	}
	a.m.refreshs.WithLabelValues(refreshOK).Inc()
	a.keys.Store(&keySet{keys: keys, fetched: now})
	a.log.Debug("oidc: JWK Set refreshed", keyJWKS, a.src.String(), keyKeys, len(keys))
	return nil
}

// Authenticate accepts a JWT signed by the IdP for the configured audience
// and returns its user. Anything that is not a JWT is auth.ErrNotMine.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (auth.Principal, error) {
	if !looksLikeJWT(token) {
		return auth.Principal{}, auth.ErrNotMine
	}
	p, r := a.authenticate(ctx, token)
	if r != nil {
		a.m.tokens.WithLabelValues(r.result).Inc()
		a.log.Debug("oidc: token refused", keyResult, r.result, keyReason, r.msg)
		if r.result == resultUnavailable {
			return auth.Principal{}, apierr.New(apierr.Unavailable, "oidc: %s", r.msg)
		}
		return auth.Principal{}, auth.Refusal("oidc: %s", r.msg)
	}
	a.m.tokens.WithLabelValues(resultOK).Inc()
	return p, nil
}

func (a *Authenticator) authenticate(ctx context.Context, token string) (auth.Principal, *refusal) {
	switch {
	case len(token) > maxTokenBytes:
		return auth.Principal{}, refuse(resultMalformed, "malformed token: longer than %d bytes", maxTokenBytes)
	case strings.Count(token, ".") == 4:
		return auth.Principal{}, refuse(resultMalformed, "malformed token: encrypted tokens (JWE) are not supported")
	}
	tok, err := jwt.ParseSigned(token, a.algs)
	if err != nil {
		var algErr *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &algErr) {
			return auth.Principal{}, refuse(resultAlgorithm, "algorithm %s is not allowed", quote(string(algErr.Got)))
		}
		return auth.Principal{}, refuse(resultMalformed, "malformed token")
	}
	if len(tok.Headers) != 1 {
		return auth.Principal{}, refuse(resultMalformed, "malformed token: want one signature")
	}
	h := tok.Headers[0]
	if _, ok := h.ExtraHeaders["crit"]; ok {
		// JWTs have no use for critical extensions (b64:false and the
		// like): one less way for two parsers to read a token apart.
		return auth.Principal{}, refuse(resultMalformed, "malformed token: critical header parameters (crit) are not supported")
	}
	alg := jose.SignatureAlgorithm(h.Algorithm)

	set := a.keys.Load()
	if set == nil || (!a.running.Load() && a.now().Sub(set.fetched) >= a.cfg.JWKSRefreshInterval) {
		// First token, or no Run to keep the set fresh. A failure keeps
		// the last good set, if any.
		_ = a.refresh(ctx, true)
		if set = a.keys.Load(); set == nil {
			return auth.Principal{}, refuse(resultUnavailable,
				"cannot check the token: the identity provider's signing keys (JWKS) could not be fetched and none are cached")
		}
	}
	keys, _ := set.find(h.KeyID, alg)
	if len(keys) == 0 {
		// The IdP may have rotated its keys: look again, at most once per
		// jwks_min_refresh_interval however many tokens ask. A refresh
		// skipped for that reason may just have been made by another
		// token: look in the current set either way.
		_ = a.refresh(ctx, true)
		var why string
		if keys, why = a.keys.Load().find(h.KeyID, alg); len(keys) == 0 {
			return auth.Principal{}, refuse(resultUnknownKey, "unknown signing key: %s", why)
		}
	}

	var payload json.RawMessage
	verified := false
	for _, k := range keys {
		err := tok.Claims(k.Key, &payload)
		if err == nil {
			verified = true
			break
		}
		if !errors.Is(err, jose.ErrCryptoFailure) {
			return auth.Principal{}, refuse(resultMalformed, "malformed token")
		}
	}
	if !verified {
		return auth.Principal{}, refuse(resultSignature, "signature does not verify")
	}

	c, r := decodeClaims(payload)
	if r != nil {
		return auth.Principal{}, r
	}
	if r := c.check(a.cfg, a.now()); r != nil {
		return auth.Principal{}, r
	}
	user, r := c.user(a.cfg.UserClaim)
	if r != nil {
		return auth.Principal{}, r
	}
	groups, r := c.groups(a.cfg.GroupsClaim, a.cfg.GroupMap)
	if r != nil {
		return auth.Principal{}, r
	}
	return auth.Principal{User: user, Groups: groups, Method: Method, TokenID: c.tokenID()}, nil
}

// looksLikeJWT reports whether token is a JOSE object at all: dot-separated
// parts of which the first is a base64url JSON object (the header). Other
// tokens (nscale's "nsu_" tokens, the admin token) belong to other
// authenticators.
func looksLikeJWT(token string) bool {
	if strings.HasPrefix(token, auth.UserTokenPrefix) {
		return false
	}
	head, _, ok := strings.Cut(token, ".")
	if !ok || head == "" || len(head) > maxTokenBytes {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return false
	}
	b = []byte(strings.TrimLeft(string(b), " \t\r\n"))
	return len(b) > 0 && b[0] == '{'
}
