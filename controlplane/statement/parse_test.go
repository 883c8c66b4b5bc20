package statement_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/nscale/nscale/controlplane/statement"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// Shorthands for expected values.
func ty(s string) sqlsubset.Type { return sqlsubset.MustParseType(s) }
func tbl(db, t string) statement.TableName {
	return statement.TableName{Database: db, Table: t}
}
func tblp(db, t string) *statement.TableName { x := tbl(db, t); return &x }
func role(n string) statement.Principal      { return statement.Principal{Kind: statement.Role, Name: n} }
func user(n string) statement.Principal      { return statement.Principal{Kind: statement.User, Name: n} }
func group(n string) statement.Principal     { return statement.Principal{Kind: statement.Group, Name: n} }
func ptr(p statement.Principal) *statement.Principal {
	return &p
}
func mask(f string, args ...int64) sqlsubset.Mask { return sqlsubset.Mask{Func: f, Args: args} }
func maskp(f string, args ...int64) *sqlsubset.Mask {
	m := mask(f, args...)
	return &m
}
func col(name string, path ...string) *sqlsubset.Column {
	return &sqlsubset.Column{Name: name, Path: path}
}
func str(s string) *sqlsubset.Literal { return sqlsubset.StringLiteral(s) }
func i64(v int64) *sqlsubset.Literal  { return sqlsubset.Int64Literal(v) }
func cmp(op sqlsubset.CompareOp, l, r sqlsubset.Expr) *sqlsubset.Compare {
	return &sqlsubset.Compare{Op: op, Left: l, Right: r}
}
func eq(l, r sqlsubset.Expr) *sqlsubset.Compare { return cmp(sqlsubset.Eq, l, r) }
func and(args ...sqlsubset.Expr) *sqlsubset.And { return &sqlsubset.And{Args: args} }
func or(args ...sqlsubset.Expr) *sqlsubset.Or   { return &sqlsubset.Or{Args: args} }
func call(name string, args ...sqlsubset.Expr) *sqlsubset.Call {
	return &sqlsubset.Call{Name: name, Args: args}
}

// noSpan returns a copy of st with its Span zeroed, for comparison.
func noSpan(st statement.Statement) statement.Statement {
	v := reflect.New(reflect.TypeOf(st).Elem())
	v.Elem().Set(reflect.ValueOf(st).Elem())
	v.Elem().FieldByName("Span").Set(reflect.Zero(reflect.TypeOf(statement.Span{})))
	return v.Interface().(statement.Statement)
}

type validCase struct {
	sql  string
	want statement.Statement
}

