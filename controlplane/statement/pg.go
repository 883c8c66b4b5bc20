package statement

import (
	"errors"
	"sort"
	"strings"
	"unicode/utf8"

	pg "github.com/pganalyze/pg_query_go/v6"
	pgparser "github.com/pganalyze/pg_query_go/v6/parser"
)

// pgText is text handed to PostgreSQL's parser, built from the tokens of a
// statement: nscale-only tokens are left out, backquoted identifiers become
// double-quoted ones, and a prefix may be added. It maps offsets in the text
// back to the input so that errors point at what the user wrote.
type pgText struct {
	src  string // the input to Parse
	text string
	segs []pgSeg // ordered by at
	end  int     // input offset that the end of text maps to
}

// pgSeg maps text[at:] to the input: byte for byte from orig if verbatim,
// else (synthetic text) to orig itself.
type pgSeg struct {
	at, orig int
	verbatim bool
}

// newPGText builds the text: prefix (mapped to prefixAt) and then the tokens
// for which drop is false, separated by single spaces.
func newPGText(src, prefix string, prefixAt int, toks []token, drop func(int) bool) *pgText {
	var b strings.Builder
	t := &pgText{src: src, end: prefixAt}
	if prefix != "" {
		t.segs = append(t.segs, pgSeg{at: 0, orig: prefixAt})
		b.WriteString(prefix)
	}
	first, prevEnd := true, -1
	for i, tok := range toks {
		if drop != nil && drop(i) {
			prevEnd = -1
			continue
		}
		// Tokens that touch in the input touch in the text (x'ff', a.b);
		// others are separated by one space.
		if !first && tok.start != prevEnd {
			t.segs = append(t.segs, pgSeg{at: b.Len(), orig: tok.start})
			b.WriteByte(' ')
		}
		first, prevEnd = false, tok.end
		if tok.kind == tQuoted && tok.backquoted {
			t.segs = append(t.segs, pgSeg{at: b.Len(), orig: tok.start})
			b.WriteString(`"` + strings.ReplaceAll(tok.text, `"`, `""`) + `"`)
		} else {
			t.segs = append(t.segs, pgSeg{at: b.Len(), orig: tok.start, verbatim: true})
			b.WriteString(src[tok.start:tok.end])
		}
		t.end = tok.end
	}
	t.text = b.String()
	return t
}

// pgText builds the text of the whole statement without the tokens whose
// indexes are in drop.
func (p *parser) pgText(drop map[int]bool) *pgText {
	return newPGText(p.src, "", p.toks[0].start, p.toks, func(i int) bool { return drop[i] })
}

// orig maps a byte offset in the text to one in the input.
func (t *pgText) orig(off int) int {
	if off < 0 {
		off = 0
	}
	if off >= len(t.text) {
		return t.end
	}
	k := sort.Search(len(t.segs), func(i int) bool { return t.segs[i].at > off }) - 1
	if k < 0 {
		return t.end
	}
	s := t.segs[k]
	if s.verbatim {
		return s.orig + off - s.at
	}
	return s.orig
}

// errAt reports an error at a pg_query location (a byte offset in the
// text; -1 when unknown, mapped to fallback).
func (t *pgText) errAt(loc int32, fallback int, format string, args ...any) error {
	off := fallback
	if loc >= 0 {
		off = t.orig(int(loc))
	}
	return errAt(t.src, off, format, args...)
}

// parse runs PostgreSQL's parser and returns the one statement.
func (t *pgText) parse() (*pg.Node, error) {
	res, err := pg.Parse(t.text)
	if err != nil {
		var pe *pgparser.Error
		if errors.As(err, &pe) {
			off := t.end
			if pe.Cursorpos > 0 {
				off = t.orig(charToByte(t.text, pe.Cursorpos-1))
			}
			return nil, errNear(t.src, off, "%s", pe.Message)
		}
		return nil, errAt(t.src, t.orig(0), "cannot parse: %v", err)
	}
	if len(res.Stmts) != 1 {
		return nil, errAt(t.src, t.orig(0), "expected one statement, found %d", len(res.Stmts))
	}
	return res.Stmts[0].Stmt, nil
}

