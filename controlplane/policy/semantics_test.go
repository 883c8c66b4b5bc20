package policy

import (
	"testing"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/sqlsubset/semanticstest"
)

// Policy folding, through the public entry point (Evaluate: substitute,
// check, fold), gives the table's answer for every case a filter can
// write, folds it completely (nothing is left for the agent to disagree
// on), and refuses the grant whose filter the subset refuses. A grant's
// filter admits rows only when TRUE, so NULL and FALSE are told apart by
// evaluating "(case) IS NULL" too.
func TestFoldAgreesWithSemanticsTable(t *testing.T) {
	for _, c := range semanticstest.Load(t) {
		if !c.Writable() {
			continue // NaN and infinities are not literals: only the agent meets them
		}
		admits, err := admitsAll(c.Expr())
		if c.Refused {
			if apierr.CodeOf(err) != apierr.FailedPrecondition {
				t.Errorf("%s: a grant with this filter gives %v, %v; want refused (FAILED_PRECONDITION)", c.Name, admits, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		isNull, err := admitsAll(&sqlsubset.IsNull{Expr: c.Expr()})
		if err != nil {
			t.Errorf("%s IS NULL: %v", c.Name, err)
			continue
		}
		var got *bool
		if !isNull {
			got = &admits
		}
		if (got == nil) != (c.Want == nil) || (got != nil && *got != *c.Want) {
			t.Errorf("%s folded to %s, want %s", c.Name, semanticstest.Show(got), semanticstest.Show(c.Want))
		}
	}
}

// admitsAll evaluates a grant whose row filter is f and reports whether
// it admits every row (the filter folded to TRUE) or none (FALSE); a
// filter left unfolded is an error.
func admitsAll(f sqlsubset.Expr) (bool, error) {
	s := &Snapshot{
		Version: 1,
		Tables: map[string]Table{"db.t": {Database: "db", Name: "t", Columns: []Column{
			{Name: "x", Type: tInt64},
		}}},
		Grants: []Grant{tg("g", UserRef("u"), "db.t", nil, f)},
	}
	eff, err := Evaluate(s, "u", "db.t")
	switch {
	case err != nil:
		return false, err
	case eff.Filter == nil:
		return true, nil
	case isBoolLit(eff.Filter, false):
		return false, nil
	}
	return false, apierr.New(apierr.Internal, "not folded: the row filter is %s", eff.Filter)
}
