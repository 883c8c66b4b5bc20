package store_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/apierr/apierrtest"
)

func listAllFiles(t *testing.T, s *store.Store, ref store.TableRef, size int) []store.File {
	t.Helper()
	var out []store.File
	tok := ""
	for {
		page, next, err := s.ListFiles(context.Background(), ref, store.Page{PageSize: size, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		if size > 0 && len(page) > size {
			t.Fatalf("page of %d files, asked for %d", len(page), size)
		}
		out = append(out, page...)
		if tok = next; tok == "" {
			return out
		}
	}
}

func TestFiles(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		cfg := storetest.Config(t, d)
		s := storetest.OpenConfig(t, cfg)
		createDatabase(t, s, store.Database{Name: "sales"})
		orders := createTable(t, s, ordersTable("sales"))
		ref := store.TableRef{Database: "sales", Name: "orders"}
		mod := time.Date(2024, 5, 1, 12, 30, 0, 123456000, time.UTC)
		// Byte order: upper case before '_' before lower case before non-ASCII.
		files := []store.File{
			{Path: "s3://lake/orders/région=eu/x.parquet", Size: 5, ETag: `"e5"`, Modified: mod, Partition: map[string]string{"region": "eu"}},
			{Path: "s3://lake/orders/region=us/b.parquet", Size: 2, ETag: `"e2"`, Modified: mod.Add(time.Hour), Partition: map[string]string{"region": "us"}},
			{Path: "s3://lake/orders/region=us/a.parquet", Size: 1, ETag: `"e1"`, Modified: mod},
			{Path: "s3://lake/orders/Region=EU/c.parquet", Size: 3, ETag: "", Modified: mod},
			{Path: "s3://lake/orders/region_x/d.parquet", Size: 0, ETag: `"e4"`, Modified: mod},
		}
		want := slices.Clone(files)
		slices.SortFunc(want, func(a, b store.File) int {
			switch {
			case a.Path < b.Path:
				return -1
			case a.Path > b.Path:
				return 1
			}
			return 0
		})
		listed := time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)
		pv := policyVersion(t, s)
		mustTx(t, s, func(tx *store.Tx) error { return tx.ReplaceFiles(ctx, ref, files, listed) })
		if got := policyVersion(t, s); got != pv {
			t.Fatalf("ReplaceFiles moved the policy version %d -> %d", pv, got)
		}
		for _, size := range []int{1, 2, 5, 0} {
			if got := listAllFiles(t, s, ref, size); !reflect.DeepEqual(got, want) {
				t.Fatalf("size %d: listed\n%+v\nwant\n%+v", size, got, want)
			}
		}
		if got := listAllFiles(t, s, store.TableRef{ID: orders.ID}, 3); !reflect.DeepEqual(got, want) {
			t.Fatalf("by id: listed %+v", got)
		}
		if n, err := s.CountFiles(ctx, ref); err != nil || n != 5 {
			t.Fatalf("count = %d, %v", n, err)
		}
		tbl, err := s.GetTable(ctx, "sales", "orders")
		if err != nil || tbl.FilesListedAt == nil || !tbl.FilesListedAt.Equal(listed) || tbl.Version != orders.Version ||
			!tbl.UpdatedAt.Equal(orders.UpdatedAt) {
			t.Fatalf("after ReplaceFiles table = %+v, %v; want FilesListedAt %v and the same version", tbl, err, listed)
		}

		// A small change is written as a difference: one file changed, one
		// gone, one new.
		changed := slices.Clone(files)
		changed[1].Size = 20
		changed[4] = store.File{Path: "s3://lake/orders/new.parquet", Size: 9, Modified: mod}
		mustTx(t, s, func(tx *store.Tx) error { return tx.ReplaceFiles(ctx, ref, changed, listed) })
		wantChanged := slices.Clone(changed)
		slices.SortFunc(wantChanged, func(a, b store.File) int { return strings.Compare(a.Path, b.Path) })
		if got := listAllFiles(t, s, ref, 2); !reflect.DeepEqual(got, wantChanged) {
			t.Fatalf("after a small change listed\n%+v\nwant\n%+v", got, wantChanged)
		}

		// Replacing drops the old set.
		mustTx(t, s, func(tx *store.Tx) error {
			return tx.ReplaceFiles(ctx, store.TableRef{ID: orders.ID}, files[:2], time.Time{})
		})
		if got := listAllFiles(t, s, ref, 0); len(got) != 2 || got[0].Path != files[1].Path || got[1].Path != files[0].Path {
			t.Fatalf("after a second replace: %+v", got)
		}
		if n := count(t, cfg, "SELECT COUNT(*) FROM table_files"); n != 2 {
			t.Fatalf("%d table_files rows, want 2", n)
		}
		mustTx(t, s, func(tx *store.Tx) error { return tx.ReplaceFiles(ctx, ref, nil, time.Time{}) })
		if n, err := s.CountFiles(ctx, ref); err != nil || n != 0 {
			t.Fatalf("count after an empty replace = %d, %v", n, err)
		}

		cases := []struct {
			name string
			err  error
			code apierr.Code
			msg  string
		}{
			{"duplicate path", s.InTx(ctx, func(tx *store.Tx) error {
				return tx.ReplaceFiles(ctx, ref, []store.File{files[0], files[1], files[0]}, time.Time{})
			}), apierr.InvalidArgument, "is listed twice"},
			{"empty path", s.InTx(ctx, func(tx *store.Tx) error {
				return tx.ReplaceFiles(ctx, ref, []store.File{{Size: 1}}, time.Time{})
			}), apierr.InvalidArgument, "file path is empty"},
			{"negative size", s.InTx(ctx, func(tx *store.Tx) error {
				return tx.ReplaceFiles(ctx, ref, []store.File{{Path: "x", Size: -1}}, time.Time{})
			}), apierr.InvalidArgument, "negative size"},
			{"missing table", s.InTx(ctx, func(tx *store.Tx) error {
				return tx.ReplaceFiles(ctx, store.TableRef{Database: "sales", Name: "nope"}, files, time.Time{})
			}), apierr.NotFound, `table "sales.nope" not found`},
			{"missing table id", s.InTx(ctx, func(tx *store.Tx) error {
				return tx.ReplaceFiles(ctx, store.TableRef{ID: "no-such-id"}, files, time.Time{})
			}), apierr.NotFound, `table "no-such-id" not found`},
			{"list missing", func() error {
				_, _, err := s.ListFiles(ctx, store.TableRef{Database: "nope", Name: "orders"}, store.Page{})
				return err
			}(), apierr.NotFound, `database "nope" not found`},
			{"count missing", func() error {
				_, err := s.CountFiles(ctx, store.TableRef{Database: "sales", Name: "nope"})
				return err
			}(), apierr.NotFound, `table "sales.nope" not found`},
		}
		for _, tc := range cases {
			apierrtest.Code(t, tc.name, tc.err, tc.code, tc.msg)
		}
	})
}

