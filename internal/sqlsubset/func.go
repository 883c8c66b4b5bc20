package sqlsubset

import (
	"sort"

	"github.com/nscale/nscale/internal/apierr"
)

// Function describes one function an expression may call.
type Function struct {
	Name string
	// Args are the parameter types, in order.
	Args []Type
	// ConstArgs requires every argument to be a non-null literal.
	ConstArgs bool
	// Result is the type of a call.
	Result Type
	// Policy functions depend on who asks. The control plane replaces them
	// with literals (Substitute) before it signs a plan; an agent never
	// evaluates them.
	Policy bool
}

// The function set is closed; add an entry here (and to the agent's
// evaluator, unless it is a policy function) to add a function.
var functions = map[string]Function{
	"current_user":   {Name: "current_user", Result: Type{ID: String}, Policy: true},
	"has_role":       {Name: "has_role", Args: []Type{{ID: String}}, ConstArgs: true, Result: Type{ID: Bool}, Policy: true},
	"user_attribute": {Name: "user_attribute", Args: []Type{{ID: String}}, ConstArgs: true, Result: Type{ID: String}, Policy: true},
}

// Functions lists the known functions, sorted by name.
func Functions() []Function {
	out := make([]Function, 0, len(functions))
	for _, f := range functions {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LookupFunction returns the function called name.
func LookupFunction(name string) (Function, bool) {
	f, ok := functions[name]
	return f, ok
}

func (f Function) checkArgs(c *Call) error {
	if len(c.Args) != len(f.Args) {
		return invalid("function %s() takes %d argument(s), got %d", f.Name, len(f.Args), len(c.Args))
	}
	if f.ConstArgs {
		for i, a := range c.Args {
			l, ok := a.(*Literal)
			if !ok || l == nil || l.Type.ID == Null {
				return invalid("argument %d of %s() must be a constant", i+1, f.Name)
			}
			if l.Type.ID != f.Args[i].ID {
				return invalid("argument %d of %s() must be a %s literal, got %s", i+1, f.Name, f.Args[i], l.Type)
			}
		}
	}
	return nil
}

// Resolver returns the literal that replaces a call.
type Resolver func(call *Call) (*Literal, error)

// Substitute returns a copy of e in which every call is replaced by the
// literal resolve returns for it. e is not modified. The control plane uses
// it to turn current_user(), has_role('r') and user_attribute('k') into
// constants before it signs a plan. An error from resolve is returned as is;
// a resolved literal must be valid and of the function's result type (or
// NULL).
func Substitute(e Expr, resolve Resolver) (Expr, error) {
	return substitute(e, resolve)
}

func substitute(e Expr, resolve Resolver) (Expr, error) {
	sub := func(x Expr) (Expr, error) { return substitute(x, resolve) }
	subs := func(xs []Expr) ([]Expr, error) {
		out := make([]Expr, len(xs))
		for i, x := range xs {
			y, err := sub(x)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	}
	switch n := e.(type) {
	case nil:
		return nil, invalid("missing expression")
	case *Call:
		l, err := resolve(n)
		if err != nil {
			return nil, err
		}
		if l == nil {
			return nil, apierr.New(apierr.Internal, "resolver returned no literal for %s", n)
		}
		if err := l.Validate(); err != nil {
			return nil, err
		}
		if f, ok := functions[n.Name]; ok && l.Type.ID != Null && !l.Type.Equal(f.Result) {
			return nil, apierr.New(apierr.Internal, "resolver returned %s for %s, want %s", l.Type, n, f.Result)
		}
		cp := *l
		return &cp, nil
	case *Column:
		return &Column{Name: n.Name, Path: append([]string(nil), n.Path...)}, nil
	case *Literal:
		cp := *n
		return &cp, nil
	case *Compare:
		l, err := sub(n.Left)
		if err != nil {
			return nil, err
		}
		r, err := sub(n.Right)
		if err != nil {
			return nil, err
		}
		return &Compare{Op: n.Op, Left: l, Right: r}, nil
	case *And:
		args, err := subs(n.Args)
		if err != nil {
			return nil, err
		}
		return &And{Args: args}, nil
	case *Or:
		args, err := subs(n.Args)
		if err != nil {
			return nil, err
		}
		return &Or{Args: args}, nil
	case *Not:
		a, err := sub(n.Arg)
		if err != nil {
			return nil, err
		}
		return &Not{Arg: a}, nil
	case *In:
		x, err := sub(n.Expr)
		if err != nil {
			return nil, err
		}
		list := make([]*Literal, len(n.List))
		for i, l := range n.List {
			if l == nil {
				return nil, invalid("missing literal in IN list")
			}
			cp := *l
			list[i] = &cp
		}
		return &In{Expr: x, List: list, Not: n.Not}, nil
	case *Between:
		x, err := sub(n.Expr)
		if err != nil {
			return nil, err
		}
		lo, err := sub(n.Low)
		if err != nil {
			return nil, err
		}
		hi, err := sub(n.High)
		if err != nil {
			return nil, err
		}
		return &Between{Expr: x, Low: lo, High: hi, Not: n.Not}, nil
	case *Like:
		x, err := sub(n.Expr)
		if err != nil {
			return nil, err
		}
		return &Like{Expr: x, Pattern: n.Pattern, Not: n.Not, CaseInsensitive: n.CaseInsensitive}, nil
	case *IsNull:
		x, err := sub(n.Expr)
		if err != nil {
			return nil, err
		}
		return &IsNull{Expr: x, Not: n.Not}, nil
	case *IsBool:
		x, err := sub(n.Expr)
		if err != nil {
			return nil, err
		}
		return &IsBool{Expr: x, Value: n.Value, Not: n.Not}, nil
	case *Cast:
		x, err := sub(n.Expr)
		if err != nil {
			return nil, err
		}
		return &Cast{Expr: x, Type: n.Type}, nil
	}
	return nil, invalid("unknown expression node %T", e)
}

// Simplify folds boolean constants with SQL's three-valued logic: an AND
// with a FALSE operand is FALSE, TRUE operands of AND are dropped, and so on
// for OR; NOT of a constant is a constant. It runs after Substitute so that a
// filter like has_role('admin') OR region = 'eu' becomes TRUE for admins. It
// leaves e unmodified; the result may share unchanged subtrees with it.
func Simplify(e Expr) Expr {
	switch n := e.(type) {
	case *And:
		return simplifyJunction(n.Args, false)
	case *Or:
		return simplifyJunction(n.Args, true)
	case *Not:
		a := Simplify(n.Arg)
		if l, ok := a.(*Literal); ok {
			switch l.Type.ID {
			case Bool:
				return BoolLiteral(!l.Bool)
			case Null:
				return NullLiteral()
			}
		}
		return &Not{Arg: a}
	}
	return e
}

// simplifyJunction folds AND (isOr false) or OR (isOr true). The absorbing
// constant is FALSE for AND and TRUE for OR; the identity is the other one.
func simplifyJunction(args []Expr, isOr bool) Expr {
	var kept []Expr
	for _, a := range args {
		a = Simplify(a)
		if l, ok := a.(*Literal); ok && l.Type.ID == Bool {
			if l.Bool == isOr {
				return BoolLiteral(isOr)
			}
			continue
		}
		// Flatten nested junctions of the same kind that simplification
		// exposed.
		if isOr {
			if o, ok := a.(*Or); ok {
				kept = append(kept, o.Args...)
				continue
			}
		} else if o, ok := a.(*And); ok {
			kept = append(kept, o.Args...)
			continue
		}
		kept = append(kept, a)
	}
	switch len(kept) {
	case 0:
		return BoolLiteral(!isOr)
	case 1:
		return kept[0]
	}
	if isOr {
		return &Or{Args: kept}
	}
	return &And{Args: kept}
}
