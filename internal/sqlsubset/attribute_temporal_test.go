package sqlsubset

import (
	"testing"

	"github.com/nscale/nscale/internal/apierr"
)

// TestTemporalAgainstUserAttribute: a row filter comparing a date or
// timestamp column with user_attribute(...) (bare or CAST) is accepted when
// written, and becomes a typed comparison once the attribute is substituted;
// an attribute that does not read as the type fails then.
func TestTemporalAgainstUserAttribute(t *testing.T) {
	schema := Schema{"hired": MustParseType("date32"), "seen": MustParseType("timestamp(us,UTC)")}
	attr := func(v string) Resolver {
		return func(c *Call) (*Literal, error) { return StringLiteral(v), nil }
	}
	for _, f := range []Expr{
		&Compare{Op: Ge, Left: &Column{Name: "hired"}, Right: &Call{Name: "user_attribute", Args: []Expr{StringLiteral("since")}}},
		&Compare{Op: Le, Left: &Call{Name: "user_attribute", Args: []Expr{StringLiteral("since")}}, Right: &Column{Name: "seen"}},
		&Compare{Op: Ge, Left: &Column{Name: "hired"}, Right: &Cast{Expr: &Call{Name: "user_attribute", Args: []Expr{StringLiteral("since")}}, Type: MustParseType("date32")}},
	} {
		written, err := Coerce(f, schema)
		if err != nil {
			t.Fatalf("%s refused when written: %v", f, err)
		}
		sub, err := Substitute(written, attr("2024-01-01"))
		if err != nil {
			t.Fatal(err)
		}
		resolved, err := Coerce(sub, schema)
		if err != nil {
			t.Fatalf("%s with since=2024-01-01: %v", f, err)
		}
		var lit *Literal
		Walk(resolved, func(x Expr) bool {
			if l, ok := x.(*Literal); ok {
				lit = l
			}
			_, isCast := x.(*Cast)
			if isCast {
				t.Errorf("%s: a CAST is left for the agent: %s", f, resolved)
			}
			return true
		})
		if lit == nil || !lit.Type.IsTemporal() {
			t.Fatalf("%s resolved to %s: want a comparison with a date or timestamp literal", f, resolved)
		}
		bad, err := Substitute(written, attr("not a date"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Coerce(bad, schema); err == nil || apierr.CodeOf(err) == apierr.Internal {
			t.Fatalf("%s with since='not a date': %v, want a type error", f, err)
		}
	}
	// A string column is still not comparable with a date column.
	if _, err := Coerce(&Compare{Op: Eq, Left: &Column{Name: "hired"}, Right: &Column{Name: "seen2"}}, Schema{"hired": MustParseType("date32"), "seen2": MustParseType("string")}); err == nil {
		t.Fatal("date = string column accepted")
	}
}