// TestManyFiles replaces 100,000 files (20,000 under -short) and pages
// through them on every dialect, then replaces them with a list where a
// tenth changed, a twentieth went and as many are new, and logs how long
// each step took.
func TestManyFiles(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 20_000
	}
	mod := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	file := func(j int) store.File {
		return store.File{
			Path:      fmt.Sprintf("s3://lake/sales/orders/day=%03d/part-%06d.parquet", j%365, j),
			Size:      int64(1000 + j),
			ETag:      fmt.Sprintf(`"%032x"`, j),
			Modified:  mod.Add(time.Duration(j) * time.Second),
			Partition: map[string]string{"day": fmt.Sprintf("%03d", j%365)},
		}
	}
	first := make([]store.File, n)
	for i := range first {
		first[i] = file((i * 7919) % n) // not in path order, to make the store sort
	}
	var second []store.File
	for i, f := range first {
		switch {
		case i%20 == 5:
			continue // gone
		case i%10 == 0:
			f.Size++ // changed
		}
		second = append(second, f)
	}
	for j := n; j < n+n/20; j++ {
		second = append(second, file(j)) // new
	}
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		cfg := storetest.Config(t, d)
		s := storetest.OpenConfig(t, cfg)
		createDatabase(t, s, store.Database{Name: "sales"})
		createTable(t, s, ordersTable("sales"))
		ref := store.TableRef{Database: "sales", Name: "orders"}
		sum := func(files []store.File) (n int64) {
			for _, f := range files {
				n += f.Size
			}
			return n
		}
		// First listing: stored whole, then paged through.
		start := time.Now()
		mustTx(t, s, func(tx *store.Tx) error { return tx.ReplaceFiles(ctx, ref, first, time.Time{}) })
		replace := time.Since(start)
		start = time.Now()
		got := listAllFiles(t, s, ref, store.MaxPageSize)
		list := time.Since(start)
		if len(got) != n {
			t.Fatalf("listed %d files, want %d", len(got), n)
		}
		want := make(map[string]int64, n)
		for _, f := range first {
			want[f.Path] = f.Size
		}
		for i, f := range got {
			if i > 0 && got[i-1].Path >= f.Path {
				t.Fatalf("files %d and %d out of order: %q, %q", i-1, i, got[i-1].Path, f.Path)
			}
			if size, ok := want[f.Path]; !ok || size != f.Size {
				t.Fatalf("listed %q of size %d; want size %d (listed: %v)", f.Path, f.Size, size, ok)
			}
		}
		// Second listing: written as a difference; checked by count and sum.
		start = time.Now()
		mustTx(t, s, func(tx *store.Tx) error { return tx.ReplaceFiles(ctx, ref, second, time.Time{}) })
		diff := time.Since(start)
		if c, err := s.CountFiles(ctx, ref); err != nil || c != int64(len(second)) {
			t.Fatalf("count = %d, %v; want %d", c, err, len(second))
		}
		if got := count(t, cfg, "SELECT SUM(size_bytes) FROM table_files"); got != sum(second) {
			t.Fatalf("sizes add up to %d, want %d", got, sum(second))
		}
		t.Logf("%s: replace %d files %v, list them in pages of %d %v, replace them with %d files (%d changed, %d gone, %d new) %v",
			d, n, replace.Round(time.Millisecond), store.MaxPageSize, list.Round(time.Millisecond),
			len(second), n/10, n/20, n/20, diff.Round(time.Millisecond))
	})
}

