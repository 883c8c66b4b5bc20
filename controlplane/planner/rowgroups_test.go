package planner_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/catalog"
	"github.com/nscale/nscale/controlplane/planner"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
	"github.com/nscale/nscale/internal/parquettest"
	"github.com/nscale/nscale/internal/taskplan"
)

// A Parquet file larger than the target task size is split into tasks of
// consecutive row groups that together cover every row group once.
func TestLargeParquetFileSplitsByRowGroups(t *testing.T) {
	root := t.TempDir()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	var groups []arrow.RecordBatch
	for g := 0; g < 6; g++ {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := 0; i < 1000; i++ {
			b.Field(0).(*array.Int64Builder).Append(int64(g*1000 + i))
		}
		rec := b.NewRecordBatch()
		defer rec.Release()
		groups = append(groups, rec)
		b.Release()
	}
	data := parquettest.FileWith(t, parquet.NewWriterProperties(parquet.WithDictionaryDefault(false)), pqarrow.DefaultWriterProps(), groups...)
	if err := os.MkdirAll(filepath.Join(root, "big"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "big", "part-0.parquet"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t, store.SQLite)
	objects := &catalog.ObjectStore{LocalRoot: root}
	svc := catalog.New(catalog.Config{Store: st, Objects: objects, LocalRoot: root, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx := context.Background()
	if _, err := svc.Exec(ctx, auth.Principal{Bootstrap: true}, `CREATE DATABASE d;
		CREATE EXTERNAL TABLE d.big STORED AS PARQUET LOCATION 'file://`+root+`/big/';
		GRANT SELECT ON TABLE d.big TO USER u;`, "r"); err != nil {
		t.Fatal(err)
	}
	id, priv, _ := taskplan.GenerateKey()
	signer, _ := taskplan.NewSigner(id, priv)
	v, _ := taskplan.NewVerifier(signer.PublicKeys(), 0)
	plan := func(target int64, rg planner.RowGroupReader, sql string) [][]int {
		pl := planner.New(planner.Config{Catalog: svc, Store: st, Signer: signer, TargetTaskBytes: target, RowGroups: rg})
		p, err := pl.Plan(ctx, "u", sql)
		if err != nil {
			t.Fatal(err)
		}
		var out [][]int
		for _, tk := range p.Tickets {
			task, err := v.Verify(tk, now, "u")
			if err != nil {
				task, err = v.VerifySignature(tk)
				if err != nil {
					t.Fatal(err)
				}
			}
			for _, o := range task.Objects {
				out = append(out, o.RowGroups)
			}
		}
		return out
	}
	size := int64(len(data))
	if got := plan(size/3, objects, "SELECT id FROM d.big"); len(got) < 2 || !covers(got, 6) {
		t.Fatalf("target %d of a %d-byte file: row groups per task %v, want several tasks covering 0..5 once", size/3, size, got)
	}
	if got := plan(1, objects, "SELECT id FROM d.big"); !reflect.DeepEqual(got, [][]int{{0}, {1}, {2}, {3}, {4}, {5}}) {
		t.Fatalf("tiny target: %v, want one row group per task", got)
	}
	if got := plan(1, nil, "SELECT id FROM d.big"); !reflect.DeepEqual(got, [][]int{nil}) {
		t.Fatalf("without a row group reader the file is one task: %v", got)
	}
	if got := plan(1, objects, "SELECT id FROM d.big LIMIT 3"); !reflect.DeepEqual(got, [][]int{nil}) {
		t.Fatalf("a LIMIT query stays one task: %v", got)
	}
}

func covers(groups [][]int, n int) bool {
	var all []int
	for _, g := range groups {
		all = append(all, g...)
	}
	if len(all) != n {
		return false
	}
	for i, g := range all {
		if g != i {
			return false
		}
	}
	return true
}
