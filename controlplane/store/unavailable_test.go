package store_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/apierr/apierrtest"
)

const secret = "S3cr3t-Passw0rd"

// silentServer accepts TCP connections on 127.0.0.1 and never answers, so a
// client hangs in its handshake until its own timeout.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

func TestUnreachableDatabase(t *testing.T) {
	silent := silentServer(t)
	host, port, _ := net.SplitHostPort(silent)
	const timeout = 1500 * time.Millisecond
	cases := []struct {
		name    string
		dialect store.Dialect
		dsn     string
		addr    string // must appear in the message
	}{
		{"postgres url refused", store.Postgres, "postgres://nscale:" + secret + "@127.0.0.1:1/nscale?sslmode=disable", "127.0.0.1:1"},
		{"postgres key-value refused", store.Postgres, "host=127.0.0.1 port=1 user=nscale password=" + secret + " dbname=nscale sslmode=disable", "127.0.0.1:1"},
		{"postgres silent", store.Postgres, "postgres://nscale:" + secret + "@" + silent + "/nscale?sslmode=disable", silent},
		{"mysql refused", store.MySQL, "nscale:" + secret + "@tcp(127.0.0.1:1)/nscale", "127.0.0.1:1"},
		{"mysql silent", store.MySQL, "nscale:" + secret + "@tcp(" + silent + ")/nscale", silent},
		{"postgres silent key-value", store.Postgres, "host=" + host + " port=" + port + " user=nscale password='" + secret + "' dbname=nscale sslmode=disable", silent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			s, err := store.Open(context.Background(), store.Config{Dialect: tc.dialect, DSN: tc.dsn, ConnectTimeout: timeout}, nil)
			elapsed := time.Since(start)
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			apierrtest.Code(t, "", err, apierr.Unavailable, "")
			msg := err.Error()
			if strings.Contains(msg, secret) {
				t.Fatalf("error shows the password: %q", msg)
			}
			if !strings.Contains(msg, string(tc.dialect)) || !strings.Contains(msg, tc.addr) {
				t.Fatalf("error %q does not name %s and %s", msg, tc.dialect, tc.addr)
			}
			if pub := apierr.PublicMessage(err); strings.Contains(pub, secret) {
				t.Fatalf("public message shows the password: %q", pub)
			}
			if elapsed > timeout+2*time.Second {
				t.Fatalf("Open took %s with a %s timeout", elapsed, timeout)
			}
			t.Logf("%s in %s", msg, elapsed.Round(time.Millisecond))
		})
	}
}

func TestUnusableSQLiteFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "not-a-dir")
	if err := os.WriteFile(file, []byte(strings.Repeat("not a database ", 300)), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		cfg  store.Config
	}{
		{"parent is a file", store.Config{Dialect: store.SQLite, DSN: filepath.Join(file, "nscale.db")}},
		{"read-only and missing", store.Config{Dialect: store.SQLite, DSN: filepath.Join(dir, "missing.db"), ReadOnly: true}},
		{"not a database", store.Config{Dialect: store.SQLite, DSN: file}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := store.Open(context.Background(), tc.cfg, nil)
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			apierrtest.Code(t, "", err, apierr.Unavailable, "")
			if !strings.Contains(err.Error(), "sqlite") || !strings.Contains(err.Error(), filepath.Base(tc.cfg.DSN)) {
				t.Fatalf("error %q does not name sqlite and the file", err)
			}
		})
	}
}

func TestDefaultSQLiteDSN(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	s, err := store.Open(context.Background(), store.Config{Dialect: store.SQLite}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(filepath.Join(dir, "data", "nscale.db")); err != nil {
		t.Fatalf("default database file: %v", err)
	}
}
