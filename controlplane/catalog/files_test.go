package catalog_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/catalog"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// The cached file list is used within the TTL and listed again after it.
func TestFilesRespectTTL(t *testing.T) {
	root := t.TempDir()
	write := func(rel string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("t/a.parquet")
	clk := &clock{now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	svc := catalog.New(catalog.Config{Store: storetest.Open(t, store.SQLite), Objects: &catalog.ObjectStore{LocalRoot: root}, LocalRoot: root,
		FileListTTL: time.Hour, Now: clk.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if _, err := svc.Exec(context.Background(), admin, "CREATE DATABASE d; CREATE EXTERNAL TABLE d.t (a int) STORED AS PARQUET LOCATION 'file://"+root+"/t/'", "r"); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		files, _, err := svc.Files(context.Background(), "d", "t", store.Page{PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(files)
	}
	if n := count(); n != 1 {
		t.Fatalf("files = %d, want 1", n)
	}
	write("t/b.parquet")
	clk.add(59 * time.Minute)
	if n := count(); n != 1 {
		t.Errorf("within the TTL the cache should answer: %d files, want 1", n)
	}
	clk.add(2 * time.Minute)
	if n := count(); n != 2 {
		t.Errorf("after the TTL the location should be listed again: %d files, want 2", n)
	}
	write("t/c.parquet")
	if _, err := svc.Exec(context.Background(), admin, "REFRESH TABLE d.t", "r"); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 3 {
		t.Errorf("after REFRESH TABLE: %d files, want 3", n)
	}
}
