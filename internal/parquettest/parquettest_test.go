package parquettest

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// Each batch is its own row group, and the values read back.
func TestFileRowGroups(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	var recs []arrow.RecordBatch
	for g := range 3 {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := range 10 {
			b.Field(0).(*array.Int64Builder).Append(int64(g*10 + i))
		}
		recs = append(recs, b.NewRecordBatch())
		b.Release()
	}
	data := File(t, parquet.NewWriterProperties(parquet.WithStats(true)), recs...)
	r, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.NumRowGroups() != 3 || r.NumRows() != 30 {
		t.Fatalf("%d row groups, %d rows; want 3 and 30", r.NumRowGroups(), r.NumRows())
	}
	stats, err := r.RowGroup(2).MetaData().ColumnChunk(0)
	if err != nil {
		t.Fatal(err)
	}
	st, err := stats.Statistics()
	if err != nil || st == nil {
		t.Fatalf("no statistics: %v", err)
	}
	if min := st.(interface{ Min() int64 }).Min(); min != 20 {
		t.Fatalf("third row group starts at %d, want 20", min)
	}
}
