package statement

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// ParseFilter parses a row filter expression on its own, as written after
// WHERE, e.g. "region = 'eu' AND owner = current_user()". Error positions
// are relative to the expression.
func ParseFilter(expr string) (sqlsubset.Expr, error) {
	if len(expr) > MaxInputBytes {
		return nil, apierr.New(apierr.InvalidArgument, "filter text is longer than %d bytes", MaxInputBytes)
	}
	toks, err := tokenize(expr)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, apierr.New(apierr.InvalidArgument, "empty filter")
	}
	p := &parser{src: expr, toks: toks}
	return p.convertFilter(p.toks, 0)
}

// filter converts the row filter after the WHERE at token index k, to the
// end of the statement.
func (p *parser) filter(k int) (sqlsubset.Expr, error) {
	where := p.toks[k]
	if k+1 >= len(p.toks) {
		return nil, errAt(p.src, where.end, "expected a row filter after WHERE")
	}
	return p.convertFilter(p.toks[k+1:], where.start)
}

// convertFilter parses toks as the WHERE clause of SELECT 1 with
// PostgreSQL's parser and converts the expression. at is where the prefix
// maps to in the input.
func (p *parser) convertFilter(toks []token, at int) (sqlsubset.Expr, error) {
	// current_user() with parentheses is nscale's spelling; PostgreSQL
	// knows only the keyword, so the parentheses are left out.
	drop := map[int]bool{}
	for i := 0; i+2 < len(toks); i++ {
		if toks[i].kind == tIdent && strings.EqualFold(toks[i].text, "current_user") &&
			toks[i+1].kind == tOp && toks[i+1].text == "(" && toks[i+2].kind == tOp && toks[i+2].text == ")" {
			drop[i+1], drop[i+2] = true, true
		}
	}
	t := newPGText(p.src, "SELECT 1 WHERE ", at, toks, func(i int) bool { return drop[i] })
	n, err := t.parse()
	if err != nil {
		return nil, err
	}
	start := toks[0].start
	sel := n.GetSelectStmt()
	if sel == nil {
		return nil, errAt(p.src, start, "expected a row filter expression")
	}
	extra := ""
	switch {
	case sel.Op != pg.SetOperation_SETOP_NONE:
		extra = strings.TrimPrefix(sel.Op.String(), "SETOP_")
	case len(sel.GroupClause) > 0:
		extra = "GROUP BY"
	case sel.HavingClause != nil:
		extra = "HAVING"
	case len(sel.WindowClause) > 0:
		extra = "WINDOW"
	case len(sel.SortClause) > 0:
		extra = "ORDER BY"
	case sel.LimitCount != nil || sel.LimitOffset != nil:
		extra = "LIMIT/OFFSET"
	case len(sel.LockingClause) > 0:
		extra = "FOR UPDATE/SHARE"
	case len(sel.FromClause) > 0 || len(sel.TargetList) != 1 || sel.IntoClause != nil || sel.WithClause != nil ||
		len(sel.DistinctClause) > 0 || len(sel.ValuesLists) > 0:
		extra = "more SQL"
	}
	if extra != "" {
		return nil, errAt(p.src, start, "a row filter is one boolean expression; found %s after it", extra)
	}
	if sel.WhereClause == nil {
		return nil, errAt(p.src, start, "expected a row filter expression")
	}
	c := converter{t: t, fallback: start}
	e, err := c.expr(sel.WhereClause, 1)
	if err != nil {
		return nil, err
	}
	if err := sqlsubset.Validate(e); err != nil {
		return nil, errAt(p.src, start, "row filter: %s", apierr.PublicMessage(err))
	}
	return e, nil
}

// converter turns a PostgreSQL expression tree into a sqlsubset tree.
type converter struct {
	t        *pgText
	fallback int // input offset for errors without a location
	// query is set for the WHERE of a user query (ParseQuery): messages
	// start with "WHERE: " instead of "row filter: ", and functions,
	// the policy functions included, are refused.
	query bool
}

func (c *converter) errAt(loc int32, format string, args ...any) error {
	prefix := "row filter: "
	if c.query {
		prefix = "WHERE: "
	}
	return c.t.errAt(loc, c.fallback, prefix+format, args...)
}

// unsupported names a construct outside the subset.
func (c *converter) unsupported(loc int32, what string) error {
	return c.errAt(loc, "%s is not supported", what)
}

