package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/policy"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/apierr"
)

// MaxTokenTTL bounds user tokens; long-lived access belongs to an identity
// provider, not to bearer tokens.
const MaxTokenTTL = 90 * 24 * time.Hour

// admin runs fn in a transaction with an audit event, after checking that p
// is a catalog admin.
func (s *Service) admin(ctx context.Context, p auth.Principal, action, target, requestID string, detail map[string]string, fn func(tx *store.Tx) error) error {
	ok, err := s.IsAdmin(ctx, p)
	if err != nil {
		return err
	}
	if !ok {
		err := apierr.New(apierr.PermissionDenied, "%s needs the catalog_admin role; user %s does not hold it", action, p.Name())
		s.auditRefusal(ctx, p, action, target, requestID, err)
		return err
	}
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		before, err := tx.PolicyVersion(ctx)
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		after, err := tx.PolicyVersion(ctx)
		if err != nil {
			return err
		}
		d, _ := json.Marshal(detail)
		_, err = tx.AppendAudit(ctx, store.AuditEvent{Time: s.now(), Actor: p.Name(), Action: action, Target: target,
			Outcome: "ok", Detail: d, PolicyVersionBefore: before, PolicyVersionAfter: after, RequestID: requestID})
		return err
	})
}

// CreateToken issues a bearer token for user (created if missing). The
// token is returned once; only its hash is stored.
func (s *Service) CreateToken(ctx context.Context, p auth.Principal, user, name string, ttl time.Duration, requestID string) (string, store.Token, error) {
	if user == "" {
		return "", store.Token{}, apierr.New(apierr.InvalidArgument, "field user is empty")
	}
	if ttl <= 0 || ttl > MaxTokenTTL {
		return "", store.Token{}, apierr.New(apierr.InvalidArgument, "ttl %s: want more than 0 and at most %s", ttl, MaxTokenTTL)
	}
	if name == "" {
		name = "token-" + s.now().UTC().Format("20060102T150405Z")
	}
	tok, hash, err := auth.NewUserToken()
	if err != nil {
		return "", store.Token{}, err
	}
	exp := s.now().Add(ttl)
	var rec store.Token
	err = s.admin(ctx, p, "CREATE TOKEN", "user "+user, requestID, map[string]string{"name": name, "expires_at": exp.UTC().Format(time.RFC3339)}, func(tx *store.Tx) error {
		ref := store.PrincipalRef{Kind: store.User, Name: user}
		if _, err := tx.GetPrincipal(ctx, ref); apierr.Is(err, apierr.NotFound) {
			if _, err := tx.CreatePrincipal(ctx, store.Principal{Kind: store.User, Name: user}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		var err error
		rec, err = tx.CreateToken(ctx, store.Token{User: user, Name: name, SHA256: hash, ExpiresAt: &exp})
		return err
	})
	return tok, rec, err
}

// RevokeToken revokes a token by id.
func (s *Service) RevokeToken(ctx context.Context, p auth.Principal, id, requestID string) (store.Token, error) {
	var rec store.Token
	err := s.admin(ctx, p, "REVOKE TOKEN", "token "+id, requestID, nil, func(tx *store.Tx) error {
		var err error
		rec, err = tx.RevokeToken(ctx, id)
		return err
	})
	return rec, err
}

// ListTokens lists a user's tokens (all users when user is empty).
func (s *Service) ListTokens(ctx context.Context, p auth.Principal, user string, page store.Page) ([]store.Token, string, error) {
	if err := s.requireAdmin(ctx, p, "listing tokens"); err != nil {
		return nil, "", err
	}
	return s.store.ListTokens(ctx, user, page)
}

// TokenRecordByHash implements auth.TokenStore. It records the token's use
// (the store writes at most once a minute per token).
func (s *Service) TokenRecordByHash(ctx context.Context, hash string) (auth.TokenRecord, error) {
	t, _, err := s.store.TokenByHash(ctx, hash)
	if err != nil {
		return auth.TokenRecord{}, err
	}
	if t.RevokedAt == nil && !s.store.ReadOnly() {
		if err := s.store.InTx(ctx, func(tx *store.Tx) error { return tx.TouchToken(ctx, t.ID, s.now()) }); err != nil && s.log != nil {
			s.log.Warn("cannot record token use", "token_id", t.ID, "error", err)
		}
	}
	return auth.TokenRecord{ID: t.ID, User: t.User, ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt}, nil
}

// CreatePrincipal creates a user or a group (roles come from CREATE ROLE).
func (s *Service) CreatePrincipal(ctx context.Context, p auth.Principal, kind store.PrincipalKind, name, comment, requestID string) (store.Principal, error) {
	if kind != store.User && kind != store.Group {
		return store.Principal{}, apierr.New(apierr.InvalidArgument, "kind %q: want user or group (roles: CREATE ROLE)", kind)
	}
	var out store.Principal
	err := s.admin(ctx, p, "CREATE "+upper(kind), string(kind)+" "+name, requestID, nil, func(tx *store.Tx) error {
		var err error
		out, err = tx.CreatePrincipal(ctx, store.Principal{Kind: kind, Name: name, Comment: comment})
		return err
	})
	return out, err
}

// DeletePrincipal deletes a user, group or role.
func (s *Service) DeletePrincipal(ctx context.Context, p auth.Principal, ref store.PrincipalRef, requestID string) error {
	return s.admin(ctx, p, "DROP "+upper(ref.Kind), string(ref.Kind)+" "+ref.Name, requestID, nil, func(tx *store.Tx) error {
		cur, err := tx.GetPrincipal(ctx, ref)
		if err != nil {
			return err
		}
		return tx.DeletePrincipal(ctx, ref, cur.Version)
	})
}

// AddMember puts a user or group into a group.
func (s *Service) AddMember(ctx context.Context, p auth.Principal, group string, member store.PrincipalRef, requestID string) error {
	parent := store.PrincipalRef{Kind: store.Group, Name: group}
	return s.admin(ctx, p, "ADD MEMBER", "group "+group, requestID, map[string]string{"member": string(member.Kind) + " " + member.Name}, func(tx *store.Tx) error {
		return tx.AddMembership(ctx, member, parent)
	})
}

// RemoveMember takes a user or group out of a group.
func (s *Service) RemoveMember(ctx context.Context, p auth.Principal, group string, member store.PrincipalRef, requestID string) error {
	parent := store.PrincipalRef{Kind: store.Group, Name: group}
	return s.admin(ctx, p, "REMOVE MEMBER", "group "+group, requestID, map[string]string{"member": string(member.Kind) + " " + member.Name}, func(tx *store.Tx) error {
		return tx.RemoveMembership(ctx, member, parent)
	})
}

// SetAttribute sets a user attribute used by user_attribute('k') in filters.
func (s *Service) SetAttribute(ctx context.Context, p auth.Principal, user, key, value, requestID string) error {
	if key == "" {
		return apierr.New(apierr.InvalidArgument, "attribute key is empty")
	}
	return s.admin(ctx, p, "SET ATTRIBUTE", "user "+user, requestID, map[string]string{"key": key, "value": value}, func(tx *store.Tx) error {
		return tx.SetAttribute(ctx, store.PrincipalRef{Kind: store.User, Name: user}, key, value)
	})
}

// DeleteAttribute removes a user attribute.
func (s *Service) DeleteAttribute(ctx context.Context, p auth.Principal, user, key, requestID string) error {
	return s.admin(ctx, p, "DELETE ATTRIBUTE", "user "+user, requestID, map[string]string{"key": key}, func(tx *store.Tx) error {
		return tx.DeleteAttribute(ctx, store.PrincipalRef{Kind: store.User, Name: user}, key)
	})
}

// Principal returns a principal with its memberships and attributes.
func (s *Service) Principal(ctx context.Context, p auth.Principal, ref store.PrincipalRef) (store.Principal, []store.Principal, map[string]string, error) {
	if err := s.requireAdmin(ctx, p, "reading principals"); err != nil {
		return store.Principal{}, nil, nil, err
	}
	pr, err := s.store.GetPrincipal(ctx, ref)
	if err != nil {
		return pr, nil, nil, err
	}
	parents, err := s.store.Memberships(ctx, ref)
	if err != nil {
		return pr, nil, nil, err
	}
	var attrs map[string]string
	if ref.Kind == store.User {
		if attrs, err = s.store.Attributes(ctx, ref); err != nil {
			return pr, nil, nil, err
		}
	}
	return pr, parents, attrs, nil
}

// ListPrincipals pages through users, groups or roles (all when kind is "").
func (s *Service) ListPrincipals(ctx context.Context, p auth.Principal, kind store.PrincipalKind, page store.Page) ([]store.Principal, string, error) {
	if err := s.requireAdmin(ctx, p, "listing principals"); err != nil {
		return nil, "", err
	}
	return s.store.ListPrincipals(ctx, kind, page)
}

// ListAudit pages through audit events, newest first.
func (s *Service) ListAudit(ctx context.Context, p auth.Principal, page store.Page) ([]store.AuditEvent, string, error) {
	if err := s.requireAdmin(ctx, p, "reading the audit trail"); err != nil {
		return nil, "", err
	}
	return s.store.ListAudit(ctx, page)
}

// Explain is the effective policy of user on db.table, for admins only: it
// names hidden columns and the grants behind each part.
//
// A user without access gets a nil Effective and the reason as text: that
// is an answer about the user, not an error of the caller.
func (s *Service) Explain(ctx context.Context, p auth.Principal, user, db, table string) (string, *policy.Effective, error) {
	if err := s.requireAdmin(ctx, p, "explain"); err != nil {
		return "", nil, err
	}
	if _, err := s.store.GetPrincipal(ctx, store.PrincipalRef{Kind: store.User, Name: user}); err != nil {
		return "", nil, err
	}
	eff, err := s.Evaluate(ctx, user, db, table)
	if apierr.Is(err, apierr.PermissionDenied) {
		return "no access: " + apierr.PublicMessage(err) + "\n", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	return eff.Explain(), eff, nil
}

func (s *Service) requireAdmin(ctx context.Context, p auth.Principal, what string) error {
	ok, err := s.IsAdmin(ctx, p)
	if err != nil {
		return err
	}
	if !ok {
		return apierr.New(apierr.PermissionDenied, "%s needs the catalog_admin role; user %s does not hold it", what, p.Name())
	}
	return nil
}

func upper(k store.PrincipalKind) string {
	switch k {
	case store.User:
		return "USER"
	case store.Group:
		return "GROUP"
	case store.Role:
		return "ROLE"
	}
	return fmt.Sprint(k)
}
