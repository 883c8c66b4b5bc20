package planner

import (
	"github.com/nscale/nscale/internal/sqlsubset"
)

// tv is a three-valued truth value, plus "cannot tell".
type tv int

const (
	tvUnknown tv = iota
	tvTrue
	tvFalse
	tvNull
)

// isFalse reports whether v makes a filter drop the row (FALSE or NULL).
func isFalse(v tv) bool { return v == tvFalse || v == tvNull }

// eval evaluates the boolean expression e with the columns in env bound to
// literals. A nil e is TRUE. Every other column, and every node it does not
// understand (LIKE, casts, calls, nested fields), makes the result unknown,
// unless SQL's three-valued logic decides regardless (FALSE AND x).
func eval(e sqlsubset.Expr, env map[string]*sqlsubset.Literal) tv {
	switch n := e.(type) {
	case nil:
		return tvTrue
	case *sqlsubset.And:
		out := tvTrue
		for _, a := range n.Args {
			switch eval(a, env) {
			case tvFalse:
				return tvFalse
			case tvUnknown:
				out = tvUnknown
			case tvNull:
				if out != tvUnknown {
					out = tvNull
				}
			}
		}
		return out
	case *sqlsubset.Or:
		out := tvFalse
		for _, a := range n.Args {
			switch eval(a, env) {
			case tvTrue:
				return tvTrue
			case tvUnknown:
				out = tvUnknown
			case tvNull:
				if out != tvUnknown {
					out = tvNull
				}
			}
		}
		return out
	case *sqlsubset.Not:
		switch v := eval(n.Arg, env); v {
		case tvTrue:
			return tvFalse
		case tvFalse:
			return tvTrue
		default:
			return v
		}
	case *sqlsubset.IsBool:
		v := eval(n.Expr, env)
		if v == tvUnknown {
			return tvUnknown
		}
		r := (n.Value && v == tvTrue) || (!n.Value && v == tvFalse)
		return truth(r != n.Not)
	case *sqlsubset.IsNull:
		v, ok := value(n.Expr, env)
		if !ok {
			return tvUnknown
		}
		return truth((v.Type.ID == sqlsubset.Null) != n.Not)
	case *sqlsubset.Compare:
		l, ok1 := value(n.Left, env)
		r, ok2 := value(n.Right, env)
		if !ok1 || !ok2 {
			return tvUnknown
		}
		if l.Type.ID == sqlsubset.Null || r.Type.ID == sqlsubset.Null {
			return tvNull
		}
		c, ok := sqlsubset.CompareLiterals(l, r)
		if !ok {
			return tvUnknown
		}
		switch n.Op {
		case sqlsubset.Eq, sqlsubset.Ne, sqlsubset.Lt, sqlsubset.Le, sqlsubset.Gt, sqlsubset.Ge:
			return truth(n.Op.Holds(c))
		}
		return tvUnknown
	case *sqlsubset.In:
		v, ok := value(n.Expr, env)
		if !ok {
			return tvUnknown
		}
		if v.Type.ID == sqlsubset.Null {
			return tvNull
		}
		sawNull := false
		for _, item := range n.List {
			if item.Type.ID == sqlsubset.Null {
				sawNull = true
				continue
			}
			c, ok := sqlsubset.CompareLiterals(v, item)
			if !ok {
				return tvUnknown
			}
			if c == 0 {
				return truth(!n.Not)
			}
		}
		if sawNull {
			return tvNull
		}
		return truth(n.Not)
	case *sqlsubset.Between:
		lo := eval(&sqlsubset.Compare{Op: sqlsubset.Ge, Left: n.Expr, Right: n.Low}, env)
		hi := eval(&sqlsubset.Compare{Op: sqlsubset.Le, Left: n.Expr, Right: n.High}, env)
		v := eval(&sqlsubset.And{Args: []sqlsubset.Expr{boolExpr(lo), boolExpr(hi)}}, env)
		if n.Not {
			return eval(&sqlsubset.Not{Arg: boolExpr(v)}, env)
		}
		return v
	case *sqlsubset.Literal, *sqlsubset.Column:
		v, ok := value(n, env)
		if !ok {
			return tvUnknown
		}
		switch v.Type.ID {
		case sqlsubset.Null:
			return tvNull
		case sqlsubset.Bool:
			return truth(v.Bool)
		}
		return tvUnknown
	}
	return tvUnknown
}

// boolExpr turns a truth value back into an expression for eval; unknown
// becomes a column that no environment binds.
func boolExpr(v tv) sqlsubset.Expr {
	switch v {
	case tvTrue:
		return sqlsubset.BoolLiteral(true)
	case tvFalse:
		return sqlsubset.BoolLiteral(false)
	case tvNull:
		return sqlsubset.NullLiteral()
	}
	return &sqlsubset.Column{Name: "", Path: []string{"unknown"}}
}

func truth(b bool) tv {
	if b {
		return tvTrue
	}
	return tvFalse
}

// value returns the literal value of e: a literal, a bound top-level column,
// or a boolean subexpression that evaluates to a constant.
func value(e sqlsubset.Expr, env map[string]*sqlsubset.Literal) (*sqlsubset.Literal, bool) {
	switch n := e.(type) {
	case *sqlsubset.Literal:
		return n, true
	case *sqlsubset.Column:
		if len(n.Path) > 0 {
			return nil, false
		}
		v, ok := env[n.Name]
		return v, ok
	case *sqlsubset.Cast, *sqlsubset.Call:
		return nil, false
	}
	switch eval(e, env) {
	case tvTrue:
		return sqlsubset.BoolLiteral(true), true
	case tvFalse:
		return sqlsubset.BoolLiteral(false), true
	case tvNull:
		return sqlsubset.NullLiteral(), true
	}
	return nil, false
}