func (c *converter) expr(n *pg.Node, depth int) (sqlsubset.Expr, error) {
	if depth > sqlsubset.MaxDepth {
		return nil, c.errAt(-1, "expression nests deeper than %d levels", sqlsubset.MaxDepth)
	}
	if n == nil {
		return nil, c.errAt(-1, "missing expression")
	}
	switch x := n.Node.(type) {
	case *pg.Node_BoolExpr:
		return c.boolExpr(x.BoolExpr, depth)
	case *pg.Node_AExpr:
		return c.aExpr(x.AExpr, depth)
	case *pg.Node_NullTest:
		arg, err := c.expr(x.NullTest.Arg, depth+1)
		if err != nil {
			return nil, err
		}
		return &sqlsubset.IsNull{Expr: arg, Not: x.NullTest.Nulltesttype == pg.NullTestType_IS_NOT_NULL}, nil
	case *pg.Node_BooleanTest:
		bt := x.BooleanTest
		arg, err := c.expr(bt.Arg, depth+1)
		if err != nil {
			return nil, err
		}
		switch bt.Booltesttype {
		case pg.BoolTestType_IS_TRUE:
			return &sqlsubset.IsBool{Expr: arg, Value: true}, nil
		case pg.BoolTestType_IS_NOT_TRUE:
			return &sqlsubset.IsBool{Expr: arg, Value: true, Not: true}, nil
		case pg.BoolTestType_IS_FALSE:
			return &sqlsubset.IsBool{Expr: arg, Value: false}, nil
		case pg.BoolTestType_IS_NOT_FALSE:
			return &sqlsubset.IsBool{Expr: arg, Value: false, Not: true}, nil
		}
		return nil, c.unsupported(bt.Location, "IS [NOT] UNKNOWN")
	case *pg.Node_ColumnRef:
		return c.columnRef(x.ColumnRef.Fields, nil, x.ColumnRef.Location)
	case *pg.Node_AIndirection:
		ind := x.AIndirection
		cr := ind.Arg.GetColumnRef()
		if cr == nil {
			return nil, c.unsupported(-1, "field selection from an expression")
		}
		return c.columnRef(cr.Fields, ind.Indirection, cr.Location)
	case *pg.Node_AConst:
		return c.constant(x.AConst)
	case *pg.Node_TypeCast:
		return c.typeCast(x.TypeCast, depth)
	case *pg.Node_FuncCall:
		return c.funcCall(x.FuncCall, depth)
	case *pg.Node_SqlvalueFunction:
		f := x.SqlvalueFunction
		switch f.Op {
		case pg.SQLValueFunctionOp_SVFOP_CURRENT_USER, pg.SQLValueFunctionOp_SVFOP_USER:
			if c.query {
				return nil, c.errAt(f.Location, "%s", policyFunctionInQuery("current_user"))
			}
			return &sqlsubset.Call{Name: "current_user"}, nil
		}
		return nil, c.unsupported(f.Location, strings.ReplaceAll(strings.TrimPrefix(f.Op.String(), "SVFOP_"), "_N", ""))
	case *pg.Node_SubLink:
		return nil, c.unsupported(x.SubLink.Location, "a subquery")
	case *pg.Node_CaseExpr:
		return nil, c.unsupported(x.CaseExpr.Location, "CASE")
	case *pg.Node_CoalesceExpr:
		return nil, c.unsupported(x.CoalesceExpr.Location, "COALESCE")
	case *pg.Node_MinMaxExpr:
		return nil, c.unsupported(x.MinMaxExpr.Location, "GREATEST/LEAST")
	case *pg.Node_RowExpr:
		return nil, c.unsupported(x.RowExpr.Location, "a row constructor")
	case *pg.Node_AArrayExpr:
		return nil, c.unsupported(x.AArrayExpr.Location, "an ARRAY constructor")
	case *pg.Node_ParamRef:
		return nil, c.unsupported(x.ParamRef.Location, "a parameter ($n)")
	case *pg.Node_CollateClause:
		return nil, c.unsupported(x.CollateClause.Location, "COLLATE")
	case *pg.Node_GroupingFunc:
		return nil, c.unsupported(x.GroupingFunc.Location, "GROUPING")
	}
	return nil, c.unsupported(-1, "expression "+nodeName(n))
}

// nodeName names a parse node type, e.g. XmlExpr.
func nodeName(n *pg.Node) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", n.Node), "*pg_query.Node_")
}

