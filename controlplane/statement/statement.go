package statement

import (
	"github.com/nscale/nscale/internal/sqlsubset"
)

// Statement is one parsed statement. The concrete types are the structs in
// this file; a type switch over them is exhaustive.
type Statement interface {
	// Source is where the statement is in the text given to Parse.
	Source() Span
	// Kind names the statement for audit records and metrics labels, e.g.
	// "CREATE TABLE" or "GRANT SELECT"; the set of values is fixed.
	Kind() string
	statement()
}

// Span locates a statement in the text given to Parse: from its first token
// to its last, without the terminating semicolon or surrounding comments.
type Span struct {
	Start, End int // byte offsets, [Start, End)
	Line, Col  int // of Start, 1-based; Col counts characters
	Text       string
}

// Source returns s; statements get it by embedding Span.
func (s Span) Source() Span { return s }

// TableName is a database-qualified table name.
type TableName struct {
	Database, Table string
}

func (t TableName) String() string {
	return sqlsubset.QuoteIdent(t.Database) + "." + sqlsubset.QuoteIdent(t.Table)
}

// PrincipalKind is who a grant, a mask or a policy applies to.
type PrincipalKind string

// Principal kinds. When a statement leaves the kind out, it is a role,
// except in GRANT/REVOKE ROLE, where it is a user.
const (
	Role  PrincipalKind = "role"
	User  PrincipalKind = "user"
	Group PrincipalKind = "group"
)

// Principal is a role, a user or a group, by name.
type Principal struct {
	Kind PrincipalKind
	Name string
}

// Object is what a SELECT grant covers: a whole database (Table "") or one
// table.
type Object struct {
	Database, Table string
}

// Format is a table's file format.
type Format string

// File formats.
const (
	Parquet Format = "parquet"
	CSV     Format = "csv"
	JSON    Format = "json"
)

// Property is one TBLPROPERTIES entry, in the order written.
type Property struct {
	Key, Value string
}

// Column is a column definition.
type Column struct {
	Name    string
	Type    sqlsubset.Type
	NotNull bool
	Comment string
}

// CreateDatabase is CREATE DATABASE [IF NOT EXISTS] name [COMMENT '...'].
type CreateDatabase struct {
	Span
	Name        string
	IfNotExists bool
	Comment     string
}

// DropDatabase is DROP DATABASE [IF EXISTS] name [CASCADE].
type DropDatabase struct {
	Span
	Name     string
	IfExists bool
	Cascade  bool
}

// CreateTable is CREATE [EXTERNAL] TABLE. Columns is empty when the schema
// is to be inferred from the files.
type CreateTable struct {
	Span
	Table         TableName
	IfNotExists   bool
	Columns       []Column
	Comment       string
	PartitionedBy []Column
	Format        Format
	Location      string
	Properties    []Property
}

// DropTable is DROP TABLE [IF EXISTS] db.t.
type DropTable struct {
	Span
	Table    TableName
	IfExists bool
}

// RefreshTable is REFRESH TABLE db.t: re-read partitions and file lists.
type RefreshTable struct {
	Span
	Table TableName
}

// AlterTableSetProperties is ALTER TABLE db.t SET TBLPROPERTIES (...).
type AlterTableSetProperties struct {
	Span
	Table      TableName
	Properties []Property
}

// AlterTableAddColumns is ALTER TABLE db.t ADD COLUMNS (...).
type AlterTableAddColumns struct {
	Span
	Table   TableName
	Columns []Column
}

// SetColumnMask is ALTER TABLE db.t ALTER COLUMN c SET MASK fn [FOR p].
// For is nil when the mask applies to everyone.
type SetColumnMask struct {
	Span
	Table  TableName
	Column string
	Mask   sqlsubset.Mask
	For    *Principal
}

// DropColumnMask is ALTER TABLE db.t ALTER COLUMN c DROP MASK [FOR p].
type DropColumnMask struct {
	Span
	Table  TableName
	Column string
	For    *Principal
}

