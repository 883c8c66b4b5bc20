package store

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

// maxTxAttempts bounds how often InTx runs a transaction that keeps failing
// with busy, deadlock or serialization errors.
const maxTxAttempts = 5

// Tx is one read-write transaction, handed to the function given to InTx.
// Its methods must not be used after that function returns.
type Tx struct {
	s  *Store
	tx *sql.Tx
	// bumped records the policy version change made in this transaction.
	bumped        bool
	before, after int64
}

// InTx runs fn in a transaction and commits it if fn returns nil. A busy,
// deadlock or serialization failure rolls back and runs fn again, up to 5
// times in all, so fn must have no effects outside the transaction. Inside
// fn, read through tx (which sees fn's own writes), not through the Store,
// and do not nest InTx. A read-only store returns FailedPrecondition without
// calling fn.
func (s *Store) InTx(ctx context.Context, fn func(*Tx) error) error {
	if s.readOnly {
		return apierr.New(apierr.FailedPrecondition, "store is read-only")
	}
	for attempt := 1; ; attempt++ {
		err := s.inTxOnce(ctx, fn)
		if err == nil || classify(err) != errRetry {
			return err
		}
		if attempt == maxTxAttempts {
			return apierr.Wrap(apierr.Unavailable, scrub(err, s.secret),
				"store: %s database is busy; transaction failed %d times", s.dialect, attempt)
		}
		s.log.Debug("retrying transaction", logKeyAttempt, attempt, logKeyError, scrub(err, s.secret).Error())
		// Jittered exponential backoff: 5ms, 10ms, 20ms, 40ms (+ up to 100%).
		d := time.Duration(5<<(attempt-1)) * time.Millisecond
		d += rand.N(d)
		select {
		case <-ctx.Done():
			return apierr.Wrap(apierr.Unavailable, ctx.Err(), "store: gave up retrying a transaction")
		case <-time.After(d):
		}
	}
}

func (s *Store) inTxOnce(ctx context.Context, fn func(*Tx) error) (err error) {
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		if classify(err) == errRetry {
			return err
		}
		return s.dbErr(err, "begin a transaction")
	}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
	}()
	if err := fn(&Tx{s: s, tx: sqlTx}); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		if classify(err) == errRetry {
			return err
		}
		return s.dbErr(err, "commit a transaction")
	}
	return nil
}

// BumpPolicyVersion increases the global policy version and returns it
// before and after. Every write that changes policy (principals,
// memberships, attributes, databases, tables and columns, grants and row
// filters, masks, column tags, UNMASK grants, tag and safeguard policies)
// calls it in its own transaction, first, so that policy writers are
// serialised on the policy_version row and see each other's committed work.
// Calling it again in the same transaction returns the same pair: one
// transaction is one policy change.
func (tx *Tx) BumpPolicyVersion(ctx context.Context) (before, after int64, err error) {
	if tx.bumped {
		return tx.before, tx.after, nil
	}
	q := tx.q()
	res, err := q.exec(ctx, "UPDATE policy_version SET version = version + 1, updated_at = ? WHERE id = 1", micros(now()))
	if err != nil {
		return 0, 0, tx.s.dbErr(err, "bump the policy version")
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return 0, 0, apierr.New(apierr.Internal, "store: the policy_version row is missing")
	}
	after, err = q.policyVersion(ctx)
	if err != nil {
		return 0, 0, tx.s.dbErr(err, "read the policy version")
	}
	tx.bumped, tx.before, tx.after = true, after-1, after
	return tx.before, tx.after, nil
}

// PolicyVersion is the current global policy version.
func (tx *Tx) PolicyVersion(ctx context.Context) (int64, error) {
	v, err := tx.q().policyVersion(ctx)
	return v, tx.s.dbErr(err, "read the policy version")
}

// PolicyVersion is the current global policy version. It starts at 0 and
// increases by one with every committed policy change.
func (s *Store) PolicyVersion(ctx context.Context) (int64, error) {
	v, err := s.q().policyVersion(ctx)
	return v, s.dbErr(err, "read the policy version")
}

func (q querier) policyVersion(ctx context.Context) (int64, error) {
	var v int64
	err := q.queryRow(ctx, "SELECT version FROM policy_version WHERE id = 1").Scan(&v)
	return v, err
}

// runner is what *sql.DB and *sql.Tx have in common.
type runner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// querier runs queries written with '?' placeholders on a pool or a
// transaction. Read methods are defined on it once and exposed on both
// Store and Tx.
type querier struct {
	d Dialect
	r runner
}

func (s *Store) q() querier { return querier{d: s.dialect, r: s.db} }
func (tx *Tx) q() querier   { return querier{d: tx.s.dialect, r: tx.tx} }

func (q querier) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return q.r.ExecContext(ctx, Rebind(q.d, query), args...)
}

func (q querier) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.r.QueryContext(ctx, Rebind(q.d, query), args...)
}

func (q querier) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return q.r.QueryRowContext(ctx, Rebind(q.d, query), args...)
}

// Rebind rewrites the '?' placeholders of query for d: $1, $2, ... for
// PostgreSQL, unchanged otherwise. A '?' inside a single-quoted literal is
// left alone. It is the one place that knows placeholder syntax.
func Rebind(d Dialect, query string) string {
	if d != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	inQuote := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			inQuote = !inQuote
			b.WriteByte(c)
		case c == '?' && !inQuote:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
