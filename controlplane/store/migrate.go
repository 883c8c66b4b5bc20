package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

// LatestSchemaVersion is the schema version this binary writes and expects.
// Every dialect has migrations 1..LatestSchemaVersion.
const LatestSchemaVersion = 3

// migrationLockTimeout bounds the wait for another replica's migration.
const migrationLockTimeout = 2 * time.Minute

// pgMigrationLockKey is the PostgreSQL advisory lock key taken while
// migrating (advisory locks are per database).
const pgMigrationLockKey int64 = 0x6e7363616c65 // "nscale"

//go:embed migrations
var migrationFiles embed.FS

type migration struct {
	version    int
	name       string
	statements []string
}

// migrations loads the embedded migrations of d, ordered and checked to be
// numbered 1..n without gaps.
func migrations(d Dialect) ([]migration, error) {
	dir := path.Join("migrations", string(d))
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations for %s: %w", d, err)
	}
	var out []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %s/%s: want NNNN_name.sql", dir, e.Name())
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, statements: splitStatements(string(body))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations for %s: want version %d, found %d (%s)", d, i+1, m.version, m.name)
		}
		if len(m.statements) == 0 {
			return nil, fmt.Errorf("migration %s/%04d_%s.sql has no statements", dir, m.version, m.name)
		}
	}
	if len(out) != LatestSchemaVersion {
		return nil, fmt.Errorf("migrations for %s end at version %d, LatestSchemaVersion is %d", d, len(out), LatestSchemaVersion)
	}
	return out, nil
}

// splitStatements splits a migration file into statements. A statement ends
// with ';' at the end of a line; lines starting with "--" are comments.
func splitStatements(body string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(body, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			stmt := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";")
			out = append(out, stmt)
			cur.Reset()
		}
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		out = append(out, rest)
	}
	return out
}

func newerSchemaError(have int) error {
	return apierr.New(apierr.FailedPrecondition,
		"database schema version %d is newer than this nscale-controlplane supports (%d); upgrade the binary or restore a matching backup",
		have, LatestSchemaVersion)
}

// checkSchema is Open's check for a read-only store: the schema must be
// exactly LatestSchemaVersion.
func (s *Store) checkSchema(ctx context.Context) error {
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	switch {
	case v > LatestSchemaVersion:
		return newerSchemaError(v)
	case v < LatestSchemaVersion:
		return apierr.New(apierr.FailedPrecondition,
			"database schema version %d is older than this nscale-controlplane expects (%d); start a read-write control plane to migrate it first",
			v, LatestSchemaVersion)
	}
	return nil
}

