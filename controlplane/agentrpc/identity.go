package agentrpc

import (
	"context"
	"crypto/tls"
	"sync"
	"time"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/agentid"
	"github.com/nscale/nscale/internal/apierr"
)

type agentKey struct{}

// agentOf is the verified identity of the calling agent (every call but
// Enroll has one).
func agentOf(ctx context.Context) (agentid.ID, bool) {
	id, ok := ctx.Value(agentKey{}).(agentid.ID)
	return id, ok
}

// publicMethods need no agent certificate: an agent enrols to get one.
var publicMethods = map[string]bool{agentapi.Agent_Enroll_FullMethodName: true}

// checkAgent verifies the client certificate of the call's TLS connection
// (the listener asks for one but leaves checking to here, so a refusal is
// a gRPC status that says why rather than a failed handshake) and that
// the agent is not revoked.
func (s *Service) checkAgent(ctx context.Context, full string) (context.Context, error) {
	if publicMethods[full] {
		return ctx, nil
	}
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil, s.refuse("no_tls", apierr.New(apierr.Unauthenticated, "the agent API takes calls over mTLS only"))
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return nil, s.refuse("no_tls", apierr.New(apierr.Unauthenticated, "the agent API takes calls over mTLS only"))
	}
	id, _, err := s.cfg.CA.Verify(ti.State.PeerCertificates)
	if err != nil {
		return nil, s.refuse(certReason(ti), err)
	}
	if s.revoked.empty() {
		// The first call after start need not wait for Run's first tick.
		s.refreshRevocations(ctx)
	}
	if err := s.revoked.check(id.Agent, time.Now()); err != nil { // wall clock: staleness is real time
		reason := "revoked"
		if apierr.Is(err, apierr.Unavailable) {
			reason = "revocations_stale"
		}
		return nil, s.refuse(reason, err)
	}
	return context.WithValue(ctx, agentKey{}, id), nil
}

func certReason(ti credentials.TLSInfo) string {
	if len(ti.State.PeerCertificates) == 0 {
		return "no_certificate"
	}
	return "bad_certificate"
}

// refuse counts and logs (at most once a minute per reason: a
// misconfigured fleet must not flood the log) a refused agent call.
func (s *Service) refuse(reason string, err error) error {
	s.m.agentRefused.WithLabelValues(reason).Inc()
	if s.refusalLog.allow(reason, s.now()) {
		s.log.Warn("agent call refused", "reason", reason, "error", apierr.PublicMessage(err))
	}
	return err
}

// logLimiter lets one line per key through per minute.
type logLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (l *logLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = map[string]time.Time{}
	}
	if t, ok := l.last[key]; ok && now.Sub(t) < time.Minute {
		return false
	}
	l.last[key] = now
	return true
}

// revocations is this replica's copy of the revoked agent IDs, refreshed
// from the store every RevocationRefresh. A copy older than staleAfter
// fails closed: a replica that cannot read the store cannot tell a
// revoked agent from a good one.
type revocations struct {
	mu         sync.RWMutex
	ids        map[string]bool
	loadedAt   time.Time
	staleAfter time.Duration
}

func (r *revocations) check(id string, now time.Time) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.loadedAt.IsZero() || now.Sub(r.loadedAt) > r.staleAfter {
		return apierr.New(apierr.Unavailable, "this control plane cannot confirm that agents are not revoked (its store is unreachable); try again")
	}
	if r.ids[id] {
		return apierr.New(apierr.Unauthenticated, "agent %s is revoked", id)
	}
	return nil
}

func (r *revocations) empty() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.loadedAt.IsZero()
}

func (r *revocations) set(ids []string, at time.Time) {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	r.mu.Lock()
	r.ids, r.loadedAt = m, at
	r.mu.Unlock()
}

// add marks one agent revoked at once (this replica revoked it).
func (r *revocations) add(id string) {
	r.mu.Lock()
	if r.ids == nil {
		r.ids = map[string]bool{}
	}
	r.ids[id] = true
	r.mu.Unlock()
}

// Run refreshes the revoked agents until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.RevocationRefresh)
	defer t.Stop()
	for {
		s.refreshRevocations(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *Service) refreshRevocations(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RevocationRefresh)
	defer cancel()
	at := time.Now()
	ids, err := s.cfg.Catalog.RevokedAgents(ctx)
	if err != nil {
		if ctx.Err() == nil || !cancelled(err) {
			s.log.Warn("cannot refresh the revoked agents; agent calls fail once the copy is stale", "error", err,
				"stale_after", s.revoked.staleAfter.String())
		}
		return
	}
	s.revoked.set(ids, at)
}

// ServerTLS is the agent API listener's TLS configuration: the serving
// certificate from getCert, and a client certificate asked for but not
// required by the handshake, so Enroll works without one and every other
// call is refused by checkAgent with a reason.
func ServerTLS(getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: getCert, ClientAuth: tls.RequestClientCert}
}
