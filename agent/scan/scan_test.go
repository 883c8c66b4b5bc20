package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/nscale/nscale/agent/enforce"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/mask"
	"github.com/nscale/nscale/internal/parquettest"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

const testRows = 10 // row groups of 4: rows 0-3, 4-7, 8-9

var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "amount", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "s", Type: arrow.StructOf(
		arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int32},
		arrow.Field{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true},
	), Nullable: true},
}, nil)

// writeParquet writes testRows rows in row groups of 4 and returns the file.
func writeParquet(t *testing.T) []byte {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewRecordBuilder(mem, testSchema)
	defer b.Release()
	for i := range testRows {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if i%3 == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("n%d", i))
		}
		b.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(i) * 150))
		b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(int64(i) * 1_000_000))
		sb := b.Field(4).(*array.StructBuilder)
		sb.Append(true)
		sb.FieldBuilder(0).(*array.Int32Builder).Append(int32(i * 10))
		sb.FieldBuilder(1).(*array.StringBuilder).Append(fmt.Sprintf("b%d", i))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()

	return parquettest.FileWith(t, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(4), parquet.WithAllocator(mem)), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem)), rec)
}

// scanAll scans data and returns the batches' schemas' names and each row
// rendered as strings.
func scanAll(t *testing.T, mem memory.Allocator, data []byte, columns []string, rowGroups []int) ([]string, [][]string, error) {
	t.Helper()
	var names []string
	var rows [][]string
	err := Parquet(context.Background(), bytes.NewReader(data), int64(len(data)), columns, rowGroups, 3, mem, func(rec arrow.RecordBatch) error {
		names = names[:0]
		for _, f := range rec.Schema().Fields() {
			names = append(names, f.Name)
		}
		for r := range int(rec.NumRows()) {
			var row []string
			for c := range int(rec.NumCols()) {
				row = append(row, rec.Column(c).ValueStr(r))
			}
			rows = append(rows, row)
		}
		return nil
	})
	return names, rows, err
}

func TestProjectionReorders(t *testing.T) {
	data := writeParquet(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	names, rows, err := scanAll(t, mem, data, []string{"s", "ts", "name", "amount"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"s", "ts", "name", "amount"}; !slices.Equal(names, want) {
		t.Fatalf("columns %v, want %v", names, want)
	}
	if len(rows) != testRows {
		t.Fatalf("%d rows, want %d", len(rows), testRows)
	}
	want := []string{`{"a":20,"b":"b2"}`, "1970-01-01T00:00:02Z", "n2", "3"}
	if !slices.Equal(rows[2], want) {
		t.Errorf("row 2 = %q, want %q", rows[2], want)
	}
	if rows[3][2] != array.NullValueStr {
		t.Errorf("row 3 name = %q, want null", rows[3][2])
	}
}

func TestRowGroups(t *testing.T) {
	data := writeParquet(t)
	tests := []struct {
		groups []int
		ids    []string
	}{
		{nil, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}},
		{[]int{}, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}},
		{[]int{1}, []string{"4", "5", "6", "7"}},
		{[]int{0, 2}, []string{"0", "1", "2", "3", "8", "9"}},
		{[]int{2}, []string{"8", "9"}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.groups), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			_, rows, err := scanAll(t, mem, data, []string{"id", "name"}, tc.groups)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range rows {
				ids = append(ids, r[0])
			}
			if !slices.Equal(ids, tc.ids) {
				t.Errorf("ids %v, want %v", ids, tc.ids)
			}
		})
	}
}

func TestNoColumnsCountsRows(t *testing.T) {
	data := writeParquet(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var n int64
	err := Parquet(context.Background(), bytes.NewReader(data), int64(len(data)), nil, []int{0, 2}, 3, mem, func(rec arrow.RecordBatch) error {
		if rec.NumCols() != 0 {
			t.Errorf("%d columns, want 0", rec.NumCols())
		}
		n += rec.NumRows()
		return nil
	})
	if err != nil || n != 6 {
		t.Fatalf("rows %d, err %v; want 6, nil", n, err)
	}
}

func TestInvalidRequests(t *testing.T) {
	data := writeParquet(t)
	tests := []struct {
		name    string
		columns []string
		groups  []int
		want    string
	}{
		{"missing column", []string{"id", "secret_col"}, nil, `"secret_col"`},
		{"nested path is not a top-level column", []string{"s.a"}, nil, `"s.a"`},
		{"duplicate column", []string{"id", "id"}, nil, `"id"`},
		{"row group out of range", []string{"id"}, []int{3}, "row group 3"},
		{"negative row group", []string{"id"}, []int{-1}, "row group -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			_, _, err := scanAll(t, mem, data, tc.columns, tc.groups)
			if !apierr.Is(err, apierr.InvalidArgument) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want InvalidArgument naming %s", err, tc.want)
			}
		})
	}
}