// charToByte converts a character index in s to a byte offset.
func charToByte(s string, chars int) int {
	off := 0
	for n := 0; n < chars && off < len(s); n++ {
		_, size := utf8.DecodeRuneInString(s[off:])
		off += size
	}
	return off
}

// Statements that PostgreSQL's grammar covers.

// pgCreateRole: CREATE ROLE r.
func (p *parser) pgCreateRole() (Statement, error) {
	t := p.pgText(nil)
	n, err := t.parse()
	if err != nil {
		return nil, err
	}
	cr := n.GetCreateRoleStmt()
	if cr == nil || cr.StmtType != pg.RoleStmtType_ROLESTMT_ROLE {
		return nil, errAt(p.src, p.toks[0].start, "unsupported statement %s", p.statementName())
	}
	if len(cr.Options) > 0 {
		loc := int32(-1)
		if d := cr.Options[0].GetDefElem(); d != nil {
			loc = d.Location
		}
		return nil, t.errAt(loc, p.toks[0].start, "role options (LOGIN, PASSWORD, ...) are not supported: nscale roles only group grants")
	}
	return &CreateRole{Name: cr.Role}, nil
}

// roleSpec checks a RoleSpec names a role.
func roleSpec(t *pgText, n *pg.Node, fallback int) (string, error) {
	rs := n.GetRoleSpec()
	if rs == nil {
		return "", t.errAt(-1, fallback, "expected a role name")
	}
	switch rs.Roletype {
	case pg.RoleSpecType_ROLESPEC_CSTRING:
		return rs.Rolename, nil
	case pg.RoleSpecType_ROLESPEC_PUBLIC:
		return "", t.errAt(rs.Location, fallback, "PUBLIC is not supported; name a role, user or group")
	}
	return "", t.errAt(rs.Location, fallback, "%s is not supported here; name a role, user or group",
		strings.TrimPrefix(rs.Roletype.String(), "ROLESPEC_"))
}

// pgDropRole: DROP ROLE [IF EXISTS] r.
func (p *parser) pgDropRole() (Statement, error) {
	t := p.pgText(nil)
	n, err := t.parse()
	if err != nil {
		return nil, err
	}
	dr := n.GetDropRoleStmt()
	if dr == nil {
		return nil, errAt(p.src, p.toks[0].start, "unsupported statement %s", p.statementName())
	}
	if len(dr.Roles) != 1 {
		return nil, errAt(p.src, p.toks[0].start, "DROP ROLE takes one role")
	}
	name, err := roleSpec(t, dr.Roles[0], p.toks[0].start)
	if err != nil {
		return nil, err
	}
	return &DropRole{Name: name, IfExists: dr.MissingOk}, nil
}

// pgDropDatabase: DROP DATABASE|SCHEMA [IF EXISTS] d [CASCADE|RESTRICT].
// PostgreSQL has no CASCADE for DROP DATABASE, so it is split off first.
func (p *parser) pgDropDatabase() (Statement, error) {
	last := len(p.toks) - 1
	drop := map[int]bool{}
	cascade := false
	if last > 2 && (p.isKw(last, "cascade") || p.isKw(last, "restrict")) {
		cascade = p.isKw(last, "cascade")
		drop[last] = true
	}
	t := p.pgText(drop)
	n, err := t.parse()
	if err != nil {
		return nil, err
	}
	switch {
	case n.GetDropdbStmt() != nil:
		d := n.GetDropdbStmt()
		if len(d.Options) > 0 {
			return nil, errAt(p.src, p.toks[0].start, "DROP DATABASE options (FORCE) are not supported")
		}
		return &DropDatabase{Name: d.Dbname, IfExists: d.MissingOk, Cascade: cascade}, nil
	case n.GetDropStmt() != nil && n.GetDropStmt().RemoveType == pg.ObjectType_OBJECT_SCHEMA:
		d := n.GetDropStmt()
		if len(d.Objects) != 1 || d.Objects[0].GetString_() == nil {
			return nil, errAt(p.src, p.toks[0].start, "DROP DATABASE takes one database")
		}
		return &DropDatabase{Name: d.Objects[0].GetString_().Sval, IfExists: d.MissingOk, Cascade: cascade}, nil
	}
	return nil, errAt(p.src, p.toks[0].start, "unsupported statement %s", p.statementName())
}

