// Package storetest gives tests a fresh store database on every dialect:
// SQLite in t.TempDir(), and on PostgreSQL and MySQL/MariaDB a database named
// nscale_test_<random> that is created for the test and dropped after it.
//
// The servers are the test process's own throwaway PostgreSQL and MariaDB
// (internal/dbtest), unless NSCALE_TEST_POSTGRES_DSN or NSCALE_TEST_MYSQL_DSN
// names one. When a server cannot be had its tests are skipped with the
// reason, except under CI=true, where that is a failure.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/dbtest"
)

// Environment variables.
const (
	EnvPostgresDSN = dbtest.EnvPostgresDSN
	EnvMySQLDSN    = dbtest.EnvMySQLDSN
	EnvCI          = "CI"
)

// adminTimeout bounds each administrative step (reach, create, drop).
const adminTimeout = 10 * time.Second

// Dialects is every dialect the conformance suite runs on.
func Dialects() []store.Dialect { return store.AllDialects() }

// Run runs fn as one parallel subtest per dialect, named after it.
func Run(t *testing.T, fn func(t *testing.T, d store.Dialect)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, d)
		})
	}
}

// Open opens a store on a fresh database of dialect d and closes it when the
// test ends.
func Open(t testing.TB, d store.Dialect) *store.Store {
	t.Helper()
	return OpenConfig(t, Config(t, d))
}

// OpenConfig opens a store with cfg and closes it when the test ends.
func OpenConfig(t testing.TB, cfg store.Config) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.Open(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("open %s store: %v", cfg.Dialect, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Config returns the Config of a fresh, empty database of dialect d, which
// is removed when the test ends. Nothing is opened on it yet.
func Config(t testing.TB, d store.Dialect) store.Config {
	t.Helper()
	switch d {
	case store.SQLite:
		return store.Config{Dialect: d, DSN: filepath.Join(t.TempDir(), "nscale.db")}
	case store.Postgres:
		return store.Config{Dialect: d, DSN: createDatabase(t, d, dbtest.SharedDSN(t, dbtest.Postgres))}
	case store.MySQL:
		return store.Config{Dialect: d, DSN: createDatabase(t, d, dbtest.SharedDSN(t, dbtest.MySQL))}
	}
	t.Fatalf("storetest: unknown dialect %q", d)
	return store.Config{}
}

// ConfigOn returns the Config of a fresh, empty database of dialect d on
// the server at adminDSN (for example a dbtest.New server a test stops and
// restarts), removed when the test ends.
func ConfigOn(t testing.TB, d store.Dialect, adminDSN string) store.Config {
	t.Helper()
	return store.Config{Dialect: d, DSN: createDatabase(t, d, adminDSN)}
}

// underCI reports whether an unreachable server must fail the test.
func underCI() bool { return os.Getenv(EnvCI) == "true" }

// driverName is the database/sql driver the store registers for d.
func driverName(d store.Dialect) string {
	switch d {
	case store.Postgres:
		return "pgx"
	case store.MySQL:
		return "mysql"
	}
	return "sqlite"
}

// createDatabase creates nscale_test_<random> on the server at adminDSN,
// drops it at cleanup, and returns the DSN that names it.
func createDatabase(t testing.TB, d store.Dialect, adminDSN string) string {
	t.Helper()
	env := EnvPostgresDSN
	if d == store.MySQL {
		env = EnvMySQLDSN
	}
	admin, err := sql.Open(driverName(d), adminDSN)
	if err != nil {
		t.Fatalf("storetest: %s DSN %s from %s: %v", d, store.RedactDSN(d, adminDSN), env, err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		msg := "storetest: %s server at %s (from %s, or the test's own server) is unreachable: %v"
		if underCI() {
			t.Fatalf(msg+"; under CI=true this is a failure", d, store.RedactDSN(d, adminDSN), env, err)
		}
		t.Skipf(msg+"; skipping (set %s to a reachable server)", d, store.RedactDSN(d, adminDSN), env, err, env)
	}
	name := randomName()
	create := "CREATE DATABASE " + name
	if d == store.MySQL {
		create += " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
	}
	if _, err := admin.ExecContext(ctx, create); err != nil {
		t.Fatalf("storetest: create %s database %s: %v", d, name, err)
	}
	t.Cleanup(func() { dropDatabase(t, d, adminDSN, name) })
	dsn, err := withDatabase(d, adminDSN, name)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return dsn
}

func dropDatabase(t testing.TB, d store.Dialect, adminDSN, name string) {
	admin, err := sql.Open(driverName(d), adminDSN)
	if err != nil {
		t.Errorf("storetest: drop %s database %s: %v", d, name, err)
		return
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	drop := "DROP DATABASE IF EXISTS " + name
	if d == store.Postgres {
		drop += " WITH (FORCE)"
	}
	if _, err := admin.ExecContext(ctx, drop); err != nil {
		t.Errorf("storetest: drop %s database %s: %v", d, name, err)
	}
}

func randomName() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "nscale_test_" + hex.EncodeToString(b)
}

// withDatabase returns dsn with its database replaced by name.
func withDatabase(d store.Dialect, dsn, name string) (string, error) {
	if d == store.MySQL {
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return "", err
		}
		cfg.DBName = name
		return cfg.FormatDSN(), nil
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", err
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// key=value form: a later key wins.
	return dsn + " dbname=" + name, nil
}

// Exec runs one statement (with '?' placeholders) on the database cfg
// names, bypassing the store: for tests that inspect or damage the schema.
func Exec(t testing.TB, cfg store.Config, query string, args ...any) {
	t.Helper()
	db := rawDB(t, cfg)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if _, err := db.ExecContext(ctx, store.Rebind(cfg.Dialect, query), args...); err != nil {
		t.Fatalf("storetest: exec %q on %s: %v", query, cfg.Dialect, err)
	}
}

// QueryInt runs a query returning one integer on the database cfg names,
// bypassing the store.
func QueryInt(t testing.TB, cfg store.Config, query string, args ...any) int64 {
	t.Helper()
	db := rawDB(t, cfg)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	var n int64
	if err := db.QueryRowContext(ctx, store.Rebind(cfg.Dialect, query), args...).Scan(&n); err != nil {
		t.Fatalf("storetest: query %q on %s: %v", query, cfg.Dialect, err)
	}
	return n
}

func rawDB(t testing.TB, cfg store.Config) *sql.DB {
	t.Helper()
	dsn := cfg.DSN
	if cfg.Dialect == store.SQLite {
		dsn += "?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)"
	}
	db, err := sql.Open(driverName(cfg.Dialect), dsn)
	if err != nil {
		t.Fatalf("storetest: open %s: %v", cfg.Dialect, err)
	}
	return db
}
