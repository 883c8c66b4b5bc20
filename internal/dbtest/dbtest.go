// Package dbtest gives tests their own throwaway PostgreSQL and MariaDB
// servers, started from the packaged binaries (Debian's postgresql-15 and
// mariadb-server) in a temp dir on a free loopback port. No test touches a
// system-wide service.
//
// Shared returns one server per dialect for the whole test process, started
// on first use; tests create and drop their own databases on it. New starts a
// dedicated server that a test may Stop and Start again (fault tests). A DSN
// in the environment (NSCALE_TEST_POSTGRES_DSN, NSCALE_TEST_MYSQL_DSN) wins
// over a shared server, for people who run their own.
//
// Servers are children of the test process bound to it with a parent-death
// signal, so a test binary that crashes or is killed leaves no server behind;
// their directories are swept by the next run.
package dbtest

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
)

// Kind is a server product.
type Kind string

// The kinds of server.
const (
	Postgres Kind = "postgres"
	MySQL    Kind = "mysql"
)

// Environment variables.
const (
	EnvPostgresDSN = "NSCALE_TEST_POSTGRES_DSN"
	EnvMySQLDSN    = "NSCALE_TEST_MYSQL_DSN"
	// EnvUser names the unprivileged account PostgreSQL runs as when the
	// tests run as root (PostgreSQL refuses root). Default: nscale-test if
	// it exists, else nobody.
	EnvUser = "NSCALE_TEST_DB_USER"
)

// Packages are the Debian packages that provide each kind's binaries.
var Packages = map[Kind]string{Postgres: "postgresql-15", MySQL: "mariadb-server"}

// EnvDSN is the environment variable whose DSN overrides kind's shared server.
func EnvDSN(k Kind) string {
	if k == MySQL {
		return EnvMySQLDSN
	}
	return EnvPostgresDSN
}

var (
	sharedMu sync.Mutex
	shared   = map[Kind]*Server{}
	sharedEr = map[Kind]error{}
)

// Shared returns the process-wide server of kind k: the one named by its
// environment DSN, or one started on first use and kept until the process
// exits. When the binaries are missing (or it cannot start) the test is
// skipped with the reason, and fails instead under CI=true.
func Shared(t testing.TB, k Kind) *Server {
	t.Helper()
	s, err := shareServer(k)
	if err != nil {
		unavailable(t, err)
	}
	return s
}

// SharedDSN returns an administrative DSN for kind k's shared server
// (superuser, no database named for MySQL, the postgres database for
// PostgreSQL).
func SharedDSN(t testing.TB, k Kind) string {
	t.Helper()
	return Shared(t, k).DSN()
}

func shareServer(k Kind) (*Server, error) {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if s := shared[k]; s != nil {
		return s, nil
	}
	if err := sharedEr[k]; err != nil {
		return nil, err
	}
	var s *Server
	var err error
	if dsn := os.Getenv(EnvDSN(k)); dsn != "" {
		s = &Server{kind: k, external: true, dsn: dsn}
	} else {
		s, err = startNew(k)
	}
	if err != nil {
		sharedEr[k] = err
		return nil, err
	}
	shared[k] = s
	return s, nil
}

// New starts a dedicated server of kind k for t, removed when t ends. Its
// DSN stays the same across Stop and Start. The environment DSN does not
// apply: a test that stops a server must own it.
func New(t testing.TB, k Kind) *Server {
	t.Helper()
	s, err := startNew(k)
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(func() {
		if err := s.Remove(); err != nil {
			t.Errorf("dbtest: %v", err)
		}
	})
	return s
}

func startNew(k Kind) (*Server, error) {
	sweepOnce.Do(sweep)
	if err := binariesPresent(k); err != nil {
		return nil, err
	}
	s, err := create(k)
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		_ = s.Remove()
		return nil, err
	}
	return s, nil
}

// ErrMissing is wrapped by the error of a kind whose binaries are not
// installed.
var ErrMissing = errors.New("server binaries are not installed")

func binariesPresent(k Kind) error { return checkBinaries(k, binaries(k)) }

func checkBinaries(k Kind, paths []string) error {
	for _, b := range paths {
		if _, err := os.Stat(b); err != nil {
			return fmt.Errorf("%s: %s not found: %w (install the Debian package %s; make test installs it when run as root)", k, b, ErrMissing, Packages[k])
		}
	}
	return nil
}

// unavailable skips t, or fails it under CI=true where a skip would hide a
// broken setup.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("dbtest: %v; under CI=true this is a failure", err)
	}
	t.Skipf("dbtest: %v; skipping (or set %s / %s to a server of your own)", err, EnvPostgresDSN, EnvMySQLDSN)
}