func (c *converter) boolExpr(b *pg.BoolExpr, depth int) (sqlsubset.Expr, error) {
	var args []sqlsubset.Expr
	for _, a := range b.Args {
		e, err := c.expr(a, depth+1)
		if err != nil {
			return nil, err
		}
		// Flatten nested ANDs (ORs), so that the tree does not depend on
		// parentheses or on how PostgreSQL associates.
		switch {
		case b.Boolop == pg.BoolExprType_AND_EXPR:
			if inner, ok := e.(*sqlsubset.And); ok {
				args = append(args, inner.Args...)
				continue
			}
		case b.Boolop == pg.BoolExprType_OR_EXPR:
			if inner, ok := e.(*sqlsubset.Or); ok {
				args = append(args, inner.Args...)
				continue
			}
		}
		args = append(args, e)
	}
	switch b.Boolop {
	case pg.BoolExprType_AND_EXPR:
		return &sqlsubset.And{Args: args}, nil
	case pg.BoolExprType_OR_EXPR:
		return &sqlsubset.Or{Args: args}, nil
	}
	if len(args) != 1 {
		return nil, c.errAt(b.Location, "NOT takes one operand")
	}
	return &sqlsubset.Not{Arg: args[0]}, nil
}

// opName returns the operator of an A_Expr, or "" if it is qualified.
func opName(names []*pg.Node) string {
	if len(names) != 1 {
		return ""
	}
	return names[0].GetString_().GetSval()
}

var compareOps = map[string]sqlsubset.CompareOp{
	"=": sqlsubset.Eq, "<>": sqlsubset.Ne, "<": sqlsubset.Lt, "<=": sqlsubset.Le, ">": sqlsubset.Gt, ">=": sqlsubset.Ge,
}

func (c *converter) aExpr(a *pg.A_Expr, depth int) (sqlsubset.Expr, error) {
	op := opName(a.Name)
	switch a.Kind {
	case pg.A_Expr_Kind_AEXPR_OP:
		cop, ok := compareOps[op]
		if !ok || a.Lexpr == nil || a.Rexpr == nil {
			if op == "" {
				op = "OPERATOR(...)"
			}
			return nil, c.errAt(a.Location, "operator %s is not supported (use =, <>, <, <=, >, >=, AND, OR, NOT, IN, BETWEEN, LIKE, ILIKE, IS NULL)", op)
		}
		l, err := c.expr(a.Lexpr, depth+1)
		if err != nil {
			return nil, err
		}
		r, err := c.expr(a.Rexpr, depth+1)
		if err != nil {
			return nil, err
		}
		return &sqlsubset.Compare{Op: cop, Left: l, Right: r}, nil
	case pg.A_Expr_Kind_AEXPR_IN:
		x, err := c.expr(a.Lexpr, depth+1)
		if err != nil {
			return nil, err
		}
		items := a.Rexpr.GetList().GetItems()
		if len(items) == 0 {
			return nil, c.errAt(a.Location, "IN needs a list of literals")
		}
		list := make([]*sqlsubset.Literal, len(items))
		for i, it := range items {
			e, err := c.expr(it, depth+1)
			if err != nil {
				return nil, err
			}
			l, ok := e.(*sqlsubset.Literal)
			if !ok {
				return nil, c.errAt(location(it, a.Location), "an IN list holds literals only, not %s", e)
			}
			list[i] = l
		}
		return &sqlsubset.In{Expr: x, List: list, Not: op == "<>"}, nil
	case pg.A_Expr_Kind_AEXPR_LIKE, pg.A_Expr_Kind_AEXPR_ILIKE:
		x, err := c.expr(a.Lexpr, depth+1)
		if err != nil {
			return nil, err
		}
		if f := a.Rexpr.GetFuncCall(); f != nil {
			return nil, c.unsupported(f.Location, "LIKE ... ESCAPE")
		}
		pat := a.Rexpr.GetAConst()
		if pat == nil || pat.GetSval() == nil {
			return nil, c.errAt(location(a.Rexpr, a.Location), "a LIKE pattern must be a string literal")
		}
		return &sqlsubset.Like{Expr: x, Pattern: pat.GetSval().Sval, Not: strings.HasPrefix(op, "!"),
			CaseInsensitive: a.Kind == pg.A_Expr_Kind_AEXPR_ILIKE}, nil
	case pg.A_Expr_Kind_AEXPR_BETWEEN, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN:
		x, err := c.expr(a.Lexpr, depth+1)
		if err != nil {
			return nil, err
		}
		items := a.Rexpr.GetList().GetItems()
		if len(items) != 2 {
			return nil, c.errAt(a.Location, "BETWEEN needs two bounds")
		}
		lo, err := c.expr(items[0], depth+1)
		if err != nil {
			return nil, err
		}
		hi, err := c.expr(items[1], depth+1)
		if err != nil {
			return nil, err
		}
		return &sqlsubset.Between{Expr: x, Low: lo, High: hi, Not: a.Kind == pg.A_Expr_Kind_AEXPR_NOT_BETWEEN}, nil
	case pg.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		return nil, c.unsupported(a.Location, "BETWEEN SYMMETRIC")
	case pg.A_Expr_Kind_AEXPR_DISTINCT, pg.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		return nil, c.unsupported(a.Location, "IS [NOT] DISTINCT FROM")
	case pg.A_Expr_Kind_AEXPR_NULLIF:
		return nil, c.unsupported(a.Location, "NULLIF")
	case pg.A_Expr_Kind_AEXPR_OP_ANY, pg.A_Expr_Kind_AEXPR_OP_ALL:
		return nil, c.unsupported(a.Location, "ANY/ALL")
	case pg.A_Expr_Kind_AEXPR_SIMILAR:
		return nil, c.unsupported(a.Location, "SIMILAR TO")
	}
	return nil, c.unsupported(a.Location, "operator "+op)
}

