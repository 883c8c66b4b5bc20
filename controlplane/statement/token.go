package statement

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nscale/nscale/internal/apierr"
)

// tokKind classifies a token.
type tokKind uint8

const (
	tIdent  tokKind = iota + 1 // unquoted word; text is as written
	tQuoted                    // "..." or `...`; text is the name, unescaped
	tString                    // '...' or E'...'; text is the value ('' undoubled; E-strings raw)
	tNumber                    // 12, 1.5, 1e3, .5, 0x1F, 1_000
	tOp                        // punctuation: one character, or <= >= <> != ::
)

func (k tokKind) String() string {
	switch k {
	case tIdent:
		return "identifier"
	case tQuoted:
		return "quoted identifier"
	case tString:
		return "string"
	case tNumber:
		return "number"
	case tOp:
		return "operator"
	}
	return "token"
}

// token is one lexical token of the input.
type token struct {
	kind       tokKind
	text       string
	start, end int  // byte offsets in the input, [start, end)
	backquoted bool // tQuoted written with backquotes
	escape     bool // tString written E'...': backslash escapes, text not decoded
}

// maxIdentLen is PostgreSQL's limit on identifiers (NAMEDATALEN-1). Its
// parser silently truncates longer names, so nscale refuses them instead.
const maxIdentLen = 63

// lexError is a tokenizer error at a byte offset.
func lexError(src string, off int, format string, args ...any) error {
	return errAt(src, off, format, args...)
}

