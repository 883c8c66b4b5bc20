package sqlsubset_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// Shorthands for building trees in tests.
func col(name string, path ...string) *sqlsubset.Column {
	return &sqlsubset.Column{Name: name, Path: path}
}
func str(s string) *sqlsubset.Literal { return sqlsubset.StringLiteral(s) }
func i64(v int64) *sqlsubset.Literal  { return sqlsubset.Int64Literal(v) }
func cmp(op sqlsubset.CompareOp, l, r sqlsubset.Expr) *sqlsubset.Compare {
	return &sqlsubset.Compare{Op: op, Left: l, Right: r}
}
func and(args ...sqlsubset.Expr) *sqlsubset.And { return &sqlsubset.And{Args: args} }
func or(args ...sqlsubset.Expr) *sqlsubset.Or   { return &sqlsubset.Or{Args: args} }
func call(name string, args ...sqlsubset.Expr) *sqlsubset.Call {
	return &sqlsubset.Call{Name: name, Args: args}
}

func TestMarshalGolden(t *testing.T) {
	tests := []struct {
		name string
		e    sqlsubset.Expr
		want string
	}{
		{"column", col("region"), `{"kind":"column","name":"region"}`},
		{"nested column", col("address", "city"), `{"kind":"column","name":"address","path":["city"]}`},
		{"null", sqlsubset.NullLiteral(), `{"kind":"literal","type":"null"}`},
		{"bool", sqlsubset.BoolLiteral(true), `{"kind":"literal","type":"bool","value":true}`},
		{"int64", i64(-42), `{"kind":"literal","type":"int64","value":"-42"}`},
		{"uint64", sqlsubset.Uint64Literal(18446744073709551615), `{"kind":"literal","type":"uint64","value":"18446744073709551615"}`},
		{"float64", sqlsubset.Float64Literal(1.5e300), `{"kind":"literal","type":"float64","value":"1.5e+300"}`},
		{"decimal", sqlsubset.DecimalLiteral("-12345", 10, 2), `{"kind":"literal","type":"decimal128(10,2)","value":"-12345"}`},
		{"string escaping", str("a\"b\\c\n<&>\u2028é"), `{"kind":"literal","type":"string","value":"a\"b\\c\n\u003c\u0026\u003e\u2028é"}`},
		{"binary", sqlsubset.BinaryLiteral([]byte{0xde, 0xad}), `{"kind":"literal","type":"binary","value":"3q0="}`},
		{"date32", sqlsubset.Date32Literal(19723), `{"kind":"literal","type":"date32","value":"19723"}`},
		{"timestamp", sqlsubset.TimestampLiteral(1704067200000000, sqlsubset.Micro, "UTC"), `{"kind":"literal","type":"timestamp(us,UTC)","value":"1704067200000000"}`},
		{"compare", cmp(sqlsubset.Le, col("a"), i64(1)), `{"kind":"compare","op":"le","left":{"kind":"column","name":"a"},"right":{"kind":"literal","type":"int64","value":"1"}}`},
		{"and", and(col("a"), col("b")), `{"kind":"and","args":[{"kind":"column","name":"a"},{"kind":"column","name":"b"}]}`},
		{"or", or(col("a"), col("b"), col("c")), `{"kind":"or","args":[{"kind":"column","name":"a"},{"kind":"column","name":"b"},{"kind":"column","name":"c"}]}`},
		{"not", &sqlsubset.Not{Arg: col("a")}, `{"kind":"not","arg":{"kind":"column","name":"a"}}`},
		{"in", &sqlsubset.In{Expr: col("a"), List: []*sqlsubset.Literal{i64(1), sqlsubset.NullLiteral()}, Not: true},
			`{"kind":"in","expr":{"kind":"column","name":"a"},"list":[{"kind":"literal","type":"int64","value":"1"},{"kind":"literal","type":"null"}],"not":true}`},
		{"between", &sqlsubset.Between{Expr: col("a"), Low: i64(1), High: i64(2)},
			`{"kind":"between","expr":{"kind":"column","name":"a"},"low":{"kind":"literal","type":"int64","value":"1"},"high":{"kind":"literal","type":"int64","value":"2"}}`},
		{"like", &sqlsubset.Like{Expr: col("a"), Pattern: "x%", Not: true, CaseInsensitive: true},
			`{"kind":"like","expr":{"kind":"column","name":"a"},"pattern":"x%","not":true,"ilike":true}`},
		{"is null", &sqlsubset.IsNull{Expr: col("a"), Not: true}, `{"kind":"is_null","expr":{"kind":"column","name":"a"},"not":true}`},
		{"is bool", &sqlsubset.IsBool{Expr: col("a"), Value: false}, `{"kind":"is_bool","expr":{"kind":"column","name":"a"},"value":false}`},
		{"cast", &sqlsubset.Cast{Expr: col("a"), Type: sqlsubset.DecimalType(5, 1)}, `{"kind":"cast","expr":{"kind":"column","name":"a"},"type":"decimal128(5,1)"}`},
		{"call no args", call("current_user"), `{"kind":"call","name":"current_user"}`},
		{"call", call("has_role", str("admin")), `{"kind":"call","name":"has_role","args":[{"kind":"literal","type":"string","value":"admin"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sqlsubset.Marshal(tt.e)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if string(got) != tt.want {
				t.Fatalf("Marshal =\n%s\nwant\n%s", got, tt.want)
			}
			back, err := sqlsubset.Unmarshal(got)
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !sqlsubset.Equal(back, tt.e) {
				t.Fatalf("round trip = %s, want %s", back, tt.e)
			}
			// encoding/json leaves the canonical bytes alone.
			var buf bytes.Buffer
			if err := json.Compact(&buf, got); err != nil || buf.String() != tt.want {
				t.Fatalf("json.Compact changed the encoding: %s (%v)", buf.String(), err)
			}
		})
	}
}

func TestMarshalDeterministic(t *testing.T) {
	e := and(cmp(sqlsubset.Eq, col("owner"), call("current_user")),
		&sqlsubset.In{Expr: col("region"), List: []*sqlsubset.Literal{str("eu"), str("us")}})
	a, _ := sqlsubset.Marshal(e)
	for i := 0; i < 20; i++ {
		b, _ := sqlsubset.Marshal(e)
		if !bytes.Equal(a, b) {
			t.Fatal("Marshal is not deterministic")
		}
	}
}

func TestMarshalRejectsInvalidTrees(t *testing.T) {
	tests := []struct {
		name string
		e    sqlsubset.Expr
		want string
	}{
		{"nil", nil, "missing expression"},
		{"nil operand", cmp(sqlsubset.Eq, col("a"), nil), "missing expression"},
		{"one-operand and", and(col("a")), "AND needs at least 2 operands, has 1"},
		{"bad op", cmp("==", col("a"), i64(1)), `unknown comparison operator "=="`},
		{"empty column", col(""), `invalid column name ""`},
		{"unknown function", call("lower", col("a")), "unknown function lower"},
		{"arity", call("has_role"), "function has_role() takes 1 argument(s), got 0"},
		{"non-constant argument", call("has_role", col("r")), "argument 1 of has_role() must be a constant"},
		{"NaN", sqlsubset.Float64Literal(nan()), "float64 literal must be finite, got NaN"},
		{"bad decimal", sqlsubset.DecimalLiteral("012", 5, 0), `invalid unscaled decimal value "012"`},
		{"decimal too long", sqlsubset.DecimalLiteral("123456", 5, 0), "decimal value 123456 has more than 5 digits"},
		{"date range", sqlsubset.Date32Literal(-800000), "date32 literal -800000 is outside 0001-01-01..9999-12-31"},
		{"empty IN", &sqlsubset.In{Expr: col("a")}, "IN list is empty"},
		{"cast to null", &sqlsubset.Cast{Expr: col("a"), Type: sqlsubset.Type{ID: sqlsubset.Null}}, "cannot cast to type null"},
		{"invalid utf-8", str("\xff"), "string literal is not valid UTF-8"},
		{"too deep", deepNot(64), "expression nests deeper than 64 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sqlsubset.Marshal(tt.e)
			if err == nil || err.Error() != tt.want || !apierr.Is(err, apierr.InvalidArgument) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := sqlsubset.Marshal(deepNot(63)); err != nil {
		t.Fatalf("depth 64 rejected: %v", err)
	}
}

// deepNot returns NOT NOT ... a with n NOTs: n+1 levels.
func deepNot(n int) sqlsubset.Expr {
	var e sqlsubset.Expr = col("a")
	for i := 0; i < n; i++ {
		e = &sqlsubset.Not{Arg: e}
	}
	return e
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}

// wideIn returns an IN list with n literals: n+2 nodes.
func wideIn(n int) string {
	var b strings.Builder
	b.WriteString(`{"kind":"in","expr":{"kind":"column","name":"a"},"list":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"kind":"literal","type":"null"}`)
	}
	b.WriteString(`]}`)
	return b.String()
}

func nestedNotJSON(n int) string {
	return strings.Repeat(`{"kind":"not","arg":`, n) + `{"kind":"column","name":"a"}` + strings.Repeat(`}`, n)
}

func TestUnmarshalErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", ``, `invalid expression JSON at $: unexpected end of input`},
		{"not an object", `[]`, `invalid expression JSON at $: expected "{", found "["`},
		{"null", `null`, `invalid expression JSON at $: expected "{", found null`},
		{"kind not first", `{"name":"a","kind":"column"}`, `invalid expression JSON at $: the first key must be "kind"`},
		{"missing kind", `{}`, `invalid expression JSON at $: missing "kind"`},
		{"unknown kind", `{"kind":"exists"}`, `invalid expression JSON at $: unknown node kind "exists"`},
		{"unknown key", `{"kind":"column","name":"a","alias":"b"}`, `invalid expression JSON at $: unknown key "alias" in column node`},
		{"duplicate key", `{"kind":"column","name":"a","name":"b"}`, `invalid expression JSON at $: duplicate key "name"`},
		{"duplicate kind", `{"kind":"column","kind":"column","name":"a"}`, `invalid expression JSON at $: duplicate key "kind"`},
		{"missing key", `{"kind":"compare","op":"eq","left":{"kind":"column","name":"a"}}`, `invalid expression JSON at $: missing key "right" in compare node`},
		{"wrong arity and", `{"kind":"and","args":[{"kind":"column","name":"a"}]}`, `invalid expression JSON at $: AND needs at least 2 operands, has 1`},
		{"wrong arity call", `{"kind":"call","name":"has_role"}`, `invalid expression JSON at $: function has_role() takes 1 argument(s), got 0`},
		{"unknown function", `{"kind":"call","name":"pg_sleep","args":[]}`, `invalid expression JSON at $: unknown function pg_sleep`},
		{"unknown op", `{"kind":"compare","op":"=","left":{"kind":"column","name":"a"},"right":{"kind":"column","name":"b"}}`, `invalid expression JSON at $.op: unknown comparison operator "="`},
		{"number", `{"kind":"literal","type":"int64","value":42}`, `invalid expression JSON at $.value: the value of a literal of type int64 must be a JSON string, found number`},
		{"non-canonical int", `{"kind":"literal","type":"int64","value":"+42"}`, `invalid expression JSON at $.value: invalid int64 literal "+42"`},
		{"int overflow", `{"kind":"literal","type":"int64","value":"9223372036854775808"}`, `invalid expression JSON at $.value: invalid int64 literal "9223372036854775808"`},
		{"float NaN", `{"kind":"literal","type":"float64","value":"NaN"}`, `invalid expression JSON at $.value: float64 literal must be finite, got NaN`},
		{"float non-canonical", `{"kind":"literal","type":"float64","value":"1.50"}`, `invalid expression JSON at $.value: invalid float64 literal "1.50"`},
		{"bad base64", `{"kind":"literal","type":"binary","value":"3q0"}`, `invalid expression JSON at $.value: invalid binary literal "3q0"`},
		{"base64 newline", `{"kind":"literal","type":"binary","value":"3q0=\n"}`, `invalid expression JSON at $.value: invalid binary literal "3q0=\n"`},
		{"null with value", `{"kind":"literal","type":"null","value":"x"}`, `invalid expression JSON at $.value: a null literal has no value`},
		{"missing value", `{"kind":"literal","type":"int64"}`, `invalid expression JSON at $: missing key "value" in literal node`},
		{"bool as string", `{"kind":"literal","type":"bool","value":"true"}`, `invalid expression JSON at $.value: the value of a literal of type bool must be true or false`},
		{"literal type", `{"kind":"literal","type":"int32","value":"1"}`, `invalid expression JSON at $.value: type int32 cannot be a literal`},
		{"bad type", `{"kind":"cast","expr":{"kind":"column","name":"a"},"type":"varchar"}`, `invalid expression JSON at $.type: type "varchar": unknown type "varchar" at offset 0`},
		{"object value", `{"kind":"literal","type":"string","value":{}}`, `invalid expression JSON at $.value: expected a string or boolean, found "{"`},
		{"in non-literal", `{"kind":"in","expr":{"kind":"column","name":"a"},"list":[{"kind":"column","name":"b"}]}`, `invalid expression JSON at $.list[0]: IN list elements must be literals`},
		{"date range", `{"kind":"literal","type":"date32","value":"3000000"}`, `invalid expression JSON at $.value: date32 literal 3000000 is outside 0001-01-01..9999-12-31`},
		{"decimal digits", `{"kind":"literal","type":"decimal128(3,0)","value":"1234"}`, `invalid expression JSON at $.value: decimal value 1234 has more than 3 digits`},
		{"trailing data", `{"kind":"column","name":"a"} {}`, `invalid expression JSON at $: unexpected data after the expression`},
		{"invalid utf-8", "{\"kind\":\"column\",\"name\":\"\xff\"}", `invalid expression JSON at $: input is not valid UTF-8`},
		{"malformed", `{"kind":"column",}`, `invalid expression JSON at $: malformed JSON at byte 17: invalid character '}' looking for beginning of object key string`},
		{"nested path", `{"kind":"not","arg":{"kind":"and","args":[{"kind":"column","name":"a"},{"kind":"column"}]}}`, `invalid expression JSON at $.arg.args[1]: missing key "name" in column node`},
		{"too deep", nestedNotJSON(64), `invalid expression JSON at $` + strings.Repeat(".arg", 64) + `: expression nests deeper than 64 levels`},
		{"too many nodes", wideIn(9999), `invalid expression JSON at $.list[9998]: expression has more than 10000 nodes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := sqlsubset.Unmarshal([]byte(tt.in))
			if err == nil {
				t.Fatalf("Unmarshal accepted it: %v", e)
			}
			if !apierr.Is(err, apierr.InvalidArgument) || err.Error() != tt.want {
				t.Fatalf("err = %q, want %q", err, tt.want)
			}
		})
	}
}