var validCases = []validCase{
	// Databases.
	{`CREATE DATABASE sales`, &statement.CreateDatabase{Name: "sales"}},
	{`create database if not exists Sales comment 'Sales ''data'''`,
		&statement.CreateDatabase{Name: "sales", IfNotExists: true, Comment: "Sales 'data'"}},
	{`CREATE SCHEMA "Mixed Case"`, &statement.CreateDatabase{Name: "Mixed Case"}},
	{"CREATE DATABASE `Back`", &statement.CreateDatabase{Name: "Back"}},
	{`DROP DATABASE sales`, &statement.DropDatabase{Name: "sales"}},
	{`DROP DATABASE IF EXISTS sales CASCADE`, &statement.DropDatabase{Name: "sales", IfExists: true, Cascade: true}},
	{`drop schema "S" restrict`, &statement.DropDatabase{Name: "S"}},
	{`DROP SCHEMA s CASCADE`, &statement.DropDatabase{Name: "s", Cascade: true}},
	{`SHOW DATABASES`, &statement.ShowDatabases{}},
	{`show schemas`, &statement.ShowDatabases{}},

	// Tables.
	{`CREATE EXTERNAL TABLE sales.orders (
	    id BIGINT NOT NULL COMMENT 'order id',
	    amount DECIMAL(10,2),
	    customer STRUCT<name: STRING, address: STRUCT<city:STRING, zip:INT>>,
	    items ARRAY<STRUCT<sku STRING, qty SMALLINT>>,
	    placed_at TIMESTAMP,
	    paid_at TIMESTAMP WITH TIME ZONE
	  )
	  COMMENT 'all orders'
	  PARTITIONED BY (dt DATE, region STRING)
	  STORED AS PARQUET
	  LOCATION 's3://lake/sales/orders/'
	  TBLPROPERTIES ('parquet.compression' = 'zstd', 'owner' = 'finance')`,
		&statement.CreateTable{
			Table: tbl("sales", "orders"),
			Columns: []statement.Column{
				{Name: "id", Type: ty("int64"), NotNull: true, Comment: "order id"},
				{Name: "amount", Type: ty("decimal128(10,2)")},
				{Name: "customer", Type: ty("struct<name:string,address:struct<city:string,zip:int32>>")},
				{Name: "items", Type: ty("list<struct<sku:string,qty:int16>>")},
				{Name: "placed_at", Type: ty("timestamp(us)")},
				{Name: "paid_at", Type: ty("timestamp(us,UTC)")},
			},
			Comment: "all orders",
			PartitionedBy: []statement.Column{
				{Name: "dt", Type: ty("date32")},
				{Name: "region", Type: ty("string")},
			},
			Format:   statement.Parquet,
			Location: "s3://lake/sales/orders/",
			Properties: []statement.Property{
				{Key: "parquet.compression", Value: "zstd"}, {Key: "owner", Value: "finance"},
			},
		}},
	{`CREATE EXTERNAL TABLE IF NOT EXISTS raw.events STORED AS JSON LOCATION 's3://lake/raw/events/'`,
		&statement.CreateTable{Table: tbl("raw", "events"), IfNotExists: true, Format: statement.JSON, Location: "s3://lake/raw/events/"}},
	{`create table raw.clicks (url text, n int8, ratio float, r real, ok bool, b bytea, ts timestamptz(3), tags varchar(20)[])
	  location 'file:///data/clicks' using csv comment 'pg spelling'`,
		&statement.CreateTable{Table: tbl("raw", "clicks"),
			Columns: []statement.Column{
				{Name: "url", Type: ty("string")},
				{Name: "n", Type: ty("int64")},
				{Name: "ratio", Type: ty("float64")},
				{Name: "r", Type: ty("float32")},
				{Name: "ok", Type: ty("bool")},
				{Name: "b", Type: ty("binary")},
				{Name: "ts", Type: ty("timestamp(ms,UTC)")},
				{Name: "tags", Type: ty("list<string>")},
			},
			Comment: "pg spelling", Format: statement.CSV, Location: "file:///data/clicks"}},
	{"CREATE EXTERNAL TABLE `Sales`.`Order Lines` (`Id` tinyint, \"Qty\" uint32, `select` string) STORED AS parquet LOCATION 's3://b/ol'",
		&statement.CreateTable{Table: tbl("Sales", "Order Lines"),
			Columns: []statement.Column{{Name: "Id", Type: ty("int8")}, {Name: "Qty", Type: ty("uint32")}, {Name: "select", Type: ty("string")}},
			Format:  statement.Parquet, Location: "s3://b/ol"}},
	{`DROP TABLE sales.orders`, &statement.DropTable{Table: tbl("sales", "orders")}},
	{`DROP TABLE IF EXISTS "Sales".orders`, &statement.DropTable{Table: tbl("Sales", "orders"), IfExists: true}},
	{"drop table `a b`.c", &statement.DropTable{Table: tbl("a b", "c")}},
	{`REFRESH TABLE sales.orders`, &statement.RefreshTable{Table: tbl("sales", "orders")}},
	{`ALTER TABLE sales.orders SET TBLPROPERTIES ('a' = '1', 'b' = '')`,
		&statement.AlterTableSetProperties{Table: tbl("sales", "orders"), Properties: []statement.Property{{Key: "a", Value: "1"}, {Key: "b", Value: ""}}}},
	{`ALTER TABLE sales.orders ADD COLUMNS (note STRING COMMENT 'free text', flags ARRAY<BOOLEAN> NOT NULL)`,
		&statement.AlterTableAddColumns{Table: tbl("sales", "orders"), Columns: []statement.Column{
			{Name: "note", Type: ty("string"), Comment: "free text"},
			{Name: "flags", Type: ty("list<bool>"), NotNull: true}}}},
	{`SHOW TABLES`, &statement.ShowTables{}},
	{`SHOW TABLES IN sales`, &statement.ShowTables{Database: "sales"}},
	{`show tables from "Sales"`, &statement.ShowTables{Database: "Sales"}},
	{`DESCRIBE sales.orders`, &statement.Describe{Table: tbl("sales", "orders")}},
	{`desc table Sales.Orders`, &statement.Describe{Table: tbl("sales", "orders")}},

	// Grants listing.
	{`SHOW GRANTS`, &statement.ShowGrants{}},
	{`SHOW GRANTS ON TABLE sales.orders`, &statement.ShowGrants{On: &statement.Object{Database: "sales", Table: "orders"}}},
	{`SHOW GRANTS ON sales.orders`, &statement.ShowGrants{On: &statement.Object{Database: "sales", Table: "orders"}}},
	{`SHOW GRANTS ON DATABASE sales`, &statement.ShowGrants{On: &statement.Object{Database: "sales"}}},
	{`SHOW GRANTS TO USER alice`, &statement.ShowGrants{To: ptr(user("alice"))}},
	{`SHOW GRANTS TO analyst`, &statement.ShowGrants{To: ptr(role("analyst"))}},
	{`SHOW GRANTS FOR GROUP eng`, &statement.ShowGrants{To: ptr(group("eng"))}},

	// Roles.
	{`CREATE ROLE analyst`, &statement.CreateRole{Name: "analyst"}},
	{`CREATE ROLE "Data Team"`, &statement.CreateRole{Name: "Data Team"}},
	{`DROP ROLE analyst`, &statement.DropRole{Name: "analyst"}},
	{`DROP ROLE IF EXISTS analyst`, &statement.DropRole{Name: "analyst", IfExists: true}},
	{`GRANT ROLE analyst TO USER alice`, &statement.GrantRole{Roles: []string{"analyst"}, To: []statement.Principal{user("alice")}}},
	{`GRANT analyst TO alice`, &statement.GrantRole{Roles: []string{"analyst"}, To: []statement.Principal{user("alice")}}},
	{`GRANT analyst, auditor TO GROUP eng, USER "Bob"`,
		&statement.GrantRole{Roles: []string{"analyst", "auditor"}, To: []statement.Principal{group("eng"), user("Bob")}}},
	{`REVOKE ROLE analyst FROM GROUP eng`, &statement.RevokeRole{Roles: []string{"analyst"}, From: []statement.Principal{group("eng")}}},
	{`REVOKE analyst FROM alice`, &statement.RevokeRole{Roles: []string{"analyst"}, From: []statement.Principal{user("alice")}}},

	// SELECT grants.
	{`GRANT SELECT ON DATABASE sales TO ROLE analyst`,
		&statement.GrantSelect{On: statement.Object{Database: "sales"}, To: []statement.Principal{role("analyst")}}},
	{`GRANT SELECT ON SCHEMA sales TO analyst`,
		&statement.GrantSelect{On: statement.Object{Database: "sales"}, To: []statement.Principal{role("analyst")}}},
	{`GRANT SELECT ON TABLE sales.orders TO analyst`,
		&statement.GrantSelect{On: statement.Object{Database: "sales", Table: "orders"}, To: []statement.Principal{role("analyst")}}},
	{`grant select on sales.orders to user alice, group "Fin", role r`,
		&statement.GrantSelect{On: statement.Object{Database: "sales", Table: "orders"},
			To: []statement.Principal{user("alice"), group("Fin"), role("r")}}},
	{"GRANT SELECT (id, `Amount`) ON TABLE sales.orders TO GROUP finance",
		&statement.GrantSelect{On: statement.Object{Database: "sales", Table: "orders"}, Columns: []string{"id", "Amount"},
			To: []statement.Principal{group("finance")}}},
	{`GRANT SELECT ON TABLE sales.orders TO ROLE analyst WHERE region = 'eu'`,
		&statement.GrantSelect{On: statement.Object{Database: "sales", Table: "orders"}, To: []statement.Principal{role("analyst")},
			Filter: eq(col("region"), str("eu"))}},
	{`GRANT SELECT (id) ON sales.orders TO ROLE a, USER b WHERE owner = current_user() OR has_role('auditor')
	    OR region = user_attribute('region') AND current_user <> 'x'`,
		&statement.GrantSelect{On: statement.Object{Database: "sales", Table: "orders"}, Columns: []string{"id"},
			To: []statement.Principal{role("a"), user("b")},
			Filter: or(
				eq(col("owner"), call("current_user")),
				call("has_role", str("auditor")),
				and(eq(col("region"), call("user_attribute", str("region"))),
					cmp(sqlsubset.Ne, call("current_user"), str("x"))))}},
	{`GRANT SELECT ON sales.orders TO r WHERE amount >= 10.50 AND (qty < 5 AND qty > -2) AND NOT flag
	    AND big > 3000000000 AND huge = 18446744073709551615 AND ratio <= 1.5e3
	    AND dt BETWEEN DATE '2024-01-01' AND '2024-12-31' AND ts NOT BETWEEN TIMESTAMP '2024-01-01 10:00:00.5' AND TIMESTAMP WITH TIME ZONE '2024-01-02 00:00:00+02'
	    AND region IN ('eu', 'uk') AND code NOT IN (1, 2) AND name LIKE 'A%' AND name NOT ILIKE '%x%'
	    AND note IS NULL AND note IS NOT NULL AND flag IS TRUE AND flag IS NOT FALSE
	    AND address.city = 'Paris' AND (address).zip <> '75' AND CAST(id AS text) = '1' AND id::bigint = 1
	    AND "Mixed" != x'CAFE' AND n = NULL AND t = TRUE AND 0.5::decimal(5,2) = d`,
		&statement.GrantSelect{On: statement.Object{Database: "sales", Table: "orders"}, To: []statement.Principal{role("r")},
			Filter: and(
				cmp(sqlsubset.Ge, col("amount"), sqlsubset.DecimalLiteral("1050", 4, 2)),
				cmp(sqlsubset.Lt, col("qty"), i64(5)),
				cmp(sqlsubset.Gt, col("qty"), i64(-2)),
				&sqlsubset.Not{Arg: col("flag")},
				cmp(sqlsubset.Gt, col("big"), i64(3000000000)),
				eq(col("huge"), sqlsubset.Uint64Literal(18446744073709551615)),
				cmp(sqlsubset.Le, col("ratio"), sqlsubset.Float64Literal(1500)),
				&sqlsubset.Between{Expr: col("dt"), Low: sqlsubset.Date32Literal(19723), High: str("2024-12-31")},
				&sqlsubset.Between{Expr: col("ts"), Not: true,
					Low:  sqlsubset.TimestampLiteral(1704103200500000, sqlsubset.Micro, ""),
					High: sqlsubset.TimestampLiteral(1704146400000000, sqlsubset.Micro, "UTC")},
				&sqlsubset.In{Expr: col("region"), List: []*sqlsubset.Literal{str("eu"), str("uk")}},
				&sqlsubset.In{Expr: col("code"), List: []*sqlsubset.Literal{i64(1), i64(2)}, Not: true},
				&sqlsubset.Like{Expr: col("name"), Pattern: "A%"},
				&sqlsubset.Like{Expr: col("name"), Pattern: "%x%", Not: true, CaseInsensitive: true},
				&sqlsubset.IsNull{Expr: col("note")},
				&sqlsubset.IsNull{Expr: col("note"), Not: true},
				&sqlsubset.IsBool{Expr: col("flag"), Value: true},
				&sqlsubset.IsBool{Expr: col("flag"), Value: false, Not: true},
				eq(col("address", "city"), str("Paris")),
				cmp(sqlsubset.Ne, col("address", "zip"), str("75")),
				eq(&sqlsubset.Cast{Expr: col("id"), Type: ty("string")}, str("1")),
				eq(&sqlsubset.Cast{Expr: col("id"), Type: ty("int64")}, i64(1)),
				cmp(sqlsubset.Ne, col("Mixed"), sqlsubset.BinaryLiteral([]byte{0xca, 0xfe})),
				eq(col("n"), sqlsubset.NullLiteral()),
				eq(col("t"), sqlsubset.BoolLiteral(true)),
				eq(sqlsubset.DecimalLiteral("50", 5, 2), col("d")),
			)}},
	{`REVOKE SELECT ON DATABASE sales FROM ROLE analyst`,
		&statement.RevokeSelect{On: statement.Object{Database: "sales"}, From: []statement.Principal{role("analyst")}}},
	{`REVOKE SELECT (amount) ON sales.orders FROM USER alice`,
		&statement.RevokeSelect{On: statement.Object{Database: "sales", Table: "orders"}, Columns: []string{"amount"},
			From: []statement.Principal{user("alice")}}},

	// UNMASK and catalog administration.
	{`GRANT UNMASK ON COLUMN sales.customers.email TO ROLE support`,
		&statement.GrantUnmask{On: statement.UnmaskTarget{Table: tbl("sales", "customers"), Column: "email"}, To: []statement.Principal{role("support")}}},
	{`GRANT UNMASK ON TAG 'pii' TO GROUP privacy, USER dpo`,
		&statement.GrantUnmask{On: statement.UnmaskTarget{Tag: "pii"}, To: []statement.Principal{group("privacy"), user("dpo")}}},
	{`REVOKE UNMASK ON COLUMN a.b."C" FROM r`,
		&statement.RevokeUnmask{On: statement.UnmaskTarget{Table: tbl("a", "b"), Column: "C"}, From: []statement.Principal{role("r")}}},
	{`REVOKE UNMASK ON TAG 'pii.email' FROM USER u`,
		&statement.RevokeUnmask{On: statement.UnmaskTarget{Tag: "pii.email"}, From: []statement.Principal{user("u")}}},
	{`GRANT ALL ON CATALOG TO ROLE admins`, &statement.GrantCatalogAdmin{To: []statement.Principal{role("admins")}}},
	{`grant all privileges on catalog to user root`, &statement.GrantCatalogAdmin{To: []statement.Principal{user("root")}}},
	{`REVOKE ALL ON CATALOG FROM admins`, &statement.RevokeCatalogAdmin{From: []statement.Principal{role("admins")}}},

	// Masks.
	{`ALTER TABLE sales.customers ALTER COLUMN email SET MASK email_domain`,
		&statement.SetColumnMask{Table: tbl("sales", "customers"), Column: "email", Mask: mask("email_domain")}},
	{`ALTER TABLE sales.customers ALTER COLUMN card SET MASK show_last(4) FOR ROLE support`,
		&statement.SetColumnMask{Table: tbl("sales", "customers"), Column: "card", Mask: mask("show_last", 4), For: ptr(role("support"))}},
	{`alter table a.b alter c set mask NULL for group g`,
		&statement.SetColumnMask{Table: tbl("a", "b"), Column: "c", Mask: mask("null"), For: ptr(group("g"))}},
	{`ALTER TABLE a.b ALTER COLUMN c SET MASK ROUND(2) FOR analyst`,
		&statement.SetColumnMask{Table: tbl("a", "b"), Column: "c", Mask: mask("round", 2), For: ptr(role("analyst"))}},
	{`ALTER TABLE a.b ALTER COLUMN c SET MASK show_first(0)`,
		&statement.SetColumnMask{Table: tbl("a", "b"), Column: "c", Mask: mask("show_first", 0)}},
	{`ALTER TABLE a.b ALTER COLUMN c SET MASK hash`, &statement.SetColumnMask{Table: tbl("a", "b"), Column: "c", Mask: mask("hash")}},
	{`ALTER TABLE a.b ALTER COLUMN c SET MASK tokenize`, &statement.SetColumnMask{Table: tbl("a", "b"), Column: "c", Mask: mask("tokenize")}},
	{`ALTER TABLE a.b ALTER COLUMN c SET MASK redact`, &statement.SetColumnMask{Table: tbl("a", "b"), Column: "c", Mask: mask("redact")}},
	{`ALTER TABLE a.b ALTER COLUMN c SET MASK date_year`, &statement.SetColumnMask{Table: tbl("a", "b"), Column: "c", Mask: mask("date_year")}},
	{`ALTER TABLE a.b ALTER COLUMN c SET MASK zero`, &statement.SetColumnMask{Table: tbl("a", "b"), Column: "c", Mask: mask("zero")}},
	{`ALTER TABLE a.b ALTER COLUMN c DROP MASK`, &statement.DropColumnMask{Table: tbl("a", "b"), Column: "c"}},
	{`ALTER TABLE a.b ALTER COLUMN "C" DROP MASK FOR USER u`,
		&statement.DropColumnMask{Table: tbl("a", "b"), Column: "C", For: ptr(user("u"))}},

	// Tags.
	{`ALTER TABLE a.b ALTER COLUMN email SET TAGS ('pii.email', 'gdpr')`,
		&statement.SetColumnTags{Table: tbl("a", "b"), Column: "email", Tags: []string{"pii.email", "gdpr"}}},
	{`ALTER TABLE a.b ALTER email UNSET TAGS ('gdpr')`,
		&statement.UnsetColumnTags{Table: tbl("a", "b"), Column: "email", Tags: []string{"gdpr"}}},

	// Policies.
	{`CREATE TAG POLICY mask_pii ON TAG 'pii.*' MASK redact`,
		&statement.CreateTagPolicy{Name: "mask_pii", Tag: "pii.*", Mask: mask("redact")}},
	{`CREATE TAG POLICY mask_cards ON TAG 'pci.card' MASK show_last(4) UNLESS UNMASK 'pci'`,
		&statement.CreateTagPolicy{Name: "mask_cards", Tag: "pci.card", Mask: mask("show_last", 4), UnlessUnmask: "pci"}},
	{`CREATE SAFEGUARD POLICY no_ssn ON TAG 'pii.ssn' MASK hash`,
		&statement.CreateSafeguardPolicy{Name: "no_ssn", Tag: "pii.ssn", Mask: maskp("hash")}},
	{`CREATE SAFEGUARD POLICY everything ON TAG '*' MASK null`,
		&statement.CreateSafeguardPolicy{Name: "everything", Tag: "*", Mask: maskp("null")}},
	{`CREATE SAFEGUARD POLICY eu_only ON TABLE sales.orders WHERE region = 'eu'`,
		&statement.CreateSafeguardPolicy{Name: "eu_only", Table: tblp("sales", "orders"), Filter: eq(col("region"), str("eu"))}},
	{`CREATE SAFEGUARD POLICY s ON sales.orders WHERE NOT has_role('contractor')`,
		&statement.CreateSafeguardPolicy{Name: "s", Table: tblp("sales", "orders"), Filter: &sqlsubset.Not{Arg: call("has_role", str("contractor"))}}},
	{`DROP TAG POLICY mask_pii`, &statement.DropTagPolicy{Name: "mask_pii"}},
	{`DROP TAG POLICY IF EXISTS mask_pii`, &statement.DropTagPolicy{Name: "mask_pii", IfExists: true}},
	{`DROP SAFEGUARD POLICY eu_only`, &statement.DropSafeguardPolicy{Name: "eu_only"}},
	{`drop safeguard policy if exists "EU"`, &statement.DropSafeguardPolicy{Name: "EU", IfExists: true}},

	// Comments and a trailing semicolon.
	{"-- set up\nCREATE /* the */ ROLE /* nested /* comment */ */ analyst; -- done", &statement.CreateRole{Name: "analyst"}},
}

