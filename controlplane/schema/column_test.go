package schema

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/extensions"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

func TestTypeOf(t *testing.T) {
	ok := []struct {
		dt   arrow.DataType
		want string
	}{
		{arrow.Null, "null"},
		{arrow.BinaryTypes.LargeString, "string"},
		{arrow.BinaryTypes.StringView, "string"},
		{arrow.BinaryTypes.LargeBinary, "binary"},
		{&arrow.FixedSizeBinaryType{ByteWidth: 16}, "binary"},
		{arrow.FixedWidthTypes.Date64, "date32"},
		{&arrow.Decimal32Type{Precision: 7, Scale: 2}, "decimal128(7,2)"},
		{&arrow.Decimal64Type{Precision: 18, Scale: 0}, "decimal128(18,0)"},
		{&arrow.Decimal256Type{Precision: 38, Scale: 38}, "decimal128(38,38)"},
		{&arrow.TimestampType{Unit: arrow.Second}, "timestamp(s)"},
		{&arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "+01:00"}, "timestamp(ns,+01:00)"},
		{arrow.LargeListOf(arrow.PrimitiveTypes.Int32), "list<int32>"},
		{arrow.FixedSizeListOf(3, arrow.PrimitiveTypes.Float32), "list<float32>"},
		{arrow.ListViewOf(arrow.BinaryTypes.String), "list<string>"},
		{&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, "string"},
		{arrow.RunEndEncodedOf(arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64), "int64"},
		{extensions.NewUUIDType(), "binary"},
		{arrow.StructOf(arrow.Field{Name: "Mixed Case", Type: arrow.ListOf(arrow.StructOf(arrow.Field{Name: "x", Type: arrow.FixedWidthTypes.Boolean}))}),
			`struct<"Mixed Case":list<struct<x:bool>>>`},
	}
	for _, c := range ok {
		got, err := TypeOf(c.dt)
		if err != nil {
			t.Errorf("TypeOf(%s): %v", c.dt, err)
			continue
		}
		if got.String() != c.want {
			t.Errorf("TypeOf(%s) = %s, want %s", c.dt, got, c.want)
		}
		if _, err := sqlsubset.ParseType(got.String()); err != nil {
			t.Errorf("TypeOf(%s) = %s, which ParseType refuses: %v", c.dt, got, err)
		}
	}
	bad := []arrow.DataType{
		arrow.FixedWidthTypes.Float16, arrow.FixedWidthTypes.Time32ms, arrow.FixedWidthTypes.Time64us,
		arrow.FixedWidthTypes.Duration_s, arrow.FixedWidthTypes.MonthInterval,
		arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64),
		&arrow.Decimal256Type{Precision: 40, Scale: 2},
		arrow.StructOf(),
		arrow.ListOf(arrow.FixedWidthTypes.Float16),
		arrow.SparseUnionOf(nil, nil),
	}
	for _, dt := range bad {
		if got, err := TypeOf(dt); !apierr.Is(err, apierr.InvalidArgument) {
			t.Errorf("TypeOf(%s) = %s, %v; want InvalidArgument", dt, got, err)
		}
	}
	deep := arrow.DataType(arrow.PrimitiveTypes.Int64)
	for range 40 {
		deep = arrow.ListOf(deep)
	}
	if _, err := TypeOf(deep); !apierr.Is(err, apierr.InvalidArgument) {
		t.Errorf("40 nested lists: %v", err)
	}
}

func TestFromArrowErrors(t *testing.T) {
	cases := []struct {
		s    *arrow.Schema
		want string
	}{
		{arrow.NewSchema([]arrow.Field{{Name: "", Type: arrow.PrimitiveTypes.Int64}}, nil), "empty name"},
		{arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}, {Name: "a", Type: arrow.PrimitiveTypes.Int32}}, nil), `column "a" appears twice`},
		{arrow.NewSchema([]arrow.Field{{Name: "m", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String)}}, nil), `column "m": Arrow type map<utf8, utf8`},
		{arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.StructOf(
			arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64}, arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64})}}, nil), `duplicate struct field "x"`},
	}
	for _, c := range cases {
		_, err := FromArrow(c.s)
		if !apierr.Is(err, apierr.InvalidArgument) || !strings.Contains(apierr.PublicMessage(err), c.want) {
			t.Errorf("FromArrow(%s) = %v, want %q", c.s, err, c.want)
		}
	}
}

func TestArrowRoundTrip(t *testing.T) {
	cols, err := FromArrow(allTypes)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ToArrow(cols)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range allTypes.Fields() {
		if g := back.Field(i); g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) || g.Nullable != f.Nullable {
			t.Errorf("field %d: %v, want %v", i, g, f)
		}
	}
	for _, s := range []string{"null", "decimal128(38,0)", "timestamp(s,UTC)", "list<list<binary>>", `struct<"a b":date32>`} {
		typ := sqlsubset.MustParseType(s)
		dt, err := ArrowType(typ)
		if err != nil {
			t.Errorf("ArrowType(%s): %v", s, err)
			continue
		}
		again, err := TypeOf(dt)
		if err != nil || !again.Equal(typ) {
			t.Errorf("TypeOf(ArrowType(%s)) = %s, %v", s, again, err)
		}
	}
	if _, err := ArrowType(sqlsubset.Type{ID: sqlsubset.Invalid}); !apierr.Is(err, apierr.InvalidArgument) {
		t.Errorf("ArrowType(invalid): %v", err)
	}
}
