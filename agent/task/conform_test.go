package task

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/apierr"
)

func TestConform(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond}, Nullable: true},
		{Name: "big", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	b.Field(0).(*array.Int32Builder).AppendValues([]int32{1, -2}, []bool{true, false})
	b.Field(1).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1700000000123, 0}, nil)
	b.Field(2).(*array.Int64Builder).AppendValues([]int64{5, 1 << 40}, nil)
	rec := b.NewRecordBatch()
	b.Release()
	defer rec.Release()

	want := map[string]arrow.DataType{
		"id": arrow.PrimitiveTypes.Int64,
		"ts": &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"},
	}
	out, changed, err := conform(mem, rec, want)
	if err != nil || !changed {
		t.Fatalf("conform: %v changed=%v", err, changed)
	}
	defer out.Release()
	if !arrow.TypeEqual(out.Column(0).DataType(), want["id"]) || !arrow.TypeEqual(out.Column(1).DataType(), want["ts"]) {
		t.Fatalf("schema %v", out.Schema())
	}
	if out.Column(0).IsValid(1) || out.Column(0).(*array.Int64).Value(0) != 1 {
		t.Fatal("int32 values or nulls changed")
	}
	if v := out.Column(1).(*array.Timestamp).Value(0); v != 1700000000123000 {
		t.Fatalf("timestamp = %d, want the same instant in microseconds", v)
	}

	// A lossy narrowing fails instead of wrapping.
	_, _, err = conform(mem, rec, map[string]arrow.DataType{"big": arrow.PrimitiveTypes.Int32})
	if !apierr.Is(err, apierr.InvalidArgument) || !strings.Contains(err.Error(), "big") {
		t.Fatalf("lossy cast: %v", err)
	}
	// Unrelated types are left for the enforcer to refuse.
	same, changed, err := conform(mem, rec, map[string]arrow.DataType{"id": arrow.BinaryTypes.String})
	if err != nil || changed || same != rec {
		t.Fatalf("int32 -> string: %v %v", err, changed)
	}
}
