package dbtest

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
)

var kinds = []Kind{Postgres, MySQL}

func driver(k Kind) string {
	if k == MySQL {
		return "mysql"
	}
	return "pgx"
}

func query(ctx context.Context, dsn string, k Kind, q string, args ...any) (string, error) {
	db, err := sql.Open(driver(k), dsn)
	if err != nil {
		return "", err
	}
	defer db.Close()
	var v string
	err = db.QueryRowContext(ctx, q, args...).Scan(&v)
	return v, err
}

func exec1(ctx context.Context, dsn string, k Kind, stmts ...string) error {
	db, err := sql.Open(driver(k), dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func TestSharedServerAnswers(t *testing.T) {
	for _, k := range kinds {
		t.Run(string(k), func(t *testing.T) {
			s := Shared(t, k)
			if s2 := Shared(t, k); s2 != s {
				t.Fatal("Shared started a second server")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			v, err := query(ctx, s.DSN(), k, "SELECT version()")
			if err != nil {
				t.Fatalf("%s: %v\n%s", s.DSN(), err, s.Log())
			}
			want := map[Kind]string{Postgres: "PostgreSQL 15", MySQL: "MariaDB"}[k]
			if os.Getenv(EnvDSN(k)) == "" && !strings.Contains(v, want) {
				t.Fatalf("version() = %q, want %s", v, want)
			}
			if !s.External() {
				// Bound to loopback only.
				if !strings.Contains(s.DSN(), "127.0.0.1:"+strconv.Itoa(s.Port())) {
					t.Fatalf("DSN %s does not name 127.0.0.1:%d", s.DSN(), s.Port())
				}
			}
		})
	}
}

// TestStopStartKeepsData is what fault tests rely on: while stopped the
// server refuses connections, and after Start it answers on the same DSN
// with its data intact, after a clean stop and after a crash.
func TestStopStartKeepsData(t *testing.T) {
	for _, k := range kinds {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			s := New(t, k)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			dsn := s.DSN()
			table := "kept"
			setup := []string{"CREATE TABLE kept (v VARCHAR(20))", "INSERT INTO kept VALUES ('før-restart')"}
			if k == MySQL {
				table = "faults.kept"
				setup = []string{"CREATE DATABASE faults", "CREATE TABLE faults.kept (v VARCHAR(20))", "INSERT INTO faults.kept VALUES ('før-restart')"}
			}
			if err := exec1(ctx, dsn, k, setup...); err != nil {
				t.Fatal(err)
			}
			if err := s.Stop(); err != nil {
				t.Fatal(err)
			}
			if s.Running() {
				t.Fatal("Running after Stop")
			}
			if _, err := query(ctx, dsn, k, "SELECT v FROM "+table); err == nil {
				t.Fatal("a stopped server answered")
			}
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
			if s.DSN() != dsn {
				t.Fatalf("DSN changed across restart: %s -> %s", dsn, s.DSN())
			}
			if v, err := query(ctx, dsn, k, "SELECT v FROM "+table); err != nil || v != "før-restart" {
				t.Fatalf("after restart: %q, %v", v, err)
			}
			if err := s.Kill(); err != nil {
				t.Fatal(err)
			}
			if err := s.Start(); err != nil {
				t.Fatalf("start after a crash: %v\n%s", err, s.Log())
			}
			if v, err := query(ctx, dsn, k, "SELECT v FROM "+table); err != nil || v != "før-restart" {
				t.Fatalf("after a crash: %q, %v", v, err)
			}
		})
	}
}

func TestEnvironmentDSNWins(t *testing.T) {
	const dsn = "postgres://someone@192.0.2.1:5999/postgres"
	t.Setenv(EnvPostgresDSN, dsn)
	sharedMu.Lock()
	saved, savedErr := shared[Postgres], sharedEr[Postgres]
	delete(shared, Postgres)
	delete(sharedEr, Postgres)
	sharedMu.Unlock()
	t.Cleanup(func() {
		sharedMu.Lock()
		shared[Postgres], sharedEr[Postgres] = saved, savedErr
		sharedMu.Unlock()
	})
	s := Shared(t, Postgres)
	if !s.External() || s.DSN() != dsn {
		t.Fatalf("got external=%v DSN %q, want the environment's %q", s.External(), s.DSN(), dsn)
	}
	if err := s.Stop(); err == nil || !strings.Contains(err.Error(), EnvPostgresDSN) {
		t.Fatalf("Stop of an external server: %v, want a refusal naming %s", err, EnvPostgresDSN)
	}
}

func TestMissingBinariesNamePackage(t *testing.T) {
	for k, pkg := range Packages {
		err := checkBinaries(k, []string{"/nonexistent/" + string(k) + "-server"})
		if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), pkg) || !strings.Contains(err.Error(), "/nonexistent/") {
			t.Fatalf("%s: %v, want ErrMissing naming the path and the package %s", k, err, pkg)
		}
	}
	if err := checkBinaries(Postgres, []string{os.Args[0]}); err != nil {
		t.Fatalf("an existing binary: %v", err)
	}
}

// TestServerDiesWithTestProcess starts a server in a child test process,
// SIGKILLs the child, and checks that the server is gone: a crashed or
// killed test run leaves no database server behind.
func TestServerDiesWithTestProcess(t *testing.T) {
	if os.Getenv("DBTEST_CHILD") != "" {
		s := Shared(t, Kind(os.Getenv("DBTEST_CHILD")))
		fmt.Printf("PORT %d DIR %s\n", s.Port(), s.dir)
		time.Sleep(time.Minute)
		return
	}
	for _, k := range kinds {
		t.Run(string(k), func(t *testing.T) {
			if err := binariesPresent(k); err != nil {
				unavailable(t, err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithTestProcess$", "-test.v")
			cmd.Env = append(os.Environ(), "DBTEST_CHILD="+string(k), EnvPostgresDSN+"=", EnvMySQLDSN+"=")
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			var port int
			var dir string
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if n, _ := fmt.Sscanf(sc.Text(), "PORT %d DIR %s", &port, &dir); n == 2 {
					break
				}
			}
			if port == 0 {
				t.Fatal("the child printed no port")
			}
			if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err != nil {
				t.Fatalf("the child's server is not up: %v", err)
			} else {
				c.Close()
			}
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			deadline := time.Now().Add(20 * time.Second)
			for {
				c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
				if err != nil {
					break
				}
				c.Close()
				if time.Now().After(deadline) {
					t.Fatalf("%s on port %d still accepts connections 20s after its test process was killed", k, port)
				}
				time.Sleep(100 * time.Millisecond)
			}
			// The next run's sweep removes the directory it left.
			sweep()
			if _, err := os.Stat(filepath.Clean(dir)); !os.IsNotExist(err) {
				t.Fatalf("sweep left %s: %v", dir, err)
			}
		})
	}
}