// SetColumnTags is ALTER TABLE db.t ALTER COLUMN c SET TAGS ('t', ...).
type SetColumnTags struct {
	Span
	Table  TableName
	Column string
	Tags   []string
}

// UnsetColumnTags is ALTER TABLE db.t ALTER COLUMN c UNSET TAGS ('t', ...).
type UnsetColumnTags struct {
	Span
	Table  TableName
	Column string
	Tags   []string
}

// ShowDatabases is SHOW DATABASES.
type ShowDatabases struct {
	Span
}

// ShowTables is SHOW TABLES [IN db]; Database is "" for all databases.
type ShowTables struct {
	Span
	Database string
}

// ShowGrants is SHOW GRANTS [ON TABLE db.t | ON DATABASE d | TO p]. At most
// one of On and To is set; neither means all grants.
type ShowGrants struct {
	Span
	On *Object
	To *Principal
}

// Describe is DESCRIBE [TABLE] db.t.
type Describe struct {
	Span
	Table TableName
}

// CreateRole is CREATE ROLE r.
type CreateRole struct {
	Span
	Name string
}

// DropRole is DROP ROLE [IF EXISTS] r.
type DropRole struct {
	Span
	Name     string
	IfExists bool
}

// GrantRole is GRANT [ROLE] r, ... TO [USER|GROUP] x, ....
type GrantRole struct {
	Span
	Roles []string
	To    []Principal
}

// RevokeRole is REVOKE [ROLE] r, ... FROM [USER|GROUP] x, ....
type RevokeRole struct {
	Span
	Roles []string
	From  []Principal
}

// GrantSelect is GRANT SELECT [(cols)] ON DATABASE d | ON [TABLE] db.t TO
// ... [WHERE filter]. Columns is empty for all columns; Filter is nil for
// all rows.
type GrantSelect struct {
	Span
	On      Object
	Columns []string
	To      []Principal
	Filter  sqlsubset.Expr
}

// RevokeSelect is REVOKE SELECT [(cols)] ON ... FROM ....
type RevokeSelect struct {
	Span
	On      Object
	Columns []string
	From    []Principal
}

// UnmaskTarget is what GRANT UNMASK covers: one column (Table and Column
// set) or every column carrying a tag (Tag set).
type UnmaskTarget struct {
	Table  TableName
	Column string
	Tag    string
}

// GrantUnmask is GRANT UNMASK ON COLUMN db.t.c | ON TAG 't' TO ....
type GrantUnmask struct {
	Span
	On UnmaskTarget
	To []Principal
}

// RevokeUnmask is REVOKE UNMASK ON ... FROM ....
type RevokeUnmask struct {
	Span
	On   UnmaskTarget
	From []Principal
}

// GrantCatalogAdmin is GRANT ALL [PRIVILEGES] ON CATALOG TO ...: the
// principals administer the whole catalog and its policy.
type GrantCatalogAdmin struct {
	Span
	To []Principal
}

// RevokeCatalogAdmin is REVOKE ALL [PRIVILEGES] ON CATALOG FROM ....
type RevokeCatalogAdmin struct {
	Span
	From []Principal
}

// CreateTagPolicy is CREATE TAG POLICY name ON TAG 'pattern' MASK fn
// [UNLESS UNMASK 'tag']: mask every column whose tags match the pattern,
// except for principals holding UNMASK on UnlessUnmask.
type CreateTagPolicy struct {
	Span
	Name         string
	Tag          string
	Mask         sqlsubset.Mask
	UnlessUnmask string
}

// CreateSafeguardPolicy is CREATE SAFEGUARD POLICY name ON TAG 'pattern'
// MASK fn, or ... ON [TABLE] db.t WHERE filter. A safeguard applies to
// everyone, grants and UNMASK notwithstanding. Exactly one of (Tag, Mask)
// and (Table, Filter) is set.
type CreateSafeguardPolicy struct {
	Span
	Name   string
	Tag    string
	Mask   *sqlsubset.Mask
	Table  *TableName
	Filter sqlsubset.Expr
}

// DropTagPolicy is DROP TAG POLICY [IF EXISTS] name.
type DropTagPolicy struct {
	Span
	Name     string
	IfExists bool
}

