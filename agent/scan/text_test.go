package scan

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/mask"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

// col builds a scan column from a catalog type string, through the one
// mapping the enforcer checks against.
func col(t testing.TB, name, typ string) Column {
	t.Helper()
	dt, err := mask.ArrowType(sqlsubset.MustParseType(typ))
	if err != nil {
		t.Fatal(err)
	}
	return Column{Name: name, Type: dt}
}

// cell renders one value for comparisons: NULL, raw timestamp counts,
// quoted binary, ValueStr otherwise.
func cell(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "NULL"
	}
	switch a := a.(type) {
	case *array.Timestamp:
		return fmt.Sprint(int64(a.Value(i)))
	case *array.Binary:
		return fmt.Sprintf("%q", a.Value(i))
	case *array.String:
		return a.Value(i)
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	}
	return a.ValueStr(i)
}

// writeFile writes data into a temp file and opens it as the ReaderAt the
// scans read.
func writeFile(t *testing.T, name string, data []byte) (*os.File, int64) {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, int64(len(data))
}

type scanFunc func(ctx context.Context, r io.ReaderAt, size int64, columns []Column, mem memory.Allocator, fn func(arrow.RecordBatch) error) error

func csvScanner(o CSVOptions) scanFunc {
	return func(ctx context.Context, r io.ReaderAt, size int64, columns []Column, mem memory.Allocator, fn func(arrow.RecordBatch) error) error {
		return CSV(ctx, r, size, columns, o, mem, fn)
	}
}

func jsonScanner(o JSONOptions) scanFunc {
	return func(ctx context.Context, r io.ReaderAt, size int64, columns []Column, mem memory.Allocator, fn func(arrow.RecordBatch) error) error {
		return JSON(ctx, r, size, columns, o, mem, fn)
	}
}

// scanText scans data from a temp file with a checked allocator and
// returns the rows rendered by cell, checking each batch's schema.
func scanText(t *testing.T, scan scanFunc, data []byte, columns []Column) ([][]string, int, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	f, size := writeFile(t, "obj", data)
	var rows [][]string
	batches := 0
	err := scan(context.Background(), f, size, columns, mem, func(rec arrow.RecordBatch) error {
		batches++
		if int(rec.NumCols()) != len(columns) {
			t.Fatalf("%d columns, want %d", rec.NumCols(), len(columns))
		}
		for i, c := range columns {
			f := rec.Schema().Field(i)
			if f.Name != c.Name || !arrow.TypeEqual(f.Type, c.Type) || !arrow.TypeEqual(rec.Column(i).DataType(), c.Type) {
				t.Fatalf("field %d is %s %s, want %s %s", i, f.Name, f.Type, c.Name, c.Type)
			}
		}
		if rec.NumRows() == 0 {
			t.Errorf("empty batch")
		}
		for r := range int(rec.NumRows()) {
			row := make([]string, len(columns))
			for c := range columns {
				row[c] = cell(rec.Column(c), r)
			}
			rows = append(rows, row)
		}
		return nil
	})
	return rows, batches, err
}

func checkRows(t *testing.T, got, want [][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d rows %q, want %d %q", len(got), got, len(want), want)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("row %d = %q, want %q", i, got[i], want[i])
		}
	}
}

// checkErr checks err's code and that its public message contains every
// part of want and none of secret.
func checkErr(t *testing.T, err error, code apierr.Code, secret string, want ...string) {
	t.Helper()
	if !apierr.Is(err, code) {
		t.Fatalf("err = %v, want %s", err, code)
	}
	msg := apierr.PublicMessage(err)
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q does not contain %q", msg, w)
		}
	}
	if secret != "" && strings.Contains(msg, secret) {
		t.Errorf("message %q repeats the value %q", msg, secret)
	}
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// countingReaderAt records every ReadAt.
type countingReaderAt struct {
	r     io.ReaderAt
	mu    sync.Mutex
	reads [][2]int64 // offset, length
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.mu.Lock()
	c.reads = append(c.reads, [2]int64{off, int64(len(p))})
	c.mu.Unlock()
	return c.r.ReadAt(p, off)
}