func TestParseValid(t *testing.T) {
	for _, tt := range validCases {
		t.Run(tt.sql, func(t *testing.T) {
			sts, err := statement.Parse(tt.sql)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(sts) != 1 {
				t.Fatalf("got %d statements", len(sts))
			}
			got := noSpan(sts[0])
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse =\n%#v\nwant\n%#v", got, tt.want)
			}
			if sts[0].Kind() == "" {
				t.Fatal("empty Kind")
			}
		})
	}
}

type invalidCase struct {
	sql, want string
}

var invalidCases = []invalidCase{
	// Not DDL/DCL, or not nscale's.
	{`CREATE TABLEE x`, `syntax error at or near "TABLEE" (line 1, column 8)`},
	{`CREATE INDEX i ON t (a)`, `unsupported statement CREATE INDEX at line 1, column 1`},
	{`CREATE UNIQUE INDEX i ON t (a)`, `unsupported statement CREATE UNIQUE INDEX at line 1, column 1`},
	{`CREATE OR REPLACE VIEW v AS SELECT 1`, `unsupported statement CREATE OR REPLACE VIEW at line 1, column 1`},
	{`INSERT INTO a.b VALUES (1)`, `unsupported statement INSERT at line 1, column 1`},
	{`ALTER ROLE r LOGIN`, `unsupported statement ALTER ROLE at line 1, column 1`},
	{`CREATE USER bob`, `unsupported statement CREATE USER at line 1, column 1`},
	{`DROP VIEW v`, `unsupported statement DROP VIEW at line 1, column 1`},
	{`SELEC 1`, `syntax error at or near "SELEC" (line 1, column 1)`},
	{`SELECT * FROM sales.orders`, `SELECT is not a DDL/DCL statement; send queries to an agent (line 1, column 1)`},
	{`  with x as (select 1) select * from x`, `WITH is not a DDL/DCL statement; send queries to an agent (line 1, column 3)`},
	{`(SELECT 1)`, `( is not a DDL/DCL statement; send queries to an agent (line 1, column 1)`},
	{"CREATE DATABASE a;\n  DROP TABLEX b", `syntax error at or near "TABLEX" (line 2, column 8)`},
	{``, `no statement to parse`},
	{` ;; -- nothing`, `no statement to parse`},

	// Lexical errors.
	{`CREATE DATABASE 'unterminated`, `unterminated quoted string at line 1, column 17`},
	{`CREATE DATABASE "unterminated`, `unterminated quoted identifier at line 1, column 17`},
	{"CREATE DATABASE `a", `unterminated quoted identifier at line 1, column 17`},
	{`CREATE DATABASE ""`, `zero-length quoted identifier at line 1, column 17`},
	{`CREATE DATABASE /* open`, `unterminated /* comment at line 1, column 17`},
	{"CREATE DATABASE a\x00", `invalid NUL character at line 1, column 18`},
	{"CREATE DATABASE é\xff", `invalid UTF-8 byte 0xff at line 1, column 18`},
	{"CREATE DATABASE " + strings.Repeat("x", 64), `identifier xxxxxxxxxxxxxxxx... is longer than 63 bytes at line 1, column 17`},
	{`CREATE DATABASE "` + strings.Repeat("y", 64) + `"`, `identifier "yyyyyyyyyyyyyyy... is longer than 63 bytes at line 1, column 17`},

	// Databases.
	{`CREATE DATABASE select`, `SELECT is a reserved word; quote it ("select") to use it as a database name at line 1, column 17`},
	{`CREATE DATABASE a.b`, `a database name has one part at line 1, column 18`},
	{`CREATE DATABASE a COMMENT E'x'`, `escape string constants (E'...') are not supported here; write '...' and double a quote as '' at line 1, column 27`},
	{`CREATE DATABASE a LOCATION 'x'`, `unexpected "LOCATION" at line 1, column 19`},
	{`DROP DATABASE a WITH (FORCE)`, `DROP DATABASE options (FORCE) are not supported at line 1, column 1`},

	// Tables.
	{`CREATE EXTERNAL TABLE orders (id int) STORED AS PARQUET LOCATION 's3://b/o'`,
		`table name orders must be qualified with its database, as in db.orders at line 1, column 23`},
	{`CREATE EXTERNAL TABLE c.sales.orders STORED AS PARQUET LOCATION 's3://b/o'`,
		`table name c.sales.orders has too many parts; write db.table at line 1, column 23`},
	{`CREATE EXTERNAL TABLE a.b (id int) LOCATION 's3://b/o'`, `CREATE TABLE needs STORED AS PARQUET, CSV or JSON at line 1, column 55`},
	{`CREATE EXTERNAL TABLE a.b STORED AS CSV`, `CREATE TABLE needs LOCATION '...' at line 1, column 40`},
	{`CREATE EXTERNAL TABLE a.b LOCATION 'x' STORED AS CSV LOCATION 'y'`, `duplicate LOCATION clause at line 1, column 54`},
	{`CREATE EXTERNAL TABLE a.b ROW FORMAT DELIMITED STORED AS CSV LOCATION 'x'`,
		`expected COMMENT, PARTITIONED BY, STORED AS, LOCATION or TBLPROPERTIES, found "ROW" at line 1, column 27`},
	{`CREATE EXTERNAL TABLE a.b STORED AS ORC LOCATION 'x'`, `unsupported file format ORC (want PARQUET, CSV or JSON) at line 1, column 37`},
	{`CREATE EXTERNAL TABLE a.b STORED AS PARQUET LOCATION ' '`, `LOCATION must not be empty at line 1, column 54`},
	{`CREATE EXTERNAL TABLE a.b (x foo) STORED AS PARQUET LOCATION 'x'`, `unknown type FOO at line 1, column 30`},
	{`CREATE EXTERNAL TABLE a.b (x map<string,int>) STORED AS PARQUET LOCATION 'x'`, `type MAP is not supported at line 1, column 30`},
	{`CREATE EXTERNAL TABLE a.b (x interval) STORED AS PARQUET LOCATION 'x'`, `type INTERVAL is not supported at line 1, column 30`},
	{`CREATE EXTERNAL TABLE a.b (x decimal(40,2)) STORED AS PARQUET LOCATION 'x'`, `DECIMAL: precision 40 is out of range 1..38 at line 1, column 30`},
	{`CREATE EXTERNAL TABLE a.b (x decimal(4,5)) STORED AS PARQUET LOCATION 'x'`, `DECIMAL: scale 5 is greater than precision 4 at line 1, column 30`},
	{`CREATE EXTERNAL TABLE a.b (x int(3)) STORED AS PARQUET LOCATION 'x'`, `INT: takes no parameters at line 1, column 30`},
	{`CREATE EXTERNAL TABLE a.b (x struct<a:int,a:string>) STORED AS PARQUET LOCATION 'x'`, `duplicate struct field a at line 1, column 43`},
	{`CREATE EXTERNAL TABLE a.b (x array<int) STORED AS PARQUET LOCATION 'x'`, `expected ">", found ")" at line 1, column 39`},
	{`CREATE EXTERNAL TABLE a.b (x) STORED AS PARQUET LOCATION 'x'`, `expected a type, found ")" at line 1, column 29`},
	{`CREATE EXTERNAL TABLE a.b (x int, X string) STORED AS PARQUET LOCATION 'x'`, `duplicate column name x at line 1, column 35`},
	{`CREATE EXTERNAL TABLE a.b (order int) STORED AS PARQUET LOCATION 'x'`, `ORDER is a reserved word; quote it ("order") to use it as a column name at line 1, column 28`},
	{`CREATE EXTERNAL TABLE a.b (dt date) PARTITIONED BY (dt date) STORED AS PARQUET LOCATION 'x'`,
		`partition column dt must not also be in the column list at line 1, column 53`},
	{`CREATE EXTERNAL TABLE a.b STORED AS PARQUET LOCATION 'x' TBLPROPERTIES ('k'='1', 'k'='2')`, `duplicate property 'k' at line 1, column 82`},
	{`CREATE EXTERNAL TABLE a.b STORED AS PARQUET LOCATION 'x' TBLPROPERTIES ('k' '1')`, `expected "=", found "'1'" at line 1, column 77`},
	{`CREATE EXTERNAL TABLE a.b STORED AS PARQUET LOCATION 'x' (id int)`, `the column list must come right after the table name at line 1, column 58`},
	{`DROP TABLE orders`, `table name orders must be qualified with its database, as in db.orders at line 1, column 12`},
	{`DROP TABLE IF EXISTS a.b.c`, `table name a.b.c has too many parts; write db.table at line 1, column 22`},
	{`DROP TABLE a.b CASCADE`, `CASCADE is not supported for DROP TABLE at line 1, column 16`},
	{`DROP TABLE a.b, c.d`, `DROP TABLE takes one table at line 1, column 12`},
	{`ALTER TABLE a.b RENAME TO c`, `expected SET TBLPROPERTIES, ADD COLUMNS or ALTER COLUMN, found "RENAME" at line 1, column 17`},
	{`ALTER TABLE a.b ALTER COLUMN c TYPE int`, `expected SET MASK, DROP MASK, SET TAGS or UNSET TAGS, found "TYPE" at line 1, column 32`},
	{`REFRESH a.b`, `expected TABLE, found "a" at line 1, column 9`},
	{`DESCRIBE orders`, `table name orders must be qualified with its database, as in db.orders at line 1, column 10`},
	{`SHOW FUNCTIONS`, `expected DATABASES, TABLES or GRANTS, found "FUNCTIONS" at line 1, column 6`},
	{`SHOW TABLES IN`, `expected a database name, found end of statement at line 1, column 15`},

	// Roles and grants.
	{`CREATE ROLE r WITH LOGIN`, `role options (LOGIN, PASSWORD, ...) are not supported: nscale roles only group grants at line 1, column 20`},
	{`DROP ROLE a, b`, `DROP ROLE takes one role at line 1, column 1`},
	{`GRANT ROLE analyst TO ROLE other`, `a role is granted to users and groups, not to another role at line 1, column 23`},
	{`GRANT analyst TO alice WITH ADMIN OPTION`, `role grant options (ADMIN, INHERIT, SET) are not supported at line 1, column 1`},
	{`GRANT SELECT TO alice`, `GRANT SELECT needs ON DATABASE d or ON TABLE db.t at line 1, column 7`},
	{`GRANT INSERT ON a.b TO x`, `privilege INSERT is not supported; nscale grants SELECT, UNMASK and ALL ON CATALOG at line 1, column 7`},
	{`GRANT ALL ON TABLE a.b TO x`, `privilege ALL is not supported on a table or database; grant SELECT (or ALL ON CATALOG for administrators) at line 1, column 7`},
	{`GRANT SELECT, INSERT ON a.b TO x`, `grant one privilege per statement at line 1, column 7`},
	{`GRANT SELECT ON a.b TO x WITH GRANT OPTION`, `WITH GRANT OPTION is not supported: only catalog administrators grant at line 1, column 1`},
	{`GRANT SELECT ON a.b, c.d TO x`, `grant on one object per statement at line 1, column 14`},
	{`GRANT SELECT ON FUNCTION f() TO x`, `GRANT ON FUNCTION is not supported; grant ON DATABASE or ON TABLE at line 1, column 14`},
	{`GRANT SELECT ON ALL TABLES IN SCHEMA s TO x`, `ON ALL TABLES IN SCHEMA is not supported; use ON DATABASE d at line 1, column 14`},
	{`GRANT SELECT (a) ON DATABASE d TO x`, `a column list only goes with ON TABLE at line 1, column 7`},
	{`GRANT SELECT ON DATABASE d TO x WHERE a = 1`, `a row filter (WHERE) only goes with GRANT SELECT ON TABLE at line 1, column 33`},
	{`REVOKE SELECT ON a.b FROM x WHERE a = 1`, `a row filter (WHERE) only goes with GRANT SELECT ON TABLE at line 1, column 29`},
	{`GRANT SELECT ON orders TO x`, `table name orders must be qualified with its database, as in db.orders at line 1, column 17`},
	{`GRANT SELECT ON a.b TO PUBLIC`, `PUBLIC is not supported; name a role, user or group at line 1, column 24`},
	{`GRANT SELECT ON a.b TO CURRENT_USER`, `CURRENT_USER is not supported here; name a role, user or group at line 1, column 24`},
	{`GRANT SELECT ON a.b TO x WHERE`, `expected a row filter after WHERE at line 1, column 31`},
	{`GRANT SELECT ON a.b`, `syntax error at end of input (line 1, column 20)`},
	{`REVOKE SELECT ON a.b FROM x CASCADE`, `CASCADE is not supported for REVOKE at line 1, column 29`},
	{`GRANT UNMASK ON COLUMN a.b TO x`, `column a.b must be written db.table.column at line 1, column 24`},
	{`GRANT UNMASK ON TABLE a.b TO x`, `expected COLUMN or TAG, found "TABLE" at line 1, column 17`},
	{`GRANT UNMASK ON TAG 'PII' TO x`, `invalid tag 'PII': want dot-separated lower-case words of letters, digits, _ and -, such as 'pii.email' at line 1, column 21`},
	{`GRANT ALL ON CATALOG x`, `expected TO, found "x" at line 1, column 22`},

	// Row filters.
	{`GRANT SELECT ON a.b TO x WHERE a IN (SELECT b FROM c)`, `row filter: a subquery is not supported at line 1, column 34`},
	{`GRANT SELECT ON a.b TO x WHERE lower(a) = 'x'`, `row filter: function lower() is not supported (supported: current_user(), has_role(), user_attribute()) at line 1, column 32`},
	{`GRANT SELECT ON a.b TO x WHERE a + 1 = 2`, `row filter: operator + is not supported (use =, <>, <, <=, >, >=, AND, OR, NOT, IN, BETWEEN, LIKE, ILIKE, IS NULL) at line 1, column 34`},
	{`GRANT SELECT ON a.b TO x WHERE CASE WHEN a THEN b END`, `row filter: CASE is not supported at line 1, column 32`},
	{`GRANT SELECT ON a.b TO x WHERE coalesce(a, b)`, `row filter: COALESCE is not supported at line 1, column 32`},
	{`GRANT SELECT ON a.b TO x WHERE a IS DISTINCT FROM b`, `row filter: IS [NOT] DISTINCT FROM is not supported at line 1, column 34`},
	{`GRANT SELECT ON a.b TO x WHERE a BETWEEN SYMMETRIC 1 AND 2`, `row filter: BETWEEN SYMMETRIC is not supported at line 1, column 34`},
	{`GRANT SELECT ON a.b TO x WHERE a LIKE 'x!%' ESCAPE '!'`, `row filter: LIKE ... ESCAPE is not supported at line 1, column 34`},
	{`GRANT SELECT ON a.b TO x WHERE a = $1`, `row filter: a parameter ($n) is not supported at line 1, column 36`},
	{`GRANT SELECT ON a.b TO x WHERE a IN (b, 1)`, `row filter: an IN list holds literals only, not b at line 1, column 38`},
	{`GRANT SELECT ON a.b TO x WHERE has_role(a)`, `row filter: argument 1 of has_role() must be a constant at line 1, column 32`},
	{`GRANT SELECT ON a.b TO x WHERE user_attribute()`, `row filter: function user_attribute() takes 1 argument(s), got 0 at line 1, column 32`},
	{`GRANT SELECT ON a.b TO x WHERE a = 1 ORDER BY a`, `a row filter is one boolean expression; found ORDER BY after it at line 1, column 32`},
	{`GRANT SELECT ON a.b TO x WHERE a = 1 UNION SELECT 1`, `a row filter is one boolean expression; found UNION after it at line 1, column 32`},
	{`GRANT SELECT ON a.b TO x WHERE a[1] = 2`, `row filter: an array subscript is not supported at line 1, column 32`},
	{`GRANT SELECT ON a.b TO x WHERE a = B'101'`, `row filter: a bit string B'...' is not supported at line 1, column 36`},
	{`GRANT SELECT ON a.b TO x WHERE a = 123456789012345678901234567890123456789.5`, `row filter: number 123456789012345678901234567890123456789.5 has more than 38 digits at line 1, column 36`},
	{`GRANT SELECT ON a.b TO x WHERE d = DATE '2024-02-30'`, `row filter: invalid date "2024-02-30": want YYYY-MM-DD at line 1, column 41`},
	{`GRANT SELECT ON a.b TO x WHERE t = TIMESTAMP '2024-01-01 00:00:00+01'`, `row filter: '2024-01-01 00:00:00+01' has a time zone offset; write TIMESTAMP WITH TIME ZONE '...' at line 1, column 46`},
	{`GRANT SELECT ON a.b TO x WHERE a::json = 'x'`, `row filter: type JSON is not supported at line 1, column 35`},
	{`GRANT SELECT ON a.b TO x WHERE a IS UNKNOWN`, `row filter: IS [NOT] UNKNOWN is not supported at line 1, column 34`},
	{`GRANT SELECT ON a.b TO x WHERE current_date > a`, `row filter: CURRENT_DATE is not supported at line 1, column 32`},
	{`GRANT SELECT ON a.b TO x WHERE a = 1 LIMIT 1`, `a row filter is one boolean expression; found LIMIT/OFFSET after it at line 1, column 32`},
	{`GRANT SELECT ON a.b TO x WHERE a = 1; SELECT 1`, `SELECT is not a DDL/DCL statement; send queries to an agent (line 1, column 39)`},
	{`GRANT SELECT ON a.b TO x WHERE *`, `syntax error at or near "*" (line 1, column 32)`},
	{`GRANT SELECT ON a.b TO x WHERE a.* = 1`, `row filter: * is not supported at line 1, column 32`},
	{`GRANT SELECT ON a.b TO x WHERE pg_catalog.has_role('x')`, `row filter: function pg_catalog.has_role() is not supported (supported: current_user(), has_role(), user_attribute()) at line 1, column 32`},
	{`GRANT SELECT ON a.b TO x WHERE count(*) > 1`, `row filter: function count() is not supported (supported: current_user(), has_role(), user_attribute()) at line 1, column 32`},
	{`GRANT SELECT ON a.b TO x WHERE -a = 1`, `row filter: operator - is not supported (use =, <>, <, <=, >, >=, AND, OR, NOT, IN, BETWEEN, LIKE, ILIKE, IS NULL) at line 1, column 32`},
	{`GRANT SELECT ON a.b TO x WHERE a LIKE b`, `row filter: a LIKE pattern must be a string literal at line 1, column 39`},
	{`GRANT SELECT ON a.b TO x WHERE a = X'ABC'`, `row filter: a hexadecimal X'...' literal needs an even number of digits at line 1, column 36`},
	{`GRANT SELECT ON a.b TO x WHERE a = 1e400`, `row filter: number 1e400 is out of range for float64 at line 1, column 36`},

	// Masks, tags and policies.
	{`ALTER TABLE a.b ALTER COLUMN c SET MASK blur`, `unknown mask function BLUR (known: date_year, email_domain, hash, null, redact, round, show_first, show_last, tokenize, zero) at line 1, column 41`},
	{`ALTER TABLE a.b ALTER COLUMN c SET MASK show_last`, `mask function show_last takes 1 argument(s), got 0 at line 1, column 41`},
	{`ALTER TABLE a.b ALTER COLUMN c SET MASK show_last(-1)`, `expected the argument of show_last, found "-" at line 1, column 51`},
	{`ALTER TABLE a.b ALTER COLUMN c SET MASK show_last(1.5)`, `the argument of show_last must be an integer in 0..1048576, found "1.5" at line 1, column 51`},
	{`ALTER TABLE a.b ALTER COLUMN c SET MASK hash(3)`, `mask function hash takes no argument at line 1, column 41`},
	{`ALTER TABLE a.b ALTER COLUMN c SET MASK redact FOR`, `expected a role name, found end of statement at line 1, column 51`},
	{`ALTER TABLE a.b ALTER COLUMN c SET TAGS ('pii', 'pii')`, `duplicate tag 'pii' at line 1, column 49`},
	{`ALTER TABLE a.b ALTER COLUMN c SET TAGS ('pii.*')`, `invalid tag 'pii.*': want dot-separated lower-case words of letters, digits, _ and -, such as 'pii.email' at line 1, column 42`},
	{`ALTER TABLE a.b ALTER COLUMN c SET TAGS ()`, `expected a tag string, found ")" at line 1, column 42`},
	{`CREATE TAG POLICY p ON TAG 'pii*' MASK redact`, `invalid tag pattern 'pii*': want a tag such as 'pii.email', a prefix such as 'pii.*', or '*' at line 1, column 28`},
	{`CREATE TAG POLICY p ON TAG 'pii' MASK`, `expected a mask function (date_year, email_domain, hash, null, redact, round, show_first, show_last, tokenize, zero), found end of statement at line 1, column 38`},
	{`CREATE TAG POLICY p ON TAG 'pii' MASK redact UNLESS 'pii'`, `unexpected "UNLESS" at line 1, column 46`},
	{`CREATE SAFEGUARD POLICY s ON TABLE a.b`, `expected WHERE and a row filter, found end of statement at line 1, column 39`},
	{`CREATE SAFEGUARD POLICY s ON TABLE a.b WHERE x > (SELECT 1)`, `row filter: a subquery is not supported at line 1, column 50`},
	{`DROP TAG POLICY`, `expected a policy name, found end of statement at line 1, column 16`},
}

