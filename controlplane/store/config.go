package store

import (
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

// Dialect names a supported SQL database.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
	MySQL    Dialect = "mysql"
)

// AllDialects lists every supported dialect.
func AllDialects() []Dialect { return []Dialect{SQLite, Postgres, MySQL} }

// DefaultSQLiteDSN is the database file used when Config.DSN is empty for
// SQLite. Its parent directory is created if missing.
const DefaultSQLiteDSN = "./data/nscale.db"

// DefaultConnectTimeout bounds the first connection when Config.ConnectTimeout
// is zero.
const DefaultConnectTimeout = 5 * time.Second

// sqliteBusyTimeout is how long a SQLite connection waits for another writer
// before it reports SQLITE_BUSY (unless the DSN sets busy_timeout itself).
const sqliteBusyTimeout = 5 * time.Second

// Config says which database to open and how.
type Config struct {
	// Dialect is sqlite, postgres or mysql.
	Dialect Dialect
	// DSN is the data source name: a file path (or file: URI) for SQLite,
	// a postgres:// URL or key=value string for PostgreSQL, and
	// user:password@tcp(host:port)/db for MySQL. Empty for SQLite means
	// ./data/nscale.db. It may hold a password: log it only through RedactDSN.
	DSN string
	// ConnectTimeout bounds the first connection (default 5s).
	ConnectTimeout time.Duration
	// MaxOpenConns caps the connection pool (default 4 for SQLite, 16 otherwise).
	MaxOpenConns int
	// ReadOnly opens the store without migrating it; Open fails unless the
	// schema is exactly LatestSchemaVersion, and every write returns
	// FailedPrecondition.
	ReadOnly bool
}

func (c Config) withDefaults() (Config, error) {
	switch c.Dialect {
	case SQLite, Postgres, MySQL:
	case "":
		return c, apierr.New(apierr.InvalidArgument, "store dialect is empty; want one of sqlite, postgres, mysql")
	default:
		return c, apierr.New(apierr.InvalidArgument, "unknown store dialect %q; want one of sqlite, postgres, mysql", string(c.Dialect))
	}
	if c.Dialect == SQLite && c.DSN == "" {
		c.DSN = DefaultSQLiteDSN
	}
	if c.DSN == "" {
		return c, apierr.New(apierr.InvalidArgument, "store DSN is empty for dialect %s", c.Dialect)
	}
	if c.ConnectTimeout < 0 {
		return c, apierr.New(apierr.InvalidArgument, "store connect timeout %s is negative", c.ConnectTimeout)
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.MaxOpenConns < 0 {
		return c, apierr.New(apierr.InvalidArgument, "store max open connections %d is negative", c.MaxOpenConns)
	}
	if c.MaxOpenConns == 0 {
		c.MaxOpenConns = 16
		if c.Dialect == SQLite {
			c.MaxOpenConns = 4
		}
	}
	return c, nil
}

func (d Dialect) String() string { return string(d) }

// driverName is the database/sql driver registered for d.
func (d Dialect) driverName() string {
	switch d {
	case Postgres:
		return "pgx"
	case MySQL:
		return "mysql"
	default:
		return "sqlite"
	}
}