func TestReadAheadIsSequentialAndLarge(t *testing.T) {
	var csvData, jsonData bytes.Buffer
	csvData.WriteString("id,name\n")
	for i := 0; csvData.Len() < 10<<20; i++ {
		fmt.Fprintf(&csvData, "%d,name number %d\n", i, i)
		fmt.Fprintf(&jsonData, `{"id":%d,"name":"name number %d"}`+"\n", i, i)
	}
	tests := []struct {
		name string
		scan scanFunc
		data []byte
	}{
		{"csv", csvScanner(CSVOptions{Header: true}), csvData.Bytes()},
		{"json", jsonScanner(JSONOptions{}), jsonData.Bytes()},
		{"csv.gz", csvScanner(CSVOptions{Header: true}), gzipped(t, csvData.Bytes())},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			f, size := writeFile(t, "obj", tc.data)
			cr := &countingReaderAt{r: f}
			var rows int64
			err := tc.scan(context.Background(), cr, size, []Column{col(t, "id", "int64")}, mem, func(rec arrow.RecordBatch) error {
				rows += rec.NumRows()
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if rows < 100_000 {
				t.Errorf("%d rows", rows)
			}
			var next int64
			for i, rd := range cr.reads {
				if rd[0] != next {
					t.Fatalf("read %d at offset %d, want %d (sequential): %v", i, rd[0], next, cr.reads)
				}
				if rd[1] != ReadAhead && rd[0]+rd[1] != size {
					t.Fatalf("read %d of %d bytes at %d: want %d, or the rest of the object", i, rd[1], rd[0], ReadAhead)
				}
				next += rd[1]
			}
			if next != size {
				t.Errorf("read %d of %d bytes", next, size)
			}
			if want := (size + ReadAhead - 1) / ReadAhead; int64(len(cr.reads)) > want+1 {
				t.Errorf("%d reads for %d bytes, want about %d", len(cr.reads), size, want)
			}
		})
	}
}

// failAfter serves data up to n bytes, then fails.
type failAfter struct {
	data []byte
	n    int64
	err  error
}

func (f failAfter) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.n {
		return 0, f.err
	}
	return copy(p, f.data[off:]), nil
}

func TestTextReadErrorPassesThrough(t *testing.T) {
	cause := apierr.New(apierr.Unavailable, "store unavailable")
	// Random text, so that even compressed it takes several reads.
	var long bytes.Buffer
	rng := rand.New(rand.NewSource(1))
	for long.Len() < 3*ReadAhead {
		fmt.Fprintf(&long, `{"id":1,"x":"%x%x%x%x"}`+"\n", rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64())
	}
	gz := gzipped(t, long.Bytes())
	if len(gz) <= ReadAhead {
		t.Fatalf("the compressed data (%d bytes) fits one read", len(gz))
	}
	tests := []struct {
		name string
		scan scanFunc
		r    io.ReaderAt
		size int64
	}{
		{"csv first read", csvScanner(CSVOptions{Header: true}), failingReader{cause}, 1000},
		{"json first read", jsonScanner(JSONOptions{}), failingReader{cause}, 1000},
		{"json later read", jsonScanner(JSONOptions{}), failAfter{long.Bytes(), ReadAhead, cause}, int64(long.Len())},
		{"gzip later read", jsonScanner(JSONOptions{}), failAfter{gz, ReadAhead, cause}, int64(len(gz))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			err := tc.scan(context.Background(), tc.r, tc.size, []Column{col(t, "id", "int64")}, mem, func(arrow.RecordBatch) error { return nil })
			if !errors.Is(err, cause) || !apierr.Is(err, apierr.Unavailable) {
				t.Fatalf("err = %v, want the read error", err)
			}
		})
	}
}

