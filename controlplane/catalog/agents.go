package catalog

import (
	"context"
	"fmt"
	"time"

	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/enrol/jointoken"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/apierr"
)

// MaxJoinTokenTTL bounds a join token's life: they are for a bootstrap
// that runs now, not credentials to keep.
const MaxJoinTokenTTL = 7 * 24 * time.Hour

// CreateJoinToken makes a join token for uses enrolments within ttl. The
// secret is returned once; only its hash is stored.
func (s *Service) CreateJoinToken(ctx context.Context, p auth.Principal, ttl time.Duration, uses int, comment, requestID string) (string, store.JoinToken, error) {
	if ttl <= 0 || ttl > MaxJoinTokenTTL {
		return "", store.JoinToken{}, apierr.New(apierr.InvalidArgument, "ttl %s: want more than 0 and at most %s", ttl, MaxJoinTokenTTL)
	}
	if uses < 1 || uses > 100_000 {
		return "", store.JoinToken{}, apierr.New(apierr.InvalidArgument, "uses %d: want 1 to 100000", uses)
	}
	tok, hash, err := jointoken.New()
	if err != nil {
		return "", store.JoinToken{}, err
	}
	exp := s.now().Add(ttl)
	var rec store.JoinToken
	err = s.admin(ctx, p, "CREATE JOIN TOKEN", "join tokens", requestID,
		map[string]string{"uses": fmt.Sprint(uses), "expires_at": exp.UTC().Format(time.RFC3339)}, func(tx *store.Tx) error {
			var err error
			rec, err = tx.CreateJoinToken(ctx, store.JoinToken{SHA256: hash, MaxUses: uses, ExpiresAt: exp, Comment: comment})
			return err
		})
	return tok, rec, err
}

// ListJoinTokens lists join tokens (never their secrets).
func (s *Service) ListJoinTokens(ctx context.Context, p auth.Principal, page store.Page) ([]store.JoinToken, string, error) {
	if err := s.requireAdmin(ctx, p, "listing join tokens"); err != nil {
		return nil, "", err
	}
	return s.store.ListJoinTokens(ctx, page)
}

// RevokeJoinToken revokes a join token by id: it enrols nothing more.
func (s *Service) RevokeJoinToken(ctx context.Context, p auth.Principal, id, requestID string) (store.JoinToken, error) {
	var rec store.JoinToken
	err := s.admin(ctx, p, "REVOKE JOIN TOKEN", "join token "+id, requestID, nil, func(tx *store.Tx) error {
		var err error
		rec, err = tx.RevokeJoinToken(ctx, id)
		return err
	})
	return rec, err
}

// ListAgents lists the agent registry.
func (s *Service) ListAgents(ctx context.Context, p auth.Principal, page store.Page) ([]store.Agent, string, error) {
	if err := s.requireAdmin(ctx, p, "listing agents"); err != nil {
		return nil, "", err
	}
	return s.store.ListAgents(ctx, page)
}

// RevokeAgent revokes an agent: every replica refuses its certificates
// within agent_api.revocation_refresh, and it can neither renew nor enrol
// again with the same evidence.
func (s *Service) RevokeAgent(ctx context.Context, p auth.Principal, id, requestID string) (store.Agent, error) {
	var rec store.Agent
	err := s.admin(ctx, p, "REVOKE AGENT", "agent "+id, requestID, nil, func(tx *store.Tx) error {
		var err error
		rec, err = tx.RevokeAgent(ctx, id)
		return err
	})
	return rec, err
}

// The agent API's side of the registry: no principal, the agent API
// authenticates agents itself.

// UseJoinToken spends one use of a join token (jointoken.Store).
func (s *Service) UseJoinToken(ctx context.Context, sha256hex string, at time.Time) (store.JoinToken, error) {
	return s.store.UseJoinToken(ctx, sha256hex, at)
}

// EnrolAgent records an enrolment (store.Tx.EnrolAgent).
func (s *Service) EnrolAgent(ctx context.Context, a store.Agent, replace bool, at time.Time) (store.Agent, error) {
	var out store.Agent
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.EnrolAgent(ctx, a, replace, at)
		return err
	})
	return out, err
}

// RenewAgent records a renewed certificate (store.Tx.RenewAgent).
func (s *Service) RenewAgent(ctx context.Context, id, serial string, notAfter time.Time) (store.Agent, error) {
	var out store.Agent
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.RenewAgent(ctx, id, serial, notAfter)
		return err
	})
	return out, err
}

// HeartbeatAgent records a heartbeat.
func (s *Service) HeartbeatAgent(ctx context.Context, id, version, listeners, health string) error {
	return s.store.HeartbeatAgent(ctx, id, version, listeners, health)
}

// RevokedAgents lists revoked agent IDs.
func (s *Service) RevokedAgents(ctx context.Context) ([]string, error) {
	return s.store.RevokedAgents(ctx)
}
