//go:build integration

package jsharness

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/nscale/nscale/internal/parquettest"
)

func writeParquet(t *testing.T, path string, schema *arrow.Schema, recs ...arrow.RecordBatch) {
	t.Helper()
	data := parquettest.FileWith(t, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy)), pqarrow.DefaultWriterProps(), recs...)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// DuckDB reading a Go-written Parquet file prints exactly the values written,
// in the same canonical form as FromRecords.
func TestDuckDBReadsEveryType(t *testing.T) {
	Require(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	path := filepath.Join(t.TempDir(), "all types, O'Brien's.parquet")
	recs := allTypes(mem)
	writeParquet(t, path, allTypesSchema, recs...)
	release(recs...)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := DuckDB(ctx, "SELECT * FROM read_parquet("+SQLString(path)+")")
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(allTypesWant, got); d != "" {
		t.Error(d)
	}
}

// Random values stress the two halves of the rendering (Go and JavaScript)
// against each other: shortest float digits, decimals, dates and instants.
func TestDuckDBAgreesWithGoOnRandomValues(t *testing.T) {
	Require(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32},
		{Name: "dec", Type: &arrow.Decimal128Type{Precision: 38, Scale: 9}},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 5000
	for i := 0; i < n; i++ {
		f := math.Float64frombits(rng.Uint64())
		if math.IsNaN(f) {
			f = float64(i)
		}
		b.Field(0).(*array.Float64Builder).Append(f)
		g := math.Float32frombits(rng.Uint32())
		if math.IsNaN(float64(g)) {
			g = float32(i)
		}
		b.Field(1).(*array.Float32Builder).Append(g)
		b.Field(2).(*array.Decimal128Builder).Append(decimal128.New(rng.Int64()>>1, rng.Uint64()))
		b.Field(3).(*array.Date32Builder).Append(arrow.Date32(rng.Int32N(2*3_000_000) - 3_000_000))
		b.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(rng.Int64N(2*253402300799000000) - 253402300799000000))
	}
	rec := b.NewRecordBatch()
	want, err := FromRecords(schema, rec)
	path := filepath.Join(t.TempDir(), "random.parquet")
	writeParquet(t, path, schema, rec)
	rec.Release()
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := DuckDB(ctx, "SELECT * FROM read_parquet('"+path+"')")
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(want, got); d != "" {
		t.Error(d)
	}
}

func TestDuckDBRunsSetupStatementsAndReportsErrors(t *testing.T) {
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := DuckDB(ctx, "CREATE TABLE t AS SELECT range AS i FROM range(3); SELECT i, i * 2 AS j FROM t WHERE i > 0 ORDER BY i")
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Columns: []Column{{"i", "int64"}, {"j", "int64"}}, Rows: [][]any{{"1", "2"}, {"2", "4"}}}
	if d := Diff(want, got); d != "" {
		t.Error(d)
	}

	got, err = DuckDB(ctx, "SELECT 1 AS x WHERE false")
	if err != nil || len(got.Rows) != 0 || len(got.Columns) != 1 {
		t.Errorf("empty result: %+v, %v", got, err)
	}

	_, err = DuckDB(ctx, "SELECT * FROM no_such_table")
	var se *ScriptError
	if !errors.As(err, &se) || se.Code != 1 || !strings.Contains(se.Message, "no_such_table") || strings.Contains(se.Message, "\n") {
		t.Errorf("error = %#v, want exit 1 with one line naming the table", err)
	}
}