// migrate applies the pending migrations up to version target, one
// transaction each where the dialect allows, while holding a lock that keeps
// other replicas from migrating the same database at the same time: a
// PostgreSQL advisory lock, a MySQL named lock, and for SQLite the database
// write lock that BEGIN IMMEDIATE takes for each step.
func (s *Store) migrate(ctx context.Context, target int) error {
	ms, err := migrations(s.dialect)
	if err != nil {
		return apierr.Wrap(apierr.Internal, err, "store: embedded migrations are broken")
	}
	ms = ms[:min(target, len(ms))]
	var c *sql.Conn
	err = retryBusy(ctx, s.dialect, func() (err error) {
		c, err = s.db.Conn(ctx)
		return err
	})
	if err != nil {
		return unavailable(s.dialect, conn{target: s.target, secret: s.secret}, s.timeout, err)
	}
	defer c.Close()
	unlock, err := s.lockMigrations(ctx, c)
	if err != nil {
		return err
	}
	defer unlock()
	for {
		done, err := s.migrateStep(ctx, c, ms)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// migrateStep applies the next pending migration, or reports done.
func (s *Store) migrateStep(ctx context.Context, c *sql.Conn, ms []migration) (done bool, err error) {
	if s.dialect == MySQL {
		// DDL commits implicitly on MySQL: no transaction to hold it.
		return s.migrateNext(ctx, c, ms)
	}
	for attempt := 1; ; attempt++ {
		tx, err := c.BeginTx(ctx, nil)
		if err != nil {
			if classify(err) == errRetry && attempt < maxTxAttempts {
				continue
			}
			return false, s.dbErr(err, "begin a migration transaction")
		}
		done, err = s.migrateNext(ctx, tx, ms)
		if err != nil {
			_ = tx.Rollback()
			return false, err
		}
		if err := tx.Commit(); err != nil {
			return false, s.dbErr(err, "commit a migration")
		}
		return done, nil
	}
}

type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) migrateNext(ctx context.Context, q execQuerier, ms []migration) (done bool, err error) {
	if _, err := q.ExecContext(ctx, schemaVersionDDL(s.dialect)); err != nil {
		return false, s.dbErr(err, "create the schema_version table")
	}
	v, err := schemaVersion(ctx, s.dialect, q)
	if err != nil {
		return false, s.dbErr(err, "read the schema version")
	}
	if v > LatestSchemaVersion {
		return false, newerSchemaError(v)
	}
	if v >= len(ms) {
		return true, nil
	}
	m := ms[v]
	start := time.Now()
	for i, stmt := range m.statements {
		if _, err := q.ExecContext(ctx, stmt); err != nil {
			return false, s.dbErr(err, fmt.Sprintf("apply migration %04d_%s (statement %d)", m.version, m.name, i+1))
		}
	}
	if _, err := q.ExecContext(ctx, Rebind(s.dialect, "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)"),
		m.version, m.name, time.Now().UnixMicro()); err != nil {
		return false, s.dbErr(err, fmt.Sprintf("record migration %04d_%s", m.version, m.name))
	}
	s.log.Info("applied schema migration", logKeyMigration, fmt.Sprintf("%04d_%s", m.version, m.name),
		logKeySchemaVersion, m.version, "duration", time.Since(start).String())
	return false, nil
}

func schemaVersionDDL(d Dialect) string {
	const cols = "(version INTEGER NOT NULL PRIMARY KEY, description VARCHAR(255) NOT NULL, applied_at BIGINT NOT NULL)"
	if d == MySQL {
		return "CREATE TABLE IF NOT EXISTS schema_version " + cols + " ENGINE = InnoDB DEFAULT CHARSET = utf8mb4"
	}
	return "CREATE TABLE IF NOT EXISTS schema_version " + cols
}

// schemaVersion is the highest applied version, 0 when schema_version does
// not exist yet.
func schemaVersion(ctx context.Context, d Dialect, q execQuerier) (int, error) {
	var exists string
	switch d {
	case SQLite:
		exists = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
	case Postgres:
		exists = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_version'"
	default:
		exists = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'schema_version'"
	}
	var n int
	if err := q.QueryRowContext(ctx, exists).Scan(&n); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_version").Scan(&v); err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}

// lockMigrations takes the cross-process migration lock on c and returns
// its release. SQLite needs none: each step runs under BEGIN IMMEDIATE.
func (s *Store) lockMigrations(ctx context.Context, c *sql.Conn) (func(), error) {
	lctx, cancel := context.WithTimeout(ctx, migrationLockTimeout)
	defer cancel()
	switch s.dialect {
	case Postgres:
		if _, err := c.ExecContext(lctx, "SELECT pg_advisory_lock($1)", pgMigrationLockKey); err != nil {
			return nil, s.lockErr(err)
		}
		return func() {
			_, _ = c.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", pgMigrationLockKey)
		}, nil
	case MySQL:
		var dbName string
		if err := c.QueryRowContext(lctx, "SELECT DATABASE()").Scan(&dbName); err != nil {
			return nil, s.dbErr(err, "read the current database name")
		}
		// Named locks are server-wide: name this database's, in at most 64 characters.
		sum := sha256.Sum256([]byte(dbName))
		name := "nscale_migrate_" + hex.EncodeToString(sum[:16])
		var got sql.NullInt64
		if err := c.QueryRowContext(lctx, "SELECT GET_LOCK(?, ?)", name, int(migrationLockTimeout.Seconds())).Scan(&got); err != nil {
			return nil, s.lockErr(err)
		}
		if !got.Valid || got.Int64 != 1 {
			return nil, s.lockErr(context.DeadlineExceeded)
		}
		return func() {
			var released sql.NullInt64
			_ = c.QueryRowContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", name).Scan(&released)
		}, nil
	default:
		return func() {}, nil
	}
}

func (s *Store) lockErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return apierr.Wrap(apierr.Unavailable, err,
			"timed out after %s waiting for the schema migration lock on %s database at %s; is another replica stuck migrating?",
			migrationLockTimeout, s.dialect, s.target)
	}
	return s.dbErr(err, "take the schema migration lock")
}