func TestCorrupt(t *testing.T) {
	data := writeParquet(t)
	rng := rand.New(rand.NewSource(1))
	random := make([]byte, 4096)
	rng.Read(random)
	badMagic := slices.Clone(data)
	copy(badMagic[len(badMagic)-4:], "XXXX")
	badFooterLen := slices.Clone(data)
	badFooterLen[len(badFooterLen)-8] ^= 0x7f
	garbledFooter := slices.Clone(data)
	for i := len(garbledFooter) - 200; i < len(garbledFooter)-8; i++ {
		garbledFooter[i] = byte(rng.Intn(256))
	}
	garbledPages := slices.Clone(data)
	for i := 4; i < len(garbledPages)/2; i++ {
		garbledPages[i] = byte(rng.Intn(256))
	}
	tests := map[string][]byte{
		"empty":          {},
		"only magic":     []byte("PAR1"),
		"truncated":      data[:len(data)/2],
		"truncated tail": data[:len(data)-1],
		"bad magic":      badMagic,
		"bad footer len": badFooterLen,
		"garbled footer": garbledFooter,
		"garbled pages":  garbledPages,
		"random bytes":   random,
		"random PAR1":    append(append([]byte("PAR1"), random...), []byte("\x10\x00\x00\x00PAR1")...),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			_, _, err := scanAll(t, mem, in, []string{"id", "name", "amount", "ts", "s"}, nil)
			if !apierr.Is(err, apierr.InvalidArgument) || !strings.Contains(apierr.PublicMessage(err), "corrupt Parquet") {
				t.Fatalf("err = %v, want InvalidArgument corrupt Parquet", err)
			}
		})
	}
}

type failingReader struct{ err error }

func (f failingReader) ReadAt([]byte, int64) (int, error) { return 0, f.err }

func TestReadErrorPassesThrough(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cause := apierr.New(apierr.Unavailable, "store unavailable")
	err := Parquet(context.Background(), failingReader{cause}, 1000, []string{"id"}, nil, 0, mem, func(arrow.RecordBatch) error { return nil })
	if !errors.Is(err, cause) || !apierr.Is(err, apierr.Unavailable) {
		t.Fatalf("err = %v, want the read error", err)
	}
}

func TestCallbackErrorStops(t *testing.T) {
	data := writeParquet(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	stop := errors.New("stop")
	calls := 0
	err := Parquet(context.Background(), bytes.NewReader(data), int64(len(data)), []string{"id"}, nil, 2, mem, func(arrow.RecordBatch) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Fatalf("err %v after %d calls, want stop after 1", err, calls)
	}
}

func colRef(n string) *sqlsubset.Column { return &sqlsubset.Column{Name: n} }

func TestColumns(t *testing.T) {
	tree := func(e sqlsubset.Expr) sqlsubset.Tree { return sqlsubset.Tree{Expr: e} }
	gt := func(c string, v int64) sqlsubset.Expr {
		return &sqlsubset.Compare{Op: sqlsubset.Gt, Left: colRef(c), Right: sqlsubset.Int64Literal(v)}
	}
	tests := []struct {
		name string
		task taskplan.Task
		want []string
	}{
		{"empty", taskplan.Task{}, nil},
		{"outputs in order", taskplan.Task{Columns: []taskplan.Column{{Name: "b"}, {Name: "a"}}}, []string{"b", "a"}},
		{"row filter adds columns",
			taskplan.Task{Columns: []taskplan.Column{{Name: "b"}}, RowFilter: tree(&sqlsubset.And{Args: []sqlsubset.Expr{gt("z", 1), gt("b", 2)}})},
			[]string{"b", "z"}},
		{"cell filters add columns",
			taskplan.Task{Columns: []taskplan.Column{{Name: "a", CellFilter: tree(gt("y", 1))}, {Name: "b", CellFilter: tree(gt("a", 1))}}},
			[]string{"a", "b", "y"}},
		{"predicate adds nothing",
			taskplan.Task{Columns: []taskplan.Column{{Name: "a"}}, Predicate: tree(gt("hidden", 1))},
			[]string{"a"}},
		{"de-duplicated across all",
			taskplan.Task{Columns: []taskplan.Column{{Name: "a", CellFilter: tree(gt("r", 1))}}, RowFilter: tree(gt("r", 1))},
			[]string{"a", "r"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			if got := Columns(tc.task); !slices.Equal(got, tc.want) {
				t.Errorf("Columns = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestScanThenEnforce(t *testing.T) {
	data := writeParquet(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	task := taskplan.Task{
		Format:  "parquet",
		Objects: []taskplan.Object{{Path: "part-0.parquet", Size: int64(len(data)), RowGroups: []int{1, 2}}},
		Columns: []taskplan.Column{
			{Name: "name", Type: "string", Mask: &sqlsubset.Mask{Func: "redact"}},
			{Name: "amount", Type: "decimal128(10,2)"},
		},
		// Policy: only rows with id >= 5; id itself is not an output.
		RowFilter: sqlsubset.Tree{Expr: &sqlsubset.Compare{Op: sqlsubset.Ge, Left: colRef("id"), Right: sqlsubset.Int64Literal(5)}},
	}
	e, err := enforce.New(task, mask.Key(strings.Repeat("k", mask.KeySize)), mem)
	if err != nil {
		t.Fatal(err)
	}
	cols := Columns(task)
	if want := []string{"name", "amount", "id"}; !slices.Equal(cols, want) {
		t.Fatalf("Columns = %v, want %v", cols, want)
	}
	var got [][]string
	obj := task.Objects[0]
	err = Parquet(context.Background(), bytes.NewReader(data), obj.Size, cols, obj.RowGroups, 3, mem, func(rec arrow.RecordBatch) error {
		out, err := e.Apply(rec)
		if err != nil {
			return err
		}
		defer out.Release()
		if !out.Schema().Equal(e.OutputSchema()) {
			t.Errorf("schema %v, want %v", out.Schema(), e.OutputSchema())
		}
		for r := range int(out.NumRows()) {
			got = append(got, []string{out.Column(0).ValueStr(r), out.Column(1).ValueStr(r)})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"xxxx", "7.5"}, {array.NullValueStr, "9"}, {"xxxx", "10.5"}, {"xxxx", "12"}, {array.NullValueStr, "13.5"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("rows %q, want %q", got, want)
	}
}
