package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

// TouchInterval is how stale a token's LastUsedAt may get: TouchToken does
// not write when the token was marked used less than this long ago.
const TouchInterval = time.Minute

// Token is a user's bearer token. The store keeps only the SHA-256 of the
// secret. Tokens are authentication, not policy: creating, revoking and
// touching one write only its row and leave the policy version alone.
type Token struct {
	ID string
	// User is the name of the user the token authenticates.
	User string
	Name string
	// SHA256 is the lower-case hex SHA-256 of the token secret.
	SHA256     string
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
	CreatedAt  time.Time
}

// Active reports whether the token may authenticate at t: not revoked and
// not expired.
func (t Token) Active(at time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || at.Before(*t.ExpiresAt))
}

const tokenSelect = `SELECT k.id, p.name, k.name, k.token_sha256, k.expires_at, k.revoked_at, k.last_used_at, k.created_at
	FROM tokens k JOIN principals p ON p.id = k.principal_id`

func scanToken(sc scanner) (Token, error) {
	var t Token
	var expires, revoked, used sql.NullInt64
	var created int64
	if err := sc.Scan(&t.ID, &t.User, &t.Name, &t.SHA256, &expires, &revoked, &used, &created); err != nil {
		return Token{}, err
	}
	t.ExpiresAt, t.RevokedAt, t.LastUsedAt, t.CreatedAt = timePtr(expires), timePtr(revoked), timePtr(used), fromMicros(created)
	return t, nil
}

func checkSHA256(h string) error {
	if len(h) != 64 {
		return apierr.New(apierr.InvalidArgument, "token hash must be 64 lower-case hex digits (a SHA-256), got %d characters", len(h))
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return apierr.New(apierr.InvalidArgument, "token hash must be 64 lower-case hex digits (a SHA-256)")
		}
	}
	return nil
}

func truncPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC().Truncate(time.Microsecond)
	return &v
}

// CreateToken stores a token for the user t.User. Name and SHA256 are
// required, ExpiresAt optional; ID and CreatedAt are set by the store. A
// missing user is NotFound, a hash already stored AlreadyExists. It is not
// a policy change.
func (tx *Tx) CreateToken(ctx context.Context, t Token) (Token, error) {
	user := PrincipalRef{Kind: User, Name: t.User}
	if err := user.check(); err != nil {
		return Token{}, err
	}
	if err := checkName("token", t.Name); err != nil {
		return Token{}, err
	}
	if err := checkSHA256(t.SHA256); err != nil {
		return Token{}, err
	}
	uid, err := tx.principalID(ctx, user)
	if err != nil {
		return Token{}, err
	}
	at := now()
	t.ID, t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsedAt = newID(), at, truncPtr(t.ExpiresAt), nil, nil
	_, err = tx.q().exec(ctx, `INSERT INTO tokens (id, principal_id, name, token_sha256, expires_at, revoked_at, last_used_at,
		version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, NULL, NULL, 1, ?, ?)`,
		t.ID, uid, t.Name, t.SHA256, nullMicros(t.ExpiresAt), micros(at), micros(at))
	if classify(err) == errUnique {
		// The one unique key besides the id is the hash; never echo it.
		return Token{}, apierr.New(apierr.AlreadyExists, "a token with the same SHA-256 already exists")
	}
	if err != nil {
		return Token{}, tx.s.writeErr(err, "token", t.Name)
	}
	return t, nil
}

