package sqlsubset

import (
	"bytes"
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/nscale/nscale/internal/apierr"
)

// Limits enforced by Validate, Marshal and Unmarshal.
const (
	MaxDepth = 64     // deepest nesting of expression nodes; the root is at depth 1
	MaxNodes = 10_000 // most expression nodes in one tree, literals of IN lists included
)

// Expr is one node of an expression tree. The node types are *Column,
// *Literal, *Compare, *And, *Or, *Not, *In, *Between, *Like, *IsNull,
// *IsBool, *Cast and *Call; the set is closed.
type Expr interface {
	// String renders the expression as SQL (see format.go).
	String() string
	exprNode()
}

// Column references a column of the table, or with Path a field nested
// inside a struct column: address.city is {Name: "address", Path: ["city"]}.
type Column struct {
	Name string
	Path []string
}

// CompareOp is a comparison operator, spelled as in SQL.
type CompareOp string

// Comparison operators.
const (
	Eq CompareOp = "="
	Ne CompareOp = "<>"
	Lt CompareOp = "<"
	Le CompareOp = "<="
	Gt CompareOp = ">"
	Ge CompareOp = ">="
)

// compareOpNames are the operator names in the JSON encoding.
var compareOpNames = map[CompareOp]string{Eq: "eq", Ne: "ne", Lt: "lt", Le: "le", Gt: "gt", Ge: "ge"}

// Compare is Left Op Right.
type Compare struct {
	Op          CompareOp
	Left, Right Expr
}

// And is the conjunction of two or more operands.
type And struct{ Args []Expr }

// Or is the disjunction of two or more operands.
type Or struct{ Args []Expr }

// Not is NOT Arg.
type Not struct{ Arg Expr }

// In is Expr [NOT] IN (List...). The list holds literals only.
type In struct {
	Expr Expr
	List []*Literal
	Not  bool
}

// Between is Expr [NOT] BETWEEN Low AND High (inclusive, not symmetric).
type Between struct {
	Expr, Low, High Expr
	Not             bool
}

// Like is Expr [NOT] LIKE|ILIKE Pattern. The pattern follows SQL: % matches
// any run of characters, _ one character, and a backslash escapes the next
// character.
type Like struct {
	Expr            Expr
	Pattern         string
	Not             bool
	CaseInsensitive bool // ILIKE
}

// IsNull is Expr IS [NOT] NULL.
type IsNull struct {
	Expr Expr
	Not  bool
}

// IsBool is Expr IS [NOT] TRUE|FALSE.
type IsBool struct {
	Expr  Expr
	Value bool
	Not   bool
}

// Cast is CAST(Expr AS Type).
type Cast struct {
	Expr Expr
	Type Type
}

// Call is a call of one of the functions in Functions.
type Call struct {
	Name string
	Args []Expr
}

func (*Column) exprNode()  {}
func (*Literal) exprNode() {}
func (*Compare) exprNode() {}
func (*And) exprNode()     {}
func (*Or) exprNode()      {}
func (*Not) exprNode()     {}
func (*In) exprNode()      {}
func (*Between) exprNode() {}
func (*Like) exprNode()    {}
func (*IsNull) exprNode()  {}
func (*IsBool) exprNode()  {}
func (*Cast) exprNode()    {}
func (*Call) exprNode()    {}

