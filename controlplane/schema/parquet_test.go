package schema

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/parquettest"
)

// allTypes is a schema with every type the shared vocabulary has.
var allTypes = arrow.NewSchema([]arrow.Field{
	{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
	{Name: "i16", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
	{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "u8", Type: arrow.PrimitiveTypes.Uint8, Nullable: true},
	{Name: "u16", Type: arrow.PrimitiveTypes.Uint16, Nullable: true},
	{Name: "u32", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
	{Name: "u64", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
	{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "amount", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "ts_ms_utc", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "ts_us", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	{Name: "ts_ns_paris", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "Europe/Paris"}, Nullable: true},
	{Name: "st", Type: arrow.StructOf(
		arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		arrow.Field{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true},
	), Nullable: true},
	{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
	{Name: "Req Col", Type: arrow.PrimitiveTypes.Int64, Nullable: false},
}, nil)

// allTypesColumns is what FromArrow makes of allTypes.
var allTypesColumns = []string{
	"b bool", "i8 int8", "i16 int16", "i32 int32", "i64 int64",
	"u8 uint8", "u16 uint16", "u32 uint32", "u64 uint64", "f32 float32", "f64 float64",
	"amount decimal128(10,2)", "s string", "bin binary", "d date32",
	"ts_ms_utc timestamp(ms,UTC)", "ts_us timestamp(us)", "ts_ns_paris timestamp(ns,Europe/Paris)",
	"st struct<a:int32,b:string>", "l list<int64>", `"Req Col" int64 not null`,
}

// allTypesRow is row i of the test data in Arrow's JSON form; row 0 has NULLs.
func allTypesRow(i int) string {
	if i == 0 {
		return `{"Req Col": 0}`
	}
	return fmt.Sprintf(`{"b": %v, "i8": %d, "i16": %d, "i32": %d, "i64": %d, "u8": %d, "u16": %d, "u32": %d, "u64": %d,
		"f32": %d.5, "f64": %d.25, "amount": "%d.99", "s": "s%05d", "bin": "%s", "d": "2024-05-%02d",
		"ts_ms_utc": "2024-05-06T10:00:%02dZ", "ts_us": "2024-05-06 10:00:%02d", "ts_ns_paris": "2024-05-06T10:00:%02dZ",
		"st": {"a": %d, "b": "x%d"}, "l": [%d, %d], "Req Col": %d}`,
		i%2 == 0, i%100-50, i%30000, i*10, int64(i)*1_000_000_007, i%250, i%60000, i, uint64(1)<<63+uint64(i),
		i, i, i, i, "aGVsbG8=", i%28+1, i%60, i%60, i%60, i, i, i, -i, i)
}

// writeParquet writes rows of allTypes (rowGroup rows per row group) with
// a checked allocator, which must end at zero.
func writeParquet(t testing.TB, rows, rowGroup int, storeSchema bool, extra ...parquet.WriterProperty) []byte {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var js strings.Builder
	js.WriteString("[")
	for i := range rows {
		if i > 0 {
			js.WriteString(",")
		}
		js.WriteString(allTypesRow(i))
	}
	js.WriteString("]")
	rec, _, err := array.RecordFromJSON(mem, allTypes, strings.NewReader(js.String()))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	props := parquet.NewWriterProperties(append([]parquet.WriterProperty{
		parquet.WithAllocator(mem), parquet.WithStats(true), parquet.WithMaxRowGroupLength(int64(rowGroup)),
	}, extra...)...)
	aopts := []pqarrow.WriterOption{pqarrow.WithAllocator(mem)}
	if storeSchema {
		aopts = append(aopts, pqarrow.WithStoreSchema())
	}
	return parquettest.FileWith(t, props, pqarrow.NewArrowWriterProperties(aopts...), rec)
}

func columnStrings(cols []Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.String()
	}
	return out
}

// countingReaderAt counts ReadAt calls and bytes.
type countingReaderAt struct {
	r     io.ReaderAt
	calls atomic.Int64
	bytes atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.calls.Add(1)
	c.bytes.Add(int64(n))
	return n, err
}

func TestReadFooterLocalAllTypes(t *testing.T) {
	data := writeParquet(t, 1000, 300, true)
	path := filepath.Join(t.TempDir(), "all.parquet")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := OpenLocal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr := &countingReaderAt{r: f}
	ft, err := ReadFooter(cr, f.Size, f.Name, FooterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := columnStrings(ft.Columns); strings.Join(got, "\n") != strings.Join(allTypesColumns, "\n") {
		t.Errorf("columns:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(allTypesColumns, "\n"))
	}
	for i, fld := range allTypes.Fields() {
		if got := ft.Schema.Field(i); got.Name != fld.Name || !arrow.TypeEqual(got.Type, fld.Type) || got.Nullable != fld.Nullable {
			t.Errorf("Arrow field %d = %v, want %v", i, got, fld)
		}
	}
	if cr.calls.Load() != 1 {
		t.Errorf("footer of a %d-byte file took %d reads", len(data), cr.calls.Load())
	}
	checkAllTypesFooter(t, ft, 1000, 300, int64(len(data)))
}

// checkAllTypesFooter checks row groups and statistics of writeParquet's file.
func checkAllTypesFooter(t *testing.T, ft *Footer, rows, rowGroup int, size int64) {
	t.Helper()
	if ft.NumRows != int64(rows) || ft.FileSize != size || ft.FooterBytes <= 0 || !strings.Contains(ft.CreatedBy, "parquet-go") {
		t.Errorf("footer: rows %d size %d footer %d created by %q", ft.NumRows, ft.FileSize, ft.FooterBytes, ft.CreatedBy)
	}
	wantGroups := (rows + rowGroup - 1) / rowGroup
	if len(ft.RowGroups) != wantGroups {
		t.Fatalf("%d row groups, want %d", len(ft.RowGroups), wantGroups)
	}
	var total, prevEnd int64
	prevEnd = 4 // after the leading magic
	for gi, g := range ft.RowGroups {
		total += g.NumRows
		if g.Offset < prevEnd || g.TotalBytes <= 0 || g.Offset+g.TotalBytes > size-8-ft.FooterBytes {
			t.Errorf("row group %d spans %d+%d (previous end %d, file %d)", gi, g.Offset, g.TotalBytes, prevEnd, size)
		}
		prevEnd = g.Offset + g.TotalBytes
		byName := map[string]ColumnStats{}
		for _, c := range g.Columns {
			byName[c.Name] = c
			if c.Offset < g.Offset || c.Offset+c.CompressedBytes > g.Offset+g.TotalBytes || c.PhysicalType == "" || c.Compression == "" {
				t.Errorf("row group %d column %s: %+v", gi, c.Name, c)
			}
		}
		if len(g.Columns) != 22 { // 21 top-level columns, the struct has two leaves
			t.Errorf("row group %d has %d column chunks", gi, len(g.Columns))
		}
		first, last := gi*rowGroup, min((gi+1)*rowGroup, rows)-1
		lo := max(first, 1) // row 0 is all NULL
		checks := []struct {
			col      string
			min, max any
		}{
			{"i64", int64(lo) * 1_000_000_007, int64(last) * 1_000_000_007},
			{"i32", int32(lo * 10), int32(last * 10)},
			{"u64", uint64(1)<<63 + uint64(lo), uint64(1)<<63 + uint64(last)},
			{"s", fmt.Sprintf("s%05d", lo), fmt.Sprintf("s%05d", last)},
			{"st.a", int32(lo), int32(last)},
			{"Req Col", int64(first), int64(last)},
		}
		for _, c := range checks {
			cs, ok := byName[c.col]
			if !ok {
				t.Errorf("row group %d: no column %s in %v", gi, c.col, byName)
				continue
			}
			if cs.Min != c.min || cs.Max != c.max {
				t.Errorf("row group %d %s: min %#v max %#v, want %#v %#v", gi, c.col, cs.Min, cs.Max, c.min, c.max)
			}
		}
		wantNulls := int64(0)
		if gi == 0 {
			wantNulls = 1
		}
		if cs := byName["i64"]; !cs.HasNullCount || cs.NullCount != wantNulls || cs.NumValues != int64(last-first+1) {
			t.Errorf("row group %d i64 nulls %v/%d values %d", gi, cs.HasNullCount, cs.NullCount, cs.NumValues)
		}
		if amt, ok := byName["amount"].Min.([]byte); !ok || len(amt) == 0 {
			t.Errorf("decimal min = %#v, want big-endian bytes", byName["amount"].Min)
		}
		if _, ok := byName["l.list.element"]; !ok {
			t.Errorf("no list leaf l.list.element")
		}
	}
	if total != int64(rows) {
		t.Errorf("row groups hold %d rows, want %d", total, rows)
	}
}

func TestReadFooterWithoutStoredSchema(t *testing.T) {
	data := writeParquet(t, 10, 10, false, parquet.WithStoreDecimalAsInteger(true), parquet.WithCompression(compress.Codecs.Snappy))
	ft, err := ReadFooter(bytes.NewReader(data), int64(len(data)), "mem.parquet", FooterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Without ARROW:schema the time zone is what Parquet knows: UTC-adjusted.
	want := strings.Join(allTypesColumns, "\n")
	want = strings.Replace(want, "timestamp(ns,Europe/Paris)", "timestamp(ns,UTC)", 1)
	if got := strings.Join(columnStrings(ft.Columns), "\n"); got != want {
		t.Errorf("columns:\n%s\nwant:\n%s", got, want)
	}
	if c := ft.RowGroups[0].Columns[0].Compression; c != "SNAPPY" {
		t.Errorf("compression = %q", c)
	}
}

func TestReadFooterTwoReads(t *testing.T) {
	data := writeParquet(t, 100, 10, true)
	for _, prefetch := range []int64{8, 100, 1000} {
		cr := &countingReaderAt{r: bytes.NewReader(data)}
		ft, err := ReadFooter(cr, int64(len(data)), "mem.parquet", FooterOptions{Prefetch: prefetch})
		if err != nil {
			t.Fatalf("prefetch %d: %v", prefetch, err)
		}
		if cr.calls.Load() != 2 || cr.bytes.Load() != ft.FooterBytes+8 {
			t.Errorf("prefetch %d: %d reads, %d bytes for a %d-byte footer", prefetch, cr.calls.Load(), cr.bytes.Load(), ft.FooterBytes)
		}
		checkAllTypesFooter(t, ft, 100, 10, int64(len(data)))
	}
	if _, err := ReadFooter(bytes.NewReader(data), int64(len(data)), "mem.parquet", FooterOptions{MaxFooter: 100}); !apierr.Is(err, apierr.InvalidArgument) ||
		!strings.Contains(err.Error(), "more than the limit") {
		t.Errorf("footer over the limit: %v", err)
	}
}

func TestReadFooterCorrupt(t *testing.T) {
	good := writeParquet(t, 20, 10, true)
	flen := int(binary.LittleEndian.Uint32(good[len(good)-8:]))
	withTail := func(body []byte, footerLen uint32, m string) []byte {
		out := append([]byte("PAR1"), body...)
		out = binary.LittleEndian.AppendUint32(out, footerLen)
		return append(out, m...)
	}
	garbled := bytes.Clone(good)
	for i := len(good) - 8 - flen; i < len(good)-8; i += 3 {
		garbled[i] ^= 0x5a
	}
	cases := []struct {
		name string
		data []byte
		size int64 // 0: len(data)
		want string
	}{
		{"empty", nil, 0, "too small"},
		{"tiny", []byte("PAR1PAR1"), 0, "too small"},
		{"csv", []byte("a,b,c\n1,2,3\n4,5,6\n"), 0, "no PAR1 magic"},
		{"bad head", append([]byte("XXXX"), good[4:]...), 0, "no PAR1 magic at the start"},
		{"encrypted", append(bytes.Clone(good[:len(good)-4]), "PARE"...), 0, "encrypted"},
		{"footer past size", withTail([]byte("xxxx"), 1<<30, "PAR1"), 0, "is impossible"},
		{"zero footer", withTail([]byte("xxxx"), 0, "PAR1"), 0, "is impossible"},
		{"garbage footer", withTail(bytes.Repeat([]byte{0xff}, 64), 64, "PAR1"), 0, "corrupt Parquet footer"},
		{"huge list claim", withTail([]byte{0x19, 0xfc, 0xff, 0xff, 0xff, 0x07, 0, 0}, 8, "PAR1"), 0, "corrupt Parquet footer"},
		{"garbled footer", garbled, 0, "corrupt"},
		{"truncated", good[:len(good)/2], 0, "no PAR1 magic"},
		{"footer cut", append(bytes.Clone(good[:len(good)-8-flen/2]), good[len(good)-8:]...), 0, ""},
	}
	for _, c := range cases {
		size := c.size
		if size == 0 {
			size = int64(len(c.data))
		}
		name := "s3://bucket/t/" + strings.ReplaceAll(c.name, " ", "-") + ".parquet"
		ft, err := ReadFooter(bytes.NewReader(c.data), size, name, FooterOptions{})
		if !apierr.Is(err, apierr.InvalidArgument) {
			t.Errorf("%s: footer %v, err %v; want InvalidArgument", c.name, ft != nil, err)
			continue
		}
		msg := apierr.PublicMessage(err)
		if !strings.Contains(msg, name) || !strings.Contains(msg, c.want) {
			t.Errorf("%s: message %q, want the file name and %q", c.name, msg, c.want)
		}
	}
}

func TestReadFooterShorterThanListed(t *testing.T) {
	good := writeParquet(t, 20, 10, true)
	_, err := ReadFooter(bytes.NewReader(good), int64(len(good))+100, "file:///t/a.parquet", FooterOptions{})
	if !apierr.Is(err, apierr.FailedPrecondition) || !strings.Contains(err.Error(), "file:///t/a.parquet is shorter than its listed size") {
		t.Errorf("listed size too large: %v", err)
	}
}

func TestOpenLocalErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenLocal(filepath.Join(dir, "missing.parquet")); !apierr.Is(err, apierr.NotFound) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := OpenLocal(dir); !apierr.Is(err, apierr.InvalidArgument) {
		t.Errorf("directory: %v", err)
	}
	if os.Geteuid() != 0 {
		p := filepath.Join(dir, "secret.parquet")
		os.WriteFile(p, []byte("x"), 0)
		if _, err := OpenLocal(p); !apierr.Is(err, apierr.PermissionDenied) {
			t.Errorf("unreadable file: %v", err)
		}
	}
}
