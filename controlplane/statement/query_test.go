package statement_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/nscale/nscale/controlplane/statement"
	"github.com/nscale/nscale/internal/sqlsubset"
)

func qcol(name string, path ...string) *sqlsubset.Column {
	if len(path) == 0 {
		path = nil
	}
	return &sqlsubset.Column{Name: name, Path: path}
}

func qcmp(op sqlsubset.CompareOp, l, r sqlsubset.Expr) *sqlsubset.Compare {
	return &sqlsubset.Compare{Op: op, Left: l, Right: r}
}

func qand(args ...sqlsubset.Expr) *sqlsubset.And { return &sqlsubset.And{Args: args} }

func qlimit(n int64) *int64 { return &n }

func sc(name string, path ...string) statement.SelectColumn {
	if len(path) == 0 {
		path = nil
	}
	return statement.SelectColumn{Name: name, Path: path}
}

func scAs(alias, name string, path ...string) statement.SelectColumn {
	c := sc(name, path...)
	c.Alias = alias
	return c
}

var (
	salesTx = statement.TableName{Database: "sales", Table: "tx"}
	dbT     = statement.TableName{Database: "db", Table: "t"}
	falseEq = qcmp(sqlsubset.Eq, sqlsubset.Int64Literal(1), sqlsubset.Int64Literal(0))
	trueEq  = qcmp(sqlsubset.Eq, sqlsubset.Int64Literal(1), sqlsubset.Int64Literal(1))
)

type queryCase struct {
	sql  string
	want statement.Query // Source is not compared here
	// filter, if set, is the WHERE as ParseFilter reads it: the query's
	// tree must be the same (Where must then be nil in want).
	filter string
}