// location returns the location of a constant or column node, else def.
func location(n *pg.Node, def int32) int32 {
	switch x := n.Node.(type) {
	case *pg.Node_AConst:
		return x.AConst.Location
	case *pg.Node_ColumnRef:
		return x.ColumnRef.Location
	case *pg.Node_FuncCall:
		return x.FuncCall.Location
	case *pg.Node_TypeCast:
		if x.TypeCast.Location >= 0 {
			return x.TypeCast.Location
		}
		return location(x.TypeCast.Arg, def)
	case *pg.Node_AExpr:
		return x.AExpr.Location
	}
	return def
}

func (c *converter) columnRef(fields, indirection []*pg.Node, loc int32) (sqlsubset.Expr, error) {
	var names []string
	for _, f := range append(append([]*pg.Node{}, fields...), indirection...) {
		s := f.GetString_()
		if s == nil {
			if f.GetAStar() != nil {
				return nil, c.unsupported(loc, "*")
			}
			return nil, c.unsupported(loc, "an array subscript")
		}
		names = append(names, s.Sval)
	}
	col := &sqlsubset.Column{Name: names[0]}
	if len(names) > 1 {
		col.Path = names[1:]
	}
	return col, nil
}

func (c *converter) constant(k *pg.A_Const) (sqlsubset.Expr, error) {
	switch {
	case k.Isnull:
		return sqlsubset.NullLiteral(), nil
	case k.GetIval() != nil:
		return sqlsubset.Int64Literal(int64(k.GetIval().Ival)), nil
	case k.GetBoolval() != nil:
		return sqlsubset.BoolLiteral(k.GetBoolval().Boolval), nil
	case k.GetSval() != nil:
		return sqlsubset.StringLiteral(k.GetSval().Sval), nil
	case k.GetFval() != nil:
		l, err := numberLiteral(k.GetFval().Fval)
		if err != nil {
			return nil, c.errAt(k.Location, "%s", apierr.PublicMessage(err))
		}
		return l, nil
	case k.GetBsval() != nil:
		s := k.GetBsval().Bsval
		if strings.HasPrefix(s, "x") {
			hex := s[1:]
			if len(hex)%2 != 0 {
				return nil, c.errAt(k.Location, "a hexadecimal X'...' literal needs an even number of digits")
			}
			b, err := decodeHex(hex)
			if err != nil {
				return nil, c.errAt(k.Location, "invalid hexadecimal literal")
			}
			return sqlsubset.BinaryLiteral(b), nil
		}
		return nil, c.unsupported(k.Location, "a bit string B'...'")
	}
	// PostgreSQL writes an Integer 0 as an A_Const with no value set.
	return sqlsubset.Int64Literal(0), nil
}

