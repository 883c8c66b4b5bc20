package planner

import (
	"testing"

	"github.com/nscale/nscale/internal/sqlsubset/semanticstest"
)

// File pruning evaluates the table's comparisons as the agent does: a
// pruning that disagreed with evaluation would drop rows silently. (LIKE
// is never used for pruning: it stays unknown and keeps the file.)
func TestPruningAgreesWithSemanticsTable(t *testing.T) {
	for _, c := range semanticstest.Load(t) {
		got := eval(c.Expr(), nil)
		if c.Like {
			if got != tvUnknown && got != tvNull {
				t.Errorf("%s: pruning decided %v on a LIKE", c.Name, got)
			}
			continue
		}
		want := tvNull
		if c.Want != nil {
			want = truth(*c.Want)
		}
		if got != want {
			t.Errorf("%s = %v, want %v", c.Name, got, want)
		}
	}
}
