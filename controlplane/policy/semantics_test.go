package policy

import (
	"testing"

	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/sqlsubset/semanticstest"
)

// Policy folding gives the table's answer for every case it folds, and
// folds every case of two literals (nothing is left for the agent to
// disagree on).
func TestFoldAgreesWithSemanticsTable(t *testing.T) {
	for _, c := range semanticstest.Load(t) {
		l, ok := fold(c.Expr()).(*sqlsubset.Literal)
		if !ok {
			t.Errorf("%s: not folded", c.Name)
			continue
		}
		var got *bool
		switch l.Type.ID {
		case sqlsubset.Bool:
			got = &l.Bool
		case sqlsubset.Null:
		default:
			t.Errorf("%s folded to %s", c.Name, l)
			continue
		}
		if (got == nil) != (c.Want == nil) || (got != nil && *got != *c.Want) {
			t.Errorf("%s folded to %s, want %v", c.Name, l, c.Want)
		}
	}
}
