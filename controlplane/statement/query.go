package statement

import (
	"math"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// Query is a SELECT in the subset agents accept: columns (or *) of one
// table, an optional filter and an optional limit.
type Query struct {
	Table   TableName      // FROM db.table
	Star    bool           // SELECT * (Columns is then empty)
	Columns []SelectColumn // the select list, in order, when not Star
	Where   sqlsubset.Expr // nil when absent
	Limit   *int64         // nil when absent (or LIMIT ALL / LIMIT NULL)
	Source  Span           // the query's text, without a trailing semicolon
}

// SelectColumn is one entry of a select list: a column, or with Path a
// field nested inside a struct column (address.city is {Name: "address",
// Path: ["city"]}), and its AS alias ("" if none). Table qualifiers are
// removed.
type SelectColumn struct {
	Name  string
	Path  []string
	Alias string
	// Const, when set, is an integer constant selected for every row
	// (SELECT 1 FROM t); Name is then its text.
	Const *sqlsubset.Literal
}

// maxQueryNesting bounds how many SPARK_GEN_SUBQ-style wrappers nest.
const maxQueryNesting = 16

// ParseQuery parses one SELECT in the subset agents accept (see "Queries"
// in the package documentation). Every error is an *apierr.Error with code
// InvalidArgument that names the construct at fault and where it is.
func ParseQuery(sql string) (*Query, error) {
	if len(sql) > MaxInputBytes {
		return nil, apierr.New(apierr.InvalidArgument, "query text is longer than %d bytes", MaxInputBytes)
	}
	toks, err := tokenize(sql)
	if err != nil {
		return nil, err
	}
	// One statement; semicolons around it are allowed.
	var stmt []token
	start := 0
	for i := 0; i <= len(toks); i++ {
		if i < len(toks) && !(toks[i].kind == tOp && toks[i].text == ";") {
			continue
		}
		if i > start {
			if stmt != nil {
				return nil, errAt(sql, toks[start].start, "multiple statements; send one query at a time")
			}
			stmt = toks[start:i]
		}
		start = i + 1
	}
	if stmt == nil {
		return nil, apierr.New(apierr.InvalidArgument, "no query to parse")
	}
	p := &parser{src: sql, toks: stmt}
	if err := p.queryKind(); err != nil {
		return nil, err
	}
	// current_user() with parentheses is nscale's spelling of a policy
	// function; say so rather than report PostgreSQL's syntax error.
	for i := 0; i+1 < len(stmt); i++ {
		if stmt[i].kind == tIdent && strings.EqualFold(stmt[i].text, "current_user") && stmt[i+1].kind == tOp && stmt[i+1].text == "(" {
			return nil, errAt(sql, stmt[i].start, "WHERE: %s", policyFunctionInQuery("current_user"))
		}
	}
	t := p.pgText(nil)
	n, err := t.parse()
	if err != nil {
		return nil, err
	}
	sel := n.GetSelectStmt()
	if sel == nil {
		return nil, errAt(sql, stmt[0].start, "unsupported statement %s; agents accept SELECT queries only", p.statementName())
	}
	qp := &queryParser{p: p, t: t}
	q, err := qp.selectStmt(sel, 0)
	if err != nil {
		return nil, err
	}
	s, e := stmt[0].start, stmt[len(stmt)-1].end
	line, col := position(sql, s)
	q.Source = Span{Start: s, End: e, Line: line, Col: col, Text: sql[s:e]}
	return q, nil
}

// policyFunctionInQuery is the message for a policy function in a query.
func policyFunctionInQuery(name string) string {
	return "policy function " + name + "() is not allowed in a query; row filters are applied by the control plane"
}

// queryKind refuses, by their first keyword, statements that are not
// queries, before PostgreSQL's parser sees them (Hive DDL is not
// PostgreSQL).
func (p *parser) queryKind() error {
	first := p.toks[0]
	switch {
	case p.isKw(0, "select"), first.kind == tOp && first.text == "(":
		return nil
	case p.isKw(0, "with"):
		return errAt(p.src, first.start, "WITH (common table expressions) is not supported in a query")
	case p.isKw(0, "values"):
		return errAt(p.src, first.start, "VALUES is not supported; write SELECT ... FROM db.table")
	case p.isKw(0, "table"):
		return errAt(p.src, first.start, "TABLE is not supported; write SELECT * FROM db.table")
	case p.isKw(0, "create"), p.isKw(0, "drop"), p.isKw(0, "alter"), p.isKw(0, "grant"), p.isKw(0, "revoke"),
		p.isKw(0, "show"), p.isKw(0, "describe"), p.isKw(0, "desc"), p.isKw(0, "refresh"), p.isKw(0, "comment"):
		return errAt(p.src, first.start, "%s is not a query; send DDL to the control plane with nscalectl sql", p.statementName())
	case p.isKw(0, "insert"), p.isKw(0, "update"), p.isKw(0, "delete"), p.isKw(0, "merge"),
		p.isKw(0, "truncate"), p.isKw(0, "copy"), p.isKw(0, "upsert"):
		return errAt(p.src, first.start, "%s is not supported; agents only read (SELECT), and tables are changed by writing their files", p.statementName())
	}
	// Anything else: PostgreSQL's syntax error if it is not PostgreSQL,
	// else "unsupported statement".
	if _, err := p.pgText(nil).parse(); err != nil {
		return err
	}
	return errAt(p.src, first.start, "unsupported statement %s; agents accept SELECT queries only", p.statementName())
}

// queryParser converts a parsed SELECT.
type queryParser struct {
	p *parser
	t *pgText
}

// at maps a pg_query location to an input offset (the start of the
// statement when unknown).
func (q *queryParser) at(loc int32) int {
	if loc >= 0 {
		return q.t.orig(int(loc))
	}
	return q.p.toks[0].start
}

func (q *queryParser) errAt(loc int32, format string, args ...any) error {
	return q.t.errAt(loc, q.p.toks[0].start, format, args...)
}

// kwPos is the input offset of the first unquoted word w (one of
// PostgreSQL's reserved words, so it cannot be a name), or of the start
// of the statement.
func (q *queryParser) kwPos(words ...string) int {
	for _, tok := range q.p.toks {
		if tok.kind != tIdent {
			continue
		}
		for _, w := range words {
			if strings.EqualFold(tok.text, w) {
				return tok.start
			}
		}
	}
	return q.p.toks[0].start
}

func (q *queryParser) refuseAt(off int, what string) error {
	return errAt(q.p.src, off, "%s is not supported in a query", what)
}

// aggregates are refused by name in the select list with a clearer
// message than "function".
var aggregates = setOfWords("count", "sum", "avg", "min", "max", "stddev", "stddev_pop", "stddev_samp",
	"variance", "var_pop", "var_samp", "array_agg", "string_agg", "bool_and", "bool_or", "every",
	"bit_and", "bit_or", "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg", "xmlagg",
	"percentile_cont", "percentile_disc", "mode", "corr", "covar_pop", "covar_samp",
	"approx_count_distinct", "collect_list", "collect_set", "first", "last", "any_value")

func setOfWords(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

func (q *queryParser) selectStmt(sel *pg.SelectStmt, nesting int) (*Query, error) {
	src := q.p.src
	switch {
	case sel.Op != pg.SetOperation_SETOP_NONE:
		return nil, q.refuseAt(q.kwPos("union", "intersect", "except"), "set operation "+strings.TrimPrefix(sel.Op.String(), "SETOP_"))
	case sel.WithClause != nil:
		return nil, q.refuseAt(q.at(sel.WithClause.Location), "WITH (common table expressions)")
	case sel.IntoClause != nil:
		return nil, q.refuseAt(q.kwPos("into"), "SELECT INTO")
	case len(sel.ValuesLists) > 0:
		return nil, q.refuseAt(q.kwPos("values"), "VALUES")
	case len(sel.DistinctClause) > 0:
		return nil, q.refuseAt(q.kwPos("distinct"), "DISTINCT")
	case len(sel.GroupClause) > 0 || sel.GroupDistinct:
		return nil, q.refuseAt(q.kwPos("group"), "GROUP BY")
	case sel.HavingClause != nil:
		return nil, q.refuseAt(q.kwPos("having"), "HAVING")
	case len(sel.WindowClause) > 0:
		return nil, q.refuseAt(q.kwPos("window"), "WINDOW")
	case len(sel.SortClause) > 0:
		return nil, errAt(src, q.kwPos("order"), "ORDER BY is not supported in a query: agents return rows in no particular order")
	case sel.LimitOffset != nil:
		return nil, q.refuseAt(q.kwPos("offset"), "OFFSET")
	case sel.LimitOption == pg.LimitOption_LIMIT_OPTION_WITH_TIES:
		return nil, q.refuseAt(q.kwPos("fetch"), "FETCH ... WITH TIES")
	case len(sel.LockingClause) > 0:
		return nil, q.refuseAt(q.kwPos("for"), "FOR UPDATE/SHARE")
	}
	selectAt := q.kwPos("select")
	// FROM: exactly one item.
	switch len(sel.FromClause) {
	case 0:
		return nil, errAt(src, selectAt, "a query reads one table: FROM db.table is missing")
	case 1:
	default:
		return nil, errAt(src, q.fromItemPos(sel.FromClause[1]), "more than one table in FROM is not supported in a query (a join)")
	}
	from := sel.FromClause[0]
	switch x := from.Node.(type) {
	case *pg.Node_RangeVar:
		return q.tableQuery(sel, x.RangeVar)
	case *pg.Node_RangeSubselect:
		return q.wrapperQuery(sel, x.RangeSubselect, nesting)
	case *pg.Node_JoinExpr:
		return nil, q.refuseAt(q.kwPos("join"), "JOIN")
	}
	return nil, errAt(src, q.fromItemPos(from), "FROM %s is not supported; a query reads one table, FROM db.table", fromItemName(from))
}

// fromItemPos is the input offset of a FROM item.
func (q *queryParser) fromItemPos(n *pg.Node) int {
	switch x := n.Node.(type) {
	case *pg.Node_RangeVar:
		return q.at(x.RangeVar.Location)
	case *pg.Node_JoinExpr:
		return q.kwPos("join")
	}
	// The token after the first FROM.
	at := q.kwPos("from")
	for _, tok := range q.p.toks {
		if tok.start > at {
			return tok.start
		}
	}
	return at
}

func fromItemName(n *pg.Node) string {
	switch n.Node.(type) {
	case *pg.Node_RangeFunction:
		return "a function"
	case *pg.Node_RangeTableSample:
		return "TABLESAMPLE"
	case *pg.Node_RangeTableFunc:
		return "XMLTABLE"
	case *pg.Node_JsonTable:
		return "JSON_TABLE"
	}
	return nodeName(n)
}

// tableQuery converts SELECT ... FROM db.table [alias] [WHERE] [LIMIT].
func (q *queryParser) tableQuery(sel *pg.SelectStmt, rv *pg.RangeVar) (*Query, error) {
	src := q.p.src
	nameAt := q.at(rv.Location)
	var parts []string
	for _, s := range []string{rv.Catalogname, rv.Schemaname, rv.Relname} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	table, err := checkTableName(src, parts, nameAt)
	if err != nil {
		return nil, err
	}
	if !rv.Inh {
		return nil, errAt(src, nameAt, "ONLY is not supported in a query")
	}
	qual := qualifier{table: table}
	if rv.Alias != nil {
		if len(rv.Alias.Colnames) > 0 {
			return nil, errAt(src, nameAt, "column aliases in FROM are not supported in a query; alias columns in the select list")
		}
		qual.alias = rv.Alias.Aliasname
	}
	out := &Query{Table: table}
	star, cols, err := q.selectList(sel, qual, false)
	if err != nil {
		return nil, err
	}
	out.Star, out.Columns = star, cols
	if out.Where, err = q.where(sel, qual); err != nil {
		return nil, err
	}
	if out.Limit, err = q.limit(sel); err != nil {
		return nil, err
	}
	return out, nil
}

// wrapperQuery flattens SELECT {* | columns} FROM (query) alias [WHERE f]
// [LIMIT n], the shape Spark's JDBC source gives a query: the outer columns
// name the subquery's output, the filters are ANDed and the smaller limit
// wins.
func (q *queryParser) wrapperQuery(sel *pg.SelectStmt, rs *pg.RangeSubselect, nesting int) (*Query, error) {
	src := q.p.src
	if nesting >= maxQueryNesting {
		return nil, errAt(src, q.kwPos("from"), "subqueries nest deeper than %d levels", maxQueryNesting)
	}
	if rs.Lateral {
		return nil, q.refuseAt(q.kwPos("lateral"), "LATERAL")
	}
	inner := rs.Subquery.GetSelectStmt()
	if inner == nil {
		return nil, errAt(src, q.kwPos("from"), "a subquery in FROM must be a SELECT")
	}
	qual := qualifier{}
	if rs.Alias != nil {
		if len(rs.Alias.Colnames) > 0 {
			return nil, errAt(src, q.kwPos("from"), "column aliases in FROM are not supported in a query; alias columns in the select list")
		}
		qual.alias = rs.Alias.Aliasname
	}
	// The outer select list is * or columns of the subquery's output
	// (Spark's query option: SELECT "a","b" FROM (query) SPARK_GEN_SUBQ_0).
	star, outerCols, err := q.selectList(sel, qual, false)
	if err != nil {
		return nil, err
	}
	out, err := q.selectStmt(inner, nesting+1)
	if err != nil {
		return nil, err
	}
	where, err := q.where(sel, qual)
	if err != nil {
		return nil, err
	}
	if where != nil {
		if err := resolveOuter(where, out, q, sel); err != nil {
			return nil, err
		}
		out.Where = andOf(out.Where, where)
	}
	if !star {
		cols := make([]SelectColumn, len(outerCols))
		for i, oc := range outerCols {
			if oc.Const != nil {
				cols[i] = oc
				continue
			}
			ref := &sqlsubset.Column{Name: oc.Name, Path: oc.Path}
			if !out.Star {
				var found *SelectColumn
				for j := range out.Columns {
					if out.Columns[j].Const == nil && out.Columns[j].outputName() == oc.Name {
						if found != nil {
							return nil, errAt(src, q.kwPos("select"), "select list: column %s is ambiguous in the subquery's select list", sqlsubset.QuoteIdent(oc.Name))
						}
						found = &out.Columns[j]
					}
				}
				if found == nil {
					return nil, errAt(src, q.kwPos("select"), "select list: column %s is not in the subquery's select list", sqlsubset.QuoteIdent(oc.Name))
				}
				ref.Name, ref.Path = found.Name, append(append([]string(nil), found.Path...), oc.Path...)
			}
			if len(ref.Path) == 0 {
				ref.Path = nil
			}
			c := SelectColumn{Name: ref.Name, Path: ref.Path, Alias: oc.Alias}
			if c.Alias == "" && oc.outputName() != c.outputName() {
				c.Alias = oc.outputName()
			}
			cols[i] = c
		}
		out.Star, out.Columns = false, cols
	}
	limit, err := q.limit(sel)
	if err != nil {
		return nil, err
	}
	if limit != nil && (out.Limit == nil || *limit < *out.Limit) {
		out.Limit = limit
	}
	return out, nil
}

// resolveOuter rewrites the columns of an outer WHERE, which name the
// subquery's output columns, to the table's columns.
func resolveOuter(where sqlsubset.Expr, inner *Query, q *queryParser, sel *pg.SelectStmt) error {
	if inner.Star {
		return nil
	}
	var err error
	sqlsubset.Walk(where, func(e sqlsubset.Expr) bool {
		c, ok := e.(*sqlsubset.Column)
		if !ok || err != nil {
			return err == nil
		}
		var found *SelectColumn
		for i := range inner.Columns {
			if inner.Columns[i].outputName() == c.Name {
				if found != nil {
					err = q.errAt(location(sel.WhereClause, -1), "WHERE: column %s is ambiguous in the subquery's select list", sqlsubset.QuoteIdent(c.Name))
					return false
				}
				found = &inner.Columns[i]
			}
		}
		if found == nil {
			err = q.errAt(location(sel.WhereClause, -1), "WHERE: column %s is not in the subquery's select list", sqlsubset.QuoteIdent(c.Name))
			return false
		}
		c.Name, c.Path = found.Name, append(append([]string(nil), found.Path...), c.Path...)
		if len(c.Path) == 0 {
			c.Path = nil
		}
		return true
	})
	return err
}

// outputName is the name a select list entry has in the result.
func (c SelectColumn) outputName() string {
	switch {
	case c.Alias != "":
		return c.Alias
	case len(c.Path) > 0:
		return c.Path[len(c.Path)-1]
	}
	return c.Name
}

// andOf ANDs two filters, flattening as the converter does.
func andOf(a, b sqlsubset.Expr) sqlsubset.Expr {
	if a == nil {
		return b
	}
	var args []sqlsubset.Expr
	for _, e := range []sqlsubset.Expr{a, b} {
		if x, ok := e.(*sqlsubset.And); ok {
			args = append(args, x.Args...)
		} else {
			args = append(args, e)
		}
	}
	return &sqlsubset.And{Args: args}
}

// qualifier is what may qualify a column: the alias of the FROM item, or
// without one the table name (t.c) or the database and table (db.t.c).
type qualifier struct {
	table TableName // zero for a subquery
	alias string
}

// strip removes a qualifier from the parts of a column reference: the
// parts after it are the column and its field path. Without a matching
// qualifier the first part is the column.
func (qu qualifier) strip(names []string) []string {
	switch {
	case qu.alias != "":
		if len(names) > 1 && names[0] == qu.alias {
			return names[1:]
		}
	case qu.table.Table != "":
		if len(names) > 2 && names[0] == qu.table.Database && names[1] == qu.table.Table {
			return names[2:]
		}
		if len(names) > 1 && names[0] == qu.table.Table {
			return names[1:]
		}
	}
	return names
}

func (qu qualifier) stripColumn(c *sqlsubset.Column) {
	names := qu.strip(append([]string{c.Name}, c.Path...))
	c.Name, c.Path = names[0], nil
	if len(names) > 1 {
		c.Path = names[1:]
	}
}

// isStar reports whether fields are *, or qualifier.*.
func (qu qualifier) isStar(fields []*pg.Node) (star, qualifiedOK bool) {
	if len(fields) == 0 || fields[len(fields)-1].GetAStar() == nil {
		return false, false
	}
	var names []string
	for _, f := range fields[:len(fields)-1] {
		s := f.GetString_()
		if s == nil {
			return true, false
		}
		names = append(names, s.Sval)
	}
	if len(names) == 0 {
		return true, true
	}
	return true, len(qu.strip(append(names, "*"))) == 1
}

// selectList converts the select list: * (or qualifier.*) alone, or
// column references with optional aliases. With starOnly, only * is
// allowed (the outer query of a wrapper).
func (q *queryParser) selectList(sel *pg.SelectStmt, qual qualifier, starOnly bool) (bool, []SelectColumn, error) {
	src := q.p.src
	if len(sel.TargetList) == 0 {
		return false, nil, errAt(src, q.kwPos("select"), "the select list is empty; name columns or write *")
	}
	star := false
	var cols []SelectColumn
	c := converter{t: q.t, fallback: q.kwPos("select"), query: true}
	for i, item := range sel.TargetList {
		rt := item.GetResTarget()
		if rt == nil {
			return false, nil, errAt(src, q.kwPos("select"), "unexpected %s in the select list", nodeName(item))
		}
		if cr := rt.Val.GetColumnRef(); cr != nil {
			if isStar, ok := qual.isStar(cr.Fields); isStar {
				if !ok {
					return false, nil, q.errAt(cr.Location, "%s does not name the table in FROM", columnRefText(cr.Fields))
				}
				if len(sel.TargetList) > 1 {
					at := cr.Location
					if i == 0 {
						at = sel.TargetList[1].GetResTarget().GetLocation()
					}
					return false, nil, q.errAt(at, "* cannot be combined with other entries in the select list")
				}
				star = true
				continue
			}
		}
		if starOnly {
			return false, nil, q.errAt(rt.Location, "a subquery in FROM is supported only as SELECT * FROM (query) alias [WHERE ...] [LIMIT n]")
		}
		if ac := rt.Val.GetAConst(); ac != nil && ac.GetIval() != nil && !ac.Isnull && len(rt.Indirection) == 0 {
			// SELECT 1 FROM t: Spark's query when it needs no column
			// (df.count()); one integer per row.
			v := int64(ac.GetIval().Ival)
			cols = append(cols, SelectColumn{Name: strconv.FormatInt(v, 10), Alias: rt.Name, Const: sqlsubset.Int64Literal(v)})
			continue
		}
		col, err := q.selectColumn(&c, rt)
		if err != nil {
			return false, nil, err
		}
		e := col.(*sqlsubset.Column)
		qual.stripColumn(e)
		cols = append(cols, SelectColumn{Name: e.Name, Path: e.Path, Alias: rt.Name})
	}
	return star, cols, nil
}

// columnRefText spells a column reference for a message.
func columnRefText(fields []*pg.Node) string {
	var parts []string
	for _, f := range fields {
		if f.GetAStar() != nil {
			parts = append(parts, "*")
		} else {
			parts = append(parts, sqlsubset.QuoteIdent(f.GetString_().GetSval()))
		}
	}
	return strings.Join(parts, ".")
}

// selectColumn converts one select list entry, which must be a column
// reference.
func (q *queryParser) selectColumn(c *converter, rt *pg.ResTarget) (sqlsubset.Expr, error) {
	if len(rt.Indirection) > 0 {
		return nil, q.errAt(rt.Location, "unexpected indirection in the select list")
	}
	switch x := rt.Val.Node.(type) {
	case *pg.Node_ColumnRef:
		return c.columnRef(x.ColumnRef.Fields, nil, x.ColumnRef.Location)
	case *pg.Node_AIndirection:
		if cr := x.AIndirection.Arg.GetColumnRef(); cr != nil {
			return c.columnRef(cr.Fields, x.AIndirection.Indirection, cr.Location)
		}
	case *pg.Node_FuncCall:
		f := x.FuncCall
		var names []string
		for _, n := range f.Funcname {
			names = append(names, n.GetString_().GetSval())
		}
		name := strings.Join(names, ".")
		last := strings.ToLower(names[len(names)-1])
		switch {
		case f.Over != nil:
			return nil, q.errAt(f.Location, "window function %s() is not supported in a query", name)
		case aggregates[last] || f.AggStar || f.AggDistinct || f.AggFilter != nil || len(f.AggOrder) > 0 || f.AggWithinGroup:
			return nil, q.errAt(f.Location, "aggregate function %s() is not supported in a query", name)
		}
		return nil, q.errAt(f.Location, "function %s() in the select list is not supported; select columns only", name)
	}
	return nil, q.errAt(location(rt.Val, rt.Location), "%s in the select list is not supported; select columns only", selectItemName(rt.Val))
}

func selectItemName(n *pg.Node) string {
	switch n.Node.(type) {
	case *pg.Node_AConst:
		return "a literal"
	case *pg.Node_TypeCast:
		return "CAST"
	case *pg.Node_AExpr, *pg.Node_BoolExpr, *pg.Node_NullTest, *pg.Node_BooleanTest:
		return "an expression"
	case *pg.Node_SubLink:
		return "a subquery"
	case *pg.Node_CaseExpr:
		return "CASE"
	case *pg.Node_CoalesceExpr:
		return "COALESCE"
	case *pg.Node_SqlvalueFunction:
		return "a SQL value function"
	case *pg.Node_AIndirection:
		return "field selection from an expression"
	}
	return "expression " + nodeName(n)
}

// where converts the WHERE clause with the row filter converter, refusing
// functions, and strips table qualifiers from its columns.
func (q *queryParser) where(sel *pg.SelectStmt, qual qualifier) (sqlsubset.Expr, error) {
	if sel.WhereClause == nil {
		return nil, nil
	}
	fallback := q.at(location(sel.WhereClause, -1))
	c := converter{t: q.t, fallback: fallback, query: true}
	e, err := c.expr(sel.WhereClause, 1)
	if err != nil {
		return nil, err
	}
	if err := sqlsubset.Validate(e); err != nil {
		return nil, errAt(q.p.src, fallback, "WHERE: %s", apierr.PublicMessage(err))
	}
	sqlsubset.Walk(e, func(x sqlsubset.Expr) bool {
		if col, ok := x.(*sqlsubset.Column); ok {
			qual.stripColumn(col)
		}
		return true
	})
	return e, nil
}

// limit reads LIMIT n (or FETCH FIRST n ROWS ONLY): a non-negative integer
// constant; LIMIT ALL and LIMIT NULL are no limit.
func (q *queryParser) limit(sel *pg.SelectStmt) (*int64, error) {
	if sel.LimitCount == nil {
		return nil, nil
	}
	k := sel.LimitCount.GetAConst()
	if k == nil {
		loc := location(sel.LimitCount, -1)
		if pr := sel.LimitCount.GetParamRef(); pr != nil {
			loc = pr.Location
		}
		return nil, q.errAt(loc, "LIMIT takes a non-negative integer constant")
	}
	if k.Isnull {
		return nil, nil
	}
	var n int64
	switch {
	case k.GetIval() != nil:
		n = int64(k.GetIval().Ival)
	case k.GetFval() != nil:
		l, err := numberLiteral(k.GetFval().Fval)
		if err != nil || l.Type.ID != sqlsubset.Int64 {
			return nil, q.errAt(k.Location, "LIMIT %s is not an integer from 0 to %d", k.GetFval().Fval, int64(math.MaxInt64))
		}
		n = l.Int
	case k.GetSval() != nil || k.GetBoolval() != nil || k.GetBsval() != nil:
		return nil, q.errAt(k.Location, "LIMIT takes a non-negative integer constant")
	}
	if n < 0 {
		return nil, q.errAt(k.Location, "LIMIT must not be negative")
	}
	return &n, nil
}