func TestParseInvalid(t *testing.T) {
	for _, tt := range invalidCases {
		t.Run(tt.sql, func(t *testing.T) {
			sts, err := statement.Parse(tt.sql)
			if err == nil {
				t.Fatalf("Parse succeeded: %#v", sts)
			}
			if ae, ok := err.(*apierr.Error); !ok || ae.Code != apierr.InvalidArgument {
				t.Fatalf("error %T %v is not InvalidArgument", err, err)
			}
			if err.Error() != tt.want {
				t.Fatalf("error =\n%s\nwant\n%s", err, tt.want)
			}
			if sts != nil {
				t.Fatal("statements returned with an error")
			}
		})
	}
}

func TestParseSpans(t *testing.T) {
	sql := "-- roles\nCREATE ROLE a ;\n\n  GRANT ROLE a TO USER \"Zoë\"; SHOW DATABASES"
	sts, err := statement.Parse(sql)
	if err != nil {
		t.Fatal(err)
	}
	want := []statement.Span{
		{Start: 9, End: 22, Line: 2, Col: 1, Text: "CREATE ROLE a"},
		{Start: 28, End: 55, Line: 4, Col: 3, Text: `GRANT ROLE a TO USER "Zoë"`},
		{Start: 57, End: 71, Line: 4, Col: 31, Text: "SHOW DATABASES"},
	}
	if len(sts) != len(want) {
		t.Fatalf("got %d statements", len(sts))
	}
	kinds := []string{"CREATE ROLE", "GRANT ROLE", "SHOW DATABASES"}
	for i, st := range sts {
		if st.Source() != want[i] {
			t.Errorf("statement %d: span %+v, want %+v", i, st.Source(), want[i])
		}
		if st.Kind() != kinds[i] {
			t.Errorf("statement %d: kind %q, want %q", i, st.Kind(), kinds[i])
		}
		if sql[st.Source().Start:st.Source().End] != st.Source().Text {
			t.Errorf("statement %d: text does not match offsets", i)
		}
	}
	if sts[1].(*statement.GrantRole).To[0].Name != "Zoë" {
		t.Error("quoted name lost its case")
	}
}

