package sqlsubset

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nscale/nscale/internal/apierr"
)

// LIKE is defined here once; policy folding, the agent's evaluation and
// the agent's Flight SQL metadata filters all match with it. It is
// DuckDB's LIKE ... ESCAPE '\' (the subset has no ESCAPE clause: the
// backslash is always the escape, as in PostgreSQL and Spark):
//
//   - % matches any run of characters (none included), _ exactly one
//     character. A character is a Unicode code point, so _ matches 'é'
//     and '😀' as one; in text that is not valid UTF-8 (Arrow strings
//     read from files are not validated) each byte that is not part of a
//     valid sequence is one character, equal only to the same byte.
//   - A backslash makes the next character literal (\%, \_, \\). A pattern
//     that ends in a lone backslash is refused when it is written. DuckDB
//     calls it an error too ("Like pattern must not end with escape
//     character"), but only once matching reaches the escape, so there
//     'a' LIKE 'a\' is FALSE and 'ab' LIKE 'a\' an error: refusing the
//     pattern itself keeps the answer from depending on the row (a policy
//     filter that failed on some rows would tell that they exist), and
//     reading it as a literal backslash (what the agent's regexp did) would
//     be a second meaning.
//   - ILIKE compares characters after mapping each to lower case
//     (unicode.ToLower, simple case mapping, as DuckDB's lower()): 'Ä'
//     matches 'ä', 'İ' matches 'i', 'Σ' matches 'σ' but not 'ς', 'ſ' does
//     not match 's', 'ß' does not match "SS".
//   - The whole text must match. Matching backtracks only to the last %,
//     so its time is at most pattern length × text length, never
//     exponential.

// errLikeTrailingEscape is the refusal of a pattern ending in a lone
// backslash.
func errLikeTrailingEscape(pattern string) error {
	return apierr.New(apierr.InvalidArgument, "LIKE pattern %s ends with a lone backslash, which escapes nothing; write \\\\ for a backslash", QuoteString(pattern))
}

// likeToken is one element of a compiled pattern.
type likeToken struct {
	kind byte   // 'c' literal, '%' any run, '_' one character
	raw  string // a literal's bytes in the pattern
	// r is a literal's code point, lower-cased for ILIKE; -1 for a byte
	// that is not valid UTF-8, which only the same byte matches.
	r rune
}

// LikeMatcher is a compiled LIKE or ILIKE pattern. It is safe for
// concurrent use.
type LikeMatcher struct {
	toks []likeToken
	fold bool
	// shape and literal let the common shapes ('abc', 'abc%', '%abc',
	// '%abc%') skip the loop: a string search is what a vectorized filter
	// can afford.
	shape   likeShape
	literal string
}

type likeShape byte

const (
	shapeGeneral  likeShape = iota
	shapeExact              // 'abc'
	shapePrefix             // 'abc%'
	shapeSuffix             // '%abc'
	shapeContains           // '%abc%'
)

// CheckLikePattern refuses a pattern no evaluator can match.
func CheckLikePattern(pattern string) error {
	_, err := CompileLike(pattern, false)
	return err
}

// CompileLike compiles pattern; caseInsensitive gives ILIKE.
func CompileLike(pattern string, caseInsensitive bool) (*LikeMatcher, error) {
	m := &LikeMatcher{fold: caseInsensitive}
	for i := 0; i < len(pattern); {
		r, size := utf8.DecodeRuneInString(pattern[i:])
		switch r {
		case '\\':
			if i+size >= len(pattern) {
				return nil, errLikeTrailingEscape(pattern)
			}
			i += size
			r, size = utf8.DecodeRuneInString(pattern[i:])
			m.toks = append(m.toks, m.literalToken(r, pattern[i:i+size]))
		case '%':
			if n := len(m.toks); n > 0 && m.toks[n-1].kind == '%' {
				break // %% is %
			}
			m.toks = append(m.toks, likeToken{kind: '%'})
		case '_':
			m.toks = append(m.toks, likeToken{kind: '_'})
		default:
			m.toks = append(m.toks, m.literalToken(r, pattern[i:i+size]))
		}
		i += size
	}
	m.shortcut()
	return m, nil
}

func (m *LikeMatcher) literalToken(r rune, raw string) likeToken {
	if r == utf8.RuneError && len(raw) == 1 {
		return likeToken{kind: 'c', raw: raw, r: -1}
	}
	return likeToken{kind: 'c', raw: raw, r: m.lower(r)}
}

// shortcut recognizes literals with an optional % before and after. Only
// for LIKE, and only when the literals are valid UTF-8: then a byte-wise
// search finds exactly the character-wise matches (a valid literal starts
// with a byte that begins a character in any text, and ends with a whole
// character).
func (m *LikeMatcher) shortcut() {
	if m.fold {
		return
	}
	body := m.toks
	lead := len(body) > 0 && body[0].kind == '%'
	if lead {
		body = body[1:]
	}
	trail := len(body) > 0 && body[len(body)-1].kind == '%'
	if trail {
		body = body[:len(body)-1]
	}
	if lead && len(body) == 0 {
		return // '%' alone: the loop is as fast
	}
	var lit strings.Builder
	for _, t := range body {
		if t.kind != 'c' || t.r < 0 {
			return
		}
		lit.WriteString(t.raw)
	}
	m.literal = lit.String()
	switch {
	case lead && trail:
		m.shape = shapeContains
	case lead:
		m.shape = shapeSuffix
	case trail:
		m.shape = shapePrefix
	default:
		m.shape = shapeExact
	}
}

func (m *LikeMatcher) lower(r rune) rune {
	if m.fold {
		return unicode.ToLower(r)
	}
	return r
}

// same reports whether the text's character c (decoded as r) is the
// literal t.
func (m *LikeMatcher) same(t *likeToken, c string, r rune) bool {
	if t.raw == c {
		return true // the same bytes (and, under ILIKE, the same lower case)
	}
	if !m.fold || t.r < 0 || (r == utf8.RuneError && len(c) == 1) {
		return false
	}
	return t.r == unicode.ToLower(r)
}

// Match reports whether s matches the whole pattern.
func (m *LikeMatcher) Match(s string) bool {
	switch m.shape {
	case shapeExact:
		return s == m.literal
	case shapePrefix:
		return strings.HasPrefix(s, m.literal)
	case shapeSuffix:
		return strings.HasSuffix(s, m.literal)
	case shapeContains:
		return strings.Contains(s, m.literal)
	}
	toks := m.toks
	// Iterative matching with backtracking to the last %: on a mismatch
	// the last % takes one more character and matching resumes after it.
	// Backtracking further is never needed, since a later % can absorb
	// whatever an earlier one could.
	ti, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		r, size := utf8.DecodeRuneInString(s[si:])
		if ti < len(toks) {
			switch t := &toks[ti]; {
			case t.kind == '%':
				star, mark = ti, si
				ti++
				continue
			case t.kind == '_' || (t.kind == 'c' && m.same(t, s[si:si+size], r)):
				ti++
				si += size
				continue
			}
		}
		if star < 0 {
			return false
		}
		ti = star + 1
		_, msize := utf8.DecodeRuneInString(s[mark:])
		mark += msize
		si = mark
	}
	for ti < len(toks) && toks[ti].kind == '%' {
		ti++
	}
	return ti == len(toks)
}
