package store

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/nscale/nscale/internal/apierr"
)

// conn is an opened (not yet pinged) pool and what error messages may say
// about it.
type conn struct {
	db *sql.DB
	// target names the database for humans: host:port/db or a file. It
	// never holds a password.
	target string
	// secret is the DSN's password, scrubbed from driver errors.
	secret string
	// memory is true for an in-memory SQLite database.
	memory bool
}

// connect builds the connection pool for cfg without touching the network.
func connect(cfg Config) (conn, error) {
	switch cfg.Dialect {
	case Postgres:
		return connectPostgres(cfg)
	case MySQL:
		return connectMySQL(cfg)
	default:
		return connectSQLite(cfg)
	}
}

func connectPostgres(cfg Config) (conn, error) {
	pc, err := pgx.ParseConfig(cfg.DSN)
	if err != nil {
		// The parser's text may quote the DSN; it is not shown.
		return conn{}, apierr.New(apierr.InvalidArgument,
			"cannot parse the postgres DSN %s; want postgres://user:password@host:port/db?sslmode=... or key=value pairs",
			RedactDSN(Postgres, cfg.DSN))
	}
	if pc.ConnectTimeout == 0 || pc.ConnectTimeout > cfg.ConnectTimeout {
		pc.ConnectTimeout = cfg.ConnectTimeout
	}
	if cfg.ReadOnly {
		pc.RuntimeParams["default_transaction_read_only"] = "on"
	}
	host := pc.Host
	if strings.HasPrefix(host, "/") {
		host = filepath.Join(host, ".s.PGSQL."+strconv.Itoa(int(pc.Port)))
	} else {
		host = net.JoinHostPort(host, strconv.Itoa(int(pc.Port)))
	}
	return conn{
		db:     stdlib.OpenDB(*pc),
		target: host + "/" + pc.Database,
		secret: pc.Password,
	}, nil
}

func connectMySQL(cfg Config) (conn, error) {
	mc, err := mysql.ParseDSN(cfg.DSN)
	if err != nil {
		return conn{}, apierr.New(apierr.InvalidArgument,
			"cannot parse the mysql DSN %s; want user:password@tcp(host:port)/db?param=value",
			RedactDSN(MySQL, cfg.DSN))
	}
	if mc.DBName == "" {
		return conn{}, apierr.New(apierr.InvalidArgument,
			"the mysql DSN %s names no database; want user:password@tcp(host:port)/db", RedactDSN(MySQL, cfg.DSN))
	}
	mc.ParseTime = true
	mc.Loc = time.UTC
	// Rows matched, not rows changed, so that optimistic updates can tell
	// "not found or stale" from "written".
	mc.ClientFoundRows = true
	if !strings.HasPrefix(mc.Collation, "utf8mb4") {
		mc.Collation = "utf8mb4_general_ci"
	}
	if mc.Timeout == 0 || mc.Timeout > cfg.ConnectTimeout {
		mc.Timeout = cfg.ConnectTimeout
	}
	if mc.Params == nil {
		mc.Params = map[string]string{}
	}
	if _, ok := mc.Params["sql_mode"]; !ok {
		// Strict: an over-long value is an error, never a silent truncation.
		mc.Params["sql_mode"] = "'TRADITIONAL'"
	}
	if _, ok := mc.Params["time_zone"]; !ok {
		mc.Params["time_zone"] = "'+00:00'"
	}
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		return conn{}, apierr.Wrap(apierr.InvalidArgument, scrub(err, mc.Passwd), "invalid mysql DSN %s", RedactDSN(MySQL, cfg.DSN))
	}
	return conn{
		db:     sql.OpenDB(connector),
		target: mc.Addr + "/" + mc.DBName,
		secret: mc.Passwd,
	}, nil
}

// connectSQLite adds the pragmas nscale relies on (unless the DSN sets
// them): a busy timeout, foreign keys, WAL, and BEGIN IMMEDIATE for every
// transaction so that writers queue on the database lock instead of failing
// when a read lock cannot be upgraded. A read-write store creates the file's
// parent directory.
func connectSQLite(cfg Config) (conn, error) {
	base, rawQuery, _ := strings.Cut(cfg.DSN, "?")
	uri := strings.HasPrefix(base, "file:")
	path := strings.TrimPrefix(base, "file:")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return conn{}, apierr.New(apierr.InvalidArgument, "cannot parse the query of the sqlite DSN %q: %v", cfg.DSN, err)
	}
	memory := path == "" || path == ":memory:" || q.Get("mode") == "memory"
	pragmas := []struct{ name, value string }{
		{"busy_timeout", strconv.FormatInt(sqliteBusyTimeout.Milliseconds(), 10)},
		{"foreign_keys", "1"},
		{"journal_mode", "WAL"},
	}
	if cfg.ReadOnly {
		pragmas = append(pragmas, struct{ name, value string }{"query_only", "1"})
	}
	for _, p := range pragmas {
		if memory && p.name == "journal_mode" {
			continue
		}
		if !hasPragma(q, p.name) {
			q.Add("_pragma", p.name+"("+p.value+")")
		}
	}
	if q.Get("_txlock") == "" {
		q.Set("_txlock", "immediate")
	}
	target := path
	if !memory {
		if abs, err := filepath.Abs(path); err == nil {
			target = abs
		}
		if cfg.ReadOnly {
			if _, err := os.Stat(path); err != nil {
				return conn{}, apierr.Wrap(apierr.Unavailable, err, "cannot open sqlite database file %s read-only", target)
			}
		} else if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return conn{}, apierr.Wrap(apierr.Unavailable, err, "cannot create the directory of sqlite database file %s", target)
		} else if err := createPrivate(path); err != nil {
			return conn{}, apierr.Wrap(apierr.Unavailable, err, "cannot create sqlite database file %s", target)
		}
	} else {
		target = ":memory:"
	}
	dsn := path + "?" + q.Encode()
	if uri {
		dsn = "file:" + dsn
	}
	db, err := sql.Open(SQLite.driverName(), dsn)
	if err != nil {
		return conn{}, apierr.Wrap(apierr.InvalidArgument, err, "invalid sqlite DSN %q", cfg.DSN)
	}
	return conn{db: db, target: target, memory: memory}, nil
}

func hasPragma(q url.Values, name string) bool {
	for _, v := range q["_pragma"] {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), name) {
			return true
		}
	}
	return q.Get("_"+name) != ""
}

// unavailable is the error for a database that cannot be reached: it names
// the dialect and the address or file, never the password.
func unavailable(d Dialect, c conn, timeout time.Duration, err error) error {
	cause := scrub(err, c.secret)
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return apierr.Wrap(apierr.Unavailable, cause, "cannot reach %s database at %s within %s", d, c.target, timeout)
	}
	return apierr.Wrap(apierr.Unavailable, cause, "cannot reach %s database at %s", d, c.target)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// createPrivate creates the database file owner-only before SQLite does: it
// holds token hashes and policy, and SQLite gives its -wal and -shm files the
// database file's mode.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}
