package sqlsubset_test

import (
	"testing"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

func TestParseTypeRoundTrip(t *testing.T) {
	tests := []struct {
		in   string
		want sqlsubset.Type
	}{
		{"null", sqlsubset.Type{ID: sqlsubset.Null}},
		{"bool", sqlsubset.Type{ID: sqlsubset.Bool}},
		{"int8", sqlsubset.Type{ID: sqlsubset.Int8}},
		{"int16", sqlsubset.Type{ID: sqlsubset.Int16}},
		{"int32", sqlsubset.Type{ID: sqlsubset.Int32}},
		{"int64", sqlsubset.Type{ID: sqlsubset.Int64}},
		{"uint8", sqlsubset.Type{ID: sqlsubset.Uint8}},
		{"uint16", sqlsubset.Type{ID: sqlsubset.Uint16}},
		{"uint32", sqlsubset.Type{ID: sqlsubset.Uint32}},
		{"uint64", sqlsubset.Type{ID: sqlsubset.Uint64}},
		{"float32", sqlsubset.Type{ID: sqlsubset.Float32}},
		{"float64", sqlsubset.Type{ID: sqlsubset.Float64}},
		{"string", sqlsubset.Type{ID: sqlsubset.String}},
		{"binary", sqlsubset.Type{ID: sqlsubset.Binary}},
		{"date32", sqlsubset.Type{ID: sqlsubset.Date32}},
		{"decimal128(10,2)", sqlsubset.DecimalType(10, 2)},
		{"decimal128(38,38)", sqlsubset.DecimalType(38, 38)},
		{"timestamp(us)", sqlsubset.TimestampType(sqlsubset.Micro, "")},
		{"timestamp(ns,UTC)", sqlsubset.TimestampType(sqlsubset.Nano, "UTC")},
		{"timestamp(s,America/New_York)", sqlsubset.TimestampType(sqlsubset.Second, "America/New_York")},
		{"timestamp(ms,+05:30)", sqlsubset.TimestampType(sqlsubset.Milli, "+05:30")},
		{"list<int32>", sqlsubset.ListType(sqlsubset.Type{ID: sqlsubset.Int32})},
		{"struct<city:string,zip:int32>", sqlsubset.StructType(
			sqlsubset.Field{Name: "city", Type: sqlsubset.Type{ID: sqlsubset.String}},
			sqlsubset.Field{Name: "zip", Type: sqlsubset.Type{ID: sqlsubset.Int32}})},
		{`struct<"Weird ""Name""":list<struct<a:bool>>>`, sqlsubset.StructType(
			sqlsubset.Field{Name: `Weird "Name"`, Type: sqlsubset.ListType(sqlsubset.StructType(
				sqlsubset.Field{Name: "a", Type: sqlsubset.Type{ID: sqlsubset.Bool}}))})},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := sqlsubset.ParseType(tt.in)
			if err != nil {
				t.Fatalf("ParseType: %v", err)
			}
			if !got.Equal(tt.want) {
				t.Fatalf("ParseType = %#v, want %#v", got, tt.want)
			}
			if s := got.String(); s != tt.in {
				t.Fatalf("String = %q, want %q", s, tt.in)
			}
		})
	}
}

func TestParseTypeErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `type "": expected a type name at offset 0`},
		{"int", `type "int": unknown type "int" at offset 0`},
		{"INT64", `type "INT64": expected a type name at offset 0`},
		{"int64 ", `type "int64 ": unexpected " " at offset 5`},
		{"decimal128(39,2)", `type "decimal128(39,2)": decimal precision 39 is out of range 1..38`},
		{"decimal128(5,6)", `type "decimal128(5,6)": decimal scale 6 is out of range 0..5`},
		{"decimal128(05,1)", `type "decimal128(05,1)": expected a number at offset 11`},
		{"decimal128(10)", `type "decimal128(10)": expected "," at offset 13`},
		{"timestamp(min)", `type "timestamp(min)": timestamp unit must be s, ms, us or ns at offset 13`},
		{"timestamp(us,)", `type "timestamp(us,)": invalid time zone "" at offset 13`},
		{"timestamp(us,a b)", `type "timestamp(us,a b)": invalid time zone "a b" at offset 13`},
		{"list<>", `type "list<>": expected a type name at offset 5`},
		{"struct<>", `type "struct<>": expected a field name at offset 7`},
		{"struct<a:int32,a:string>", `type "struct<a:int32,a:string>": duplicate struct field "a"`},
		{`struct<"a":int32>`, `type "struct<\"a\":int32>": field name a must not be quoted at offset 7`},
		{"map<string,string>", `type "map<string,string>": unknown type "map" at offset 0`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := sqlsubset.ParseType(tt.in)
			if err == nil {
				t.Fatal("ParseType succeeded")
			}
			if !apierr.Is(err, apierr.InvalidArgument) || err.Error() != tt.want {
				t.Fatalf("error = %q (%s), want %q", err, apierr.CodeOf(err), tt.want)
			}
		})
	}
}

func TestParseTypeDepthLimit(t *testing.T) {
	s := "int32"
	for i := 0; i < 40; i++ {
		s = "list<" + s + ">"
	}
	if _, err := sqlsubset.ParseType(s); err == nil {
		t.Fatal("40 nested lists accepted")
	}
}

func TestParseSchema(t *testing.T) {
	s, err := sqlsubset.ParseSchema(map[string]string{"a": "int64", "b": "struct<c:string>"})
	if err != nil {
		t.Fatal(err)
	}
	if !s["b"].Equal(sqlsubset.MustParseType("struct<c:string>")) {
		t.Fatalf("b = %v", s["b"])
	}
	_, err = sqlsubset.ParseSchema(map[string]string{"a": "int64", "z": "varchar"})
	if err == nil || err.Error() != `column z: type "varchar": unknown type "varchar" at offset 0` {
		t.Fatalf("err = %v", err)
	}
}
