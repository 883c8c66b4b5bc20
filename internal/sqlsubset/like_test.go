package sqlsubset

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/nscale/nscale/internal/apierr"
)

func TestLike(t *testing.T) {
	cases := []struct {
		pattern, s string
		ci, match  bool
	}{
		{"al%", "alice", false, true},
		{"al%", "bob", false, false},
		{"%ice", "alice", false, true},
		{"a_ice", "alice", false, true},
		{"a_ice", "aice", false, false},
		{"%", "", false, true},
		{"_", "", false, false},
		{"é_", "éa", false, true},
		{"_", "😀", false, true},
		{`a\%`, "a%", false, true},
		{`a\%`, "ab", false, false},
		{`a\_b`, "a_b", false, true},
		{`a\_b`, "axb", false, false},
		{`\\`, `\`, false, true},
		{`a\b`, "ab", false, true},
		{"%a%b%", "xxaxxbxx", false, true},
		{"%a%b%", "xxbxxaxx", false, false},
		{"%%%c", "abc", false, true},
		{"a_b", "a\nb", false, true},
		{"abc", "abc", false, true},
		{"abc", "abcd", false, false},
		{"Ä%", "äx", true, true},
		{"ǆ", "ǅ", true, true},
		{"ς", "Σ", true, false},
		{"s", "ſ", true, false},
		{"SS", "ß", true, false},
		{"i", "İ", true, true},
		{"_", "A", true, true},
		// Text that is not valid UTF-8: a stray byte is one character,
		// equal only to itself (not to another stray byte, nor to U+FFFD).
		{"_", "\xff", false, true},
		{"__", "\xff", false, false},
		{"a_c", "a\xffc", false, true},
		{"\xff", "\xfe", false, false},
		{"_\xff", "a\xfe", false, false},
		{"_\ufffd", "a\xfe", false, false},
		{"\xff%", "\xfe", false, false},
		{"\xff%", "\xffa", false, true},
		{"%\xff", "a\xff", false, true},
		{"\ufffd", "\xff", false, false},
		{"\ufffd", "\xff", true, false},
		{"\xff", "\xff", true, true},
		{"\xc3%", "é", false, false}, // the first byte of é is not a character
		// The shapes with a shortcut, against text that is not UTF-8.
		{"%é", "\xc3é", false, true},
		{"%é%", "\xc3\xc3é\xa9", false, true},
		{"%\xa9", "é", false, false},
		{"%\xa9%", "é", false, false},
		{"%ab%", "xaby", false, true},
		{"%ab%", "xa", false, false},
		{"%", "\xff", false, true},
	}
	for _, c := range cases {
		m, err := CompileLike(c.pattern, c.ci)
		if err != nil {
			t.Fatalf("%q: %v", c.pattern, err)
		}
		if got := m.Match(c.s); got != c.match {
			t.Errorf("%q LIKE %q (ci %v) = %v, want %v", c.s, c.pattern, c.ci, got, c.match)
		}
	}
}

// A pattern ending in a lone backslash escapes nothing: refused when
// written, by every evaluator.
func TestLikeTrailingEscapeRefused(t *testing.T) {
	for _, p := range []string{`a\`, `%\`, `\`, `a\\\`} {
		_, err := CompileLike(p, false)
		if apierr.CodeOf(err) != apierr.InvalidArgument || !strings.Contains(err.Error(), "lone backslash") {
			t.Errorf("%q: %v", p, err)
		}
	}
	if _, err := CompileLike(`a\\`, false); err != nil {
		t.Errorf(`a\\ (an escaped backslash): %v`, err)
	}
}

// Matching stays fast on patterns that make naive matchers exponential.
func TestLikeNoExponentialBacktracking(t *testing.T) {
	m, err := CompileLike(strings.Repeat("%a", 30)+"b", false)
	if err != nil {
		t.Fatal(err)
	}
	if m.Match(strings.Repeat("a", 5000)) {
		t.Fatal("matched a text without b")
	}
}

func FuzzLike(f *testing.F) {
	f.Add("a%b_c", "axxbyc", false)
	f.Add(`\%%\_`, "%x_", true)
	f.Add("%\xa9%", "é", false)
	f.Add("%é", "\xc3é", false)
	f.Add("Σ%_\xff", "σxy\xff", true)
	f.Fuzz(func(t *testing.T, pattern, s string, ci bool) {
		m, err := CompileLike(pattern, ci)
		if err != nil {
			if apierr.CodeOf(err) != apierr.InvalidArgument {
				t.Fatalf("%q: %v", pattern, err)
			}
			return
		}
		if got, want := m.Match(s), likeReference(pattern, s, ci); got != want {
			t.Fatalf("%q LIKE %q (ci %v) = %v, the definition says %v", s, pattern, ci, got, want)
		}
		// A pattern of literal characters only matches itself.
		if !strings.ContainsAny(pattern, `%_\`) && !ci && m.Match(s) != (s == pattern) {
			t.Fatalf("literal pattern %q on %q", pattern, s)
		}
	})
}

// likeReference is the definition of like.go written as plainly as
// possible (dynamic programming over characters), for the fuzzer to hold
// the matcher to.
func likeReference(pattern, s string, ci bool) bool {
	type tok struct {
		kind byte
		c    string
	}
	var p []tok
	for i := 0; i < len(pattern); {
		_, n := utf8.DecodeRuneInString(pattern[i:])
		c := pattern[i : i+n]
		i += n
		switch c {
		case `\`:
			_, n = utf8.DecodeRuneInString(pattern[i:])
			p = append(p, tok{'c', pattern[i : i+n]})
			i += n
		case "%", "_":
			p = append(p, tok{c[0], ""})
		default:
			p = append(p, tok{'c', c})
		}
	}
	var chars []string
	for i := 0; i < len(s); {
		_, n := utf8.DecodeRuneInString(s[i:])
		chars = append(chars, s[i:i+n])
		i += n
	}
	same := func(a, b string) bool {
		if a == b {
			return true
		}
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if !ci || (ra == utf8.RuneError && na == 1) || (rb == utf8.RuneError && nb == 1) {
			return false
		}
		return unicode.ToLower(ra) == unicode.ToLower(rb)
	}
	// ok[j] is whether the first j characters match the pattern so far.
	ok := make([]bool, len(chars)+1)
	ok[0] = true
	for _, t := range p {
		next := make([]bool, len(chars)+1)
		for j := 0; j <= len(chars); j++ {
			switch t.kind {
			case '%':
				next[j] = ok[j] || (j > 0 && next[j-1])
			case '_':
				next[j] = j > 0 && ok[j-1]
			default:
				next[j] = j > 0 && ok[j-1] && same(chars[j-1], t.c)
			}
		}
		ok = next
	}
	return ok[len(chars)]
}
