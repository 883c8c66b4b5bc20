package statement

import (
	"strconv"
	"strings"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// MaxInputBytes bounds the text Parse accepts.
const MaxInputBytes = 1 << 20

// MaxStatements bounds the statements of one text: a request cannot make
// the control plane run more than this many (each in its own transaction).
const MaxStatements = 1000

// Parse parses one or more statements separated by semicolons. Empty
// statements (;;) are skipped; text with no statement at all is an error.
// Every error is an *apierr.Error with code InvalidArgument whose message
// names the construct at fault and where it is, e.g.
//
//	unsupported statement CREATE INDEX at line 1, column 1
//	syntax error at or near "TABLEE" (line 1, column 8)
//
// Statements are parsed in order and the first error stops parsing; nothing
// is returned with an error.
func Parse(sql string) ([]Statement, error) {
	if len(sql) > MaxInputBytes {
		return nil, apierr.New(apierr.InvalidArgument, "SQL text is longer than %d bytes", MaxInputBytes)
	}
	toks, err := tokenize(sql)
	if err != nil {
		return nil, err
	}
	var out []Statement
	// Statement positions are counted on from the previous one, so that
	// parsing stays linear in the text however many statements it holds.
	pos := &lineCounter{src: sql, line: 1}
	start := 0
	for i := 0; i <= len(toks); i++ {
		if i < len(toks) && !(toks[i].kind == tOp && toks[i].text == ";") {
			continue
		}
		if i > start {
			if len(out) == MaxStatements {
				return nil, errAt(sql, toks[start].start, "more than %d statements in one request; send them in several", MaxStatements)
			}
			st, err := parseStatement(sql, toks[start:i], pos)
			if err != nil {
				return nil, err
			}
			out = append(out, st)
		}
		start = i + 1
	}
	if len(out) == 0 {
		return nil, apierr.New(apierr.InvalidArgument, "no statement to parse")
	}
	return out, nil
}

// spanSetter is implemented by every statement through its embedded Span.
type spanSetter interface{ setSpan(Span) }

func (s *Span) setSpan(x Span) { *s = x }

// parser reads the tokens of one statement.
type parser struct {
	src  string  // the whole input to Parse
	toks []token // this statement's tokens
	i    int     // next token
}

func parseStatement(src string, toks []token, pos *lineCounter) (Statement, error) {
	p := &parser{src: src, toks: toks}
	st, err := p.statement()
	if err != nil {
		return nil, err
	}
	start, end := toks[0].start, toks[len(toks)-1].end
	line, col := pos.at(start)
	st.(spanSetter).setSpan(Span{Start: start, End: end, Line: line, Col: col, Text: src[start:end]})
	return st, nil
}

func (p *parser) statement() (Statement, error) {
	first := &p.toks[0]
	switch {
	case p.isKw(0, "create"):
		return p.create()
	case p.isKw(0, "drop"):
		return p.drop()
	case p.isKw(0, "alter") && p.isKw(1, "table"):
		return p.alterTable()
	case p.isKw(0, "grant"):
		return p.grant(true)
	case p.isKw(0, "revoke"):
		return p.grant(false)
	case p.isKw(0, "show"):
		return p.show()
	case p.isKw(0, "describe"), p.isKw(0, "desc"):
		return p.describe()
	case p.isKw(0, "refresh"):
		return p.refresh()
	case p.isKw(0, "select"), p.isKw(0, "with"), p.isKw(0, "values"), p.isKw(0, "table"),
		first.kind == tOp && first.text == "(":
		return nil, errNear(p.src, first.start, "%s is not a DDL/DCL statement; send queries to an agent", strings.ToUpper(first.text))
	}
	return nil, p.unsupported()
}

// unsupported reports a statement nscale does not handle: a syntax error
// from PostgreSQL's parser if it is not valid PostgreSQL either, else
// "unsupported statement NAME".
func (p *parser) unsupported() error {
	if _, err := p.pgText(nil).parse(); err != nil {
		return err
	}
	return errAt(p.src, p.toks[0].start, "unsupported statement %s", p.statementName())
}

// statementModifiers may come between CREATE/DROP/ALTER and the object
// keyword; statementName skips them.
var statementModifiers = map[string]bool{
	"or": true, "replace": true, "temp": true, "temporary": true, "unique": true, "materialized": true,
	"global": true, "local": true, "unlogged": true, "recursive": true, "trusted": true, "procedural": true,
	"default": true, "foreign": true, "external": true, "constraint": true, "public": true,
}

// statementName names a statement by its leading keywords: INSERT, CREATE
// INDEX, CREATE OR REPLACE VIEW.
func (p *parser) statementName() string {
	words := []string{strings.ToUpper(p.toks[0].text)}
	if p.isKw(0, "create") || p.isKw(0, "drop") || p.isKw(0, "alter") {
		for k := 1; k < len(p.toks) && k < 6 && p.toks[k].kind == tIdent; k++ {
			w := strings.ToLower(p.toks[k].text)
			words = append(words, strings.ToUpper(w))
			if !statementModifiers[w] {
				break
			}
		}
	}
	return strings.Join(words, " ")
}

// Token helpers.

func (p *parser) tok(k int) *token {
	if p.i+k < len(p.toks) {
		return &p.toks[p.i+k]
	}
	return nil
}

// isKw reports whether the token k ahead is the unquoted keyword kw.
func (p *parser) isKw(k int, kw string) bool {
	t := p.tok(k)
	return t != nil && t.kind == tIdent && strings.EqualFold(t.text, kw)
}

func (p *parser) isOp(k int, op string) bool {
	t := p.tok(k)
	return t != nil && t.kind == tOp && t.text == op
}

func (p *parser) atEnd() bool { return p.i >= len(p.toks) }

// acceptKw consumes the keywords kws if they come next, all of them.
func (p *parser) acceptKw(kws ...string) bool {
	for k, kw := range kws {
		if !p.isKw(k, kw) {
			return false
		}
	}
	p.i += len(kws)
	return true
}

func (p *parser) acceptOp(op string) bool {
	if p.isOp(0, op) {
		p.i++
		return true
	}
	return false
}

// offset is where the next token starts, or where the statement ends.
func (p *parser) offset() int {
	if t := p.tok(0); t != nil {
		return t.start
	}
	return p.toks[len(p.toks)-1].end
}

// found describes the next token for an error message.
func (p *parser) found() string {
	t := p.tok(0)
	if t == nil {
		return "end of statement"
	}
	text := p.src[t.start:t.end]
	if len(text) > 40 {
		text = abbrev(text[:40]) + "..."
	}
	return `"` + text + `"`
}

// errHere reports an error at the next token.
func (p *parser) errHere(format string, args ...any) error {
	return errAt(p.src, p.offset(), format, args...)
}

// expected reports that what was expected is not next.
func (p *parser) expected(what string) error {
	return p.errHere("expected %s, found %s", what, p.found())
}

func (p *parser) expectKw(kws ...string) error {
	if p.acceptKw(kws...) {
		return nil
	}
	return p.expected(strings.ToUpper(strings.Join(kws, " ")))
}

func (p *parser) expectOp(op string) error {
	if p.acceptOp(op) {
		return nil
	}
	return p.expected(`"` + op + `"`)
}

// end checks that the statement has no more tokens.
func (p *parser) end() error {
	if p.atEnd() {
		return nil
	}
	return p.errHere("unexpected %s", p.found())
}

// name reads an identifier: unquoted words are lower-cased and may not be
// reserved words; quoted ones ("..." or `...`) are taken as written.
func (p *parser) name(what string) (string, error) {
	t := p.tok(0)
	if t == nil || (t.kind != tIdent && t.kind != tQuoted) {
		return "", p.expected(what)
	}
	if t.kind == tQuoted {
		p.i++
		return t.text, nil
	}
	n := lowerASCII(t.text)
	if sqlsubset.IsReservedWord(n) {
		return "", p.errHere("%s is a reserved word; quote it (\"%s\") to use it as %s", strings.ToUpper(n), n, what)
	}
	p.i++
	return n, nil
}

// qualifiedName reads name(.name)*, returning the parts and where it starts.
func (p *parser) qualifiedName(what string) ([]string, int, error) {
	start := p.offset()
	var parts []string
	for {
		n, err := p.name(what)
		if err != nil {
			return nil, start, err
		}
		parts = append(parts, n)
		if !p.acceptOp(".") {
			return parts, start, nil
		}
	}
}

func displayName(parts []string) string {
	q := make([]string, len(parts))
	for i, s := range parts {
		q[i] = sqlsubset.QuoteIdent(s)
	}
	return strings.Join(q, ".")
}

// tableName reads db.t.
func (p *parser) tableName() (TableName, error) {
	parts, start, err := p.qualifiedName("a table name")
	if err != nil {
		return TableName{}, err
	}
	return checkTableName(p.src, parts, start)
}

func checkTableName(src string, parts []string, start int) (TableName, error) {
	switch len(parts) {
	case 1:
		return TableName{}, errAt(src, start, "table name %s must be qualified with its database, as in db.%s", displayName(parts), displayName(parts))
	case 2:
		return TableName{Database: parts[0], Table: parts[1]}, nil
	}
	return TableName{}, errAt(src, start, "table name %s has too many parts; write db.table", displayName(parts))
}

// stringLit reads a '...' string.
func (p *parser) stringLit(what string) (string, error) {
	t := p.tok(0)
	if t == nil || t.kind != tString {
		return "", p.expected(what)
	}
	if t.escape {
		return "", p.errHere("escape string constants (E'...') are not supported here; write '...' and double a quote as ''")
	}
	p.i++
	return t.text, nil
}

// principal reads [ROLE|USER|GROUP] name; the kind defaults to def.
func (p *parser) principal(def PrincipalKind) (Principal, error) {
	kind := def
	for _, k := range []PrincipalKind{Role, User, Group} {
		if p.isKw(0, string(k)) {
			if next := p.tok(1); next != nil && (next.kind == tIdent || next.kind == tQuoted) {
				kind = k
				p.i++
			}
			break
		}
	}
	n, err := p.name("a " + string(kind) + " name")
	if err != nil {
		return Principal{}, err
	}
	return Principal{Kind: kind, Name: n}, nil
}

// principals reads principal (, principal)*.
func (p *parser) principals(def PrincipalKind) ([]Principal, error) {
	var out []Principal
	for {
		pr, err := p.principal(def)
		if err != nil {
			return nil, err
		}
		out = append(out, pr)
		if !p.acceptOp(",") {
			return out, nil
		}
	}
}

// ifExists and ifNotExists read the optional clauses.
func (p *parser) ifExists() bool    { return p.acceptKw("if", "exists") }
func (p *parser) ifNotExists() bool { return p.acceptKw("if", "not", "exists") }

// nonNegativeInt reads an integer literal in 0..max.
func (p *parser) nonNegativeInt(what string, max int64) (int64, error) {
	t := p.tok(0)
	if t == nil || t.kind != tNumber {
		return 0, p.expected(what)
	}
	n, err := strconv.ParseInt(t.text, 10, 64)
	if err != nil || n > max {
		return 0, p.errHere("%s must be an integer in 0..%d, found %s", what, max, p.found())
	}
	p.i++
	return n, nil
}