func TestUnmarshalLimitsAccepted(t *testing.T) {
	if _, err := sqlsubset.Unmarshal([]byte(nestedNotJSON(63))); err != nil {
		t.Fatalf("depth 64: %v", err)
	}
	if _, err := sqlsubset.Unmarshal([]byte(wideIn(9998))); err != nil {
		t.Fatalf("10000 nodes: %v", err)
	}
}

func TestUnmarshalTolerant(t *testing.T) {
	// Whitespace and key order (after "kind") do not matter.
	in := "{\"kind\": \"compare\",\n  \"right\": {\"kind\":\"literal\",\"value\":\"1\",\"type\":\"int64\"},\n  \"left\": {\"kind\":\"column\",\"name\":\"a\"}, \"op\": \"eq\"}"
	e, err := sqlsubset.Unmarshal([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if !sqlsubset.Equal(e, cmp(sqlsubset.Eq, col("a"), i64(1))) {
		t.Fatalf("got %s", e)
	}
}

func TestTreeInStruct(t *testing.T) {
	type task struct {
		Filter sqlsubset.Tree `json:"filter"`
		Other  *sqlsubset.Tree
	}
	in := task{Filter: sqlsubset.Tree{Expr: cmp(sqlsubset.Lt, col("a"), str("<&>"))}}
	for _, indent := range []bool{false, true} {
		var b []byte
		var err error
		if indent {
			b, err = json.MarshalIndent(in, "", "  ")
		} else {
			b, err = json.Marshal(in)
		}
		if err != nil {
			t.Fatal(err)
		}
		var out task
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !sqlsubset.Equal(out.Filter.Expr, in.Filter.Expr) || out.Other != nil {
			t.Fatalf("round trip through %s gave %v", b, out)
		}
	}
	var out task
	err := json.Unmarshal([]byte(`{"filter":{"kind":"nope"}}`), &out)
	if !apierr.Is(err, apierr.InvalidArgument) {
		t.Fatalf("err = %v", err)
	}
}