// DropSafeguardPolicy is DROP SAFEGUARD POLICY [IF EXISTS] name.
type DropSafeguardPolicy struct {
	Span
	Name     string
	IfExists bool
}

func (*CreateDatabase) Kind() string          { return "CREATE DATABASE" }
func (*DropDatabase) Kind() string            { return "DROP DATABASE" }
func (*CreateTable) Kind() string             { return "CREATE TABLE" }
func (*DropTable) Kind() string               { return "DROP TABLE" }
func (*RefreshTable) Kind() string            { return "REFRESH TABLE" }
func (*AlterTableSetProperties) Kind() string { return "ALTER TABLE SET TBLPROPERTIES" }
func (*AlterTableAddColumns) Kind() string    { return "ALTER TABLE ADD COLUMNS" }
func (*SetColumnMask) Kind() string           { return "ALTER COLUMN SET MASK" }
func (*DropColumnMask) Kind() string          { return "ALTER COLUMN DROP MASK" }
func (*SetColumnTags) Kind() string           { return "ALTER COLUMN SET TAGS" }
func (*UnsetColumnTags) Kind() string         { return "ALTER COLUMN UNSET TAGS" }
func (*ShowDatabases) Kind() string           { return "SHOW DATABASES" }
func (*ShowTables) Kind() string              { return "SHOW TABLES" }
func (*ShowGrants) Kind() string              { return "SHOW GRANTS" }
func (*Describe) Kind() string                { return "DESCRIBE" }
func (*CreateRole) Kind() string              { return "CREATE ROLE" }
func (*DropRole) Kind() string                { return "DROP ROLE" }
func (*GrantRole) Kind() string               { return "GRANT ROLE" }
func (*RevokeRole) Kind() string              { return "REVOKE ROLE" }
func (*GrantSelect) Kind() string             { return "GRANT SELECT" }
func (*RevokeSelect) Kind() string            { return "REVOKE SELECT" }
func (*GrantUnmask) Kind() string             { return "GRANT UNMASK" }
func (*RevokeUnmask) Kind() string            { return "REVOKE UNMASK" }
func (*GrantCatalogAdmin) Kind() string       { return "GRANT ALL ON CATALOG" }
func (*RevokeCatalogAdmin) Kind() string      { return "REVOKE ALL ON CATALOG" }
func (*CreateTagPolicy) Kind() string         { return "CREATE TAG POLICY" }
func (*CreateSafeguardPolicy) Kind() string   { return "CREATE SAFEGUARD POLICY" }
func (*DropTagPolicy) Kind() string           { return "DROP TAG POLICY" }
func (*DropSafeguardPolicy) Kind() string     { return "DROP SAFEGUARD POLICY" }

func (*CreateDatabase) statement()          {}
func (*DropDatabase) statement()            {}
func (*CreateTable) statement()             {}
func (*DropTable) statement()               {}
func (*RefreshTable) statement()            {}
func (*AlterTableSetProperties) statement() {}
func (*AlterTableAddColumns) statement()    {}
func (*SetColumnMask) statement()           {}
func (*DropColumnMask) statement()          {}
func (*SetColumnTags) statement()           {}
func (*UnsetColumnTags) statement()         {}
func (*ShowDatabases) statement()           {}
func (*ShowTables) statement()              {}
func (*ShowGrants) statement()              {}
func (*Describe) statement()                {}
func (*CreateRole) statement()              {}
func (*DropRole) statement()                {}
func (*GrantRole) statement()               {}
func (*RevokeRole) statement()              {}
func (*GrantSelect) statement()             {}
func (*RevokeSelect) statement()            {}
func (*GrantUnmask) statement()             {}
func (*RevokeUnmask) statement()            {}
func (*GrantCatalogAdmin) statement()       {}
func (*RevokeCatalogAdmin) statement()      {}
func (*CreateTagPolicy) statement()         {}
func (*CreateSafeguardPolicy) statement()   {}
func (*DropTagPolicy) statement()           {}
func (*DropSafeguardPolicy) statement()     {}