func TestCompression(t *testing.T) {
	csvData := []byte("id\n1\n2\n")
	jsonData := []byte("{\"id\":1}\n{\"id\":2}\n")
	corrupt := gzipped(t, csvData)
	corrupt[len(corrupt)-6] ^= 0xff // the CRC
	tests := []struct {
		name string
		scan scanFunc
		data []byte
		code apierr.Code
		want string
	}{
		{"csv gzip", csvScanner(CSVOptions{Header: true}), gzipped(t, csvData), "", ""},
		{"json gzip", jsonScanner(JSONOptions{}), gzipped(t, jsonData), "", ""},
		{"corrupt gzip", csvScanner(CSVOptions{Header: true}), corrupt, apierr.InvalidArgument, "corrupt gzip stream"},
		{"truncated gzip", jsonScanner(JSONOptions{}), gzipped(t, jsonData)[:20], apierr.InvalidArgument, "corrupt gzip stream"},
		{"gzip header only", jsonScanner(JSONOptions{}), []byte{0x1f, 0x8b}, apierr.InvalidArgument, "corrupt gzip stream"},
		{"zstd", csvScanner(CSVOptions{Header: true}), []byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0}, apierr.FailedPrecondition, "zstd"},
		{"xz", jsonScanner(JSONOptions{}), []byte{0xfd, '7', 'z', 'X', 'Z', 0, 0, 0}, apierr.FailedPrecondition, "xz"},
		{"bzip2", csvScanner(CSVOptions{Header: true}), []byte("BZh91AY&SY\x00\x00"), apierr.FailedPrecondition, "bzip2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, _, err := scanText(t, tc.scan, tc.data, []Column{col(t, "id", "int64")})
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				checkRows(t, rows, [][]string{{"1"}, {"2"}})
				return
			}
			checkErr(t, err, tc.code, "", tc.want)
		})
	}
	// A header that merely starts like bzip2 is text.
	rows, _, err := scanText(t, csvScanner(CSVOptions{Header: true}), []byte("BZh\n1\n"), []Column{col(t, "BZh", "int64")})
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rows, [][]string{{"1"}})
}

func TestCallbackErrorAndCancel(t *testing.T) {
	data := []byte("id\n1\n2\n3\n4\n")
	jdata := []byte("{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n")
	for name, scan := range map[string]struct {
		f    scanFunc
		data []byte
	}{
		"csv":  {csvScanner(CSVOptions{Header: true, TextOptions: TextOptions{BatchSize: 2}}), data},
		"json": {jsonScanner(JSONOptions{TextOptions{BatchSize: 2}}), jdata},
	} {
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			stop := errors.New("stop")
			calls := 0
			err := scan.f(context.Background(), bytes.NewReader(scan.data), int64(len(scan.data)), []Column{col(t, "id", "int64")}, mem, func(arrow.RecordBatch) error {
				calls++
				return stop
			})
			if err != stop || calls != 1 {
				t.Fatalf("err %v after %d calls, want stop after 1", err, calls)
			}
			ctx, cancel := context.WithCancel(context.Background())
			err = scan.f(ctx, bytes.NewReader(scan.data), int64(len(scan.data)), []Column{col(t, "id", "int64")}, mem, func(arrow.RecordBatch) error {
				cancel()
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
		})
	}
}

