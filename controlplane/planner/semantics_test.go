package planner

import (
	"testing"

	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/sqlsubset/semanticstest"
)

// File pruning evaluates the table's comparisons as the agent does, with
// the left operand a partition column bound to its value, as when a
// query's literal meets a file's partition value: a pruning that
// disagreed with evaluation would drop rows silently. A refused case
// never decides (it keeps the file); LIKE is never used for pruning.
func TestPruningAgreesWithSemanticsTable(t *testing.T) {
	for _, c := range semanticstest.Load(t) {
		if c.Like {
			if got := eval(c.Expr(), nil); got != tvUnknown && got != tvNull {
				t.Errorf("%s: pruning decided %v on a LIKE", c.Name, got)
			}
			continue
		}
		e := &sqlsubset.Compare{Op: c.Op, Left: &sqlsubset.Column{Name: "p"}, Right: c.Right}
		got := eval(e, map[string]*sqlsubset.Literal{"p": c.Left})
		want := tvNull
		switch {
		case c.Refused:
			want = tvUnknown
		case c.Want != nil:
			want = truth(*c.Want)
		}
		if got != want {
			t.Errorf("%s = %s, want %s", c.Name, tvName(got), tvName(want))
		}
	}
}

func tvName(v tv) string {
	return map[tv]string{tvUnknown: "unknown (keep the file)", tvTrue: "TRUE", tvFalse: "FALSE (prune)", tvNull: "NULL (prune)"}[v]
}
