package sqlsubset

import (
	"math"
	"sort"

	"github.com/nscale/nscale/internal/apierr"
)

// Schema maps the column names of a table to their types.
type Schema map[string]Type

// ParseSchema builds a Schema from column names and canonical type strings
// ("int64", "decimal128(10,2)", "struct<city:string>", ...).
func ParseSchema(columns map[string]string) (Schema, error) {
	names := make([]string, 0, len(columns))
	for n := range columns {
		names = append(names, n)
	}
	sort.Strings(names) // report the first bad column deterministically
	s := make(Schema, len(columns))
	for _, n := range names {
		t, err := ParseType(columns[n])
		if err != nil {
			return nil, apierr.Wrap(apierr.InvalidArgument, err, "column %s", quoteIdent(n))
		}
		s[n] = t
	}
	return s, nil
}

// TypeCheck checks that e is a well-formed boolean expression over schema:
// every column and field exists, every function is known, the operands of
// each comparison are comparable (numeric with numeric, string with string,
// binary with binary, bool with bool, date or timestamp with date or
// timestamp of the same zoning (TemporalComparable) or with a string
// literal that reads as one), LIKE applies to strings with a pattern
// CompileLike accepts, AND, OR, NOT and IS TRUE apply to booleans, casts
// are possible, and the whole expression is boolean. Errors name the
// column, function or subexpression at fault.
func TypeCheck(e Expr, schema Schema) error {
	_, err := Coerce(e, schema)
	return err
}

// TypeOf returns the type of e over schema, checking it as TypeCheck does
// but without requiring a boolean.
func TypeOf(e Expr, schema Schema) (Type, error) {
	if err := Validate(e); err != nil {
		return Type{}, err
	}
	c := checker{schema: schema}
	t, _, err := c.check(e)
	return t, err
}

// Coerce type-checks e like TypeCheck and returns a copy in which every
// string literal compared with (or cast to) a date or timestamp is replaced
// by a literal of that type, so that an evaluator never compares temporal
// values with strings: ts >= '2024-01-01' becomes
// ts >= TIMESTAMP '2024-01-01 00:00:00' in the unit and zone of ts.
func Coerce(e Expr, schema Schema) (Expr, error) {
	if err := Validate(e); err != nil {
		return nil, err
	}
	c := checker{schema: schema}
	t, out, err := c.check(e)
	if err != nil {
		return nil, err
	}
	if t.ID != Bool && t.ID != Null {
		return nil, typeError("the filter %s is of type %s, not boolean", e, t)
	}
	return out, nil
}

func typeError(format string, args ...any) error {
	return apierr.New(apierr.InvalidArgument, format, args...)
}

type checker struct{ schema Schema }

func isBoolish(t Type) bool { return t.ID == Bool || t.ID == Null }

var boolType = Type{ID: Bool}

