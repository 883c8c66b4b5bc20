package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

// JoinToken enrols agents: MaxUses times, until ExpiresAt, unless revoked.
// The store keeps only the SHA-256 of the secret.
type JoinToken struct {
	ID        string
	SHA256    string
	Comment   string
	MaxUses   int
	Uses      int
	ExpiresAt time.Time
	RevokedAt *time.Time
	CreatedAt time.Time
}

const joinTokenColumns = "id, token_sha256, comment, max_uses, uses, expires_at, revoked_at, created_at"

func scanJoinToken(sc scanner) (JoinToken, error) {
	var j JoinToken
	var expires, created int64
	var revoked sql.NullInt64
	if err := sc.Scan(&j.ID, &j.SHA256, &j.Comment, &j.MaxUses, &j.Uses, &expires, &revoked, &created); err != nil {
		return JoinToken{}, err
	}
	j.ExpiresAt, j.RevokedAt, j.CreatedAt = fromMicros(expires), timePtr(revoked), fromMicros(created)
	return j, nil
}

// CreateJoinToken stores a join token; SHA256, a positive MaxUses and
// ExpiresAt are required. ID and CreatedAt are set by the store.
func (tx *Tx) CreateJoinToken(ctx context.Context, j JoinToken) (JoinToken, error) {
	if err := checkSHA256(j.SHA256); err != nil {
		return JoinToken{}, err
	}
	if j.MaxUses < 1 {
		return JoinToken{}, apierr.New(apierr.InvalidArgument, "a join token needs at least one use, got %d", j.MaxUses)
	}
	if j.ExpiresAt.IsZero() {
		return JoinToken{}, apierr.New(apierr.InvalidArgument, "a join token needs an expiry")
	}
	if err := checkText("join token comment", j.Comment); err != nil {
		return JoinToken{}, err
	}
	at := now()
	j.ID, j.Uses, j.RevokedAt, j.CreatedAt, j.ExpiresAt = newID(), 0, nil, at, j.ExpiresAt.UTC().Truncate(time.Microsecond)
	_, err := tx.q().exec(ctx, `INSERT INTO join_tokens (id, token_sha256, comment, max_uses, uses, expires_at, revoked_at, created_at,
		updated_at) VALUES (?, ?, ?, ?, 0, ?, NULL, ?, ?)`, j.ID, j.SHA256, j.Comment, j.MaxUses, micros(j.ExpiresAt), micros(at), micros(at))
	if classify(err) == errUnique {
		return JoinToken{}, apierr.New(apierr.AlreadyExists, "a join token with the same SHA-256 already exists")
	}
	if err != nil {
		return JoinToken{}, tx.s.writeErr(err, "join token", j.ID)
	}
	return j, nil
}

// UseJoinToken spends one use of the token whose secret hashes to
// sha256hex and returns it. Unknown, revoked, expired and used-up tokens
// are all Unauthenticated, each with its reason for the audit trail; the
// caller decides what the agent is told. The check and the spend are one
// statement, so N uses enrol at most N agents across replicas.
func (s *Store) UseJoinToken(ctx context.Context, sha256hex string, at time.Time) (JoinToken, error) {
	if err := checkSHA256(sha256hex); err != nil {
		return JoinToken{}, apierr.New(apierr.Unauthenticated, "malformed join token")
	}
	t := micros(now())
	res, err := s.q().exec(ctx, `UPDATE join_tokens SET uses = uses + 1, updated_at = ?
		WHERE token_sha256 = ? AND revoked_at IS NULL AND expires_at > ? AND uses < max_uses`, t, sha256hex, micros(at))
	if err != nil {
		return JoinToken{}, s.dbErr(err, "use join token")
	}
	n, _ := res.RowsAffected()
	j, err := scanJoinToken(s.q().queryRow(ctx, "SELECT "+joinTokenColumns+" FROM join_tokens WHERE token_sha256 = ?", sha256hex))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return JoinToken{}, apierr.New(apierr.Unauthenticated, "unknown join token")
	case err != nil:
		return JoinToken{}, s.dbErr(err, "read join token")
	case n == 1:
		return j, nil
	case j.RevokedAt != nil:
		return j, apierr.New(apierr.Unauthenticated, "join token %s was revoked", j.ID)
	case !at.Before(j.ExpiresAt):
		return j, apierr.New(apierr.Unauthenticated, "join token %s expired at %s", j.ID, j.ExpiresAt.Format(time.RFC3339))
	default:
		return j, apierr.New(apierr.Unauthenticated, "join token %s is used up (%d of %d uses)", j.ID, j.Uses, j.MaxUses)
	}
}

// RevokeJoinToken marks the token revoked (keeping a first revocation
// time) and returns it; a missing one is NotFound.
func (tx *Tx) RevokeJoinToken(ctx context.Context, id string) (JoinToken, error) {
	t := micros(now())
	if _, err := tx.q().exec(ctx, `UPDATE join_tokens SET revoked_at = ?, updated_at = ? WHERE id = ? AND revoked_at IS NULL`,
		t, t, id); err != nil {
		return JoinToken{}, tx.s.dbErr(err, "revoke join token")
	}
	j, err := scanJoinToken(tx.q().queryRow(ctx, "SELECT "+joinTokenColumns+" FROM join_tokens WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return JoinToken{}, notFound("join token", id)
	}
	return j, tx.s.dbErr(err, "read join token")
}

// ListJoinTokens returns one page of join tokens, oldest first.
func (s *Store) ListJoinTokens(ctx context.Context, p Page) ([]JoinToken, string, error) {
	cur, err := p.open("join_tokens", 1)
	if err != nil {
		return nil, "", err
	}
	q, args := "SELECT "+joinTokenColumns+" FROM join_tokens", []any{}
	if cur.after != nil {
		q, args = q+" WHERE id > ?", append(args, cur.after[0])
	}
	out, err := queryAll(ctx, s.q(), scanJoinToken, q+" ORDER BY id LIMIT ?", append(args, cur.fetch())...)
	if err != nil {
		return nil, "", s.dbErr(err, "list join tokens")
	}
	out, next := endPage(cur, out, func(last JoinToken) []string { return []string{last.ID} })
	return out, next, nil
}
