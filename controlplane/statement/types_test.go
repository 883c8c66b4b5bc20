package statement_test

import (
	"testing"

	"github.com/nscale/nscale/controlplane/statement"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

func TestParseColumnType(t *testing.T) {
	tests := []struct{ in, want string }{
		{"BOOLEAN", "bool"}, {"bool", "bool"},
		{"TINYINT", "int8"}, {"byte", "int8"},
		{"SMALLINT", "int16"}, {"int2", "int16"}, {"short", "int16"}, {"int16", "int16"},
		{"INT", "int32"}, {"Integer", "int32"}, {"int4", "int32"}, {"int32", "int32"},
		{"BIGINT", "int64"}, {"int8", "int64"}, {"long", "int64"}, {"int64", "int64"},
		{"uint8", "uint8"}, {"UINT16", "uint16"}, {"uint32", "uint32"}, {"uint64", "uint64"},
		{"REAL", "float32"}, {"float4", "float32"}, {"float32", "float32"}, {"FLOAT(24)", "float32"},
		{"DOUBLE", "float64"}, {"DOUBLE PRECISION", "float64"}, {"float8", "float64"}, {"float64", "float64"},
		{"FLOAT", "float64"}, {"float(25)", "float64"},
		{"DECIMAL", "decimal128(10,0)"}, {"decimal(5)", "decimal128(5,0)"}, {"DECIMAL(38, 10)", "decimal128(38,10)"},
		{"numeric(12,2)", "decimal128(12,2)"}, {"dec(3,3)", "decimal128(3,3)"},
		{"STRING", "string"}, {"text", "string"}, {"VARCHAR(255)", "string"}, {"varchar", "string"},
		{"CHAR(2)", "string"}, {"character(2)", "string"}, {"CHARACTER VARYING(10)", "string"}, {"char varying", "string"}, {"bpchar", "string"},
		{"BINARY", "binary"}, {"bytea", "binary"}, {"varbinary(16)", "binary"},
		{"DATE", "date32"},
		{"TIMESTAMP", "timestamp(us)"}, {"timestamp without time zone", "timestamp(us)"}, {"TIMESTAMP_NTZ", "timestamp(us)"},
		{"timestamp(0)", "timestamp(s)"}, {"timestamp(3)", "timestamp(ms)"}, {"timestamp(6)", "timestamp(us)"}, {"timestamp(9)", "timestamp(ns)"},
		{"TIMESTAMP WITH TIME ZONE", "timestamp(us,UTC)"}, {"timestamptz", "timestamp(us,UTC)"}, {"TIMESTAMP_LTZ", "timestamp(us,UTC)"},
		{"timestamp(3) with time zone", "timestamp(ms,UTC)"},
		{"ARRAY<INT>", "list<int32>"}, {"array<array<string>>", "list<list<string>>"}, {"int[]", "list<int32>"}, {"text[][]", "list<list<string>>"},
		{"int[3]", "list<int32>"},
		{"STRUCT<a:INT, b:STRING>", "struct<a:int32,b:string>"}, {"struct<a int, B string>", "struct<a:int32,b:string>"},
		{"struct<`Mixed Case`: bigint, \"x\": array<struct<y: date>>>", `struct<"Mixed Case":int64,x:list<struct<y:date32>>>`},
		{"struct<select: int>", "struct<select:int32>"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := statement.ParseColumnType(tt.in)
			if err != nil {
				t.Fatalf("ParseColumnType: %v", err)
			}
			if got.String() != tt.want {
				t.Fatalf("ParseColumnType = %s, want %s", got, tt.want)
			}
			// The SQL spelling sqlsubset renders reads back as the same type.
			back, err := statement.ParseColumnType(sqlsubset.SQLTypeName(got))
			if err != nil || !back.Equal(got) {
				t.Fatalf("ParseColumnType(%s) = %v, %v", sqlsubset.SQLTypeName(got), back, err)
			}
		})
	}
}

func TestParseColumnTypeErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty type"},
		{"varchar2", "unknown type VARCHAR2 at line 1, column 1"},
		{"map<string,int>", "type MAP is not supported at line 1, column 1"},
		{"uuid", "type UUID is not supported at line 1, column 1"},
		{"float(54)", "FLOAT: precision 54 is out of range 1..53 at line 1, column 1"},
		{"float(1,2)", "FLOAT: takes one parameter, the precision in bits at line 1, column 1"},
		{"decimal(0)", "DECIMAL: precision 0 is out of range 1..38 at line 1, column 1"},
		{"decimal(1,2,3)", "DECIMAL: takes at most two parameters, precision and scale at line 1, column 1"},
		{"varchar(0)", "VARCHAR: length must be at least 1 at line 1, column 1"},
		{"timestamp(10)", "TIMESTAMP: precision 10 is out of range 0..9 at line 1, column 1"},
		{"decimal(5001)", `a type parameter must be an integer in 0..1000, found "5001" at line 1, column 9`},
		{"int int", `unexpected "int" at line 1, column 5`},
		{"array<>", `expected "<", found "<>" at line 1, column 6`},
		{"array< >", `expected a type, found ">" at line 1, column 8`},
		{"array int", `expected "<", found "int" at line 1, column 7`},
		{"struct< >", `expected a struct field name, found ">" at line 1, column 9`},
		{"struct<a int", `expected "," or ">", found end of statement at line 1, column 13`},
		{"struct<a int, A string>", "duplicate struct field a at line 1, column 15"},
		{"int[", `expected "]", found end of statement at line 1, column 5`},
		{`"int"`, `expected a type, found ""int"" at line 1, column 1`},
		{"array<" + repeat("array<", 40) + "int" + repeat(">", 41), "type nests deeper than 32 levels at line 1, column 193"},
		{"int" + repeat("[]", 40), "type nests deeper than 32 levels at line 1, column 66"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := statement.ParseColumnType(tt.in)
			if err == nil || err.Error() != tt.want || !apierr.Is(err, apierr.InvalidArgument) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func repeat(s string, n int) string {
	out := ""
	for i := 0; i < n; i++ {
		out += s
	}
	return out
}
