package store

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

// Log keys.
const (
	logKeyDialect       = "dialect"
	logKeyTarget        = "target"
	logKeySchemaVersion = "schema_version"
	logKeyMigration     = "migration"
	logKeyReadOnly      = "read_only"
	logKeyAttempt       = "attempt"
	logKeyError         = "error"
)

// Store is the control plane's SQL store. It is safe for concurrent use.
type Store struct {
	db       *sql.DB
	dialect  Dialect
	readOnly bool
	target   string
	secret   string
	timeout  time.Duration
	log      *slog.Logger
}

// Open connects to the database cfg names within cfg.ConnectTimeout and
// brings its schema to LatestSchemaVersion. A read-only store does not
// migrate: it fails unless the schema is exactly LatestSchemaVersion. A
// schema newer than this binary knows fails with FailedPrecondition; an
// unreachable database with Unavailable (the message names the dialect and
// the address or file, never the password). log may be nil.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Store, error) {
	return open(ctx, cfg, log, LatestSchemaVersion)
}

// open is Open, migrating a read-write store up to schema version target
// (tests open older schemas to test upgrades).
func open(ctx context.Context, cfg Config, log *slog.Logger, target int) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c, err := connect(cfg)
	if err != nil {
		return nil, err
	}
	c.db.SetMaxOpenConns(cfg.MaxOpenConns)
	c.db.SetMaxIdleConns(cfg.MaxOpenConns)
	c.db.SetConnMaxIdleTime(5 * time.Minute)
	if c.memory {
		// Every connection to ":memory:" is its own database: keep one.
		c.db.SetMaxOpenConns(1)
		c.db.SetMaxIdleConns(1)
		c.db.SetConnMaxIdleTime(0)
	}
	s := &Store{
		db:       c.db,
		dialect:  cfg.Dialect,
		readOnly: cfg.ReadOnly,
		target:   c.target,
		secret:   c.secret,
		timeout:  cfg.ConnectTimeout,
		log:      log.With(logKeyDialect, string(cfg.Dialect), logKeyTarget, c.target),
	}
	if err := s.Ping(ctx); err != nil {
		_ = c.db.Close()
		return nil, err
	}
	if cfg.ReadOnly {
		err = s.checkSchema(ctx)
	} else {
		err = s.migrate(ctx, target)
	}
	if err != nil {
		_ = c.db.Close()
		return nil, err
	}
	s.log.Info("store opened", logKeySchemaVersion, LatestSchemaVersion, logKeyReadOnly, cfg.ReadOnly)
	return s, nil
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// Dialect is the store's SQL dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// ReadOnly reports whether the store refuses writes.
func (s *Store) ReadOnly() bool { return s.readOnly }

// Ping checks that the database answers within the connect timeout, for
// health checks. It returns Unavailable otherwise.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err := retryBusy(ctx, s.dialect, func() error {
		err := s.db.PingContext(ctx)
		if err == nil && s.dialect == SQLite {
			// Opening a SQLite file reads nothing; this reads its header.
			var n int
			err = s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master").Scan(&n)
		}
		return err
	})
	if err != nil {
		return unavailable(s.dialect, conn{target: s.target, secret: s.secret}, s.timeout, err)
	}
	return nil
}

// SchemaVersion is the highest migration applied to the database (0 for an
// empty database).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	v, err := schemaVersion(ctx, s.dialect, s.db)
	if err != nil {
		return 0, s.dbErr(err, "read the schema version")
	}
	return v, nil
}

// dbErr classifies an unexpected database error: busy/deadlock errors stay
// recognisable for InTx's retry, lost connections are Unavailable, the rest
// Internal. *apierr.Error values pass through.
func (s *Store) dbErr(err error, what string) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*apierr.Error); ok {
		return err
	}
	switch {
	case classify(err) == errRetry:
		return apierr.Wrap(apierr.Unavailable, scrub(err, s.secret), "store: %s: database busy", what)
	case isConnErr(err):
		return apierr.Wrap(apierr.Unavailable, scrub(err, s.secret), "store: %s: %s database at %s unavailable", what, s.dialect, s.target)
	default:
		return apierr.Wrap(apierr.Internal, scrub(err, s.secret), "store: %s", what)
	}
}

// retryBusy runs f again while SQLite answers SQLITE_BUSY, until ctx ends.
// A new connection switches the file to WAL, and two processes doing that
// at once get SQLITE_BUSY at once: SQLite does not call the busy handler
// for that lock, so busy_timeout alone does not cover it.
func retryBusy(ctx context.Context, d Dialect, f func() error) error {
	for {
		err := f()
		if err == nil || d != SQLite || !strings.Contains(err.Error(), "SQLITE_BUSY") {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}