// Concurrent replacements of one table's files serialise: each sees what
// the one before it committed, none fails, and the stored list is exactly
// the last one written.
func TestConcurrentReplaceFiles(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		createDatabase(t, s, store.Database{Name: "sales"})
		createTable(t, s, ordersTable("sales"))
		listings := make([][]store.File, 2)
		for w := range listings {
			for i := range 300 {
				// Overlapping listings, with sizes that differ where they overlap.
				listings[w] = append(listings[w], store.File{Path: fmt.Sprintf("s3://x/%04d", i+w*150), Size: int64(w)})
			}
		}
		var wg sync.WaitGroup
		errs := make(chan error, len(listings))
		for w, files := range listings {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ref := store.TableRef{Database: "sales", Name: "orders"}
				if w == 1 {
					tbl, err := s.GetTable(ctx, "sales", "orders")
					if err != nil {
						errs <- err
						return
					}
					ref = store.TableRef{ID: tbl.ID}
				}
				for range 8 {
					if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.ReplaceFiles(ctx, ref, files, time.Time{}) }); err != nil {
						errs <- fmt.Errorf("writer %d: %w", w, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got := listAllFiles(t, s, store.TableRef{Database: "sales", Name: "orders"}, 0)
		if len(got) != 300 {
			t.Fatalf("%d files stored, want 300", len(got))
		}
		w := got[0].Size
		for i, f := range got {
			if f.Path != listings[w][i].Path || f.Size != w {
				t.Fatalf("stored a mix of the listings: file %d is %+v, listing %d has %+v", i, f, w, listings[w][i])
			}
		}
	})
}
