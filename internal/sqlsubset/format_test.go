package sqlsubset_test

import (
	"errors"
	"testing"
	"time"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

func TestString(t *testing.T) {
	tests := []struct {
		e    sqlsubset.Expr
		want string
	}{
		{col("a"), "a"},
		{col("Mixed Case"), `"Mixed Case"`},
		{col("select"), `"select"`},
		{col("timestamp"), `"timestamp"`},
		{col(`we"ird`), `"we""ird"`},
		{col("address", "city"), "address.city"},
		{sqlsubset.NullLiteral(), "NULL"},
		{sqlsubset.BoolLiteral(false), "FALSE"},
		{i64(-5), "-5"},
		{sqlsubset.Uint64Literal(18446744073709551615), "18446744073709551615"},
		{sqlsubset.Float64Literal(0.25), "2.5e-01"},
		{sqlsubset.DecimalLiteral("-12345", 5, 2), "-123.45"},
		{sqlsubset.DecimalLiteral("5", 3, 3), "0.005"},
		{sqlsubset.DecimalLiteral("150", 10, 2), "CAST(1.50 AS DECIMAL(10,2))"},
		{sqlsubset.DecimalLiteral("-5", 1, 0), "CAST(-5 AS DECIMAL(1,0))"},
		{str("it's"), "'it''s'"},
		{sqlsubset.BinaryLiteral([]byte{0xca, 0xfe}), "X'CAFE'"},
		{sqlsubset.Date32Literal(0), "DATE '1970-01-01'"},
		{sqlsubset.TimestampLiteral(1500, sqlsubset.Milli, ""), "TIMESTAMP '1970-01-01 00:00:01.5'"},
		{sqlsubset.TimestampLiteral(-1, sqlsubset.Nano, "UTC"), "TIMESTAMP WITH TIME ZONE '1969-12-31 23:59:59.999999999+00'"},
		{cmp(sqlsubset.Ne, col("a"), str("x")), "a <> 'x'"},
		{and(cmp(sqlsubset.Eq, col("a"), i64(1)), or(col("b"), col("c"))), "a = 1 AND (b OR c)"},
		{or(and(col("a"), col("b")), col("c")), "a AND b OR c"},
		{and(and(col("a"), col("b")), col("c")), "(a AND b) AND c"},
		{&sqlsubset.Not{Arg: cmp(sqlsubset.Eq, col("a"), i64(1))}, "NOT a = 1"},
		{&sqlsubset.Not{Arg: or(col("a"), col("b"))}, "NOT (a OR b)"},
		{cmp(sqlsubset.Eq, &sqlsubset.IsNull{Expr: col("a")}, sqlsubset.BoolLiteral(true)), "(a IS NULL) = TRUE"},
		{&sqlsubset.In{Expr: col("a"), List: []*sqlsubset.Literal{i64(1), i64(2)}, Not: true}, "a NOT IN (1, 2)"},
		{&sqlsubset.Between{Expr: col("a"), Low: i64(1), High: i64(2)}, "a BETWEEN 1 AND 2"},
		{&sqlsubset.Like{Expr: col("a"), Pattern: "x%", Not: true, CaseInsensitive: true}, "a NOT ILIKE 'x%'"},
		{&sqlsubset.IsNull{Expr: col("a"), Not: true}, "a IS NOT NULL"},
		{&sqlsubset.IsBool{Expr: col("a"), Value: false, Not: true}, "a IS NOT FALSE"},
		{&sqlsubset.Cast{Expr: col("a"), Type: sqlsubset.MustParseType("timestamp(ms,UTC)")}, "CAST(a AS TIMESTAMP(3) WITH TIME ZONE)"},
		{&sqlsubset.Cast{Expr: col("a"), Type: sqlsubset.MustParseType("list<struct<x:int8>>")}, "CAST(a AS ARRAY<STRUCT<x:TINYINT>>)"},
		{call("current_user"), "current_user()"},
		{call("user_attribute", str("dept")), "user_attribute('dept')"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.e.String(); got != tt.want {
				t.Fatalf("String = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSQLTypeName(t *testing.T) {
	for in, want := range map[string]string{
		"bool": "BOOLEAN", "int8": "TINYINT", "int16": "SMALLINT", "int32": "INTEGER", "int64": "BIGINT",
		"uint16": "UINT16", "float32": "REAL", "float64": "DOUBLE PRECISION", "string": "TEXT", "binary": "BYTEA",
		"date32": "DATE", "timestamp(us)": "TIMESTAMP", "timestamp(s,UTC)": "TIMESTAMP(0) WITH TIME ZONE",
		"timestamp(ns)": "TIMESTAMP(9)", "decimal128(38,10)": "DECIMAL(38,10)",
		`struct<"A":list<int32>>`: `STRUCT<"A":ARRAY<INTEGER>>`,
	} {
		if got := sqlsubset.SQLTypeName(sqlsubset.MustParseType(in)); got != want {
			t.Errorf("SQLTypeName(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{"a_1": "a_1", "1a": `"1a"`, "user": `"user"`, "": `""`, "é": `"é"`} {
		if got := sqlsubset.QuoteIdent(in); got != want {
			t.Errorf("QuoteIdent(%q) = %q, want %q", in, got, want)
		}
	}
	if !sqlsubset.IsReservedWord("select") || sqlsubset.IsReservedWord("region") || !sqlsubset.IsReservedWord("left") {
		t.Error("IsReservedWord")
	}
}

func TestParseDateAndTimestamp(t *testing.T) {
	d, err := sqlsubset.ParseDate("0001-01-01")
	if err != nil || d != -719162 || sqlsubset.FormatDate(d) != "0001-01-01" {
		t.Fatalf("ParseDate = %d, %v", d, err)
	}
	for _, bad := range []string{"2024-1-01", "2024-13-01", "0000-01-01", "2024-01-01x", ""} {
		if _, err := sqlsubset.ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) succeeded", bad)
		}
	}
	tests := []struct {
		in     string
		want   time.Time
		offset bool
		unit   sqlsubset.TimeUnit
	}{
		{"2024-01-31", time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC), false, sqlsubset.Micro},
		{"2024-01-31 10:11", time.Date(2024, 1, 31, 10, 11, 0, 0, time.UTC), false, sqlsubset.Micro},
		{"2024-01-31T10:11:12.123456", time.Date(2024, 1, 31, 10, 11, 12, 123456000, time.UTC), false, sqlsubset.Micro},
		{"2024-01-31 10:11:12.1234567", time.Date(2024, 1, 31, 10, 11, 12, 123456700, time.UTC), false, sqlsubset.Nano},
		{"2024-01-31 10:11:12Z", time.Date(2024, 1, 31, 10, 11, 12, 0, time.UTC), true, sqlsubset.Micro},
		{"2024-01-31 10:11:12+02", time.Date(2024, 1, 31, 8, 11, 12, 0, time.UTC), true, sqlsubset.Micro},
		{"2024-01-31 10:11:12-05:30", time.Date(2024, 1, 31, 15, 41, 12, 0, time.UTC), true, sqlsubset.Micro},
		{"9999-12-31 23:59:59.999999", time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), false, sqlsubset.Micro},
	}
	for _, tt := range tests {
		got, off, unit, err := sqlsubset.ParseTimestamp(tt.in)
		if err != nil || !got.Equal(tt.want) || off != tt.offset || unit != tt.unit {
			t.Errorf("ParseTimestamp(%q) = %v %v %v %v", tt.in, got, off, unit, err)
		}
	}
	for _, bad := range []string{"2024-01-31 24:00", "2024-01-31 10", "2024-01-31 10:00:00.", "2024-01-31 10:00:00.1234567890",
		"2024-01-31 10:00:00+1", "2024-01-31 10:00:00 +01", "3000-01-01 00:00:00.000000001", "9999-12-31 23:59:59-01"} {
		_, _, _, err := sqlsubset.ParseTimestamp(bad)
		if err == nil {
			t.Errorf("ParseTimestamp(%q) succeeded", bad)
		}
	}
}

func TestSubstitute(t *testing.T) {
	e := or(call("has_role", str("admin")),
		and(cmp(sqlsubset.Eq, col("owner"), call("current_user")),
			cmp(sqlsubset.Eq, col("region"), call("user_attribute", str("region")))))
	resolve := func(c *sqlsubset.Call) (*sqlsubset.Literal, error) {
		switch c.Name {
		case "current_user":
			return str("alice"), nil
		case "has_role":
			return sqlsubset.BoolLiteral(c.Args[0].(*sqlsubset.Literal).Str == "analyst"), nil
		case "user_attribute":
			return sqlsubset.NullLiteral(), nil // alice has no region attribute
		}
		return nil, errors.New("unexpected call")
	}
	got, err := sqlsubset.Substitute(e, resolve)
	if err != nil {
		t.Fatal(err)
	}
	want := or(sqlsubset.BoolLiteral(false),
		and(cmp(sqlsubset.Eq, col("owner"), str("alice")),
			cmp(sqlsubset.Eq, col("region"), sqlsubset.NullLiteral())))
	if !sqlsubset.Equal(got, want) {
		t.Fatalf("Substitute = %s, want %s", got, want)
	}
	if len(sqlsubset.Calls(got)) != 0 || len(sqlsubset.Calls(e)) != 3 {
		t.Fatal("calls left behind, or input modified")
	}
	simple := sqlsubset.Simplify(got)
	if simple.String() != "owner = 'alice' AND region = NULL" {
		t.Fatalf("Simplify = %s", simple)
	}

	// Errors: the resolver's own, a wrongly typed answer, no answer.
	boom := apierr.New(apierr.NotFound, "no such user")
	if _, err := sqlsubset.Substitute(e, func(*sqlsubset.Call) (*sqlsubset.Literal, error) { return nil, boom }); err != boom {
		t.Fatalf("err = %v", err)
	}
	_, err = sqlsubset.Substitute(e, func(*sqlsubset.Call) (*sqlsubset.Literal, error) { return i64(1), nil })
	if err == nil || err.Error() != "resolver returned int64 for has_role('admin'), want bool" {
		t.Fatalf("err = %v", err)
	}
	_, err = sqlsubset.Substitute(e, func(*sqlsubset.Call) (*sqlsubset.Literal, error) { return nil, nil })
	if !apierr.Is(err, apierr.Internal) {
		t.Fatalf("err = %v", err)
	}
}

func TestSimplify(t *testing.T) {
	T, F, N := sqlsubset.BoolLiteral(true), sqlsubset.BoolLiteral(false), sqlsubset.NullLiteral()
	tests := []struct {
		e    sqlsubset.Expr
		want string
	}{
		{or(T, col("a")), "TRUE"},
		{or(F, col("a")), "a"},
		{or(F, F), "FALSE"},
		{and(F, col("a")), "FALSE"},
		{and(T, col("a"), col("b")), "a AND b"},
		{and(T, T), "TRUE"},
		{and(N, T), "NULL"},
		{and(N, F), "FALSE"},
		{or(N, T), "TRUE"},
		{or(N, F, col("a")), "NULL OR a"},
		{&sqlsubset.Not{Arg: T}, "FALSE"},
		{&sqlsubset.Not{Arg: N}, "NULL"},
		{&sqlsubset.Not{Arg: and(T, col("a"))}, "NOT a"},
		{and(col("a"), or(F, and(col("b"), col("c")))), "a AND b AND c"},
		{cmp(sqlsubset.Eq, col("a"), i64(1)), "a = 1"},
	}
	for _, tt := range tests {
		if got := sqlsubset.Simplify(tt.e).String(); got != tt.want {
			t.Errorf("Simplify(%s) = %s, want %s", tt.e, got, tt.want)
		}
	}
}

func TestColumnsAndWalk(t *testing.T) {
	e := and(cmp(sqlsubset.Eq, col("b", "x"), col("a")), &sqlsubset.In{Expr: col("b"), List: []*sqlsubset.Literal{i64(1)}})
	got := sqlsubset.Columns(e)
	if len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("Columns = %v", got)
	}
	n := 0
	sqlsubset.Walk(e, func(sqlsubset.Expr) bool { n++; return true })
	if n != 7 {
		t.Fatalf("Walk visited %d nodes, want 7", n)
	}
}

func TestMask(t *testing.T) {
	valid := []sqlsubset.Mask{{Func: "null"}, {Func: "redact"}, {Func: "hash"}, {Func: "tokenize"},
		{Func: "show_last", Args: []int64{4}}, {Func: "show_first", Args: []int64{0}}, {Func: "email_domain"},
		{Func: "date_year"}, {Func: "round", Args: []int64{2}}, {Func: "zero"}}
	for _, m := range valid {
		if err := m.Validate(); err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
	if s := (sqlsubset.Mask{Func: "show_last", Args: []int64{4}}).String(); s != "show_last(4)" {
		t.Errorf("String = %s", s)
	}
	invalid := []struct {
		m    sqlsubset.Mask
		want string
	}{
		{sqlsubset.Mask{Func: "blur"}, "unknown mask function blur (known: date_year, email_domain, hash, null, redact, round, show_first, show_last, tokenize, zero)"},
		{sqlsubset.Mask{Func: "show_last"}, "mask function show_last takes 1 argument(s), got 0"},
		{sqlsubset.Mask{Func: "hash", Args: []int64{1}}, "mask function hash takes 0 argument(s), got 1"},
		{sqlsubset.Mask{Func: "round", Args: []int64{-1}}, "argument of mask function round must be an integer in 0..1048576, got -1"},
	}
	for _, tt := range invalid {
		if err := tt.m.Validate(); err == nil || err.Error() != tt.want {
			t.Errorf("Validate(%v) = %v, want %q", tt.m, err, tt.want)
		}
	}
	typeTests := []struct {
		m  string
		t  string
		ok bool
	}{
		{"null", "list<int32>", true}, {"redact", "string", true}, {"redact", "int64", true}, {"email_domain", "int64", false},
		{"tokenize", "int32", true}, {"tokenize", "float64", false}, {"hash", "int64", false},
		{"hash", "binary", true}, {"date_year", "timestamp(us)", true}, {"date_year", "string", false},
		{"round", "decimal128(10,2)", true}, {"zero", "float32", true}, {"zero", "bool", false},
	}
	for _, tt := range typeTests {
		err := sqlsubset.Mask{Func: tt.m, Args: argsFor(tt.m)}.CheckType(sqlsubset.MustParseType(tt.t))
		if (err == nil) != tt.ok {
			t.Errorf("%s on %s: %v", tt.m, tt.t, err)
		}
	}
	if n, ok := sqlsubset.MaskArity("round"); !ok || n != 1 {
		t.Error("MaskArity")
	}
}

func argsFor(name string) []int64 {
	if n, _ := sqlsubset.MaskArity(name); n == 1 {
		return []int64{1}
	}
	return nil
}

func TestFunctions(t *testing.T) {
	fs := sqlsubset.Functions()
	if len(fs) != 3 || fs[0].Name != "current_user" || fs[1].Name != "has_role" || fs[2].Name != "user_attribute" {
		t.Fatalf("Functions = %v", fs)
	}
	if f, ok := sqlsubset.LookupFunction("has_role"); !ok || !f.Policy || f.Result.ID != sqlsubset.Bool {
		t.Fatal("LookupFunction(has_role)")
	}
}