func (c *checker) check(e Expr) (Type, Expr, error) {
	switch n := e.(type) {
	case *Column:
		t, ok := c.schema[n.Name]
		if !ok {
			return Type{}, nil, typeError("unknown column %s", quoteIdent(n.Name))
		}
		for i, f := range n.Path {
			if t.ID != Struct {
				return Type{}, nil, typeError("column %s is not a struct: %s is %s", quoteIdent(n.Name),
					(&Column{Name: n.Name, Path: n.Path[:i]}).String(), t)
			}
			found := false
			for _, sf := range t.Fields {
				if sf.Name == f {
					t, found = sf.Type, true
					break
				}
			}
			if !found {
				return Type{}, nil, typeError("column %s has no field %s", (&Column{Name: n.Name, Path: n.Path[:i]}).String(), quoteIdent(f))
			}
		}
		cp := &Column{Name: n.Name, Path: n.Path}
		return t, cp, nil
	case *Literal:
		cp := *n
		return n.Type, &cp, nil
	case *Compare:
		lt, l, err := c.check(n.Left)
		if err != nil {
			return Type{}, nil, err
		}
		rt, r, err := c.check(n.Right)
		if err != nil {
			return Type{}, nil, err
		}
		if l, r, err = comparable(n.Left, lt, l, n.Right, rt, r); err != nil {
			return Type{}, nil, err
		}
		return boolType, &Compare{Op: n.Op, Left: l, Right: r}, nil
	case *And, *Or:
		args, op := junctionArgs(n)
		out := make([]Expr, len(args))
		for i, a := range args {
			t, x, err := c.check(a)
			if err != nil {
				return Type{}, nil, err
			}
			if !isBoolish(t) {
				return Type{}, nil, typeError("operand of %s must be boolean: %s is %s", op, a, t)
			}
			out[i] = x
		}
		if op == "AND" {
			return boolType, &And{Args: out}, nil
		}
		return boolType, &Or{Args: out}, nil
	case *Not:
		t, x, err := c.check(n.Arg)
		if err != nil {
			return Type{}, nil, err
		}
		if !isBoolish(t) {
			return Type{}, nil, typeError("operand of NOT must be boolean: %s is %s", n.Arg, t)
		}
		return boolType, &Not{Arg: x}, nil
	case *In:
		t, x, err := c.check(n.Expr)
		if err != nil {
			return Type{}, nil, err
		}
		list := make([]*Literal, len(n.List))
		for i, l := range n.List {
			_, y, err := comparable(n.Expr, t, x, l, l.Type, l)
			if err != nil {
				return Type{}, nil, err
			}
			list[i] = y.(*Literal)
		}
		return boolType, &In{Expr: x, List: list, Not: n.Not}, nil
	case *Between:
		t, x, err := c.check(n.Expr)
		if err != nil {
			return Type{}, nil, err
		}
		lowT, low, err := c.check(n.Low)
		if err != nil {
			return Type{}, nil, err
		}
		highT, high, err := c.check(n.High)
		if err != nil {
			return Type{}, nil, err
		}
		x1, low, err := comparable(n.Expr, t, x, n.Low, lowT, low)
		if err != nil {
			return Type{}, nil, err
		}
		_, high, err = comparable(n.Expr, t, x, n.High, highT, high)
		if err != nil {
			return Type{}, nil, err
		}
		return boolType, &Between{Expr: x1, Low: low, High: high, Not: n.Not}, nil
	case *Like:
		t, x, err := c.check(n.Expr)
		if err != nil {
			return Type{}, nil, err
		}
		if t.ID != String && t.ID != Null {
			return Type{}, nil, typeError("LIKE needs a string operand: %s is %s", n.Expr, t)
		}
		if err := CheckLikePattern(n.Pattern); err != nil {
			return Type{}, nil, err
		}
		return boolType, &Like{Expr: x, Pattern: n.Pattern, Not: n.Not, CaseInsensitive: n.CaseInsensitive}, nil
	case *IsNull:
		_, x, err := c.check(n.Expr)
		if err != nil {
			return Type{}, nil, err
		}
		return boolType, &IsNull{Expr: x, Not: n.Not}, nil
	case *IsBool:
		t, x, err := c.check(n.Expr)
		if err != nil {
			return Type{}, nil, err
		}
		if !isBoolish(t) {
			return Type{}, nil, typeError("IS TRUE/FALSE needs a boolean operand: %s is %s", n.Expr, t)
		}
		return boolType, &IsBool{Expr: x, Value: n.Value, Not: n.Not}, nil
	case *Cast:
		t, x, err := c.check(n.Expr)
		if err != nil {
			return Type{}, nil, err
		}
		l, isLit := x.(*Literal)
		folded := isLit && l.Type.ID == String && n.Type.IsTemporal() // becomes a typed literal here
		if _, isCall := x.(*Call); isCall && t.ID == String && n.Type.IsTemporal() {
			// A policy function's string (user_attribute('since')): the
			// control plane substitutes it before signing and checks the
			// filter again, which folds the CAST of the literal.
			return n.Type, &Cast{Expr: x, Type: n.Type}, nil
		}
		if !folded && !castable(t, n.Type) {
			return Type{}, nil, typeError("cannot cast %s from %s to %s", n.Expr, t, n.Type)
		}
		if t.Equal(n.Type) {
			return t, x, nil // CAST to the same type is the value itself
		}
		if folded {
			typed, err := temporalLiteral(l.Str, n.Type)
			if err != nil {
				return Type{}, nil, err
			}
			return n.Type, typed, nil
		}
		return n.Type, &Cast{Expr: x, Type: n.Type}, nil
	case *Call:
		f, ok := functions[n.Name]
		if !ok {
			return Type{}, nil, typeError("unknown function %s", quoteIdent(n.Name))
		}
		args := make([]Expr, len(n.Args))
		for i, a := range n.Args {
			_, x, err := c.check(a)
			if err != nil {
				return Type{}, nil, err
			}
			args[i] = x
		}
		return f.Result, &Call{Name: n.Name, Args: args}, nil
	}
	return Type{}, nil, typeError("unknown expression node %T", e)
}

