package sqlsubset

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// likeAsRegexp is how the agent evaluated LIKE before this matcher: an
// anchored RE2 regexp ((?i) for ILIKE). It is the alternative the
// benchmark measures against.
func likeAsRegexp(p string, ci bool) *regexp.Regexp {
	var sb strings.Builder
	sb.WriteString("(?s)")
	if ci {
		sb.WriteString("(?i)")
	}
	sb.WriteString("^")
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; r {
		case '%':
			sb.WriteString(".*")
		case '_':
			sb.WriteString(".")
		case '\\':
			i++
			sb.WriteString(regexp.QuoteMeta(string(rs[i])))
		default:
			sb.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	sb.WriteString("$")
	return regexp.MustCompile(sb.String())
}

// BenchmarkLike compares the matcher with the regexp it replaced on the
// shapes filters use, over 4096 e-mail-like values:
//
//	go test -run XXX -bench BenchmarkLike ./internal/sqlsubset/
//
// Each pair reports ns/value; the ratio is regexp/matcher.
func BenchmarkLike(b *testing.B) {
	values := make([]string, 4096)
	for i := range values {
		values[i] = fmt.Sprintf("user%05d.name@%s.example.com", i, []string{"mail", "corp", "eu"}[i%3])
	}
	for _, c := range []struct {
		name, pattern string
		ci            bool
	}{
		{"prefix", "user01%", false},
		{"suffix", "%@corp.example.com", false},
		{"infix", "%name@eu%", false},
		{"underscore", "user_____.name@%", false},
		{"ilike", "%@CORP.%", true},
	} {
		m, err := CompileLike(c.pattern, c.ci)
		if err != nil {
			b.Fatal(err)
		}
		re := likeAsRegexp(c.pattern, c.ci)
		for i, v := range values { // the two agree before they are timed
			if m.Match(v) != re.MatchString(v) {
				b.Fatalf("%s: value %d %q: matcher %v, regexp %v", c.name, i, v, m.Match(v), re.MatchString(v))
			}
		}
		b.Run(c.name+"/matcher", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				m.Match(values[i%len(values)])
			}
		})
		b.Run(c.name+"/regexp", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				re.MatchString(values[i%len(values)])
			}
		})
	}
}
