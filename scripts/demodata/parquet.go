package main

import (
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// rowGroupRows bounds a row group; each record batch written is one row group.
const rowGroupRows = 65536

// writerProps spells out every property that shapes the bytes, so output
// does not move when a library default does (created_by would change with
// each arrow-go release otherwise).
//
// Dictionary encoding is on only for dictColumns, columns with few distinct
// values. A column whose dictionary outgrows its page limit falls back to
// plain pages mid-chunk, and arrow-go then writes the chunk's page encoding
// stats in map order: the same data gave different footers from run to run
// (seen with a million customers).
func writerProps(mem memory.Allocator, dictColumns []string) *parquet.WriterProperties {
	opts := []parquet.WriterProperty{
		parquet.WithAllocator(mem),
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithCreatedBy("nscale demodata"),
		parquet.WithVersion(parquet.V2_6),
		parquet.WithDataPageVersion(parquet.DataPageV1),
		parquet.WithMaxRowGroupLength(rowGroupRows),
		parquet.WithStats(true),
		parquet.WithDictionaryDefault(false),
	}
	for _, c := range dictColumns {
		opts = append(opts, parquet.WithDictionaryFor(c, true))
	}
	return parquet.NewWriterProperties(opts...)
}

// parquetFile is one output file being written.
type parquetFile struct {
	f *os.File
	w *pqarrow.FileWriter
}

func createParquet(path string, schema *arrow.Schema, dictColumns []string, mem memory.Allocator) (*parquetFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	// No stored Arrow schema: readers get the types from Parquet's own
	// logical types, as they would for files written by Spark.
	w, err := pqarrow.NewFileWriter(schema, f, writerProps(mem, dictColumns), pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem)))
	if err != nil {
		f.Close()
		return nil, err
	}
	return &parquetFile{f: f, w: w}, nil
}

// write adds rec as one row group and releases it.
func (p *parquetFile) write(rec arrow.RecordBatch) error {
	defer rec.Release()
	return p.w.Write(rec)
}

// close finishes the file and returns its size.
func (p *parquetFile) close() (int64, error) {
	if err := p.w.Close(); err != nil { // closes p.f too
		return 0, err
	}
	fi, err := os.Stat(p.f.Name())
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