func junctionArgs(e Expr) ([]Expr, string) {
	if a, ok := e.(*And); ok {
		return a.Args, "AND"
	}
	return e.(*Or).Args, "OR"
}

// comparable checks that a (of type at, checked copy ac) and b may be
// compared and returns the checked copies, with a string literal opposite a
// date or timestamp replaced by a literal of that type.
func comparable(a Expr, at Type, ac Expr, b Expr, bt Type, bc Expr) (Expr, Expr, error) {
	switch {
	case at.ID == Null || bt.ID == Null:
		return ac, bc, nil
	case at.IsNumeric() && bt.IsNumeric(),
		at.ID == String && bt.ID == String,
		at.ID == Binary && bt.ID == Binary,
		at.ID == Bool && bt.ID == Bool,
		at.IsTemporal() && bt.IsTemporal() && TemporalComparable(at, bt):
		return ac, bc, nil
	case at.IsTemporal() && bt.IsTemporal():
		return nil, nil, typeError("cannot compare %s (%s) with %s (%s): a timestamp with a time zone is an instant and compares only with another one, not with a timestamp without time zone or a date, which have no zone", a, at, b, bt)
	case at.IsTemporal() && bt.ID == String:
		if l, ok := bc.(*Literal); ok {
			typed, err := temporalLiteral(l.Str, at)
			return ac, typed, err
		}
	case bt.IsTemporal() && at.ID == String:
		if l, ok := ac.(*Literal); ok {
			typed, err := temporalLiteral(l.Str, bt)
			return typed, bc, err
		}
	}
	// A policy function's string opposite a date or timestamp: converted
	// like a literal once the control plane has substituted it (checked
	// again then; a value that does not convert fails that evaluation).
	if _, ok := bc.(*Call); ok && at.IsTemporal() && bt.ID == String {
		return ac, bc, nil
	}
	if _, ok := ac.(*Call); ok && bt.IsTemporal() && at.ID == String {
		return ac, bc, nil
	}
	return nil, nil, typeError("cannot compare %s (%s) with %s (%s)", a, at, b, bt)
}

// temporalLiteral reads s as a literal of the date or timestamp type t.
func temporalLiteral(s string, t Type) (*Literal, error) {
	if t.ID == Date32 {
		d, err := ParseDate(s)
		if err != nil {
			return nil, typeError("%s is not a date (want YYYY-MM-DD)", QuoteString(s))
		}
		return Date32Literal(d), nil
	}
	ts, hasOffset, _, err := ParseTimestamp(s)
	if err != nil {
		return nil, typeError("%s is not a timestamp (want YYYY-MM-DD HH:MM:SS[.ffffff][+HH:MM])", QuoteString(s))
	}
	if hasOffset && t.TZ == "" {
		return nil, typeError("%s has a time zone offset but is compared with a timestamp without time zone", QuoteString(s))
	}
	per := t.Unit.perSecond()
	if int64(ts.Nanosecond())%(1e9/per) != 0 {
		return nil, typeError("%s is more precise than timestamp unit %s", QuoteString(s), string(t.Unit))
	}
	if sec := ts.Unix(); sec > math.MaxInt64/per-1 || sec < math.MinInt64/per+1 {
		return nil, typeError("%s is out of range for timestamp unit %s", QuoteString(s), string(t.Unit))
	}
	l := TimestampLiteral(TimestampValue(ts, t.Unit), t.Unit, t.TZ)
	if err := l.Validate(); err != nil {
		return nil, err
	}
	return l, nil
}

// castable reports whether CAST from one type to another is allowed:
// exactly the casts agents evaluate (agent/enforce), so that a filter the
// control plane accepts never fails a read: between numeric types, and to
// string from strings, booleans, numbers and dates.
func castable(from, to Type) bool {
	switch {
	case from.ID == Null, from.Equal(to):
		return true
	case from.IsNumeric() && to.IsNumeric():
		// A binary float has no exact decimal; agents do not guess one.
		return !(to.ID == Decimal128 && (from.ID == Float32 || from.ID == Float64))
	case to.ID == String:
		return from.ID == String || from.ID == Bool || from.IsNumeric() || from.ID == Date32
	}
	return false
}