var validQueries = []queryCase{
	{sql: `SELECT a, b AS x, "Mixed Case", t.c FROM db.t`,
		want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a"), scAs("x", "b"), sc("Mixed Case"), sc("c")}}},
	{sql: `SELECT * FROM db.t`, want: statement.Query{Table: dbT, Star: true}},
	{sql: `select * from DB.T`, want: statement.Query{Table: dbT, Star: true}},
	{sql: `SELECT * FROM "Sales"."TX"`, want: statement.Query{Table: statement.TableName{Database: "Sales", Table: "TX"}, Star: true}},
	{sql: "SELECT `Id` FROM `sales`.`tx`", want: statement.Query{Table: salesTx, Columns: []statement.SelectColumn{sc("Id")}}},
	{sql: `SELECT t.* FROM db.t`, want: statement.Query{Table: dbT, Star: true}},
	{sql: `SELECT db.t.* FROM db.t`, want: statement.Query{Table: dbT, Star: true}},
	{sql: `SELECT x.* FROM db.t AS x`, want: statement.Query{Table: dbT, Star: true}},
	{sql: `SELECT x.* FROM db.t x`, want: statement.Query{Table: dbT, Star: true}},
	{sql: `SELECT x.a, x.b FROM db.t AS x`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a"), sc("b")}}},
	{sql: `SELECT x.a y FROM db.t x`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{scAs("y", "a")}}},
	{sql: `SELECT db.t.a FROM db.t`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a")}}},
	{sql: `SELECT address.city FROM db.t`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("address", "city")}}},
	{sql: `SELECT t.address.city AS c FROM db.t`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{scAs("c", "address", "city")}}},
	{sql: `SELECT (address).city FROM db.t`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("address", "city")}}},
	{sql: `SELECT t.t.x FROM db.t`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("t", "x")}}},
	{sql: `SELECT t FROM db.t`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("t")}}},
	{sql: `SELECT a, a FROM db.t`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a"), sc("a")}}},
	{sql: `SELECT "select", "A""B" FROM db.t`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("select"), sc(`A"B`)}}},
	{sql: `SELECT * FROM db.t LIMIT 10`, want: statement.Query{Table: dbT, Star: true, Limit: qlimit(10)}},
	{sql: `SELECT * FROM db.t LIMIT 0`, want: statement.Query{Table: dbT, Star: true, Limit: qlimit(0)}},
	{sql: `SELECT * FROM db.t LIMIT ALL`, want: statement.Query{Table: dbT, Star: true}},
	{sql: `SELECT * FROM db.t LIMIT NULL`, want: statement.Query{Table: dbT, Star: true}},
	{sql: `SELECT * FROM db.t LIMIT 9223372036854775807`, want: statement.Query{Table: dbT, Star: true, Limit: qlimit(9223372036854775807)}},
	{sql: `SELECT * FROM db.t FETCH FIRST 5 ROWS ONLY`, want: statement.Query{Table: dbT, Star: true, Limit: qlimit(5)}},
	{sql: `SELECT * FROM db.t;`, want: statement.Query{Table: dbT, Star: true}},
	{sql: "  SELECT * FROM db.t ; ;\n", want: statement.Query{Table: dbT, Star: true}},
	{sql: "-- probe\nSELECT /* all */ * FROM db.t", want: statement.Query{Table: dbT, Star: true}},
	{sql: `(SELECT a FROM db.t)`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a")}}},
	// Spark shapes.
	{sql: `SELECT * FROM sales.tx WHERE 1=0`, want: statement.Query{Table: salesTx, Star: true, Where: falseEq}},
	{sql: `SELECT * FROM sales.tx WHERE 1=1`, want: statement.Query{Table: salesTx, Star: true, Where: trueEq}},
	{sql: `SELECT "id","email" FROM sales.tx WHERE ("country" = 'DE') AND ("amount" > 10)`,
		want: statement.Query{Table: salesTx, Columns: []statement.SelectColumn{sc("id"), sc("email")},
			Where: qand(qcmp(sqlsubset.Eq, qcol("country"), sqlsubset.StringLiteral("DE")), qcmp(sqlsubset.Gt, qcol("amount"), sqlsubset.Int64Literal(10))),
		}},
	{sql: `SELECT "id","email" FROM sales.tx WHERE ("country" = 'DE') AND ("amount" > 10) AND ("email" IS NOT NULL);`,
		want:   statement.Query{Table: salesTx, Columns: []statement.SelectColumn{sc("id"), sc("email")}},
		filter: `("country" = 'DE') AND ("amount" > 10) AND ("email" IS NOT NULL)`},
	{sql: `SELECT "id","dt" FROM sales.tx WHERE "dt" >= '2024-01-01' AND "dt" < '2024-02-01'`,
		want: statement.Query{Table: salesTx, Columns: []statement.SelectColumn{sc("id"), sc("dt")},
			Where: qand(qcmp(sqlsubset.Ge, qcol("dt"), sqlsubset.StringLiteral("2024-01-01")), qcmp(sqlsubset.Lt, qcol("dt"), sqlsubset.StringLiteral("2024-02-01"))),
		}},
	{sql: `SELECT "id" FROM sales.tx WHERE ("amount" > 10) AND ("dt" >= '2024-01-01' AND "dt" < '2024-02-01')`,
		want:   statement.Query{Table: salesTx, Columns: []statement.SelectColumn{sc("id")}},
		filter: `"amount" > 10 AND "dt" >= '2024-01-01' AND "dt" < '2024-02-01'`},
	{sql: `SELECT * FROM (SELECT "id","email" FROM sales.tx) SPARK_GEN_SUBQ_0 WHERE 1=0`,
		want: statement.Query{Table: salesTx, Columns: []statement.SelectColumn{sc("id"), sc("email")}, Where: falseEq}},
	{sql: `SELECT * FROM (SELECT * FROM sales.tx WHERE "country" = 'DE') SPARK_GEN_SUBQ_3 WHERE 1=0`,
		want: statement.Query{Table: salesTx, Star: true, Where: qand(qcmp(sqlsubset.Eq, qcol("country"), sqlsubset.StringLiteral("DE")), falseEq)}},
	{sql: `SELECT * FROM (SELECT "id", "email" AS e FROM sales.tx WHERE a = 1 AND b = 2 LIMIT 5) AS SPARK_GEN_SUBQ_1 WHERE (e IS NULL) AND (SPARK_GEN_SUBQ_1.id > 3) LIMIT 3`,
		want: statement.Query{Table: salesTx, Columns: []statement.SelectColumn{sc("id"), scAs("e", "email")}, Limit: qlimit(3),
			Where: qand(
				qcmp(sqlsubset.Eq, qcol("a"), sqlsubset.Int64Literal(1)), qcmp(sqlsubset.Eq, qcol("b"), sqlsubset.Int64Literal(2)),
				&sqlsubset.IsNull{Expr: qcol("email")}, qcmp(sqlsubset.Gt, qcol("id"), sqlsubset.Int64Literal(3))),
		}},
	// Spark's df.count(): SELECT 1 when no column is needed.
	{sql: `SELECT 1 FROM db.t WHERE ("a" > 1)`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{{Name: "1", Const: sqlsubset.Int64Literal(1)}},
		Where: qcmp(sqlsubset.Gt, qcol("a"), sqlsubset.Int64Literal(1))}},
	{sql: `SELECT 1 FROM (SELECT a FROM db.t) SPARK_GEN_SUBQ_0`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{{Name: "1", Const: sqlsubset.Int64Literal(1)}}}},
	// Spark's query option: the outer list names the subquery's output.
	{sql: `SELECT "id","e" FROM (SELECT id, email AS e, country FROM sales.tx WHERE country = 'DE') SPARK_GEN_SUBQ_0 WHERE ("e" IS NOT NULL)`,
		want: statement.Query{Table: salesTx, Columns: []statement.SelectColumn{sc("id"), scAs("e", "email")},
			Where: qand(qcmp(sqlsubset.Eq, qcol("country"), sqlsubset.StringLiteral("DE")), &sqlsubset.IsNull{Expr: qcol("email"), Not: true})}},
	{sql: `SELECT "a" FROM (SELECT * FROM db.t) s`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a")}}},
	{sql: `SELECT c AS town FROM (SELECT address.city AS c FROM db.t) s`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{scAs("town", "address", "city")}}},
	{sql: `SELECT * FROM (SELECT a FROM db.t LIMIT 2) s LIMIT 7`,
		want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a")}, Limit: qlimit(2)}},
	{sql: `SELECT * FROM (SELECT (address).city AS c FROM db.t) s WHERE c.x = 'y'`,
		want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{scAs("c", "address", "city")},
			Where: qcmp(sqlsubset.Eq, qcol("address", "city", "x"), sqlsubset.StringLiteral("y"))}},
	{sql: `SELECT s.* FROM (SELECT * FROM (SELECT a FROM db.t WHERE a > 1) q WHERE 1=1) s`,
		want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a")},
			Where: qand(qcmp(sqlsubset.Gt, qcol("a"), sqlsubset.Int64Literal(1)), trueEq)}},
	{sql: `SELECT * FROM (SELECT a FROM db.t)`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a")}}},
	// WHERE: the same trees as ParseFilter.
	{sql: `SELECT a FROM db.t WHERE a = 1 OR NOT (b <> 'x')`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a")}}, filter: `a = 1 OR NOT (b <> 'x')`},
	{sql: `SELECT a FROM db.t WHERE a IN (1, 2, 3) AND b NOT IN ('x')`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a")}}, filter: `a IN (1, 2, 3) AND b NOT IN ('x')`},
	{sql: `SELECT a FROM db.t WHERE a BETWEEN 1 AND 10`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a")}}, filter: `a BETWEEN 1 AND 10`},
	{sql: `SELECT a FROM db.t WHERE a NOT BETWEEN 1.5 AND 2.25`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a")}}, filter: `a NOT BETWEEN 1.5 AND 2.25`},
	{sql: `SELECT a FROM db.t WHERE name LIKE 'a%' OR name NOT ILIKE '_b'`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a")}}, filter: `name LIKE 'a%' OR name NOT ILIKE '_b'`},
	{sql: `SELECT a FROM db.t WHERE a IS NULL AND b IS NOT NULL AND c IS TRUE`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a")}}, filter: `a IS NULL AND b IS NOT NULL AND c IS TRUE`},
	{sql: `SELECT a FROM db.t WHERE d = DATE '2024-01-31' AND ts < TIMESTAMP '2024-01-31 12:00:00.5'`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a")}}, filter: `d = DATE '2024-01-31' AND ts < TIMESTAMP '2024-01-31 12:00:00.5'`},
	{sql: `SELECT a FROM db.t WHERE CAST(a AS BIGINT) > 1e3 AND b::text = 'x' AND c = X'CAFE' AND e = NULL AND f = TRUE`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a")}}, filter: `CAST(a AS BIGINT) > 1e3 AND b::text = 'x' AND c = X'CAFE' AND e = NULL AND f = TRUE`},
	{sql: `SELECT a FROM db.t WHERE amount = CAST(1.5 AS DECIMAL(10,2)) AND big = 99999999999999999999`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a")}}, filter: `amount = CAST(1.5 AS DECIMAL(10,2)) AND big = 99999999999999999999`},
	{sql: `SELECT a FROM db.t WHERE address.city = 'Berlin' AND (address).zip = '10115'`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a")}}, filter: `address.city = 'Berlin' AND (address).zip = '10115'`},
	{sql: `SELECT a FROM db.t AS x WHERE x.a = 1 AND x.address.city = 'B'`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a")}}, filter: `a = 1 AND address.city = 'B'`},
	{sql: `SELECT a FROM db.t WHERE t.a = 1 AND db.t.b = 2`, want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a")}}, filter: `a = 1 AND b = 2`},
	{sql: "SELECT a\nFROM db.t\nWHERE a > 1\nLIMIT 5;", want: statement.Query{Table: dbT, Columns: []statement.SelectColumn{sc("a")}, Limit: qlimit(5)}, filter: `a > 1`},
}

type badQuery struct {
	sql  string
	want string // a substring of the message: the construct
	pos  string // "line L, column C", or "" when the message has no position
}

var invalidQueries = []badQuery{
	{"", "no query", ""},
	{";;", "no query", ""},
	{"SELECT a FROM db.t; SELECT b FROM db.t", "multiple statements", "line 1, column 21"},
	{"SELECT a FROM db.t JOIN db.u ON t.a = u.a", "JOIN is not supported", "line 1, column 20"},
	{"SELECT a FROM db.t LEFT JOIN db.u USING (a)", "JOIN is not supported", "line 1, column 25"},
	{"SELECT a FROM db.t, db.u", "more than one table in FROM", "line 1, column 21"},
	{"SELECT a FROM db.t GROUP BY a", "GROUP BY is not supported", "line 1, column 20"},
	{"SELECT a FROM db.t WHERE a > 1 HAVING a > 2", "HAVING is not supported", "line 1, column 32"},
	{"SELECT count(*) FROM db.t", "aggregate function count()", "line 1, column 8"},
	{"SELECT max(a) FROM db.t", "aggregate function max()", "line 1, column 8"},
	{"SELECT a FROM db.t ORDER BY a", "ORDER BY is not supported", "line 1, column 20"},
	{"SELECT DISTINCT a FROM db.t", "DISTINCT is not supported", "line 1, column 8"},
	{"SELECT row_number() OVER () FROM db.t", "window function row_number()", "line 1, column 8"},
	{"SELECT a FROM db.t WINDOW w AS ()", "WINDOW is not supported", "line 1, column 20"},
	{"SELECT a FROM db.t UNION SELECT a FROM db.u", "set operation UNION", "line 1, column 20"},
	{"SELECT a FROM db.t EXCEPT SELECT a FROM db.u", "set operation EXCEPT", "line 1, column 20"},
	{"WITH x AS (SELECT a FROM db.t) SELECT * FROM x", "WITH (common table expressions)", "line 1, column 1"},
	{"SELECT lower(a) FROM db.t", "function lower() in the select list", "line 1, column 8"},
	{"SELECT a + 1 FROM db.t", "an expression in the select list", "line 1, column 10"},
	{"SELECT 1.5 FROM db.t", "a literal in the select list", "line 1, column 8"},
	{"SELECT CAST(a AS INT) FROM db.t", "CAST in the select list", "line 1, column 8"},
	{"SELECT * , a FROM db.t", "* cannot be combined", "line 1, column 12"},
	{"SELECT x.* FROM db.t", "x.* does not name the table", "line 1, column 8"},
	{"SELECT a FROM db.t OFFSET 5", "OFFSET is not supported", "line 1, column 20"},
	{"SELECT a FROM db.t LIMIT 5 OFFSET 5", "OFFSET is not supported", "line 1, column 28"},
	{"SELECT a FROM db.t FOR UPDATE", "FOR UPDATE/SHARE", "line 1, column 20"},
	{"SELECT a FROM t", "table name t must be qualified with its database", "line 1, column 15"},
	{"SELECT a FROM c.db.t", "too many parts", "line 1, column 15"},
	{"SELECT a FROM ONLY db.t", "ONLY is not supported", "line 1, column 20"},
	{"SELECT a FROM db.t AS x(b)", "column aliases in FROM", "line 1, column 15"},
	{"SELECT a", "FROM db.table is missing", "line 1, column 1"},
	{"SELECT FROM db.t", "select list is empty", "line 1, column 1"},
	{"INSERT INTO db.t VALUES (1)", "INSERT is not supported", "line 1, column 1"},
	{"UPDATE db.t SET a = 1", "UPDATE is not supported", "line 1, column 1"},
	{"DELETE FROM db.t", "DELETE is not supported", "line 1, column 1"},
	{"CREATE EXTERNAL TABLE db.t STORED AS PARQUET LOCATION 's3://b/t'", "send DDL to the control plane with nscalectl sql", "line 1, column 1"},
	{"  DROP TABLE db.t", "DROP TABLE is not a query", "line 1, column 3"},
	{"GRANT SELECT ON db.t TO r", "GRANT is not a query", "line 1, column 1"},
	{"VALUES (1)", "VALUES is not supported", "line 1, column 1"},
	{"TABLE db.t", "TABLE is not supported", "line 1, column 1"},
	{"EXPLAIN SELECT * FROM db.t", "unsupported statement EXPLAIN", "line 1, column 1"},
	{"SELECT a FROM db.t WHERE a = current_user", "policy function current_user()", "line 1, column 30"},
	{"SELECT a FROM db.t WHERE a = current_user()", "policy function current_user()", "line 1, column 30"},
	{"SELECT a FROM db.t\nWHERE has_role('admin')", "policy function has_role()", "line 2, column 7"},
	{"SELECT a FROM db.t WHERE user_attribute('dept') = 'x'", "policy function user_attribute()", "line 1, column 26"},
	{"SELECT a FROM db.t WHERE lower(a) = 'x'", "function lower() is not supported in a query", "line 1, column 26"},
	{"SELECT a FROM db.t WHERE a = (SELECT 1)", "subquery is not supported", "line 1, column 30"},
	{"SELECT a FROM db.t WHERE a + 1 = 2", "operator + is not supported", "line 1, column 28"},
	{"SELECT a FROM db.t LIMIT -1", "LIMIT must not be negative", "line 1, column 26"},
	{"SELECT a FROM db.t LIMIT 1.5", "LIMIT 1.5 is not an integer", "line 1, column 26"},
	{"SELECT a FROM db.t LIMIT 99999999999999999999", "is not an integer", "line 1, column 26"},
	{"SELECT a FROM db.t LIMIT 'x'", "non-negative integer constant", "line 1, column 26"},
	{"SELECT a FROM db.t LIMIT $1", "non-negative integer constant", "line 1, column 26"},
	{"SELECT a FROM db.t WHERE", "syntax error", "line 1, column 25"},
	{"SELEC a FROM db.t", "syntax error", "line 1, column 1"},
	{"SELECT b FROM (SELECT a FROM db.t) s", "column b is not in the subquery's select list", "line 1, column 1"},
	{"SELECT * FROM (SELECT a FROM db.t) s WHERE b = 1", "column b is not in the subquery's select list", "line 1, column 46"},
	{"SELECT * FROM (SELECT a FROM db.t ORDER BY a) s WHERE 1=0", "ORDER BY is not supported", "line 1, column 35"},
	{"SELECT * FROM (SELECT a FROM db.t) s JOIN db.u ON true", "JOIN is not supported", "line 1, column 38"},
	{"SELECT * FROM (SELECT a FROM t) s", "must be qualified", "line 1, column 30"},
	{"SELECT * FROM LATERAL (SELECT a FROM db.t) s", "LATERAL", "line 1, column 15"},
	{"SELECT * FROM generate_series(1, 3)", "FROM a function is not supported", "line 1, column 15"},
	{"SELECT a INTO x FROM db.t", "SELECT INTO", "line 1, column 10"},
	{"SELECT * FROM db.t WHERE a = 'x", "unterminated", "line 1, column 30"},
}

func TestParseQuery(t *testing.T) {
	for _, c := range validQueries {
		t.Run(c.sql, func(t *testing.T) {
			q, err := statement.ParseQuery(c.sql)
			if err != nil {
				t.Fatalf("ParseQuery: %v", err)
			}
			want := c.want
			if c.filter != "" {
				if want.Where != nil {
					t.Fatal("test case sets both Where and filter")
				}
				f, err := statement.ParseFilter(c.filter)
				if err != nil {
					t.Fatalf("ParseFilter(%s): %v", c.filter, err)
				}
				want.Where = f
			}
			if !sqlsubset.Equal(q.Where, want.Where) {
				t.Errorf("Where = %v, want %v", q.Where, want.Where)
			}
			got := *q
			got.Where, want.Where = nil, nil
			got.Source = statement.Span{}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			// The span covers the statement without surrounding space,
			// comments or semicolons.
			sp := q.Source
			if sp.Text != c.sql[sp.Start:sp.End] || strings.HasSuffix(sp.Text, ";") || strings.TrimSpace(sp.Text) != sp.Text || sp.Line < 1 || sp.Col < 1 {
				t.Errorf("bad span %+v", sp)
			}
			if q.Where != nil {
				if err := sqlsubset.Validate(q.Where); err != nil {
					t.Errorf("invalid Where: %v", err)
				}
			}
		})
	}
}

func TestParseQueryErrors(t *testing.T) {
	for _, c := range invalidQueries {
		t.Run(c.sql, func(t *testing.T) {
			q, err := statement.ParseQuery(c.sql)
			if err == nil {
				t.Fatalf("no error; got %+v", q)
			}
			if q != nil {
				t.Error("query returned with an error")
			}
			requireInvalidArgument(t, err)
			msg := err.Error()
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q does not contain %q", msg, c.want)
			}
			if c.pos != "" && !strings.Contains(msg, c.pos) {
				t.Errorf("error %q is not at %s", msg, c.pos)
			}
		})
	}
}

func TestParseQuerySpan(t *testing.T) {
	q, err := statement.ParseQuery("\n  SELECT * FROM db.t WHERE a = 1 ;")
	if err != nil {
		t.Fatal(err)
	}
	want := statement.Span{Start: 3, End: 33, Line: 2, Col: 3, Text: "SELECT * FROM db.t WHERE a = 1"}
	if q.Source != want {
		t.Fatalf("Source = %+v, want %+v", q.Source, want)
	}
}

// FuzzParseQuery checks that ParseQuery never panics, rejects only with
// InvalidArgument errors, and that what it accepts is consistent: a
// qualified table, * or columns, a valid filter without functions that
// survives rendering and ParseFilter, and a non-negative limit.
func FuzzParseQuery(f *testing.F) {
	for _, c := range validQueries {
		f.Add(c.sql)
	}
	for _, c := range invalidQueries {
		f.Add(c.sql)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		q, err := statement.ParseQuery(sql)
		if err != nil {
			requireInvalidArgument(t, err)
			if q != nil {
				t.Fatal("query returned with an error")
			}
			return
		}
		if q.Table.Database == "" || q.Table.Table == "" {
			t.Fatalf("unqualified table %+v", q.Table)
		}
		if q.Star == (len(q.Columns) > 0) {
			t.Fatalf("Star %v with %d columns", q.Star, len(q.Columns))
		}
		for _, c := range q.Columns {
			if c.Name == "" {
				t.Fatalf("empty column name in %+v", q.Columns)
			}
		}
		if q.Limit != nil && *q.Limit < 0 {
			t.Fatalf("negative limit %d", *q.Limit)
		}
		sp := q.Source
		if sp.Start < 0 || sp.End <= sp.Start || sp.End > len(sql) || sql[sp.Start:sp.End] != sp.Text {
			t.Fatalf("bad span %+v", sp)
		}
		if q.Where == nil {
			return
		}
		if err := sqlsubset.Validate(q.Where); err != nil {
			t.Fatalf("invalid Where %s: %v", q.Where, err)
		}
		if calls := sqlsubset.Calls(q.Where); len(calls) > 0 {
			t.Fatalf("function in Where %s", q.Where)
		}
		back, err := statement.ParseFilter(q.Where.String())
		if err != nil {
			t.Fatalf("ParseFilter(%s): %v", q.Where, err)
		}
		if !sqlsubset.Equal(back, q.Where) {
			t.Fatalf("String round trip changed the filter:\n%s\n%s", q.Where, back)
		}
	})
}