// pgDropTable: DROP TABLE [IF EXISTS] db.t.
func (p *parser) pgDropTable() (Statement, error) {
	t := p.pgText(nil)
	n, err := t.parse()
	if err != nil {
		return nil, err
	}
	d := n.GetDropStmt()
	if d == nil || d.RemoveType != pg.ObjectType_OBJECT_TABLE {
		return nil, errAt(p.src, p.toks[0].start, "unsupported statement %s", p.statementName())
	}
	nameAt := p.toks[2].start
	if d.MissingOk && len(p.toks) > 4 {
		nameAt = p.toks[4].start
	}
	if len(d.Objects) != 1 {
		return nil, errAt(p.src, nameAt, "DROP TABLE takes one table")
	}
	if d.Behavior == pg.DropBehavior_DROP_CASCADE {
		return nil, errAt(p.src, p.toks[len(p.toks)-1].start, "CASCADE is not supported for DROP TABLE")
	}
	var parts []string
	for _, item := range d.Objects[0].GetList().GetItems() {
		parts = append(parts, item.GetString_().GetSval())
	}
	table, err := checkTableName(p.src, parts, nameAt)
	if err != nil {
		return nil, err
	}
	return &DropTable{Table: table, IfExists: d.MissingOk}, nil
}

// grant dispatches GRANT and REVOKE.
func (p *parser) grant(isGrant bool) (Statement, error) {
	switch {
	case p.isKw(1, "unmask"):
		return p.grantUnmask(isGrant)
	case p.isKw(1, "all") && p.isKw(2, "on") && p.isKw(3, "catalog"),
		p.isKw(1, "all") && p.isKw(2, "privileges") && p.isKw(3, "on") && p.isKw(4, "catalog"):
		return p.grantCatalog(isGrant)
	}
	prep := "to"
	if !isGrant {
		prep = "from"
	}
	drop := map[int]bool{}
	// GRANT ROLE r TO ...: nscale's spelling of PostgreSQL's GRANT r TO ....
	roleKeyword := p.isKw(1, "role") && p.tok(2) != nil && (p.tok(2).kind == tIdent || p.tok(2).kind == tQuoted) &&
		!p.isKw(2, prep) && !p.isKw(2, "on")
	if roleKeyword {
		drop[1] = true
	}
	// Find ON and TO/FROM outside parentheses.
	onAt, prepAt, depth := -1, -1, 0
	for k := 1; k < len(p.toks) && prepAt < 0; k++ {
		switch {
		case p.isOp(k, "("):
			depth++
		case p.isOp(k, ")"):
			depth--
		case depth == 0 && onAt < 0 && p.isKw(k, "on"):
			onAt = k
		case depth == 0 && p.isKw(k, prep):
			prepAt = k
		}
	}
	isRole := roleKeyword || onAt < 0
	if isRole && (p.isKw(1, "select") || p.isKw(1, "all")) {
		return nil, errAt(p.src, p.toks[1].start, "%s %s needs ON DATABASE d or ON TABLE db.t",
			strings.ToUpper(p.toks[0].text), strings.ToUpper(p.toks[1].text))
	}
	// Principal kinds after TO/FROM, and the row filter.
	def := Role
	if isRole {
		def = User
	}
	var kinds []PrincipalKind
	var kindAt []int
	whereAt := -1
	if prepAt >= 0 {
		k := prepAt + 1
		for k < len(p.toks) {
			kind := def
			at := p.toks[k].start
			for _, pk := range []PrincipalKind{Role, User, Group} {
				if p.isKw(k, string(pk)) && k+1 < len(p.toks) && (p.toks[k+1].kind == tIdent || p.toks[k+1].kind == tQuoted) {
					kind = pk
					drop[k] = true
					k++
					break
				}
			}
			kinds = append(kinds, kind)
			kindAt = append(kindAt, at)
			k++ // the name, checked by PostgreSQL's parser
			if k < len(p.toks) && p.isOp(k, ",") {
				k++
				continue
			}
			break
		}
		if k < len(p.toks) && p.isKw(k, "where") {
			if !isGrant || isRole {
				return nil, errAt(p.src, p.toks[k].start, "a row filter (WHERE) only goes with GRANT SELECT ON TABLE")
			}
			whereAt = k
			for j := k; j < len(p.toks); j++ {
				drop[j] = true
			}
		}
	}
	t := p.pgText(drop)
	n, err := t.parse()
	if err != nil {
		return nil, err
	}
	principals := func(grantees []*pg.Node) ([]Principal, error) {
		if len(grantees) != len(kinds) {
			return nil, errAt(p.src, p.toks[prepAt].start, "cannot read the list of principals after %s", strings.ToUpper(prep))
		}
		out := make([]Principal, len(grantees))
		for i, g := range grantees {
			name, err := roleSpec(t, g, kindAt[i])
			if err != nil {
				return nil, err
			}
			if isRole && kinds[i] == Role {
				return nil, errAt(p.src, kindAt[i], "a role is granted to users and groups, not to another role")
			}
			out[i] = Principal{Kind: kinds[i], Name: name}
		}
		return out, nil
	}
	if gr := n.GetGrantRoleStmt(); gr != nil {
		if len(gr.Opt) > 0 {
			return nil, errAt(p.src, p.toks[0].start, "role grant options (ADMIN, INHERIT, SET) are not supported")
		}
		if gr.Grantor != nil {
			return nil, t.errAt(gr.Grantor.Location, p.toks[0].start, "GRANTED BY is not supported")
		}
		var roles []string
		for _, r := range gr.GrantedRoles {
			ap := r.GetAccessPriv()
			if ap == nil || len(ap.Cols) > 0 {
				return nil, errAt(p.src, p.toks[1].start, "expected role names")
			}
			roles = append(roles, ap.PrivName)
		}
		to, err := principals(gr.GranteeRoles)
		if err != nil {
			return nil, err
		}
		if isGrant {
			return &GrantRole{Roles: roles, To: to}, nil
		}
		return &RevokeRole{Roles: roles, From: to}, nil
	}
	gs := n.GetGrantStmt()
	if gs == nil {
		return nil, errAt(p.src, p.toks[0].start, "unsupported statement %s", p.statementName())
	}
	if gs.GrantOption {
		if isGrant {
			return nil, errAt(p.src, p.toks[0].start, "WITH GRANT OPTION is not supported: only catalog administrators grant")
		}
		return nil, errAt(p.src, p.toks[0].start, "REVOKE GRANT OPTION FOR is not supported")
	}
	if gs.Grantor != nil {
		return nil, t.errAt(gs.Grantor.Location, p.toks[0].start, "GRANTED BY is not supported")
	}
	if gs.Behavior == pg.DropBehavior_DROP_CASCADE {
		return nil, errAt(p.src, p.toks[len(p.toks)-1].start, "CASCADE is not supported for REVOKE")
	}
	onPos := p.toks[onAt].start
	if gs.Targtype != pg.GrantTargetType_ACL_TARGET_OBJECT {
		return nil, errAt(p.src, onPos, "ON ALL TABLES IN SCHEMA is not supported; use ON DATABASE d")
	}
	// Privileges: SELECT only, with optional columns.
	if len(gs.Privileges) == 0 {
		return nil, errAt(p.src, p.toks[1].start, "privilege ALL is not supported on a table or database; grant SELECT (or ALL ON CATALOG for administrators)")
	}
	if len(gs.Privileges) > 1 {
		return nil, errAt(p.src, p.toks[1].start, "grant one privilege per statement")
	}
	ap := gs.Privileges[0].GetAccessPriv()
	if ap.GetPrivName() != "select" {
		return nil, errAt(p.src, p.toks[1].start, "privilege %s is not supported; nscale grants SELECT, UNMASK and ALL ON CATALOG", strings.ToUpper(ap.GetPrivName()))
	}
	var columns []string
	for _, c := range ap.GetCols() {
		columns = append(columns, c.GetString_().GetSval())
	}
	// The object.
	var on Object
	if len(gs.Objects) != 1 {
		return nil, errAt(p.src, onPos, "grant on one object per statement")
	}
	switch gs.Objtype {
	case pg.ObjectType_OBJECT_TABLE:
		rv := gs.Objects[0].GetRangeVar()
		parts := []string{rv.GetRelname()}
		if rv.GetSchemaname() != "" {
			parts = append([]string{rv.GetSchemaname()}, parts...)
		}
		if rv.GetCatalogname() != "" {
			parts = append([]string{rv.GetCatalogname()}, parts...)
		}
		table, err := checkTableName(p.src, parts, t.orig(int(rv.GetLocation())))
		if err != nil {
			return nil, err
		}
		on = Object(table)
	case pg.ObjectType_OBJECT_DATABASE, pg.ObjectType_OBJECT_SCHEMA:
		on = Object{Database: gs.Objects[0].GetString_().GetSval()}
		if len(columns) > 0 {
			return nil, errAt(p.src, p.toks[1].start, "a column list only goes with ON TABLE")
		}
	default:
		return nil, errAt(p.src, onPos, "GRANT ON %s is not supported; grant ON DATABASE or ON TABLE",
			strings.ReplaceAll(strings.TrimPrefix(gs.Objtype.String(), "OBJECT_"), "_", " "))
	}
	to, err := principals(gs.Grantees)
	if err != nil {
		return nil, err
	}
	if !isGrant {
		return &RevokeSelect{On: on, Columns: columns, From: to}, nil
	}
	st := &GrantSelect{On: on, Columns: columns, To: to}
	if whereAt >= 0 {
		if on.Table == "" {
			return nil, errAt(p.src, p.toks[whereAt].start, "a row filter (WHERE) only goes with GRANT SELECT ON TABLE")
		}
		if st.Filter, err = p.filter(whereAt); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// grantUnmask: GRANT UNMASK ON COLUMN db.t.c | ON TAG 't' TO ..., and REVOKE.
func (p *parser) grantUnmask(isGrant bool) (Statement, error) {
	p.i = 2
	if err := p.expectKw("on"); err != nil {
		return nil, err
	}
	var on UnmaskTarget
	switch {
	case p.acceptKw("column"):
		parts, start, err := p.qualifiedName("a column name")
		if err != nil {
			return nil, err
		}
		if len(parts) != 3 {
			return nil, errAt(p.src, start, "column %s must be written db.table.column", displayName(parts))
		}
		on = UnmaskTarget{Table: TableName{Database: parts[0], Table: parts[1]}, Column: parts[2]}
	case p.acceptKw("tag"):
		tag, err := p.tag(false)
		if err != nil {
			return nil, err
		}
		on = UnmaskTarget{Tag: tag}
	default:
		return nil, p.expected("COLUMN or TAG")
	}
	to, err := p.grantees(isGrant)
	if err != nil {
		return nil, err
	}
	if isGrant {
		return &GrantUnmask{On: on, To: to}, p.end()
	}
	return &RevokeUnmask{On: on, From: to}, p.end()
}

// grantCatalog: GRANT ALL [PRIVILEGES] ON CATALOG TO ..., and REVOKE.
func (p *parser) grantCatalog(isGrant bool) (Statement, error) {
	p.i = 2
	p.acceptKw("privileges")
	p.i += 2 // ON CATALOG
	to, err := p.grantees(isGrant)
	if err != nil {
		return nil, err
	}
	if isGrant {
		return &GrantCatalogAdmin{To: to}, p.end()
	}
	return &RevokeCatalogAdmin{From: to}, p.end()
}

// grantees reads TO|FROM principal, ....
func (p *parser) grantees(isGrant bool) ([]Principal, error) {
	prep := "to"
	if !isGrant {
		prep = "from"
	}
	if err := p.expectKw(prep); err != nil {
		return nil, err
	}
	return p.principals(Role)
}
