package sqlsubset

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nscale/nscale/internal/apierr"
)

// LIKE is defined here once; policy folding, the agent's evaluation and
// the agent's Flight SQL metadata filters all match with it. It is
// DuckDB's LIKE ... ESCAPE '\':
//
//   - % matches any run of characters (none included), _ exactly one
//     character; a character is a Unicode code point, so _ matches 'é'
//     and '😀' as one.
//   - A backslash makes the next character literal (\%, \_, \\). A pattern
//     that ends in a lone backslash is refused when it is written
//     (DuckDB refuses it too): there is no character for it to escape.
//   - ILIKE compares code points after mapping each to lower case (simple
//     case mapping: 'Ä' matches 'ä', 'Σ' matches 'σ' but not 'ς', 'ß'
//     does not match "SS").
//   - Matching is over the whole string, and never backtracks more than
//     once per % (time at most pattern length × text length).

// ErrLikeTrailingEscape is the refusal of a pattern ending in a lone
// backslash.
func errLikeTrailingEscape(pattern string) error {
	return apierr.New(apierr.InvalidArgument, "LIKE pattern %s ends with a lone backslash, which escapes nothing; write \\\\ for a backslash", QuoteString(pattern))
}

// likeToken is one element of a compiled pattern.
type likeToken struct {
	r    rune   // the literal code point (lower-cased for ILIKE)
	raw  string // its bytes in the pattern
	kind byte   // 'c' literal, '%' any run, '_' one code point
}

// LikeMatcher is a compiled LIKE or ILIKE pattern. It is safe for
// concurrent use.
type LikeMatcher struct {
	toks []likeToken
	fold bool
	// prefix/exact let the common shapes ('abc%', 'abc') skip the loop.
	literal string
	exact   bool
	prefix  bool
}

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
		i += size
		switch r {
		case '\\':
			if i >= len(pattern) {
				return nil, errLikeTrailingEscape(pattern)
			}
			r, size = utf8.DecodeRuneInString(pattern[i:])
			m.toks = append(m.toks, likeToken{r: m.lower(r), raw: pattern[i : i+size], kind: 'c'})
			i += size
		case '%':
			if n := len(m.toks); n > 0 && m.toks[n-1].kind == '%' {
				continue // %% is %
			}
			m.toks = append(m.toks, likeToken{kind: '%'})
		case '_':
			m.toks = append(m.toks, likeToken{kind: '_'})
		default:
			m.toks = append(m.toks, likeToken{r: m.lower(r), raw: pattern[i-size : i], kind: 'c'})
		}
	}
	if !caseInsensitive {
		var lit strings.Builder
		n := len(m.toks)
		body := m.toks
		if n > 0 && m.toks[n-1].kind == '%' {
			body = m.toks[:n-1]
		}
		plain := true
		for _, t := range body {
			if t.kind != 'c' {
				plain = false
				break
			}
			lit.WriteString(t.raw)
		}
		if plain {
			m.literal = lit.String()
			m.exact = len(body) == n
			m.prefix = !m.exact
		}
	}
	return m, nil
}

func (m *LikeMatcher) lower(r rune) rune {
	if m.fold {
		return unicode.ToLower(r)
	}
	return r
}

// Match reports whether s matches the whole pattern.
func (m *LikeMatcher) Match(s string) bool {
	switch {
	case m.exact:
		return s == m.literal
	case m.prefix:
		return strings.HasPrefix(s, m.literal)
	}
	toks := m.toks
	// Iterative matching with backtracking to the last %: on a mismatch
	// the last % takes one more character and matching resumes after it.
	ti, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		r, size := utf8.DecodeRuneInString(s[si:])
		if ti < len(toks) {
			switch t := toks[ti]; {
			case t.kind == '%':
				star, mark = ti, si
				ti++
				continue
			case t.kind == '_' || t.r == m.lower(r):
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
