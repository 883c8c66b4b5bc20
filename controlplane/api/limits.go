package api

import (
	"context"
	"net/http"
	"time"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/quota"
)

// Limits keep one caller from exhausting the API for the others. Every
// refusal is UNAVAILABLE (503, Retry-After) and names the limit, never
// who else is using it.
type Limits struct {
	// MaxBodyBytes bounds every request body (default 1 MiB).
	MaxBodyBytes int64
	// RequestTimeout bounds a request's work: its context is cancelled
	// then, and the store and the SQL executor stop (default 60 s).
	RequestTimeout time.Duration
	// MaxConcurrent bounds requests in progress, checked before
	// authentication so that even bad tokens cannot pile up (default 64).
	MaxConcurrent int
	// MaxConcurrentPerPrincipal bounds one principal's requests in
	// progress (default 8).
	MaxConcurrentPerPrincipal int
}

// Defaults for Limits' zero values.
const (
	DefaultMaxBodyBytes              = 1 << 20
	DefaultRequestTimeout            = 60 * time.Second
	DefaultMaxConcurrent             = 64
	DefaultMaxConcurrentPerPrincipal = 8
)

func (l Limits) withDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = DefaultRequestTimeout
	}
	if l.MaxConcurrent <= 0 {
		l.MaxConcurrent = DefaultMaxConcurrent
	}
	if l.MaxConcurrentPerPrincipal <= 0 {
		l.MaxConcurrentPerPrincipal = DefaultMaxConcurrentPerPrincipal
	}
	return l
}

// errBusy marks the refusals of a limit, which the error edge neither
// logs as a failed dependency nor counts as one.
type errBusy struct {
	error
	reason string // the metric label
}

func (e errBusy) Unwrap() error { return e.error }

func busy(reason, format string, args ...any) error {
	return errBusy{apierr.New(apierr.Unavailable, format, args...), reason}
}

// gate holds the two counters.
type gate struct {
	limits Limits
	all    chan struct{}
	per    *quota.PerKey
}

func newGate(l Limits) *gate {
	return &gate{limits: l, all: make(chan struct{}, l.MaxConcurrent), per: quota.NewPerKey(l.MaxConcurrentPerPrincipal)}
}

// enter takes a global slot; leave gives it back.
func (g *gate) enter() error {
	select {
	case g.all <- struct{}{}:
		return nil
	default:
		return busy("max_concurrent", "the API is at its limit of %d concurrent requests (api.max_concurrent_requests); retry later", g.limits.MaxConcurrent)
	}
}

func (g *gate) leave() { <-g.all }

// enterPrincipal takes one of key's slots; the returned func gives it back.
func (g *gate) enterPrincipal(key string) (func(), error) {
	if !g.per.Acquire(key) {
		return nil, busy("per_principal", "too many concurrent requests for this principal (api.max_concurrent_requests_per_principal is %d); retry later", g.limits.MaxConcurrentPerPrincipal)
	}
	return func() { g.per.Release(key) }, nil
}

// bound gives r its body limit and deadline.
func (g *gate) bound(w http.ResponseWriter, r *http.Request) (*http.Request, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(r.Context(), g.limits.RequestTimeout)
	r = r.WithContext(ctx)
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, g.limits.MaxBodyBytes)
	}
	return r, cancel
}
