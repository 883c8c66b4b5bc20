package policy

import (
	"math"
	"testing"

	"github.com/nscale/nscale/internal/sqlsubset"
)

func TestTagMatch(t *testing.T) {
	cases := []struct {
		pattern, tag string
		want         bool
	}{
		{"pii", "pii", true},
		{"pii", "pii.email", true},
		{"pii", "pii.card.number", true},
		{"pii", "piix", false},
		{"pii", "pi", false},
		{"pii", "xpii", false},
		{"pii", "finance.pii", false},
		{"pii.email", "pii.email", true},
		{"pii.email", "pii.email.work", true},
		{"pii.email", "pii", false},
		{"pii.email", "pii.emails", false},
		{"pii.*", "pii.email", true},
		{"pii.*", "pii.card.number", true},
		{"pii.*", "pii", false},
		{"pii.*", "piiemail", false},
		{"*.email", "pii.email", true},
		{"*.email", "pii.email.work", true},
		{"*.email", "email", false},
		{"*", "anything", true},
		{"*", "a.b.c", true},
		{"p*l", "pii.email", true},
		{"p*l", "pii.emails", false},
		{"p*l", "pii.email.work", true}, // through the ancestor pii.email
		{"pii.*.number", "pii.card.number", true},
		{"pii.*.number", "pii.number", false},
		{"PII", "pii", false},
		{"", "pii", false},
		{"pii", "", false},
		{"**", "x", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
	}
	for _, c := range cases {
		if got := TagMatch(c.pattern, c.tag); got != c.want {
			t.Errorf("TagMatch(%q, %q) = %v, want %v", c.pattern, c.tag, got, c.want)
		}
	}
}

func TestFold(t *testing.T) {
	null := sqlsubset.NullLiteral()
	tr, fa := sqlsubset.BoolLiteral(true), sqlsubset.BoolLiteral(false)
	x := eq(col("x"), i64(1))
	cases := []struct {
		in   sqlsubset.Expr
		want string // SQL after fold and Simplify, before the filter-position reading
		pos  string // after the filter-position reading (normalize)
	}{
		{eq(str("a"), str("a")), "TRUE", "TRUE"},
		{eq(str("a"), str("b")), "FALSE", "FALSE"},
		{&sqlsubset.Compare{Op: sqlsubset.Ne, Left: str("a"), Right: str("b")}, "TRUE", "TRUE"},
		// Text orders byte-wise, the rule the agent evaluates too.
		{&sqlsubset.Compare{Op: sqlsubset.Lt, Left: str("a"), Right: str("b")}, "TRUE", "TRUE"},
		{&sqlsubset.Compare{Op: sqlsubset.Lt, Left: str("a"), Right: str("B")}, "FALSE", "FALSE"},
		{&sqlsubset.Compare{Op: sqlsubset.Lt, Left: i64(1), Right: i64(2)}, "TRUE", "TRUE"},
		{ge(i64(1), i64(2)), "FALSE", "FALSE"},
		{eq(i64(1), sqlsubset.Float64Literal(1)), "TRUE", "TRUE"},
		{eq(sqlsubset.Float64Literal(math.NaN()), sqlsubset.Float64Literal(math.NaN())), "TRUE", "TRUE"},
		{eq(col("x"), null), "NULL", "FALSE"},
		{eq(null, null), "NULL", "FALSE"},
		{not(eq(col("x"), null)), "NULL", "FALSE"},
		{and(null, x), "x = 1 AND NULL", "FALSE"},
		{or(null, x), "x = 1 OR NULL", "x = 1"},
		{and(null, fa), "FALSE", "FALSE"},
		{or(null, tr), "TRUE", "TRUE"},
		{and(tr, x), "x = 1", "x = 1"},
		{or(fa, x), "x = 1", "x = 1"},
		{not(and(null, x)), "NOT (x = 1 AND NULL)", "NOT (x = 1 AND NULL)"},
		{or(and(x, null), eq(col("y"), i64(2))), "x = 1 AND NULL OR y = 2", "y = 2"},
		{isNull(null), "TRUE", "TRUE"},
		{isNull(str("a")), "FALSE", "FALSE"},
		{&sqlsubset.IsNull{Expr: null, Not: true}, "FALSE", "FALSE"},
		{&sqlsubset.IsBool{Expr: null, Value: true}, "FALSE", "FALSE"},
		{&sqlsubset.IsBool{Expr: null, Value: true, Not: true}, "TRUE", "TRUE"},
		{&sqlsubset.IsBool{Expr: tr, Value: true}, "TRUE", "TRUE"},
		{&sqlsubset.IsBool{Expr: fa, Value: false, Not: true}, "FALSE", "FALSE"},
		{inList(str("b"), str("a"), str("b")), "TRUE", "TRUE"},
		{inList(str("c"), str("a"), str("b")), "FALSE", "FALSE"},
		{inList(str("c"), str("a"), null), "NULL", "FALSE"},
		{&sqlsubset.In{Expr: str("c"), List: []*sqlsubset.Literal{str("a")}, Not: true}, "TRUE", "TRUE"},
		{inList(null, str("a")), "NULL", "FALSE"},
		{likeExpr(str("alice"), "a%"), "TRUE", "TRUE"},
		{&sqlsubset.Like{Expr: str("alice"), Pattern: "a%", Not: true}, "FALSE", "FALSE"},
		{&sqlsubset.Like{Expr: str("Alice"), Pattern: "a%", CaseInsensitive: true}, "TRUE", "TRUE"},
		{&sqlsubset.Like{Expr: str("ſ"), Pattern: "s", CaseInsensitive: true}, "FALSE", "FALSE"},
		{likeExpr(null, "a%"), "NULL", "FALSE"},
		{&sqlsubset.Between{Expr: null, Low: i64(1), High: i64(2)}, "NULL", "FALSE"},
		{&sqlsubset.Cast{Expr: null, Type: tInt64}, "NULL", "FALSE"},
		{not(tr), "FALSE", "FALSE"},
		{not(not(x)), "NOT (NOT x = 1)", "NOT (NOT x = 1)"},
		{and(x, and(eq(col("y"), i64(2)), tr)), "x = 1 AND y = 2", "x = 1 AND y = 2"},
	}
	for _, c := range cases {
		got := sqlsubset.Simplify(fold(c.in))
		if got.String() != c.want {
			t.Errorf("fold(%s) = %s, want %s", c.in, got, c.want)
		}
		if p := normalize(c.in); p.String() != c.pos {
			t.Errorf("normalize(%s) = %s, want %s", c.in, p, c.pos)
		}
	}
}