// TokenByHash returns the token whose secret hashes to sha256hex, and its
// user, or NotFound. It returns revoked and expired tokens too: check
// Token.Active before trusting one.
func (s *Store) TokenByHash(ctx context.Context, sha256hex string) (Token, Principal, error) {
	if err := checkSHA256(sha256hex); err != nil {
		return Token{}, Principal{}, err
	}
	var t Token
	var p Principal
	var expires, revoked, used sql.NullInt64
	var created, pCreated, pUpdated int64
	var kind string
	err := s.q().queryRow(ctx, `SELECT k.id, k.name, k.token_sha256, k.expires_at, k.revoked_at, k.last_used_at, k.created_at,
		p.id, p.kind, p.name, p.comment, p.version, p.created_at, p.updated_at
		FROM tokens k JOIN principals p ON p.id = k.principal_id WHERE k.token_sha256 = ?`, sha256hex).Scan(
		&t.ID, &t.Name, &t.SHA256, &expires, &revoked, &used, &created,
		&p.ID, &kind, &p.Name, &p.Comment, &p.Version, &pCreated, &pUpdated)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, Principal{}, apierr.New(apierr.NotFound, "no token with that hash")
	}
	if err != nil {
		return Token{}, Principal{}, s.dbErr(err, "read token")
	}
	t.User = p.Name
	t.ExpiresAt, t.RevokedAt, t.LastUsedAt, t.CreatedAt = timePtr(expires), timePtr(revoked), timePtr(used), fromMicros(created)
	p.Kind, p.CreatedAt, p.UpdatedAt = PrincipalKind(kind), fromMicros(pCreated), fromMicros(pUpdated)
	return t, p, nil
}

// GetToken returns the token or NotFound.
func (s *Store) GetToken(ctx context.Context, id string) (Token, error) {
	return s.q().getToken(ctx, s, id)
}

func (q querier) getToken(ctx context.Context, s *Store, id string) (Token, error) {
	t, err := scanToken(q.queryRow(ctx, tokenSelect+" WHERE k.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, notFound("token", id)
	}
	return t, s.dbErr(err, "read token")
}

// RevokeToken marks the token revoked now and returns it. Revoking a
// revoked token keeps its first revocation time. A missing token is
// NotFound. It is not a policy change: TokenByHash sees it at once.
func (tx *Tx) RevokeToken(ctx context.Context, id string) (Token, error) {
	t := micros(now())
	_, err := tx.q().exec(ctx, `UPDATE tokens SET revoked_at = ?, version = version + 1, updated_at = ?
		WHERE id = ? AND revoked_at IS NULL`, t, t, id)
	if err != nil {
		return Token{}, tx.s.dbErr(err, "revoke token")
	}
	return tx.q().getToken(ctx, tx.s, id)
}

// TouchToken records that the token was used at at. It writes nothing when
// the recorded use is less than TouchInterval older than at (so a busy
// token costs one write a minute), and nothing for a missing token. It is
// not a policy change and changes no version.
func (tx *Tx) TouchToken(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		at = now()
	}
	_, err := tx.q().exec(ctx, "UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
		micros(at), id, micros(at.Add(-TouchInterval)))
	return tx.s.dbErr(err, "touch token")
}

// ListTokens returns one page of the user's tokens ("" for every user's),
// oldest first, and the token of the next page. A missing user is NotFound.
func (s *Store) ListTokens(ctx context.Context, user string, p Page) ([]Token, string, error) {
	list := "tokens:" + user
	cur, err := p.open(list, 1)
	if err != nil {
		return nil, "", err
	}
	after := cur.after
	var conds []string
	var args []any
	if user != "" {
		if _, err := s.GetPrincipal(ctx, PrincipalRef{Kind: User, Name: user}); err != nil {
			return nil, "", err
		}
		conds, args = append(conds, "p.kind = ? AND p.name = ?"), append(args, string(User), user)
	}
	if after != nil {
		conds, args = append(conds, "k.id > ?"), append(args, after[0])
	}
	out, err := queryAll(ctx, s.q(), scanToken, tokenSelect+where(conds)+" ORDER BY k.id LIMIT ?", append(args, cur.fetch())...)
	if err != nil {
		return nil, "", s.dbErr(err, "list tokens")
	}
	out, next := endPage(cur, out, func(last Token) []string { return []string{last.ID} })
	return out, next, nil
}
