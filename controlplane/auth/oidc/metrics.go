package oidc

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of a token check: the values of the result label of
// nscale_controlplane_oidc_tokens_total.
const (
	resultOK           = "ok"
	resultExpired      = "expired"
	resultNotYetValid  = "not_yet_valid"
	resultAudience     = "wrong_audience"
	resultIssuer       = "wrong_issuer"
	resultSignature    = "bad_signature"
	resultUnknownKey   = "unknown_key"
	resultAlgorithm    = "bad_algorithm"
	resultMalformed    = "malformed"
	resultMissingClaim = "missing_claim"
	resultBadClaim     = "bad_claim"
	resultUnavailable  = "unavailable"
)

var tokenResults = []string{resultOK, resultExpired, resultNotYetValid, resultAudience, resultIssuer, resultSignature,
	resultUnknownKey, resultAlgorithm, resultMalformed, resultMissingClaim, resultBadClaim, resultUnavailable}

// Results of a JWKS refresh: the values of the result label of
// nscale_controlplane_oidc_jwks_refresh_total.
const (
	refreshOK        = "ok"
	refreshFetch     = "fetch_error" // network, TLS, timeout, unreadable file
	refreshStatus    = "bad_status"  // an HTTP status other than 200
	refreshTooLarge  = "too_large"   // more than maxJWKSBytes
	refreshInvalid   = "invalid"     // not a JWK Set, or no usable signing key
	refreshSkipped   = "rate_limited"
	refreshCancelled = "cancelled"
)

var refreshResults = []string{refreshOK, refreshFetch, refreshStatus, refreshTooLarge, refreshInvalid, refreshSkipped, refreshCancelled}

type metrics struct {
	tokens   *prometheus.CounterVec
	refreshs *prometheus.CounterVec
}

// newMetrics registers the package's metrics on reg. Several
// authenticators (one per IdP) share one set: a collector already
// registered is reused.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nscale_controlplane_oidc_tokens_total",
			Help: "OIDC bearer tokens checked, by result (ok, or why the token was refused)."}, []string{"result"}),
		refreshs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nscale_controlplane_oidc_jwks_refresh_total",
			Help: "Fetches of the IdP's JWK Set, by result; rate_limited counts on-demand refreshes skipped by jwks_min_refresh_interval."},
			[]string{"result"}),
	}
	if reg != nil {
		m.tokens = register(reg, m.tokens)
		m.refreshs = register(reg, m.refreshs)
	}
	for _, r := range tokenResults {
		m.tokens.WithLabelValues(r)
	}
	for _, r := range refreshResults {
		m.refreshs.WithLabelValues(r)
	}
	return m
}

func register(reg prometheus.Registerer, c *prometheus.CounterVec) *prometheus.CounterVec {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
			return existing
		}
	}
	if err != nil {
		panic(err)
	}
	return c
}
