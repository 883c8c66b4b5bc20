// Package parquettest writes Parquet files for tests: the one copy of the
// writer boilerplate that test files used to repeat.
package parquettest

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// File writes recs as one Parquet file and returns its bytes. Each batch
// starts a new row group (props' MaxRowGroupLength splits a larger one);
// props nil means the defaults. The Arrow schema is stored in the file, so
// readers get the exact Arrow types back (time zones, unsigned widths).
func File(tb testing.TB, props *parquet.WriterProperties, recs ...arrow.RecordBatch) []byte {
	tb.Helper()
	return FileWith(tb, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()), recs...)
}

// FileWith is File with the Arrow writer properties given (an allocator
// that checks for leaks, no stored schema).
func FileWith(tb testing.TB, props *parquet.WriterProperties, arrowProps pqarrow.ArrowWriterProperties, recs ...arrow.RecordBatch) []byte {
	tb.Helper()
	if len(recs) == 0 {
		tb.Fatal("parquettest: no record batch to write")
	}
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(recs[0].Schema(), &buf, props, arrowProps)
	if err != nil {
		tb.Fatal(err)
	}
	for _, rec := range recs {
		if err := w.Write(rec); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
