package sqlsubset_test

import (
	"testing"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

var testSchema = sqlsubset.Schema{
	"id":      sqlsubset.MustParseType("int64"),
	"small":   sqlsubset.MustParseType("int8"),
	"count":   sqlsubset.MustParseType("uint32"),
	"score":   sqlsubset.MustParseType("float64"),
	"price":   sqlsubset.MustParseType("decimal128(10,2)"),
	"region":  sqlsubset.MustParseType("string"),
	"blob":    sqlsubset.MustParseType("binary"),
	"active":  sqlsubset.MustParseType("bool"),
	"day":     sqlsubset.MustParseType("date32"),
	"ts":      sqlsubset.MustParseType("timestamp(us)"),
	"tstz":    sqlsubset.MustParseType("timestamp(ms,UTC)"),
	"address": sqlsubset.MustParseType("struct<city:string,geo:struct<lat:float64>>"),
	"tags":    sqlsubset.MustParseType("list<string>"),
}

func TestTypeCheckAccepts(t *testing.T) {
	tests := []struct {
		name string
		e    sqlsubset.Expr
	}{
		{"int with int literal", cmp(sqlsubset.Eq, col("id"), i64(1))},
		{"int8 with decimal literal", cmp(sqlsubset.Gt, col("small"), sqlsubset.DecimalLiteral("15", 2, 1))},
		{"uint with float", cmp(sqlsubset.Lt, col("count"), col("score"))},
		{"decimal with int", cmp(sqlsubset.Ge, col("price"), i64(10))},
		{"string", cmp(sqlsubset.Ne, col("region"), str("eu"))},
		{"binary", cmp(sqlsubset.Eq, col("blob"), sqlsubset.BinaryLiteral([]byte{1}))},
		{"bool column alone is a filter", col("active")},
		{"null literal", cmp(sqlsubset.Eq, col("region"), sqlsubset.NullLiteral())},
		{"date with string literal", cmp(sqlsubset.Ge, col("day"), str("2024-01-31"))},
		{"string literal with date (left)", cmp(sqlsubset.Le, str("2024-01-31"), col("day"))},
		{"timestamp with date", cmp(sqlsubset.Lt, col("ts"), col("day"))},
		{"timestamp with string literal", cmp(sqlsubset.Lt, col("ts"), str("2024-01-31 10:00:00.5"))},
		{"timestamptz with offset literal", cmp(sqlsubset.Lt, col("tstz"), str("2024-01-31T10:00:00+01:00"))},
		{"nested field", cmp(sqlsubset.Eq, col("address", "city"), str("Paris"))},
		{"deeply nested field", cmp(sqlsubset.Gt, col("address", "geo", "lat"), sqlsubset.Float64Literal(1))},
		{"and/or/not", or(and(col("active"), &sqlsubset.Not{Arg: col("active")}), sqlsubset.BoolLiteral(false))},
		{"in", &sqlsubset.In{Expr: col("day"), List: []*sqlsubset.Literal{str("2024-01-01"), sqlsubset.NullLiteral()}}},
		{"between", &sqlsubset.Between{Expr: col("price"), Low: i64(1), High: sqlsubset.Float64Literal(9.5)}},
		{"between dates", &sqlsubset.Between{Expr: col("day"), Low: str("2024-01-01"), High: str("2024-12-31")}},
		{"like", &sqlsubset.Like{Expr: col("region"), Pattern: "e%"}},
		{"is null on struct", &sqlsubset.IsNull{Expr: col("address")}},
		{"is true", &sqlsubset.IsBool{Expr: col("active"), Value: true}},
		{"cast", cmp(sqlsubset.Eq, &sqlsubset.Cast{Expr: col("id"), Type: sqlsubset.Type{ID: sqlsubset.String}}, str("1"))},
		{"cast string literal to date", cmp(sqlsubset.Eq, col("day"), &sqlsubset.Cast{Expr: str("2024-02-29"), Type: sqlsubset.Type{ID: sqlsubset.Date32}})},
		{"policy functions", or(call("has_role", str("admin")), cmp(sqlsubset.Eq, col("region"), call("user_attribute", str("region"))))},
		{"current_user", cmp(sqlsubset.Eq, call("current_user"), col("region"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := sqlsubset.TypeCheck(tt.e, testSchema); err != nil {
				t.Fatalf("TypeCheck(%s): %v", tt.e, err)
			}
		})
	}
}

func TestTypeCheckRejects(t *testing.T) {
	tests := []struct {
		name string
		e    sqlsubset.Expr
		want string
	}{
		{"unknown column", cmp(sqlsubset.Eq, col("nope"), i64(1)), "unknown column nope"},
		{"unknown quoted column", cmp(sqlsubset.Eq, col("Region"), i64(1)), `unknown column "Region"`},
		{"unknown field", cmp(sqlsubset.Eq, col("address", "zip"), i64(1)), "column address has no field zip"},
		{"field of non-struct", cmp(sqlsubset.Eq, col("region", "x"), i64(1)), "column region is not a struct: region is string"},
		{"unknown function", cmp(sqlsubset.Eq, col("region"), call("lower", col("region"))), "unknown function lower"},
		{"not boolean", col("id"), "the filter id is of type int64, not boolean"},
		{"string literal filter", str("yes"), "the filter 'yes' is of type string, not boolean"},
		{"int with string", cmp(sqlsubset.Eq, col("id"), str("1")), "cannot compare id (int64) with '1' (string)"},
		{"string with int", cmp(sqlsubset.Eq, col("region"), i64(1)), "cannot compare region (string) with 1 (int64)"},
		{"bool with int", cmp(sqlsubset.Eq, col("active"), i64(1)), "cannot compare active (bool) with 1 (int64)"},
		{"date with string column", cmp(sqlsubset.Eq, col("day"), col("region")), "cannot compare day (date32) with region (string)"},
		{"date with bad literal", cmp(sqlsubset.Eq, col("day"), str("yesterday")), "'yesterday' is not a date (want YYYY-MM-DD)"},
		{"date with impossible date", cmp(sqlsubset.Eq, col("day"), str("2023-02-29")), "'2023-02-29' is not a date (want YYYY-MM-DD)"},
		{"timestamp with offset", cmp(sqlsubset.Eq, col("ts"), str("2024-01-01 00:00:00Z")), "'2024-01-01 00:00:00Z' has a time zone offset but is compared with a timestamp without time zone"},
		{"timestamp too precise", cmp(sqlsubset.Eq, col("tstz"), str("2024-01-01 00:00:00.0001")), "'2024-01-01 00:00:00.0001' is more precise than timestamp unit ms"},
		{"struct compare", cmp(sqlsubset.Eq, col("address"), col("address")), "cannot compare address (struct<city:string,geo:struct<lat:float64>>) with address (struct<city:string,geo:struct<lat:float64>>)"},
		{"list compare", cmp(sqlsubset.Eq, col("tags"), str("x")), "cannot compare tags (list<string>) with 'x' (string)"},
		{"and of int", and(col("active"), col("id")), "operand of AND must be boolean: id is int64"},
		{"or of string", or(col("region"), col("active")), "operand of OR must be boolean: region is string"},
		{"not of date", &sqlsubset.Not{Arg: col("day")}, "operand of NOT must be boolean: day is date32"},
		{"in mixed", &sqlsubset.In{Expr: col("id"), List: []*sqlsubset.Literal{i64(1), str("2")}}, "cannot compare id (int64) with '2' (string)"},
		{"between mixed", &sqlsubset.Between{Expr: col("region"), Low: str("a"), High: i64(2)}, "cannot compare region (string) with 2 (int64)"},
		{"like on int", &sqlsubset.Like{Expr: col("id"), Pattern: "1%"}, "LIKE needs a string operand: id is int64"},
		{"is true on int", &sqlsubset.IsBool{Expr: col("id"), Value: true}, "IS TRUE/FALSE needs a boolean operand: id is int64"},
		{"cast struct", &sqlsubset.Cast{Expr: col("address"), Type: sqlsubset.Type{ID: sqlsubset.String}}, "cannot cast address from struct<city:string,geo:struct<lat:float64>> to string"},
		{"cast date to int", cmp(sqlsubset.Eq, &sqlsubset.Cast{Expr: col("day"), Type: sqlsubset.Type{ID: sqlsubset.Int32}}, i64(1)), "cannot cast day from date32 to int32"},
		// Only casts agents evaluate: a filter accepted here never fails a read.
		{"cast string column to int", cmp(sqlsubset.Eq, &sqlsubset.Cast{Expr: col("region"), Type: sqlsubset.Type{ID: sqlsubset.Int64}}, i64(1)), "cannot cast region from string to int64"},
		{"cast bool to int", cmp(sqlsubset.Eq, &sqlsubset.Cast{Expr: col("active"), Type: sqlsubset.Type{ID: sqlsubset.Int64}}, i64(1)), "cannot cast active from bool to int64"},
		{"cast timestamp to string", cmp(sqlsubset.Eq, &sqlsubset.Cast{Expr: col("ts"), Type: sqlsubset.Type{ID: sqlsubset.String}}, sqlsubset.StringLiteral("x")), "cannot cast ts from timestamp(us) to string"},
		{"cast string column to date", cmp(sqlsubset.Eq, &sqlsubset.Cast{Expr: col("region"), Type: sqlsubset.Type{ID: sqlsubset.Date32}}, sqlsubset.Date32Literal(1)), "cannot cast region from string to date32"},
		{"cast binary to string", cmp(sqlsubset.Eq, &sqlsubset.Cast{Expr: col("blob"), Type: sqlsubset.Type{ID: sqlsubset.String}}, sqlsubset.StringLiteral("x")), "cannot cast blob from binary to string"},
		{"cast bad date literal", cmp(sqlsubset.Eq, col("day"), &sqlsubset.Cast{Expr: str("x"), Type: sqlsubset.Type{ID: sqlsubset.Date32}}), "'x' is not a date (want YYYY-MM-DD)"},
		{"has_role is not a string", cmp(sqlsubset.Eq, col("region"), call("has_role", str("a"))), "cannot compare region (string) with has_role('a') (bool)"},
		{"invalid tree", and(col("active")), "AND needs at least 2 operands, has 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sqlsubset.TypeCheck(tt.e, testSchema)
			if err == nil || err.Error() != tt.want || !apierr.Is(err, apierr.InvalidArgument) {
				t.Fatalf("TypeCheck(%s) = %v, want %q", tt.e, err, tt.want)
			}
		})
	}
}

func TestTypeOf(t *testing.T) {
	got, err := sqlsubset.TypeOf(&sqlsubset.Cast{Expr: col("id"), Type: sqlsubset.DecimalType(20, 0)}, testSchema)
	if err != nil || !got.Equal(sqlsubset.DecimalType(20, 0)) {
		t.Fatalf("TypeOf = %v, %v", got, err)
	}
	got, err = sqlsubset.TypeOf(col("address", "geo"), testSchema)
	if err != nil || got.String() != "struct<lat:float64>" {
		t.Fatalf("TypeOf = %v, %v", got, err)
	}
}

func TestCoerce(t *testing.T) {
	e := and(
		cmp(sqlsubset.Ge, col("day"), str("2024-01-02")),
		cmp(sqlsubset.Lt, str("2024-01-01 00:00:01.5+01:00"), col("tstz")),
		&sqlsubset.In{Expr: col("ts"), List: []*sqlsubset.Literal{str("1970-01-01 00:00:01")}},
		cmp(sqlsubset.Eq, col("region"), str("2024-01-02")),
	)
	got, err := sqlsubset.Coerce(e, testSchema)
	if err != nil {
		t.Fatal(err)
	}
	want := and(
		cmp(sqlsubset.Ge, col("day"), sqlsubset.Date32Literal(19724)),
		cmp(sqlsubset.Lt, sqlsubset.TimestampLiteral(1704063601500, sqlsubset.Milli, "UTC"), col("tstz")),
		&sqlsubset.In{Expr: col("ts"), List: []*sqlsubset.Literal{sqlsubset.TimestampLiteral(1000000, sqlsubset.Micro, "")}},
		cmp(sqlsubset.Eq, col("region"), str("2024-01-02")),
	)
	if !sqlsubset.Equal(got, want) {
		t.Fatalf("Coerce =\n%s\nwant\n%s", got, want)
	}
	// The input is unchanged.
	if !sqlsubset.Equal(e.Args[0].(*sqlsubset.Compare).Right, str("2024-01-02")) {
		t.Fatal("Coerce modified its input")
	}
}