func decodeHex(s string) ([]byte, error) {
	out := make([]byte, len(s)/2)
	for i := range out {
		v, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, err
		}
		out[i] = byte(v)
	}
	return out, nil
}

// numberLiteral converts the text of a numeric constant PostgreSQL did not
// store as a 32-bit integer: an integer too large for int32 becomes int64,
// uint64 or (up to 38 digits) decimal128(p,0); a number with a point
// becomes an exact decimal128 (PostgreSQL's numeric); a number with an
// exponent becomes float64.
func numberLiteral(s string) (*sqlsubset.Literal, error) {
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	bad := func(format string, args ...any) (*sqlsubset.Literal, error) {
		return nil, apierr.New(apierr.InvalidArgument, format, args...)
	}
	lower := strings.ToLower(body)
	if strings.HasPrefix(lower, "0x") || strings.HasPrefix(lower, "0o") || strings.HasPrefix(lower, "0b") {
		v, ok := new(big.Int).SetString(s, 0)
		if !ok {
			return bad("invalid number %s", s)
		}
		return integerLiteral(v, s)
	}
	body = strings.ReplaceAll(body, "_", "")
	if strings.ContainsAny(body, "eE") {
		f, err := strconv.ParseFloat(body, 64)
		if err != nil || math.IsInf(f, 0) {
			return bad("number %s is out of range for float64", s)
		}
		if neg {
			f = -f
		}
		return sqlsubset.Float64Literal(f), nil
	}
	intPart, frac, hasPoint := strings.Cut(body, ".")
	if !hasPoint {
		v, ok := new(big.Int).SetString(body, 10)
		if !ok {
			return bad("invalid number %s", s)
		}
		if neg {
			v.Neg(v)
		}
		return integerLiteral(v, s)
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		digits = "0"
	}
	scale := int32(len(frac))
	prec := int32(len(digits))
	if prec < scale {
		prec = scale
	}
	if prec < 1 {
		prec = 1
	}
	if prec > sqlsubset.MaxDecimalPrecision {
		return bad("number %s has more than %d digits", s, sqlsubset.MaxDecimalPrecision)
	}
	if neg && digits != "0" {
		digits = "-" + digits
	}
	return sqlsubset.DecimalLiteral(digits, prec, scale), nil
}

func integerLiteral(v *big.Int, s string) (*sqlsubset.Literal, error) {
	switch {
	case v.IsInt64():
		return sqlsubset.Int64Literal(v.Int64()), nil
	case v.IsUint64():
		return sqlsubset.Uint64Literal(v.Uint64()), nil
	}
	digits := v.String()
	n := int32(len(strings.TrimPrefix(digits, "-")))
	if n > sqlsubset.MaxDecimalPrecision {
		return nil, apierr.New(apierr.InvalidArgument, "integer %s has more than %d digits", s, sqlsubset.MaxDecimalPrecision)
	}
	return sqlsubset.DecimalLiteral(digits, n, 0), nil
}

// pgType maps a PostgreSQL TypeName to a type.
func (c *converter) pgType(tn *pg.TypeName) (sqlsubset.Type, error) {
	if tn.Setof || tn.PctType {
		return sqlsubset.Type{}, c.unsupported(tn.Location, "this type syntax")
	}
	var names []string
	for _, n := range tn.Names {
		names = append(names, n.GetString_().GetSval())
	}
	if len(names) == 2 && names[0] == "pg_catalog" {
		names = names[1:]
	}
	if len(names) != 1 {
		return sqlsubset.Type{}, c.errAt(tn.Location, "unknown type %s", strings.Join(names, "."))
	}
	var mods []int64
	for _, m := range tn.Typmods {
		k := m.GetAConst()
		if k == nil || k.GetIval() == nil {
			return sqlsubset.Type{}, c.errAt(tn.Location, "type parameters must be integers")
		}
		mods = append(mods, int64(k.GetIval().Ival))
	}
	t, err := scalarType(names[0], mods)
	if err != nil {
		return sqlsubset.Type{}, c.errAt(tn.Location, "%s", apierr.PublicMessage(err))
	}
	for range tn.ArrayBounds {
		t = sqlsubset.ListType(t)
	}
	return t, nil
}