// Walk calls fn for e and then, if fn returns true, for each operand of e,
// depth first. In-list literals are visited too.
func Walk(e Expr, fn func(Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	switch n := e.(type) {
	case *Compare:
		Walk(n.Left, fn)
		Walk(n.Right, fn)
	case *And:
		for _, a := range n.Args {
			Walk(a, fn)
		}
	case *Or:
		for _, a := range n.Args {
			Walk(a, fn)
		}
	case *Not:
		Walk(n.Arg, fn)
	case *In:
		Walk(n.Expr, fn)
		for _, l := range n.List {
			if l != nil {
				Walk(l, fn)
			}
		}
	case *Between:
		Walk(n.Expr, fn)
		Walk(n.Low, fn)
		Walk(n.High, fn)
	case *Like:
		Walk(n.Expr, fn)
	case *IsNull:
		Walk(n.Expr, fn)
	case *IsBool:
		Walk(n.Expr, fn)
	case *Cast:
		Walk(n.Expr, fn)
	case *Call:
		for _, a := range n.Args {
			Walk(a, fn)
		}
	}
}

// Columns returns the names of the top-level columns e references, sorted and
// without duplicates (address.city yields "address").
func Columns(e Expr) []string {
	seen := map[string]bool{}
	Walk(e, func(x Expr) bool {
		if c, ok := x.(*Column); ok {
			seen[c.Name] = true
		}
		return true
	})
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Calls returns the function calls in e, outermost first.
func Calls(e Expr) []*Call {
	var out []*Call
	Walk(e, func(x Expr) bool {
		if c, ok := x.(*Call); ok {
			out = append(out, c)
		}
		return true
	})
	return out
}

// Equal reports whether a and b are the same tree. Literals compare by type
// and value (floats bit for bit); nil equals only nil.
func Equal(a, b Expr) bool {
	if a == nil || b == nil {
		return isNil(a) && isNil(b)
	}
	switch x := a.(type) {
	case *Column:
		y, ok := b.(*Column)
		return ok && x != nil && y != nil && x.Name == y.Name && equalStrings(x.Path, y.Path)
	case *Literal:
		y, ok := b.(*Literal)
		return ok && x.Equal(y)
	case *Compare:
		y, ok := b.(*Compare)
		return ok && x != nil && y != nil && x.Op == y.Op && Equal(x.Left, y.Left) && Equal(x.Right, y.Right)
	case *And:
		y, ok := b.(*And)
		return ok && x != nil && y != nil && equalExprs(x.Args, y.Args)
	case *Or:
		y, ok := b.(*Or)
		return ok && x != nil && y != nil && equalExprs(x.Args, y.Args)
	case *Not:
		y, ok := b.(*Not)
		return ok && x != nil && y != nil && Equal(x.Arg, y.Arg)
	case *In:
		y, ok := b.(*In)
		if !ok || x == nil || y == nil || x.Not != y.Not || !Equal(x.Expr, y.Expr) || len(x.List) != len(y.List) {
			return false
		}
		for i := range x.List {
			if !x.List[i].Equal(y.List[i]) {
				return false
			}
		}
		return true
	case *Between:
		y, ok := b.(*Between)
		return ok && x != nil && y != nil && x.Not == y.Not && Equal(x.Expr, y.Expr) && Equal(x.Low, y.Low) && Equal(x.High, y.High)
	case *Like:
		y, ok := b.(*Like)
		return ok && x != nil && y != nil && x.Not == y.Not && x.CaseInsensitive == y.CaseInsensitive && x.Pattern == y.Pattern && Equal(x.Expr, y.Expr)
	case *IsNull:
		y, ok := b.(*IsNull)
		return ok && x != nil && y != nil && x.Not == y.Not && Equal(x.Expr, y.Expr)
	case *IsBool:
		y, ok := b.(*IsBool)
		return ok && x != nil && y != nil && x.Not == y.Not && x.Value == y.Value && Equal(x.Expr, y.Expr)
	case *Cast:
		y, ok := b.(*Cast)
		return ok && x != nil && y != nil && x.Type.Equal(y.Type) && Equal(x.Expr, y.Expr)
	case *Call:
		y, ok := b.(*Call)
		return ok && x != nil && y != nil && x.Name == y.Name && equalExprs(x.Args, y.Args)
	}
	return false
}

func isNil(e Expr) bool {
	if e == nil {
		return true
	}
	switch n := e.(type) {
	case *Column:
		return n == nil
	case *Literal:
		return n == nil
	case *Compare:
		return n == nil
	case *And:
		return n == nil
	case *Or:
		return n == nil
	case *Not:
		return n == nil
	case *In:
		return n == nil
	case *Between:
		return n == nil
	case *Like:
		return n == nil
	case *IsNull:
		return n == nil
	case *IsBool:
		return n == nil
	case *Cast:
		return n == nil
	case *Call:
		return n == nil
	}
	return false
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalExprs(a, b []Expr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// Equal reports whether l and o have the same type and value.
func (l *Literal) Equal(o *Literal) bool {
	if l == nil || o == nil {
		return l == o
	}
	if !l.Type.Equal(o.Type) {
		return false
	}
	switch l.Type.ID {
	case Bool:
		return l.Bool == o.Bool
	case Int64, Date32, Timestamp:
		return l.Int == o.Int
	case Uint64:
		return l.Uint == o.Uint
	case Float64:
		return math.Float64bits(l.Float) == math.Float64bits(o.Float)
	case Decimal128, String:
		return l.Str == o.Str
	case Binary:
		return bytes.Equal(l.Bytes, o.Bytes)
	}
	return true
}

// Validate checks that e is a well-formed tree: no nil nodes, operands of the
// right number and kind, valid literals and types, known functions with the
// right arguments, at most MaxDepth levels and MaxNodes nodes. It does not
// check types against a schema (see TypeCheck).
func Validate(e Expr) error {
	v := validator{}
	return v.expr(e, 1)
}

type validator struct{ nodes int }

func invalid(format string, args ...any) error {
	return apierr.New(apierr.InvalidArgument, format, args...)
}

func (v *validator) count(depth int) error {
	if depth > MaxDepth {
		return invalid("expression nests deeper than %d levels", MaxDepth)
	}
	v.nodes++
	if v.nodes > MaxNodes {
		return invalid("expression has more than %d nodes", MaxNodes)
	}
	return nil
}

func validName(s string) bool {
	return s != "" && utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

func (v *validator) expr(e Expr, depth int) error {
	if isNil(e) {
		return invalid("missing expression")
	}
	if err := v.count(depth); err != nil {
		return err
	}
	if err := checkNode(e); err != nil {
		return err
	}
	for _, c := range children(e) {
		if err := v.expr(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// children returns the operands of e in order, IN-list literals included.
func children(e Expr) []Expr {
	switch n := e.(type) {
	case *Compare:
		return []Expr{n.Left, n.Right}
	case *And:
		return n.Args
	case *Or:
		return n.Args
	case *Not:
		return []Expr{n.Arg}
	case *In:
		out := make([]Expr, 0, 1+len(n.List))
		out = append(out, n.Expr)
		for _, l := range n.List {
			out = append(out, l)
		}
		return out
	case *Between:
		return []Expr{n.Expr, n.Low, n.High}
	case *Like:
		return []Expr{n.Expr}
	case *IsNull:
		return []Expr{n.Expr}
	case *IsBool:
		return []Expr{n.Expr}
	case *Cast:
		return []Expr{n.Expr}
	case *Call:
		return n.Args
	}
	return nil
}

// checkNode checks e itself, not its operands: names, operator, number of
// operands, literal value, cast type, function and its arguments.
func checkNode(e Expr) error {
	switch n := e.(type) {
	case *Column:
		if !validName(n.Name) {
			return invalid("invalid column name %q", n.Name)
		}
		for _, p := range n.Path {
			if !validName(p) {
				return invalid("invalid field name %q in column %s", p, quoteIdent(n.Name))
			}
		}
	case *Literal:
		return n.Validate()
	case *Compare:
		if _, ok := compareOpNames[n.Op]; !ok {
			return invalid("unknown comparison operator %q", string(n.Op))
		}
	case *And:
		if len(n.Args) < 2 {
			return invalid("AND needs at least 2 operands, has %d", len(n.Args))
		}
	case *Or:
		if len(n.Args) < 2 {
			return invalid("OR needs at least 2 operands, has %d", len(n.Args))
		}
	case *In:
		if len(n.List) == 0 {
			return invalid("IN list is empty")
		}
	case *Like:
		if !utf8.ValidString(n.Pattern) {
			return invalid("LIKE pattern is not valid UTF-8")
		}
	case *Cast:
		if err := n.Type.Validate(); err != nil {
			return err
		}
		if n.Type.ID == Null {
			return invalid("cannot cast to type null")
		}
	case *Call:
		f, ok := functions[n.Name]
		if !ok {
			return invalid("unknown function %s", quoteIdent(n.Name))
		}
		return f.checkArgs(n)
	case *Not, *Between, *IsNull, *IsBool:
	default:
		return invalid("unknown expression node %T", e)
	}
	return nil
}
