package policy

import (
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// principalEnv is what the policy functions see: the user, the principal
// closure and the user's attributes.
type principalEnv struct {
	user       string
	principals map[Ref]bool
	attrs      map[string]string
}

// resolve replaces the policy functions in a call by literals:
// current_user() is the user name, has_role('r') is whether role r is in
// the principal closure, user_attribute('k') is the user's attribute k or
// NULL when the user has none.
func (env *principalEnv) resolve(c *sqlsubset.Call) (*sqlsubset.Literal, error) {
	switch c.Name {
	case "current_user":
		if len(c.Args) != 0 {
			return nil, apierr.New(apierr.FailedPrecondition, "current_user() takes no argument, got %d", len(c.Args))
		}
		return sqlsubset.StringLiteral(env.user), nil
	case "has_role":
		r, err := stringArg(c)
		if err != nil {
			return nil, err
		}
		return sqlsubset.BoolLiteral(env.principals[RoleRef(r)]), nil
	case "user_attribute":
		k, err := stringArg(c)
		if err != nil {
			return nil, err
		}
		v, ok := env.attrs[k]
		if !ok {
			return sqlsubset.NullLiteral(), nil
		}
		return sqlsubset.StringLiteral(v), nil
	}
	return nil, apierr.New(apierr.FailedPrecondition, "unknown function %s() in a policy filter", c.Name)
}

func stringArg(c *sqlsubset.Call) (string, error) {
	if len(c.Args) == 1 {
		if l, ok := c.Args[0].(*sqlsubset.Literal); ok && l != nil && l.Type.ID == sqlsubset.String {
			return l.Str, nil
		}
	}
	return "", apierr.New(apierr.FailedPrecondition, "%s() takes one string constant", c.Name)
}

// resolveFilter turns a stored filter into the filter the agent gets for
// this user: policy functions replaced (Substitute), checked and coerced
// against the table's schema (Coerce), constants folded (fold,
// sqlsubset.Simplify) and NULL read as FALSE where only TRUE admits a row
// (positive). A nil filter is TRUE. The result contains no Call node.
func resolveFilter(f sqlsubset.Expr, env *principalEnv, schema sqlsubset.Schema) (sqlsubset.Expr, error) {
	if f == nil {
		return trueLit(), nil
	}
	sub, err := sqlsubset.Substitute(f, env.resolve)
	if err != nil {
		return nil, err
	}
	co, err := sqlsubset.Coerce(sub, schema)
	if err != nil {
		return nil, err
	}
	return normalize(co), nil
}

// normalize folds e and reads it in filter position.
func normalize(e sqlsubset.Expr) sqlsubset.Expr {
	return positive(sqlsubset.Simplify(fold(e)))
}

func trueLit() *sqlsubset.Literal  { return sqlsubset.BoolLiteral(true) }
func falseLit() *sqlsubset.Literal { return sqlsubset.BoolLiteral(false) }

func isBoolLit(e sqlsubset.Expr, v bool) bool {
	l, ok := e.(*sqlsubset.Literal)
	return ok && l != nil && l.Type.ID == sqlsubset.Bool && l.Bool == v
}

func isNullLit(e sqlsubset.Expr) bool {
	l, ok := e.(*sqlsubset.Literal)
	return ok && l != nil && l.Type.ID == sqlsubset.Null
}

// positive rewrites e, which is used where a row (or cell) counts only when
// e is TRUE, into an expression that is TRUE for exactly the same rows but
// simpler: NULL becomes FALSE, through AND and OR (not through NOT, where
// NULL and FALSE differ).
func positive(e sqlsubset.Expr) sqlsubset.Expr {
	switch n := e.(type) {
	case *sqlsubset.Literal:
		if n.Type.ID == sqlsubset.Null {
			return falseLit()
		}
	case *sqlsubset.And:
		args := make([]sqlsubset.Expr, len(n.Args))
		for i, a := range n.Args {
			args[i] = positive(a)
		}
		return foldJunction(args, false)
	case *sqlsubset.Or:
		args := make([]sqlsubset.Expr, len(n.Args))
		for i, a := range n.Args {
			args[i] = positive(a)
		}
		return foldJunction(args, true)
	}
	return e
}

// fold evaluates the parts of e that are constant, with SQL's three-valued
// logic, so that a filter whose policy functions were resolved reads as
// simply as possible: 'alice' = 'alice' is TRUE, region = NULL is NULL
// (whatever region holds),
// FALSE AND x is FALSE, NULL OR x stays. Comparisons of two literals, IS
// [NOT] NULL, IS [NOT] TRUE|FALSE, IN, LIKE and ILIKE on a literal, NOT,
// AND and OR are folded, with the rules every evaluator shares
// (sqlsubset.CompareLiterals, sqlsubset.CompileLike).
func fold(e sqlsubset.Expr) sqlsubset.Expr {
	switch n := e.(type) {
	case *sqlsubset.Compare:
		l, r := fold(n.Left), fold(n.Right)
		if isNullLit(l) || isNullLit(r) {
			return sqlsubset.NullLiteral() // a comparison with NULL is NULL
		}
		if ll, ok := l.(*sqlsubset.Literal); ok {
			if rl, ok := r.(*sqlsubset.Literal); ok {
				if v, ok := compareLiterals(n.Op, ll, rl); ok {
					return v
				}
			}
		}
		return &sqlsubset.Compare{Op: n.Op, Left: l, Right: r}
	case *sqlsubset.And:
		args := make([]sqlsubset.Expr, len(n.Args))
		for i, a := range n.Args {
			args[i] = fold(a)
		}
		return foldJunction(args, false)
	case *sqlsubset.Or:
		args := make([]sqlsubset.Expr, len(n.Args))
		for i, a := range n.Args {
			args[i] = fold(a)
		}
		return foldJunction(args, true)
	case *sqlsubset.Not:
		a := fold(n.Arg)
		if l, ok := a.(*sqlsubset.Literal); ok {
			switch l.Type.ID {
			case sqlsubset.Bool:
				return sqlsubset.BoolLiteral(!l.Bool)
			case sqlsubset.Null:
				return sqlsubset.NullLiteral()
			}
		}
		return &sqlsubset.Not{Arg: a}
	case *sqlsubset.In:
		x := fold(n.Expr)
		if l, ok := x.(*sqlsubset.Literal); ok {
			if v, ok := inLiteral(l, n.List, n.Not); ok {
				return v
			}
		}
		return &sqlsubset.In{Expr: x, List: n.List, Not: n.Not}
	case *sqlsubset.Between:
		x, lo, hi := fold(n.Expr), fold(n.Low), fold(n.High)
		if isNullLit(x) {
			return sqlsubset.NullLiteral()
		}
		return &sqlsubset.Between{Expr: x, Low: lo, High: hi, Not: n.Not}
	case *sqlsubset.Like:
		x := fold(n.Expr)
		if l, ok := x.(*sqlsubset.Literal); ok {
			if l.Type.ID == sqlsubset.Null {
				return sqlsubset.NullLiteral()
			}
			if l.Type.ID == sqlsubset.String {
				if m, err := sqlsubset.CompileLike(n.Pattern, n.CaseInsensitive); err == nil {
					return sqlsubset.BoolLiteral(m.Match(l.Str) != n.Not)
				}
			}
		}
		return &sqlsubset.Like{Expr: x, Pattern: n.Pattern, Not: n.Not, CaseInsensitive: n.CaseInsensitive}
	case *sqlsubset.IsNull:
		x := fold(n.Expr)
		if l, ok := x.(*sqlsubset.Literal); ok {
			return sqlsubset.BoolLiteral((l.Type.ID == sqlsubset.Null) != n.Not)
		}
		return &sqlsubset.IsNull{Expr: x, Not: n.Not}
	case *sqlsubset.IsBool:
		x := fold(n.Expr)
		if l, ok := x.(*sqlsubset.Literal); ok && (l.Type.ID == sqlsubset.Bool || l.Type.ID == sqlsubset.Null) {
			v := l.Type.ID == sqlsubset.Bool && l.Bool == n.Value
			return sqlsubset.BoolLiteral(v != n.Not)
		}
		return &sqlsubset.IsBool{Expr: x, Value: n.Value, Not: n.Not}
	case *sqlsubset.Cast:
		x := fold(n.Expr)
		if isNullLit(x) {
			return sqlsubset.NullLiteral()
		}
		return &sqlsubset.Cast{Expr: x, Type: n.Type}
	}
	return e
}

// foldJunction builds AND (isOr false) or OR (isOr true) of already folded
// operands: the absorbing constant (FALSE for AND, TRUE for OR) wins, the
// identity is dropped, nested junctions of the same kind are flattened, and
// NULL operands are kept once (NULL AND x is not constant).
func foldJunction(args []sqlsubset.Expr, isOr bool) sqlsubset.Expr {
	var kept []sqlsubset.Expr
	sawNull := false
	for _, a := range args {
		if l, ok := a.(*sqlsubset.Literal); ok {
			switch l.Type.ID {
			case sqlsubset.Bool:
				if l.Bool == isOr {
					return sqlsubset.BoolLiteral(isOr)
				}
				continue
			case sqlsubset.Null:
				sawNull = true
				continue
			}
		}
		if isOr {
			if o, ok := a.(*sqlsubset.Or); ok {
				kept = append(kept, o.Args...)
				continue
			}
		} else if o, ok := a.(*sqlsubset.And); ok {
			kept = append(kept, o.Args...)
			continue
		}
		kept = append(kept, a)
	}
	if sawNull {
		kept = append(kept, sqlsubset.NullLiteral())
	}
	switch len(kept) {
	case 0:
		return sqlsubset.BoolLiteral(!isOr)
	case 1:
		return kept[0]
	}
	if isOr {
		return &sqlsubset.Or{Args: kept}
	}
	return &sqlsubset.And{Args: kept}
}

// compareLiterals folds l op r when both are literals the subset compares
// (sqlsubset.CompareLiterals, the rule every evaluator follows); ok is
// false otherwise and the comparison is left to the agent.
func compareLiterals(op sqlsubset.CompareOp, l, r *sqlsubset.Literal) (sqlsubset.Expr, bool) {
	if l.Type.ID == sqlsubset.Null || r.Type.ID == sqlsubset.Null {
		return sqlsubset.NullLiteral(), true
	}
	c, ok := sqlsubset.CompareLiterals(l, r)
	if !ok {
		return nil, false
	}
	switch op {
	case sqlsubset.Eq, sqlsubset.Ne, sqlsubset.Lt, sqlsubset.Le, sqlsubset.Gt, sqlsubset.Ge:
		return sqlsubset.BoolLiteral(op.Holds(c)), true
	}
	return nil, false
}

// inLiteral folds l [NOT] IN (list): TRUE (FALSE for NOT IN) when an element
// equals l; otherwise NULL if an element is NULL, else FALSE (TRUE for NOT
// IN).
func inLiteral(l *sqlsubset.Literal, list []*sqlsubset.Literal, not bool) (sqlsubset.Expr, bool) {
	if l.Type.ID == sqlsubset.Null {
		return sqlsubset.NullLiteral(), true
	}
	sawNull := false
	for _, x := range list {
		if x == nil {
			return nil, false
		}
		if x.Type.ID == sqlsubset.Null {
			sawNull = true
			continue
		}
		c, ok := sqlsubset.CompareLiterals(l, x)
		if !ok {
			return nil, false
		}
		if c == 0 {
			return sqlsubset.BoolLiteral(!not), true
		}
	}
	if sawNull {
		return sqlsubset.NullLiteral(), true
	}
	return sqlsubset.BoolLiteral(not), true
}
