package jsharness

import (
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// allTypesSchema has the types nscale's tables use, each nullable; every
// source (Go, DuckDB over Parquet, the Rust client over Flight) must render
// allTypes as allTypesWant.
var allTypesSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "amount", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "vip", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "ratio", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	{Name: "raw", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	{Name: "addr", Type: arrow.StructOf(
		arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		arrow.Field{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true},
	), Nullable: true},
	{Name: "local_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	{Name: "qty", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
}, nil)

var allTypesWant = Result{
	Columns: []Column{
		{"id", "int64"}, {"amount", "decimal(12,2)"}, {"name", "string"}, {"day", "date"},
		{"ts", "timestamptz"}, {"vip", "bool"}, {"score", "float64"}, {"ratio", "float32"},
		{"raw", "binary"}, {"tags", "list<string>"}, {"addr", "struct<a: int32, b: string>"},
		{"local_ts", "timestamp"}, {"qty", "int32"},
	},
	Rows: [][]any{
		{"1", "12.30", "Zoë Ångström 山田 🚀", "2024-01-02", "2024-01-02T03:04:05.000006Z", true, "0.1", "1.100000023841858",
			"qrs=", []any{"a", "b"}, map[string]any{"a": "1", "b": "x"}, "2024-01-02T03:04:05.000006", "-5"},
		{"9223372036854775807", "-0.05", "", "1969-12-31", "1969-12-31T23:59:59.999999Z", false, "1e+21", "-0",
			"", []any{}, map[string]any{"a": nil, "b": nil}, "1969-12-31T23:59:59.999999", "2147483647"},
		{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
	},
}

// allTypes is allTypesWant's rows as two record batches (rows 0-1 and 2),
// so readers that concatenate batches are exercised too.
func allTypes(mem memory.Allocator) []arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, allTypesSchema)
	defer b.Release()
	ts := time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC).UnixMicro()

	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, math.MaxInt64}, nil)
	b.Field(1).(*array.Decimal128Builder).AppendValues([]decimal128.Num{decimal128.FromI64(1230), decimal128.FromI64(-5)}, nil)
	b.Field(2).(*array.StringBuilder).AppendValues([]string{"Zoë Ångström 山田 🚀", ""}, nil)
	b.Field(3).(*array.Date32Builder).AppendValues([]arrow.Date32{19724, -1}, nil)
	b.Field(4).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(ts), -1}, nil)
	b.Field(5).(*array.BooleanBuilder).AppendValues([]bool{true, false}, nil)
	b.Field(6).(*array.Float64Builder).AppendValues([]float64{0.1, 1e21}, nil)
	b.Field(7).(*array.Float32Builder).AppendValues([]float32{1.1, float32(math.Copysign(0, -1))}, nil)
	b.Field(8).(*array.BinaryBuilder).AppendValues([][]byte{{0xaa, 0xbb}, {}}, nil)
	tags := b.Field(9).(*array.ListBuilder)
	tags.Append(true)
	tags.ValueBuilder().(*array.StringBuilder).AppendValues([]string{"a", "b"}, nil)
	tags.Append(true)
	addr := b.Field(10).(*array.StructBuilder)
	addr.Append(true)
	addr.FieldBuilder(0).(*array.Int32Builder).Append(1)
	addr.FieldBuilder(1).(*array.StringBuilder).Append("x")
	addr.Append(true)
	addr.FieldBuilder(0).AppendNull()
	addr.FieldBuilder(1).AppendNull()
	b.Field(11).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(ts), -1}, nil)
	b.Field(12).(*array.Int32Builder).AppendValues([]int32{-5, math.MaxInt32}, nil)
	first := b.NewRecordBatch()

	for _, f := range b.Fields() {
		f.AppendNull()
	}
	return []arrow.RecordBatch{first, b.NewRecordBatch()}
}