// tokenize splits src into tokens, skipping whitespace and comments (-- to
// the end of the line, and /* */, which nest as in PostgreSQL). It knows
// single-quoted strings (a doubled quote is a quote), E'...' strings
// (backslash escapes), double-quoted and backquoted identifiers (a doubled
// quote character is the character), and numbers. Any other character is a
// one-character operator token, except <= >= <> != and :: which are one
// token. It rejects NUL bytes, invalid UTF-8, unterminated quotes and
// comments, empty quoted identifiers and identifiers longer than 63 bytes.
func tokenize(src string) ([]token, error) {
	if !utf8.ValidString(src) {
		off := 0
		for off < len(src) {
			r, n := utf8.DecodeRuneInString(src[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return nil, lexError(src, off, "invalid UTF-8 byte 0x%02x", src[off])
	}
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == 0:
			return nil, lexError(src, i, "invalid NUL character")
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			start := i
			depth := 0
			for {
				if i+1 >= len(src) {
					return nil, lexError(src, start, "unterminated /* comment")
				}
				if src[i] == '/' && src[i+1] == '*' {
					depth++
					i += 2
					continue
				}
				if src[i] == '*' && src[i+1] == '/' {
					depth--
					i += 2
					if depth == 0 {
						break
					}
					continue
				}
				i++
			}
		case c == '\'':
			t, err := lexString(src, i, i, false)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = t.end
		case (c == 'E' || c == 'e') && i+1 < len(src) && src[i+1] == '\'':
			t, err := lexString(src, i, i+1, true)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = t.end
		case c == '"' || c == '`':
			t, err := lexQuoted(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = t.end
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentCont(src[j]) {
				j++
			}
			if j-i > maxIdentLen {
				return nil, lexError(src, i, "identifier %s... is longer than %d bytes", abbrev(src[i:j]), maxIdentLen)
			}
			toks = append(toks, token{kind: tIdent, text: src[i:j], start: i, end: j})
			i = j
		case isDigit(c) || (c == '.' && i+1 < len(src) && isDigit(src[i+1])):
			j := lexNumber(src, i)
			toks = append(toks, token{kind: tNumber, text: src[i:j], start: i, end: j})
			i = j
		default:
			n := 1
			if i+1 < len(src) {
				switch src[i : i+2] {
				case "<=", ">=", "<>", "!=", "::":
					n = 2
				}
			}
			toks = append(toks, token{kind: tOp, text: src[i : i+n], start: i, end: i + n})
			i += n
		}
	}
	return toks, nil
}

// lexString reads a string literal whose opening quote is at q; start is
// where the token starts (the E of E'...').
func lexString(src string, start, q int, escape bool) (token, error) {
	var b strings.Builder
	i := q + 1
	for {
		if i >= len(src) {
			return token{}, lexError(src, start, "unterminated quoted string")
		}
		c := src[i]
		if escape && c == '\\' {
			if i+1 >= len(src) {
				return token{}, lexError(src, start, "unterminated quoted string")
			}
			b.WriteByte(c)
			b.WriteByte(src[i+1])
			i += 2
			continue
		}
		if c == '\'' {
			if i+1 < len(src) && src[i+1] == '\'' {
				if escape {
					b.WriteString("''")
				} else {
					b.WriteByte('\'')
				}
				i += 2
				continue
			}
			return token{kind: tString, text: b.String(), start: start, end: i + 1, escape: escape}, nil
		}
		b.WriteByte(c)
		i++
	}
}

// lexQuoted reads a "..." or `...` identifier at i.
func lexQuoted(src string, i int) (token, error) {
	q := src[i]
	var b strings.Builder
	j := i + 1
	for {
		if j >= len(src) {
			return token{}, lexError(src, i, "unterminated quoted identifier")
		}
		if src[j] == q {
			if j+1 < len(src) && src[j+1] == q {
				b.WriteByte(q)
				j += 2
				continue
			}
			break
		}
		b.WriteByte(src[j])
		j++
	}
	name := b.String()
	if name == "" {
		return token{}, lexError(src, i, "zero-length quoted identifier")
	}
	if len(name) > maxIdentLen {
		return token{}, lexError(src, i, "identifier %s... is longer than %d bytes", abbrev(src[i:]), maxIdentLen)
	}
	return token{kind: tQuoted, text: name, start: i, end: j + 1, backquoted: q == '`'}, nil
}

// lexNumber returns the end of the number starting at i: digits with
// underscores, a fraction, an exponent, or a 0x/0o/0b prefixed integer.
func lexNumber(src string, i int) int {
	j := i
	if src[j] == '0' && j+2 < len(src) && strings.ContainsRune("xXoObB", rune(src[j+1])) && isIdentCont(src[j+2]) {
		j += 2
		for j < len(src) && (isIdentCont(src[j]) && src[j] != '$') {
			j++
		}
		return j
	}
	digits := func() {
		for j < len(src) && (isDigit(src[j]) || src[j] == '_' && j+1 < len(src) && isDigit(src[j+1])) {
			j++
		}
	}
	digits()
	if j < len(src) && src[j] == '.' && !(j+1 < len(src) && src[j+1] == '.') {
		j++
		digits()
	}
	if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
		k := j + 1
		if k < len(src) && (src[k] == '+' || src[k] == '-') {
			k++
		}
		if k < len(src) && isDigit(src[k]) {
			j = k
			digits()
		}
	}
	return j
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isIdentStart and isIdentCont follow PostgreSQL's scanner: ASCII letters,
// underscore and any byte >= 0x80 start a word; digits and $ continue it.
func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isIdentCont(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '$' }

// lowerASCII lower-cases ASCII letters only, as PostgreSQL does for
// unquoted identifiers in UTF-8 databases.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// position returns the 1-based line and column (in characters) of byte
// offset off in src.
func position(src string, off int) (line, col int) {
	if off > len(src) {
		off = len(src)
	}
	if off < 0 {
		off = 0
	}
	line = 1 + strings.Count(src[:off], "\n")
	lineStart := strings.LastIndexByte(src[:off], '\n') + 1
	return line, 1 + utf8.RuneCountInString(src[lineStart:off])
}

// lineCounter answers position for increasing offsets of one text in time
// linear in the text overall: each call counts on from the previous one.
type lineCounter struct {
	src  string
	off  int // the offset line and col describe
	line int
	col  int // characters between the line's start and off
}

func (c *lineCounter) at(off int) (line, col int) {
	off = max(0, min(off, len(c.src)))
	if off < c.off {
		c.off, c.line, c.col = 0, 1, 0
	}
	seg := c.src[c.off:off]
	if nl := strings.LastIndexByte(seg, '\n'); nl >= 0 {
		c.line += strings.Count(seg, "\n")
		c.col = utf8.RuneCountInString(seg[nl+1:])
	} else {
		c.col += utf8.RuneCountInString(seg)
	}
	c.off = off
	return c.line, 1 + c.col
}

// errAt returns an InvalidArgument error whose message ends with the
// position of byte offset off: "... at line L, column C".
func errAt(src string, off int, format string, args ...any) error {
	line, col := position(src, off)
	e := apierr.New(apierr.InvalidArgument, format, args...)
	e.Message += " at line " + itoa(line) + ", column " + itoa(col)
	return e
}

// errNear is errAt for messages that already say where ("syntax error at
// or near ..."): the position goes in parentheses.
func errNear(src string, off int, format string, args ...any) error {
	line, col := position(src, off)
	e := apierr.New(apierr.InvalidArgument, format, args...)
	e.Message += " (line " + itoa(line) + ", column " + itoa(col) + ")"
	return e
}

func itoa(n int) string { return strconv.Itoa(n) }

// abbrev returns the first 16 bytes of s, or fewer to end on a character.
func abbrev(s string) string {
	if len(s) <= 16 {
		return s
	}
	n := 16
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
