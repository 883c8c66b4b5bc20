// Package catalog executes nscale's DDL/DCL: it checks who may run each
// statement, validates it against the catalog (columns exist, filters
// type-check, masks fit their column's type), applies it in one store
// transaction with its audit event, and answers SHOW, DESCRIBE and explain
// through the policy engine.
package catalog

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"time"

	"github.com/nscale/nscale/controlplane/apitypes"
	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/policy"
	"github.com/nscale/nscale/controlplane/statement"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/apierr"
)

// Config wires the service.
type Config struct {
	Store *store.Store
	// Objects lists and inspects table files; nil refuses CREATE TABLE and
	// REFRESH TABLE with FailedPrecondition.
	Objects Objects
	// LocalRoot is the only directory file:// tables may live under.
	LocalRoot string
	// FileListTTL is how long a table's cached file list is used before
	// Files lists the location again; 0 keeps it until REFRESH TABLE.
	FileListTTL time.Duration
	Logger      *slog.Logger
	Now         func() time.Time
}

// Service is the catalog. Safe for concurrent use.
type Service struct {
	store     *store.Store
	objects   Objects
	localRoot string
	fileTTL   time.Duration
	log       *slog.Logger
	now       func() time.Time
	engines   engines
}

// New returns a Service.
func New(cfg Config) *Service {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Service{store: cfg.Store, objects: cfg.Objects, localRoot: cfg.LocalRoot, fileTTL: cfg.FileListTTL, log: cfg.Logger, now: now}
}

// IsAdmin reports whether p may manage the catalog: the bootstrap admin
// token, or a user holding the catalog_admin role (directly, through a group
// or through another role).
func (s *Service) IsAdmin(ctx context.Context, p auth.Principal) (bool, error) {
	if p.Bootstrap {
		return true, nil
	}
	if p.User == "" {
		return false, nil
	}
	eng, err := s.Engine(ctx)
	if err != nil {
		return false, err
	}
	return slices.Contains(eng.Principals(p.User, p.Groups...), policy.Ref{Kind: policy.KindRole, Name: policy.CatalogAdminRole}), nil
}

// Exec parses sql and runs its statements in order, each in its own
// transaction. It stops at the first failure; the error says which
// statement failed and that the ones before it were applied.
func (s *Service) Exec(ctx context.Context, p auth.Principal, sql, requestID string) ([]apitypes.SQLResult, error) {
	stmts, err := statement.Parse(sql)
	if err != nil {
		return nil, err
	}
	admin, err := s.IsAdmin(ctx, p)
	if err != nil {
		return nil, err
	}
	results := make([]apitypes.SQLResult, 0, len(stmts))
	for i, st := range stmts {
		if ctx.Err() != nil {
			// The client went away: run nothing more for it.
			return nil, apierr.New(apierr.Unavailable, "request cancelled after %d of %d statement(s) were applied", i, len(stmts))
		}
		r, err := s.exec(ctx, p, admin, st, requestID)
		if err != nil {
			s.auditFailure(ctx, p, st, requestID, err)
			if len(stmts) > 1 {
				src := st.Source()
				return nil, apierr.Wrap(apierr.CodeOf(err), err, "statement %d of %d (line %d): %s; the %d statement(s) before it were applied",
					i+1, len(stmts), src.Line, st.Kind(), i)
			}
			return nil, err
		}
		r.Statement = st.Source().Text
		results = append(results, r)
	}
	return results, nil
}

func (s *Service) exec(ctx context.Context, p auth.Principal, admin bool, st statement.Statement, requestID string) (apitypes.SQLResult, error) {
	switch st := st.(type) {
	case *statement.ShowDatabases:
		return s.showDatabases(ctx, p, admin)
	case *statement.ShowTables:
		return s.showTables(ctx, p, admin, st)
	case *statement.Describe:
		return s.describe(ctx, p, admin, st)
	case *statement.ShowGrants:
		if !admin {
			return apitypes.SQLResult{}, denied(p, st)
		}
		return s.showGrants(ctx, st)
	}
	if !admin {
		return apitypes.SQLResult{}, denied(p, st)
	}
	w := &write{s: s, p: p, st: st, requestID: requestID}
	return w.run(ctx)
}

func denied(p auth.Principal, st statement.Statement) error {
	return apierr.New(apierr.PermissionDenied, "%s needs the %s role; user %s does not hold it", st.Kind(), policy.CatalogAdminRole, p.Name())
}

// auditRefusal records a refused admin action that is not a statement.
func (s *Service) auditRefusal(ctx context.Context, p auth.Principal, action, target, requestID string, cause error) {
	s.auditEvent(ctx, p, action, target, "", requestID, cause)
}

// auditFailure records refused and failed statements too: a security
// reviewer wants the attempts, not only the changes.
func (s *Service) auditFailure(ctx context.Context, p auth.Principal, st statement.Statement, requestID string, cause error) {
	s.auditEvent(ctx, p, st.Kind(), "", st.Source().Text, requestID, cause)
}

func (s *Service) auditEvent(ctx context.Context, p auth.Principal, action, target, stmt, requestID string, cause error) {
	outcome := "failed"
	if apierr.Is(cause, apierr.PermissionDenied) {
		outcome = "denied"
	}
	detail, _ := json.Marshal(map[string]string{"code": string(apierr.CodeOf(cause)), "message": apierr.PublicMessage(cause)})
	// The refusal is recorded even when the caller has gone away.
	ctx = context.WithoutCancel(ctx)
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		v, err := tx.PolicyVersion(ctx)
		if err != nil {
			return err
		}
		_, err = tx.AppendAudit(ctx, store.AuditEvent{
			Time: s.now(), Actor: p.Name(), Action: action, Target: target, Outcome: outcome,
			Statement: stmt, Detail: detail, PolicyVersionBefore: v, PolicyVersionAfter: v, RequestID: requestID,
		})
		return err
	})
	if err != nil && s.log != nil {
		s.log.Warn("cannot write audit event for a failed statement", "request_id", requestID, "error", err)
	}
}

func groupsOf(ctx context.Context, user string) []string { return auth.GroupsFor(ctx, user) }
