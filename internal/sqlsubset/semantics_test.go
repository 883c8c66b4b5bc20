package sqlsubset_test

import (
	"testing"

	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/sqlsubset/semanticstest"
)

// The shared rules give the table's answers (which integration checks
// against DuckDB).
func TestSemanticsTable(t *testing.T) {
	for _, c := range semanticstest.Load(t) {
		// The checker accepts exactly the cases that are not refused.
		if _, err := sqlsubset.Coerce(c.Expr(), sqlsubset.Schema{}); c.Writable() && (err != nil) != c.Refused {
			t.Errorf("%s: the checker says %v, refused %v", c.Name, err, c.Refused)
		}
		got, err := eval(c)
		if c.Refused {
			if err == nil {
				t.Errorf("%s = %s, want refused", c.Name, semanticstest.Show(got))
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if !semanticstest.Same(got, c.Want) {
			t.Errorf("%s = %s, want %s", c.Name, semanticstest.Show(got), semanticstest.Show(c.Want))
		}
	}
}

func eval(c semanticstest.Case) (*bool, error) {
	if c.Like {
		if c.Text.Type.ID == sqlsubset.Null {
			return nil, nil
		}
		m, err := sqlsubset.CompileLike(c.Pattern, c.CaseInsensitive)
		if err != nil {
			return nil, err
		}
		v := m.Match(c.Text.Str) != c.Not
		return &v, nil
	}
	if c.Left.Type.ID == sqlsubset.Null || c.Right.Type.ID == sqlsubset.Null {
		return nil, nil
	}
	n, ok := sqlsubset.CompareLiterals(c.Left, c.Right)
	if !ok {
		return nil, errNotComparable
	}
	v := c.Op.Holds(n)
	return &v, nil
}

type constErr string

func (e constErr) Error() string { return string(e) }

const errNotComparable = constErr("not comparable")