func (c *converter) typeCast(tc *pg.TypeCast, depth int) (sqlsubset.Expr, error) {
	t, err := c.pgType(tc.TypeName)
	if err != nil {
		return nil, err
	}
	arg, err := c.expr(tc.Arg, depth+1)
	if err != nil {
		return nil, err
	}
	// Fold typed constants: DATE '2024-01-31', TIMESTAMP '...',
	// CAST(1.5 AS DECIMAL(10,2)).
	if l, ok := arg.(*sqlsubset.Literal); ok {
		folded, err := foldCast(l, t)
		if err != nil {
			return nil, c.errAt(location(tc.Arg, tc.TypeName.Location), "%s", apierr.PublicMessage(err))
		}
		if folded != nil {
			return folded, nil
		}
	}
	return &sqlsubset.Cast{Expr: arg, Type: t}, nil
}

// foldCast returns the literal l cast to t when that is exact and t is a
// date, timestamp or decimal; nil when the cast stays a Cast node.
func foldCast(l *sqlsubset.Literal, t sqlsubset.Type) (*sqlsubset.Literal, error) {
	switch {
	case l.Type.ID == sqlsubset.String && t.ID == sqlsubset.Date32:
		d, err := sqlsubset.ParseDate(l.Str)
		if err != nil {
			return nil, err
		}
		return sqlsubset.Date32Literal(d), nil
	case l.Type.ID == sqlsubset.String && t.ID == sqlsubset.Timestamp:
		ts, hasOffset, unit, err := sqlsubset.ParseTimestamp(l.Str)
		if err != nil {
			return nil, err
		}
		if hasOffset && t.TZ == "" {
			return nil, apierr.New(apierr.InvalidArgument, "%s has a time zone offset; write TIMESTAMP WITH TIME ZONE '...'", sqlsubset.QuoteString(l.Str))
		}
		// A literal keeps its own precision: microseconds, or nanoseconds
		// when it has more than six fraction digits.
		return sqlsubset.TimestampLiteral(sqlsubset.TimestampValue(ts, unit), unit, t.TZ), nil
	case t.ID == sqlsubset.Decimal128 && (l.Type.ID == sqlsubset.Decimal128 || l.Type.ID == sqlsubset.Int64 || l.Type.ID == sqlsubset.Uint64):
		digits, scale := l.Str, l.Type.Scale
		switch l.Type.ID {
		case sqlsubset.Int64:
			digits, scale = strconv.FormatInt(l.Int, 10), 0
		case sqlsubset.Uint64:
			digits, scale = strconv.FormatUint(l.Uint, 10), 0
		}
		if scale > t.Scale {
			return nil, nil // rounding: leave it to the evaluator
		}
		if digits != "0" {
			digits += strings.Repeat("0", int(t.Scale-scale))
		}
		d := sqlsubset.DecimalLiteral(digits, t.Precision, t.Scale)
		if err := d.Validate(); err != nil {
			return nil, apierr.New(apierr.InvalidArgument, "%s does not fit %s", l, sqlsubset.SQLTypeName(t))
		}
		return d, nil
	}
	return nil, nil
}

func (c *converter) funcCall(f *pg.FuncCall, depth int) (sqlsubset.Expr, error) {
	var names []string
	for _, n := range f.Funcname {
		names = append(names, n.GetString_().GetSval())
	}
	name := strings.Join(names, ".")
	known, ok := sqlsubset.LookupFunction(name)
	if c.query {
		if ok {
			return nil, c.errAt(f.Location, "%s", policyFunctionInQuery(known.Name))
		}
		return nil, c.errAt(f.Location, "function %s() is not supported in a query", name)
	}
	if !ok {
		var list []string
		for _, fn := range sqlsubset.Functions() {
			list = append(list, fn.Name+"()")
		}
		return nil, c.errAt(f.Location, "function %s() is not supported (supported: %s)", name, strings.Join(list, ", "))
	}
	if f.AggStar || f.AggDistinct || f.FuncVariadic || f.Over != nil || f.AggFilter != nil || len(f.AggOrder) > 0 || f.AggWithinGroup {
		return nil, c.errAt(f.Location, "%s() takes plain arguments only", name)
	}
	args := make([]sqlsubset.Expr, len(f.Args))
	for i, a := range f.Args {
		e, err := c.expr(a, depth+1)
		if err != nil {
			return nil, err
		}
		args[i] = e
	}
	call := &sqlsubset.Call{Name: known.Name, Args: args}
	if err := sqlsubset.Validate(call); err != nil {
		return nil, c.errAt(f.Location, "%s", apierr.PublicMessage(err))
	}
	return call, nil
}
