package sqlsubset

import (
	"strings"
	"testing"

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
	f.Fuzz(func(t *testing.T, pattern, s string, ci bool) {
		m, err := CompileLike(pattern, ci)
		if err != nil {
			if apierr.CodeOf(err) != apierr.InvalidArgument {
				t.Fatalf("%q: %v", pattern, err)
			}
			return
		}
		_ = m.Match(s)
		// A pattern of literal characters only matches itself.
		if !strings.ContainsAny(pattern, `%_\`) && !ci && m.Match(s) != (s == pattern) {
			t.Fatalf("literal pattern %q on %q", pattern, s)
		}
	})
}