// TestFilterStringRoundTrip checks that a parsed filter renders (String) to
// SQL that parses back to the same tree.
func TestFilterStringRoundTrip(t *testing.T) {
	for _, tt := range validCases {
		var f sqlsubset.Expr
		switch st := tt.want.(type) {
		case *statement.GrantSelect:
			f = st.Filter
		case *statement.CreateSafeguardPolicy:
			f = st.Filter
		}
		if f == nil {
			continue
		}
		back, err := statement.ParseFilter(f.String())
		if err != nil {
			t.Errorf("ParseFilter(%s): %v", f, err)
			continue
		}
		if !sqlsubset.Equal(back, f) {
			t.Errorf("round trip of %s gave %s", f, back)
		}
	}
}

func TestParseFilter(t *testing.T) {
	e, err := statement.ParseFilter("region = 'eu' and current_user = owner")
	if err != nil {
		t.Fatal(err)
	}
	if !sqlsubset.Equal(e, and(eq(col("region"), str("eu")), eq(call("current_user"), col("owner")))) {
		t.Fatalf("got %s", e)
	}
	_, err = statement.ParseFilter("a = 1 +")
	if err == nil || err.Error() != `syntax error at end of input (line 1, column 8)` {
		t.Fatalf("err = %v", err)
	}
	_, err = statement.ParseFilter("a = 1\n  AND lower(b)")
	if err == nil || err.Error() != `row filter: function lower() is not supported (supported: current_user(), has_role(), user_attribute()) at line 2, column 7` {
		t.Fatalf("err = %v", err)
	}
	if _, err := statement.ParseFilter(" "); err == nil {
		t.Fatal("empty filter accepted")
	}
	if _, err := statement.ParseFilter("a = 1; DROP TABLE a.b"); err == nil {
		t.Fatal("filter with a second statement accepted")
	}
}

func TestParseMany(t *testing.T) {
	sts, err := statement.Parse(`CREATE DATABASE sales; CREATE EXTERNAL TABLE sales.o STORED AS PARQUET LOCATION 's3://b/o';
		GRANT SELECT ON sales.o TO analyst WHERE a = ';'; -- a ; in a comment
		/* ; */ DROP ROLE x;`)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, st := range sts {
		kinds = append(kinds, st.Kind())
	}
	if got := strings.Join(kinds, ","); got != "CREATE DATABASE,CREATE TABLE,GRANT SELECT,DROP ROLE" {
		t.Fatalf("kinds = %s", got)
	}
	if !sqlsubset.Equal(sts[2].(*statement.GrantSelect).Filter, eq(col("a"), str(";"))) {
		t.Fatal("filter")
	}
}
