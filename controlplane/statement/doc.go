// Package statement parses nscale's SQL for data definition and access
// control (DDL and DCL) into typed statements: Parse returns one Statement
// per semicolon-separated statement, each with its source text (Span) for
// the audit log. Parse refuses queries (SELECT); ParseQuery reads the
// SELECT subset that agents accept (see Queries below).
//
// # How it parses
//
// PostgreSQL's own parser (pg_query) reads everything PostgreSQL's grammar
// covers: CREATE ROLE, DROP ROLE, DROP DATABASE, DROP TABLE, GRANT and
// REVOKE of SELECT and of roles, and every row filter expression. What
// PostgreSQL lacks is read by a small tokenizer-based parser: CREATE
// DATABASE (PostgreSQL has no IF NOT EXISTS or COMMENT there), the Hive
// table statements, SHOW, DESCRIBE, REFRESH, ROLE/USER/GROUP before a
// grantee, the WHERE of a grant, UNMASK, ALL ON CATALOG, masks, tags and
// policies. It splits those clauses off and hands the rest of a grant, and
// every filter, to pg_query. Row filters are parsed as the WHERE clause of
// SELECT 1 and converted to the expression trees of internal/sqlsubset;
// anything outside that subset is refused with a message that names it.
// Column types are read by nscale's own type parser (Hive's angle brackets
// are not PostgreSQL grammar), which knows the Hive, Spark and PostgreSQL
// spellings.
//
// Errors are InvalidArgument and say what and where, for example:
//
//	CREATE TABLEE x
//	    syntax error at or near "TABLEE" (line 1, column 8)
//	CREATE INDEX i ON t (a)
//	    unsupported statement CREATE INDEX at line 1, column 1
//	DROP TABLE orders
//	    table name orders must be qualified with its database, as in db.orders at line 1, column 12
//	GRANT SELECT ON a.b TO x WHERE lower(a) = 'x'
//	    row filter: function lower() is not supported (supported: current_user(),
//	    has_role(), user_attribute()) at line 1, column 32
//	SELECT * FROM sales.orders
//	    SELECT is not a DDL/DCL statement; send queries to an agent (line 1, column 1)
//
// Columns count characters, not bytes. The first error stops parsing.
//
// # Lexical rules
//
//   - Keywords are case-insensitive. Statements are separated by ; and
//     empty statements are ignored.
//   - Unquoted identifiers are folded to lower case (ASCII letters only, as
//     PostgreSQL does). "Double-quoted" and `backquoted` identifiers keep
//     their case; write the quote character twice to include it in the
//     name ("a""b" is a"b). PostgreSQL's reserved words (SELECT, USER,
//     ORDER, TABLE, ...) must be quoted to be used as names. Identifiers are
//     at most 63 bytes (PostgreSQL would silently truncate longer ones).
//   - Strings are 'single-quoted'; write a quote twice to include it. A
//     backslash is an ordinary character (PostgreSQL's
//     standard_conforming_strings); E'...' strings are understood in filters
//     but refused in nscale clauses.
//   - Comments: -- to the end of the line, and /* ... */ (which nest).
//   - Dollar quoting ($$...$$) is not supported.
//
// In the grammar below, [x] is optional, {a | b} is a choice, ... repeats
// the previous item separated by commas, and UPPER CASE words are keywords.
//
//	name      identifier
//	table     name.name              a table is always qualified by its database
//	principal [ROLE | USER | GROUP] name
//	          The kind defaults to ROLE, except in GRANT/REVOKE ROLE where it
//	          defaults to USER.
//
// # Databases
//
//	CREATE {DATABASE | SCHEMA} [IF NOT EXISTS] name [COMMENT 'text']
//	DROP {DATABASE | SCHEMA} [IF EXISTS] name [CASCADE | RESTRICT]
//	SHOW {DATABASES | SCHEMAS}
//
// CASCADE drops the database's tables too; without it, dropping a database
// that still has tables fails.
//
// # Tables
//
//	CREATE [EXTERNAL] TABLE [IF NOT EXISTS] table
//	    [ ( column_def, ... ) ]
//	    [COMMENT 'text']
//	    [PARTITIONED BY ( column_def, ... )]
//	    {STORED AS | USING} {PARQUET | CSV | JSON}
//	    LOCATION 'url'
//	    [TBLPROPERTIES ( 'key' = 'value', ... )]
//	column_def: name type [NOT NULL] [COMMENT 'text']
//
//	DROP TABLE [IF EXISTS] table
//	REFRESH TABLE table
//	ALTER TABLE table SET TBLPROPERTIES ( 'key' = 'value', ... )
//	ALTER TABLE table ADD COLUMNS ( column_def, ... )
//	SHOW TABLES [{IN | FROM} database]
//	{DESCRIBE | DESC} [TABLE] table
//
// The clauses after the column list may come in any order, each at most
// once; STORED AS and LOCATION are required. Without a column list the
// schema is inferred from the files. Partition columns are the directories
// (dt=2024-01-31/) and must not repeat a column of the column list.
// TBLPROPERTIES keys must be distinct. DROP TABLE does not take CASCADE and
// drops one table.
//
// # Column types
//
// Types map to Arrow types (the names in parentheses):
//
//	BOOLEAN, BOOL                                  (bool)
//	TINYINT, BYTE                                  (int8)
//	SMALLINT, INT2, SHORT, INT16                   (int16)
//	INT, INTEGER, INT4, INT32                      (int32)
//	BIGINT, INT8, LONG, INT64                      (int64)
//	UINT8, UINT16, UINT32, UINT64                  (uint8 ... uint64; nscale extension)
//	REAL, FLOAT4, FLOAT32, FLOAT(1..24)            (float32)
//	DOUBLE, DOUBLE PRECISION, FLOAT8, FLOAT64,
//	  FLOAT, FLOAT(25..53)                         (float64)
//	DECIMAL[(p[,s])], NUMERIC, DEC                 (decimal128(p,s); default p=10, s=0; p <= 38)
//	STRING, TEXT, VARCHAR[(n)], CHAR[(n)],
//	  CHARACTER [VARYING][(n)]                     (string; the length is not enforced)
//	BINARY, BYTEA, VARBINARY[(n)]                  (binary)
//	DATE                                           (date32)
//	TIMESTAMP[(p)] [WITHOUT TIME ZONE],
//	  TIMESTAMP_NTZ                                (timestamp without time zone)
//	TIMESTAMP[(p)] WITH TIME ZONE, TIMESTAMPTZ,
//	  TIMESTAMP_LTZ                                (timestamp, UTC)
//	ARRAY<type>, type[]                            (list<type>)
//	STRUCT<name[:] type, ...>                      (struct<...>)
//
// Timestamps are in microseconds; a precision p of 0 gives seconds, 1-3
// milliseconds, 4-6 microseconds, 7-9 nanoseconds. MAP, TIME, INTERVAL,
// JSON and UUID are not supported yet.
//
// Two spellings mean different things in Hive and in PostgreSQL; nscale
// follows PostgreSQL, because row filters and casts are read by
// PostgreSQL's grammar and one spelling must mean one type everywhere:
// INT8 is BIGINT (64-bit; write TINYINT for 8-bit) and FLOAT is DOUBLE
// PRECISION (64-bit; write REAL for 32-bit). Both only ever widen a Hive
// column. Likewise TIMESTAMP is without time zone, as in PostgreSQL and
// Hive 3 (Spark's TIMESTAMP is TIMESTAMP_LTZ: write that or TIMESTAMPTZ).
//
// # Roles
//
//	CREATE ROLE name
//	DROP ROLE [IF EXISTS] name
//	GRANT [ROLE] role, ... TO [USER | GROUP] name, ...
//	REVOKE [ROLE] role, ... FROM [USER | GROUP] name, ...
//
// Roles are granted to users and groups (from the identity provider), not
// to other roles. Role options (LOGIN, PASSWORD, ...) and WITH ADMIN OPTION
// are not supported.
//
// # Grants
//
//	GRANT SELECT [( column, ... )] ON {DATABASE name | [TABLE] table}
//	    TO principal, ... [WHERE filter]
//	REVOKE SELECT [( column, ... )] ON {DATABASE name | [TABLE] table}
//	    FROM principal, ...
//	GRANT UNMASK ON {COLUMN database.table.column | TAG 'tag'} TO principal, ...
//	REVOKE UNMASK ON {COLUMN database.table.column | TAG 'tag'} FROM principal, ...
//	GRANT ALL [PRIVILEGES] ON CATALOG TO principal, ...
//	REVOKE ALL [PRIVILEGES] ON CATALOG FROM principal, ...
//	SHOW GRANTS [ON {DATABASE name | [TABLE] table} | {TO | FOR} principal]
//
// SELECT on a database covers all its tables. A column list limits the
// grant to those columns (tables only). The WHERE filter of a table grant
// is a row filter: the principal sees only the rows for which it is true.
// UNMASK lets the principal see the clear values of a masked column, or of
// every column carrying the tag (or a tag below it: UNMASK on 'pii' covers
// 'pii.email'). ALL ON CATALOG makes the principal a catalog administrator,
// who may run every statement here; it is the only ALL that nscale grants.
// SCHEMA is a synonym of DATABASE. WITH GRANT OPTION, GRANTED BY, PUBLIC
// and privileges other than SELECT are not supported.
//
// # Row filters
//
// A filter is a boolean expression over the table's columns:
//
//	column, or struct_column.field.field
//	literals: NULL, TRUE, FALSE, 42, 2.50 (exact decimal), 1.5e3 (float),
//	  'text', X'CAFE' (binary), DATE '2024-01-31',
//	  TIMESTAMP '2024-01-31 12:00:00[.ffffff]',
//	  TIMESTAMP WITH TIME ZONE '2024-01-31 12:00:00+01'
//	a {= | <> | != | < | <= | > | >=} b
//	a [NOT] BETWEEN b AND c
//	a [NOT] IN (literal, ...)
//	a [NOT] {LIKE | ILIKE} 'pattern'          % any run, _ one character, \ escapes
//	a IS [NOT] NULL, a IS [NOT] {TRUE | FALSE}
//	NOT a, a AND b, a OR b, ( a )
//	CAST(a AS type), a::type
//	current_user()    the user's name (current_user without parentheses too)
//	has_role('role')  whether the user holds the role
//	user_attribute('key')  an attribute of the user from the identity provider, or NULL
//
// The three functions are resolved by the control plane, per user, before
// the filter goes to an agent. Arithmetic, other functions, subqueries,
// CASE, COALESCE, IS DISTINCT FROM, BETWEEN SYMMETRIC, LIKE ... ESCAPE and
// parameters are not supported. Whether the columns exist and the types fit
// is checked when the grant is stored (sqlsubset.TypeCheck), not by Parse.
//
// # Masks
//
//	ALTER TABLE table ALTER [COLUMN] column SET MASK mask [FOR principal]
//	ALTER TABLE table ALTER [COLUMN] column DROP MASK [FOR principal]
//	mask: NULL | REDACT | HASH | TOKENIZE | EMAIL_DOMAIN | DATE_YEAR | ZERO
//	    | SHOW_FIRST(n) | SHOW_LAST(n) | ROUND(n)
//
// n is an integer from 0 to 1048576. Without FOR the mask applies to every
// principal without UNMASK; with FOR, to that principal. The functions are
// described in sqlsubset.Mask.
//
// # Tags and policies
//
//	ALTER TABLE table ALTER [COLUMN] column SET TAGS ( 'tag', ... )
//	ALTER TABLE table ALTER [COLUMN] column UNSET TAGS ( 'tag', ... )
//	CREATE TAG POLICY name ON TAG 'pattern' MASK mask [UNLESS UNMASK 'tag']
//	CREATE SAFEGUARD POLICY name ON TAG 'pattern' MASK mask
//	CREATE SAFEGUARD POLICY name ON [TABLE] table WHERE filter
//	DROP TAG POLICY [IF EXISTS] name
//	DROP SAFEGUARD POLICY [IF EXISTS] name
//
// A tag is dot-separated words of lower-case letters, digits, _ and -
// ('pii', 'pii.email'), at most 128 bytes. A pattern is a tag, a tag
// followed by .* (every tag below it: 'pii.*' matches 'pii.email' but not
// 'pii'), or '*' (every tag). A tag policy masks every column whose tags
// match, except for principals holding UNMASK on the UNLESS UNMASK tag. A
// safeguard policy applies to everyone but catalog administrators, UNMASK
// holders included: a tag safeguard masks, a table safeguard filters rows.
//
// # Queries
//
// ParseQuery reads one query, with PostgreSQL's parser, into a Query:
//
//	SELECT {* | alias.* | column [[AS] alias], ...}
//	    FROM table [[AS] alias]
//	    [WHERE filter]
//	    [LIMIT {n | ALL}]
//	column: name, struct_column.field..., (struct_column).field, or either
//	        qualified by the alias, the table name or db.table
//
// The table must be qualified with its database. Qualifiers are removed
// from columns, in the select list and in WHERE; a first name that is not
// the qualifier is the column, and the names after it a struct field path
// (so to reach field c of a column named like the table t, write t.t.c).
// * stands alone in the select list. The WHERE filter is converted as a row
// filter (the same trees as ParseFilter for the same text, qualifiers
// aside), except that functions are refused, current_user, has_role() and
// user_attribute() included: those belong to policies, which the control
// plane applies. Constant filters are kept as written: WHERE 1=0 is the
// comparison 1 = 0, and the planner treats it. LIMIT is a non-negative
// integer; LIMIT ALL, LIMIT NULL and no LIMIT are no limit, and FETCH
// FIRST n ROWS ONLY is LIMIT n. A trailing semicolon is allowed.
//
// Spark's JDBC source wraps a query in a subquery; that shape is accepted
// and flattened:
//
//	SELECT * FROM (query) [[AS] alias] [WHERE filter] [LIMIT n]
//
// where query is itself a query accepted here. The outer filter's columns
// name the subquery's output columns (aliases included) and are rewritten
// to the table's; the filters are ANDed, and the smaller limit wins.
//
// Refused, with the construct and its position: joins and more than one
// FROM item, other subqueries, GROUP BY, HAVING, aggregate and window
// functions, DISTINCT, ORDER BY (agents return rows in no particular order;
// it is refused rather than ignored), OFFSET, FOR UPDATE/SHARE, WITH, set
// operations (UNION, INTERSECT, EXCEPT), VALUES, TABLE, SELECT INTO,
// functions and other expressions in the select list, unqualified tables,
// ONLY, INSERT/UPDATE/DELETE and other statements, DDL and DCL (send those
// to the control plane with nscalectl sql), and more than one statement.
package statement
