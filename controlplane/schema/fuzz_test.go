package schema

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/parquettest"
)

// smallParquet writes rows (Arrow JSON) of schema as a small Parquet file.
func smallParquet(t testing.TB, sc *arrow.Schema, rows string, store bool) []byte {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec, _, err := array.RecordFromJSON(mem, sc, strings.NewReader(rows))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	opts := []pqarrow.WriterOption{pqarrow.WithAllocator(mem)}
	if store {
		opts = append(opts, pqarrow.WithStoreSchema())
	}
	return parquettest.FileWith(t, parquet.NewWriterProperties(parquet.WithAllocator(mem), parquet.WithMaxRowGroupLength(2)),
		pqarrow.NewArrowWriterProperties(opts...), rec)
}

// fuzzSeeds are small valid Parquet files.
func fuzzSeeds(t testing.TB) [][]byte {
	flat := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	nested := arrow.NewSchema([]arrow.Field{
		{Name: "st", Type: arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int32, Nullable: true}), Nullable: true},
		{Name: "l", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "d", Type: &arrow.Decimal128Type{Precision: 9, Scale: 3}, Nullable: true},
		{Name: "t", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "u", Type: arrow.PrimitiveTypes.Uint16, Nullable: true},
	}, nil)
	return [][]byte{
		smallParquet(t, flat, `[{"id": 1, "s": "a"}, {"id": 2}, {"id": 3, "s": "c"}]`, false),
		smallParquet(t, flat, `[{"id": -1, "s": "zz"}]`, true),
		smallParquet(t, nested, `[{"st": {"a": 1}, "l": ["x", null], "d": "1.500", "t": "2024-05-06T00:00:00Z", "u": 7}, {}]`, false),
		smallParquet(t, nested, `[{"st": null, "l": [], "d": "-0.001", "u": 65535}]`, true),
	}
}

// asFile wraps footer bytes into the smallest Parquet file around them.
func asFile(footer []byte) []byte {
	out := append([]byte("PAR1"), footer...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(footer)))
	return append(out, "PAR1"...)
}

// FuzzReadFooter feeds corrupted Parquet files (and, wrapped in magic and
// length, corrupted footers) to ReadFooter: it must return a footer whose
// ranges lie inside the file, or an InvalidArgument, never panic. Seeds:
// testdata/fuzz/FuzzReadFooter (see TestWriteFuzzSeeds) and fuzzSeeds.
func FuzzReadFooter(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
		flen := binary.LittleEndian.Uint32(s[len(s)-8:])
		f.Add(bytes.Clone(s[len(s)-8-int(flen) : len(s)-8])) // the footer alone
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, file := range [][]byte{data, asFile(data)} {
			ft, err := ReadFooter(bytes.NewReader(file), int64(len(file)), "fuzz.parquet", FooterOptions{})
			if err != nil {
				if !apierr.Is(err, apierr.InvalidArgument) || !strings.Contains(apierr.PublicMessage(err), "fuzz.parquet") {
					t.Fatalf("error %v: want InvalidArgument naming the file", err)
				}
				continue
			}
			if len(ft.Columns) != ft.Schema.NumFields() || ft.NumRows < 0 || ft.FooterBytes+12 > int64(len(file)) {
				t.Fatalf("inconsistent footer %+v", ft)
			}
			for _, c := range ft.Columns {
				if err := c.Type.Validate(); err != nil {
					t.Fatalf("column %s: %v", c, err)
				}
			}
			for _, g := range ft.RowGroups {
				if g.Offset < 0 || g.TotalBytes < 0 || g.Offset+g.TotalBytes > int64(len(file)) || g.NumRows < 0 {
					t.Fatalf("row group outside the file: %+v", g)
				}
			}
			// The two-read path agrees with the one-read path.
			ft2, err := ReadFooter(bytes.NewReader(file), int64(len(file)), "fuzz.parquet", FooterOptions{Prefetch: 16})
			if err != nil || len(ft2.Columns) != len(ft.Columns) || len(ft2.RowGroups) != len(ft.RowGroups) {
				t.Fatalf("prefetch 16: %v", err)
			}
		}
	})
}

// TestWriteFuzzSeeds rewrites the committed seed corpora
// (testdata/fuzz/FuzzReadFooter, testdata/fuzz/FuzzArrowSchema) when
// NSCALE_WRITE_FUZZ_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("NSCALE_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set NSCALE_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz/FuzzReadFooter")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReadFooter")
	seeds := fuzzSeeds(t)
	good := seeds[0]
	flen := int(binary.LittleEndian.Uint32(good[len(good)-8:]))
	footer := good[len(good)-8-flen : len(good)-8]
	flipped := bytes.Clone(good)
	flipped[len(good)-8-flen/2] ^= 0xff
	seeds = append(seeds,
		good[:len(good)-3], // truncated
		append(bytes.Clone(good[:len(good)-4]), "PARE"...), // encrypted magic
		flipped,             // one corrupt footer byte
		bytes.Clone(footer), // footer only (wrapped by the fuzz target)
		asFile([]byte{0x19, 0xfc, 0xff, 0xff, 0xff, 0x07}), // a list claiming 2^31 elements
	)
	writeSeeds(t, dir, seeds)
	writeSeeds(t, filepath.Join("testdata", "fuzz", "FuzzArrowSchema"), storedSchemas(t))
}

func writeSeeds(t *testing.T, dir string, seeds [][]byte) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
