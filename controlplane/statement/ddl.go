package statement

import (
	"strings"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// create dispatches CREATE statements.
func (p *parser) create() (Statement, error) {
	switch {
	case p.isKw(1, "database"), p.isKw(1, "schema"):
		return p.createDatabase()
	case p.isKw(1, "table"), p.isKw(1, "external") && p.isKw(2, "table"):
		return p.createTable()
	case p.isKw(1, "role"):
		return p.pgCreateRole()
	case p.isKw(1, "tag") && p.isKw(2, "policy"):
		return p.createTagPolicy()
	case p.isKw(1, "safeguard") && p.isKw(2, "policy"):
		return p.createSafeguardPolicy()
	}
	return nil, p.unsupported()
}

// drop dispatches DROP statements.
func (p *parser) drop() (Statement, error) {
	switch {
	case p.isKw(1, "database"), p.isKw(1, "schema"):
		return p.pgDropDatabase()
	case p.isKw(1, "table"):
		return p.pgDropTable()
	case p.isKw(1, "role"):
		return p.pgDropRole()
	case p.isKw(1, "tag") && p.isKw(2, "policy"):
		p.i = 3
		ifExists := p.ifExists()
		name, err := p.name("a policy name")
		if err != nil {
			return nil, err
		}
		return &DropTagPolicy{Name: name, IfExists: ifExists}, p.end()
	case p.isKw(1, "safeguard") && p.isKw(2, "policy"):
		p.i = 3
		ifExists := p.ifExists()
		name, err := p.name("a policy name")
		if err != nil {
			return nil, err
		}
		return &DropSafeguardPolicy{Name: name, IfExists: ifExists}, p.end()
	}
	return nil, p.unsupported()
}

// createDatabase: CREATE DATABASE|SCHEMA [IF NOT EXISTS] name [COMMENT '...'].
func (p *parser) createDatabase() (Statement, error) {
	p.i = 2
	st := &CreateDatabase{IfNotExists: p.ifNotExists()}
	var err error
	if st.Name, err = p.name("a database name"); err != nil {
		return nil, err
	}
	if p.isOp(0, ".") {
		return nil, p.errHere("a database name has one part")
	}
	if p.acceptKw("comment") {
		if st.Comment, err = p.stringLit("a comment string"); err != nil {
			return nil, err
		}
	}
	return st, p.end()
}

// createTable: CREATE [EXTERNAL] TABLE [IF NOT EXISTS] db.t [(cols)] clauses.
func (p *parser) createTable() (Statement, error) {
	p.i = 1
	p.acceptKw("external")
	p.i++ // TABLE
	st := &CreateTable{IfNotExists: p.ifNotExists()}
	var err error
	if st.Table, err = p.tableName(); err != nil {
		return nil, err
	}
	if p.isOp(0, "(") {
		if st.Columns, err = p.columnDefs(nil); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for !p.atEnd() {
		kwStart := p.offset()
		clause := func(name string) error {
			if seen[name] {
				return errAt(p.src, kwStart, "duplicate %s clause", name)
			}
			seen[name] = true
			return nil
		}
		switch {
		case p.acceptKw("comment"):
			if err := clause("COMMENT"); err != nil {
				return nil, err
			}
			if st.Comment, err = p.stringLit("a comment string"); err != nil {
				return nil, err
			}
		case p.acceptKw("partitioned", "by"):
			if err := clause("PARTITIONED BY"); err != nil {
				return nil, err
			}
			if st.PartitionedBy, err = p.columnDefs(st.Columns); err != nil {
				return nil, err
			}
		case p.acceptKw("stored", "as"), p.acceptKw("using"):
			if err := clause("STORED AS"); err != nil {
				return nil, err
			}
			if st.Format, err = p.format(); err != nil {
				return nil, err
			}
		case p.acceptKw("location"):
			if err := clause("LOCATION"); err != nil {
				return nil, err
			}
			if st.Location, err = p.stringLit("a location string"); err != nil {
				return nil, err
			}
			if strings.TrimSpace(st.Location) == "" {
				return nil, errAt(p.src, p.toks[p.i-1].start, "LOCATION must not be empty")
			}
		case p.acceptKw("tblproperties"):
			if err := clause("TBLPROPERTIES"); err != nil {
				return nil, err
			}
			if st.Properties, err = p.properties(); err != nil {
				return nil, err
			}
		case p.isOp(0, "("):
			return nil, p.errHere("the column list must come right after the table name")
		default:
			return nil, p.expected("COMMENT, PARTITIONED BY, STORED AS, LOCATION or TBLPROPERTIES")
		}
	}
	if st.Format == "" {
		return nil, p.errHere("CREATE TABLE needs STORED AS PARQUET, CSV or JSON")
	}
	if st.Location == "" {
		return nil, p.errHere("CREATE TABLE needs LOCATION '...'")
	}
	return st, nil
}

// format reads PARQUET, CSV or JSON.
func (p *parser) format() (Format, error) {
	t := p.tok(0)
	if t == nil || t.kind != tIdent {
		return "", p.expected("PARQUET, CSV or JSON")
	}
	switch f := Format(strings.ToLower(t.text)); f {
	case Parquet, CSV, JSON:
		p.i++
		return f, nil
	}
	return "", p.errHere("unsupported file format %s (want PARQUET, CSV or JSON)", strings.ToUpper(t.text))
}

// columnDefs reads ( name type [NOT NULL] [COMMENT '...'], ... ). Partition
// columns must not repeat the table's columns.
func (p *parser) columnDefs(tableColumns []Column) ([]Column, error) {
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	var cols []Column
	seen := map[string]bool{}
	for {
		start := p.offset()
		name, err := p.name("a column name")
		if err != nil {
			return nil, err
		}
		for _, c := range tableColumns {
			if c.Name == name {
				return nil, errAt(p.src, start, "partition column %s must not also be in the column list", sqlsubset.QuoteIdent(name))
			}
		}
		if seen[name] {
			return nil, errAt(p.src, start, "duplicate column name %s", sqlsubset.QuoteIdent(name))
		}
		seen[name] = true
		c := Column{Name: name}
		tp := typeParser{parser: p}
		if c.Type, err = tp.parseType(1); err != nil {
			return nil, err
		}
		if p.acceptKw("not", "null") {
			c.NotNull = true
		}
		if p.acceptKw("comment") {
			if c.Comment, err = p.stringLit("a comment string"); err != nil {
				return nil, err
			}
		}
		cols = append(cols, c)
		if p.acceptOp(")") {
			return cols, nil
		}
		if !p.acceptOp(",") {
			return nil, p.expected(`"," or ")"`)
		}
	}
}

// properties reads ('k' = 'v', ...).
func (p *parser) properties() ([]Property, error) {
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	var props []Property
	seen := map[string]bool{}
	for {
		start := p.offset()
		k, err := p.stringLit("a property key string")
		if err != nil {
			return nil, err
		}
		if k == "" {
			return nil, errAt(p.src, start, "property key must not be empty")
		}
		if seen[k] {
			return nil, errAt(p.src, start, "duplicate property %s", sqlsubset.QuoteString(k))
		}
		seen[k] = true
		if err := p.expectOp("="); err != nil {
			return nil, err
		}
		v, err := p.stringLit("a property value string")
		if err != nil {
			return nil, err
		}
		props = append(props, Property{Key: k, Value: v})
		if p.acceptOp(")") {
			return props, nil
		}
		if !p.acceptOp(",") {
			return nil, p.expected(`"," or ")"`)
		}
	}
}

// alterTable: ALTER TABLE db.t SET TBLPROPERTIES | ADD COLUMNS | ALTER COLUMN.
func (p *parser) alterTable() (Statement, error) {
	p.i = 2
	table, err := p.tableName()
	if err != nil {
		return nil, err
	}
	switch {
	case p.acceptKw("set", "tblproperties"):
		props, err := p.properties()
		if err != nil {
			return nil, err
		}
		return &AlterTableSetProperties{Table: table, Properties: props}, p.end()
	case p.acceptKw("add", "columns"):
		cols, err := p.columnDefs(nil)
		if err != nil {
			return nil, err
		}
		return &AlterTableAddColumns{Table: table, Columns: cols}, p.end()
	case p.acceptKw("alter"):
		p.acceptKw("column")
		column, err := p.name("a column name")
		if err != nil {
			return nil, err
		}
		return p.alterColumn(table, column)
	}
	return nil, p.expected("SET TBLPROPERTIES, ADD COLUMNS or ALTER COLUMN")
}

// alterColumn: SET MASK fn [FOR p] | DROP MASK [FOR p] | SET TAGS (...) |
// UNSET TAGS (...).
func (p *parser) alterColumn(table TableName, column string) (Statement, error) {
	forPrincipal := func() (*Principal, error) {
		if !p.acceptKw("for") {
			return nil, nil
		}
		pr, err := p.principal(Role)
		if err != nil {
			return nil, err
		}
		return &pr, nil
	}
	switch {
	case p.acceptKw("set", "mask"):
		m, err := p.mask()
		if err != nil {
			return nil, err
		}
		pr, err := forPrincipal()
		if err != nil {
			return nil, err
		}
		return &SetColumnMask{Table: table, Column: column, Mask: m, For: pr}, p.end()
	case p.acceptKw("drop", "mask"):
		pr, err := forPrincipal()
		if err != nil {
			return nil, err
		}
		return &DropColumnMask{Table: table, Column: column, For: pr}, p.end()
	case p.acceptKw("set", "tags"):
		tags, err := p.tags()
		if err != nil {
			return nil, err
		}
		return &SetColumnTags{Table: table, Column: column, Tags: tags}, p.end()
	case p.acceptKw("unset", "tags"):
		tags, err := p.tags()
		if err != nil {
			return nil, err
		}
		return &UnsetColumnTags{Table: table, Column: column, Tags: tags}, p.end()
	}
	return nil, p.expected("SET MASK, DROP MASK, SET TAGS or UNSET TAGS")
}

// mask reads a mask function: name or name(n).
func (p *parser) mask() (sqlsubset.Mask, error) {
	t := p.tok(0)
	if t == nil || t.kind != tIdent {
		return sqlsubset.Mask{}, p.expected("a mask function (" + strings.Join(sqlsubset.MaskFunctions(), ", ") + ")")
	}
	start := t.start
	m := sqlsubset.Mask{Func: lowerASCII(t.text)}
	arity, ok := sqlsubset.MaskArity(m.Func)
	if !ok {
		return m, p.errHere("unknown mask function %s (known: %s)", strings.ToUpper(t.text), strings.Join(sqlsubset.MaskFunctions(), ", "))
	}
	p.i++
	if p.acceptOp("(") {
		if arity == 0 {
			return m, errAt(p.src, start, "mask function %s takes no argument", m.Func)
		}
		n, err := p.nonNegativeInt("the argument of "+m.Func, sqlsubset.MaxMaskArg)
		if err != nil {
			return m, err
		}
		m.Args = []int64{n}
		if err := p.expectOp(")"); err != nil {
			return m, err
		}
	}
	if err := m.Validate(); err != nil {
		return m, errAt(p.src, start, "%s", apierr.PublicMessage(err))
	}
	return m, nil
}

// A tag is dot-separated lower-case words: pii, pii.email, finance.pci-dss.
// A tag pattern is a tag, or a tag prefix followed by .*, or * alone.
const maxTagLen = 128

func validTag(s string) bool {
	if s == "" || len(s) > maxTagLen {
		return false
	}
	for _, seg := range strings.Split(s, ".") {
		if seg == "" {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}

func validTagPattern(s string) bool {
	if s == "*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(s, ".*"); ok {
		return validTag(prefix)
	}
	return validTag(s)
}

// tag reads a tag string; pattern allows a trailing .* or *.
func (p *parser) tag(pattern bool) (string, error) {
	start := p.offset()
	what := "a tag string"
	if pattern {
		what = "a tag pattern string"
	}
	s, err := p.stringLit(what)
	if err != nil {
		return "", err
	}
	if pattern && !validTagPattern(s) {
		return "", errAt(p.src, start, "invalid tag pattern %s: want a tag such as 'pii.email', a prefix such as 'pii.*', or '*'", sqlsubset.QuoteString(s))
	}
	if !pattern && !validTag(s) {
		return "", errAt(p.src, start, "invalid tag %s: want dot-separated lower-case words of letters, digits, _ and -, such as 'pii.email'", sqlsubset.QuoteString(s))
	}
	return s, nil
}

// tags reads ('t', ...).
func (p *parser) tags() ([]string, error) {
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for {
		start := p.offset()
		t, err := p.tag(false)
		if err != nil {
			return nil, err
		}
		if seen[t] {
			return nil, errAt(p.src, start, "duplicate tag %s", sqlsubset.QuoteString(t))
		}
		seen[t] = true
		out = append(out, t)
		if p.acceptOp(")") {
			return out, nil
		}
		if !p.acceptOp(",") {
			return nil, p.expected(`"," or ")"`)
		}
	}
}

// show: SHOW DATABASES | TABLES [IN db] | GRANTS [ON ... | TO ...].
func (p *parser) show() (Statement, error) {
	p.i = 1
	switch {
	case p.acceptKw("databases"), p.acceptKw("schemas"):
		return &ShowDatabases{}, p.end()
	case p.acceptKw("tables"):
		st := &ShowTables{}
		if p.acceptKw("in") || p.acceptKw("from") {
			var err error
			if st.Database, err = p.name("a database name"); err != nil {
				return nil, err
			}
		}
		return st, p.end()
	case p.acceptKw("grants"):
		st := &ShowGrants{}
		switch {
		case p.acceptKw("on"):
			on, err := p.object()
			if err != nil {
				return nil, err
			}
			st.On = &on
		case p.acceptKw("to"), p.acceptKw("for"):
			pr, err := p.principal(Role)
			if err != nil {
				return nil, err
			}
			st.To = &pr
		}
		return st, p.end()
	}
	return nil, p.expected("DATABASES, TABLES or GRANTS")
}

// object reads DATABASE d | SCHEMA d | [TABLE] db.t.
func (p *parser) object() (Object, error) {
	if p.acceptKw("database") || p.acceptKw("schema") {
		n, err := p.name("a database name")
		return Object{Database: n}, err
	}
	p.acceptKw("table")
	t, err := p.tableName()
	return Object(t), err
}

// describe: DESCRIBE|DESC [TABLE] db.t.
func (p *parser) describe() (Statement, error) {
	p.i = 1
	p.acceptKw("table")
	t, err := p.tableName()
	if err != nil {
		return nil, err
	}
	return &Describe{Table: t}, p.end()
}

// refresh: REFRESH TABLE db.t.
func (p *parser) refresh() (Statement, error) {
	p.i = 1
	if err := p.expectKw("table"); err != nil {
		return nil, err
	}
	t, err := p.tableName()
	if err != nil {
		return nil, err
	}
	return &RefreshTable{Table: t}, p.end()
}

// createTagPolicy: CREATE TAG POLICY name ON TAG 'pattern' MASK fn
// [UNLESS UNMASK 'tag'].
func (p *parser) createTagPolicy() (Statement, error) {
	p.i = 3
	st := &CreateTagPolicy{}
	var err error
	if st.Name, err = p.name("a policy name"); err != nil {
		return nil, err
	}
	if err := p.expectKw("on", "tag"); err != nil {
		return nil, err
	}
	if st.Tag, err = p.tag(true); err != nil {
		return nil, err
	}
	if err := p.expectKw("mask"); err != nil {
		return nil, err
	}
	if st.Mask, err = p.mask(); err != nil {
		return nil, err
	}
	if p.acceptKw("unless", "unmask") {
		if st.UnlessUnmask, err = p.tag(false); err != nil {
			return nil, err
		}
	}
	return st, p.end()
}

// createSafeguardPolicy: CREATE SAFEGUARD POLICY name ON TAG 'pattern' MASK
// fn | ON [TABLE] db.t WHERE filter.
func (p *parser) createSafeguardPolicy() (Statement, error) {
	p.i = 3
	st := &CreateSafeguardPolicy{}
	var err error
	if st.Name, err = p.name("a policy name"); err != nil {
		return nil, err
	}
	if err := p.expectKw("on"); err != nil {
		return nil, err
	}
	if p.acceptKw("tag") {
		if st.Tag, err = p.tag(true); err != nil {
			return nil, err
		}
		if err := p.expectKw("mask"); err != nil {
			return nil, err
		}
		m, err := p.mask()
		if err != nil {
			return nil, err
		}
		st.Mask = &m
		return st, p.end()
	}
	p.acceptKw("table")
	t, err := p.tableName()
	if err != nil {
		return nil, err
	}
	st.Table = &t
	if !p.isKw(0, "where") {
		return nil, p.expected("WHERE and a row filter")
	}
	if st.Filter, err = p.filter(p.i); err != nil {
		return nil, err
	}
	return st, nil
}
