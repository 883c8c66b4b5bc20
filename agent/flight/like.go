package flight

import (
	"strings"

	"github.com/nscale/nscale/internal/sqlsubset"
)

// filterPattern compiles a Flight SQL metadata filter pattern (the JDBC
// search pattern of getTables and getSchemas) with the subset's one LIKE
// (sqlsubset.CompileLike: % any run, _ one character, backslash escape,
// case-sensitive), and returns its match function. A nil pattern matches
// everything. A pattern ending in a lone backslash, which SQL refuses,
// matches that backslash literally: a BI tool browsing tables should get
// an answer, not an error.
func filterPattern(pattern *string) func(string) bool {
	if pattern == nil {
		return func(string) bool { return true }
	}
	p := *pattern
	if n := len(p) - len(strings.TrimRight(p, `\`)); n%2 == 1 {
		p += `\`
	}
	m, err := sqlsubset.CompileLike(p, false)
	if err != nil {
		// Unreachable: the only refusal is a trailing lone backslash.
		return func(string) bool { return false }
	}
	return m.Match
}