// extrasSchema has Arrow types that Parquet and DuckDB do not keep as they
// are, for the Flight path only.
var extrasSchema = arrow.NewSchema([]arrow.Field{
	{Name: "attrs", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64), Nullable: true},
	{Name: "at", Type: arrow.FixedWidthTypes.Time64us, Nullable: true},
	{Name: "ts_ns", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "Europe/Berlin"}, Nullable: true},
	{Name: "ts_s", Type: &arrow.TimestampType{Unit: arrow.Second}, Nullable: true},
	{Name: "big", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
	{Name: "d64", Type: arrow.FixedWidthTypes.Date64, Nullable: true},
	{Name: "fsb", Type: &arrow.FixedSizeBinaryType{ByteWidth: 3}, Nullable: true},
	{Name: "wide", Type: &arrow.Decimal128Type{Precision: 38, Scale: 10}, Nullable: true},
}, nil)

var extrasWant = Result{
	Columns: []Column{
		{"attrs", "map<string, int64>"}, {"at", "time"}, {"ts_ns", "timestamptz"},
		{"ts_s", "timestamp"}, {"big", "uint64"}, {"d64", "date"}, {"fsb", "binary"}, {"wide", "decimal(38,10)"},
	},
	Rows: [][]any{
		{[]any{map[string]any{"key": "k", "value": "-9223372036854775808"}}, "23:59:59.999999",
			"2024-01-02T03:04:05.123456789Z", "1900-02-28T00:00:00.000000", "18446744073709551615", "1969-12-31", "AQID",
			"-1234567890123456789012345678.9012345678"},
		{[]any{}, "00:00:00.000000", "1677-09-21T00:12:43.145224193Z", "9999-12-31T23:59:59.000000", "0", "2024-01-02", "AAAA", "0.0000000000"},
		{nil, nil, nil, nil, nil, nil, nil, nil},
	},
}

func extras(mem memory.Allocator) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, extrasSchema)
	defer b.Release()
	attrs := b.Field(0).(*array.MapBuilder)
	attrs.Append(true)
	attrs.KeyBuilder().(*array.StringBuilder).Append("k")
	attrs.ItemBuilder().(*array.Int64Builder).Append(math.MinInt64)
	attrs.Append(true)
	attrs.AppendNull()
	b.Field(1).(*array.Time64Builder).AppendValues([]arrow.Time64{86399999999, 0}, nil)
	b.Field(2).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{
		arrow.Timestamp(time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC).UnixNano()), math.MinInt64 + 1}, nil)
	b.Field(3).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{
		arrow.Timestamp(time.Date(1900, 2, 28, 0, 0, 0, 0, time.UTC).Unix()),
		arrow.Timestamp(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix())}, nil)
	b.Field(4).(*array.Uint64Builder).AppendValues([]uint64{math.MaxUint64, 0}, nil)
	b.Field(5).(*array.Date64Builder).AppendValues([]arrow.Date64{-1, 19724*86400000 + 5}, nil)
	b.Field(6).(*array.FixedSizeBinaryBuilder).AppendValues([][]byte{{1, 2, 3}, {0, 0, 0}}, nil)
	wide, _ := decimal128.FromString("-1234567890123456789012345678.9012345678", 38, 10)
	b.Field(7).(*array.Decimal128Builder).AppendValues([]decimal128.Num{wide, {}}, nil)
	for _, f := range b.Fields()[1:] {
		f.AppendNull()
	}
	return b.NewRecordBatch()
}

// dictSchema is a dictionary-encoded column: Go renders it as its values; the
// Rust client cannot return it at all (see TestRustClientCannotReadDictionaries).
var dictSchema = arrow.NewSchema([]arrow.Field{
	{Name: "country", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}, Nullable: true},
}, nil)

var dictWant = Result{Columns: []Column{{"country", "string"}}, Rows: [][]any{{"DE"}, {"US"}, {"DE"}, {nil}}}

func dict(mem memory.Allocator) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, dictSchema)
	defer b.Release()
	country := b.Field(0).(*array.BinaryDictionaryBuilder)
	for _, c := range []string{"DE", "US", "DE"} {
		_ = country.AppendString(c)
	}
	country.AppendNull()
	return b.NewRecordBatch()
}