func TestParseOptions(t *testing.T) {
	cols := `[{"name":"id","type":"int64"},{"name":"amount","type":"decimal128(10,2)"}]`
	good := []struct {
		in   map[string]string
		want CSVOptions
	}{
		{nil, CSVOptions{Header: true, Delimiter: ',', Quote: '"'}},
		{map[string]string{"header": "false", "delimiter": ";", "quote": "'"}, CSVOptions{Header: false, Delimiter: ';', Quote: '\''}},
		{map[string]string{"header": "TRUE", "delimiter": "\t"}, CSVOptions{Header: true, Delimiter: '\t', Quote: '"'}},
	}
	for _, tc := range good {
		got, err := ParseCSVOptions(tc.in)
		if err != nil || got.Header != tc.want.Header || got.Delimiter != tc.want.Delimiter || got.Quote != tc.want.Quote {
			t.Errorf("ParseCSVOptions(%v) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	o, err := ParseCSVOptions(map[string]string{FormatOptionColumns: cols})
	if err != nil || len(o.FileColumns) != 2 || o.FileColumns[1].Name != "amount" || !arrow.TypeEqual(o.FileColumns[1].Type, &arrow.Decimal128Type{Precision: 10, Scale: 2}) {
		t.Fatalf("columns option: %+v, %v", o.FileColumns, err)
	}
	bad := []struct {
		in   map[string]string
		code apierr.Code
		want string
	}{
		{map[string]string{"header": "yes please"}, apierr.InvalidArgument, "header"},
		{map[string]string{"delimiter": "ab"}, apierr.InvalidArgument, "delimiter"},
		{map[string]string{"quote": "\n"}, apierr.InvalidArgument, "quote"},
		{map[string]string{"delimiter": "é"}, apierr.InvalidArgument, "delimiter"},
		{map[string]string{"delimiter": "\"", "quote": "\""}, apierr.InvalidArgument, "differ"},
		{map[string]string{"escape": "\\"}, apierr.FailedPrecondition, `"escape"`},
		{map[string]string{FormatOptionColumns: `{"name":"id"}`}, apierr.InvalidArgument, `"columns"`},
		{map[string]string{FormatOptionColumns: `[{"name":"id","type":"int65"}]`}, apierr.InvalidArgument, `"id"`},
		{map[string]string{FormatOptionColumns: `[{"name":"id","type":"int64"},{"name":"id","type":"int64"}]`}, apierr.InvalidArgument, "distinct"},
		{map[string]string{FormatOptionColumns: `[{"name":"id","type":"int64","x":1}]`}, apierr.InvalidArgument, `"columns"`},
	}
	for _, tc := range bad {
		_, err := ParseCSVOptions(tc.in)
		checkErr(t, err, tc.code, "", tc.want)
	}
	if _, err := ParseJSONOptions(map[string]string{"header": "true"}); !apierr.Is(err, apierr.FailedPrecondition) {
		t.Errorf("JSON header option: %v", err)
	}
	if o, err := ParseJSONOptions(map[string]string{FormatOptionColumns: cols}); err != nil || len(o.FileColumns) != 2 {
		t.Errorf("JSON columns option: %+v, %v", o, err)
	}
}

func TestTextColumns(t *testing.T) {
	gt := func(c string) sqlsubset.Tree {
		return sqlsubset.Tree{Expr: &sqlsubset.Compare{Op: sqlsubset.Gt, Left: colRef(c), Right: sqlsubset.Int64Literal(1)}}
	}
	file := []Column{col(t, "id", "int64"), col(t, "region", "string"), col(t, "amount", "decimal128(10,2)")}
	task := taskplan.Task{Format: "csv", Columns: []taskplan.Column{
		{Name: "amount", Type: "decimal128(10,2)", CellFilter: gt("region")},
		{Name: "id", Type: "int64"},
	}, RowFilter: gt("level")}

	_, err := TextColumns(task, Columns(task), nil)
	checkErr(t, err, apierr.FailedPrecondition, "", `"level"`, `"columns"`)

	_, err = TextColumns(task, Columns(task), []Column{col(t, "id", "int64"), col(t, "level", "int32")})
	checkErr(t, err, apierr.FailedPrecondition, "", `"region"`)

	got, err := TextColumns(task, Columns(task), append(file, col(t, "level", "int32")))
	if err != nil {
		t.Fatal(err)
	}
	// Columns(task) order: outputs, the row filter's, the cell filters'.
	want := []Column{col(t, "amount", "decimal128(10,2)"), col(t, "id", "int64"), col(t, "level", "int32"), col(t, "region", "string")}
	if !slices.EqualFunc(got, want, func(a, b Column) bool { return a.Name == b.Name && arrow.TypeEqual(a.Type, b.Type) }) {
		t.Errorf("TextColumns = %v, want %v", got, want)
	}

	task.RowFilter = sqlsubset.Tree{}
	task.Columns[0].CellFilter = sqlsubset.Tree{}
	if got, err := TextColumns(task, Columns(task), nil); err != nil || len(got) != 2 {
		t.Errorf("TextColumns without filters = %v, %v", got, err)
	}
	_, err = TextColumns(task, Columns(task), []Column{col(t, "id", "int32")})
	checkErr(t, err, apierr.FailedPrecondition, "", `"id"`)
}
