package flight

// like matches s against a Flight SQL filter pattern: % matches any run of
// characters, _ any one character, and a backslash makes the next
// character literal (the escape GetSqlInfo announces, as JDBC's
// getSearchStringEscape expects). A nil pattern matches everything.
// Matching is case-sensitive, on runes.
func like(pattern *string, s string) bool {
	if pattern == nil {
		return true
	}
	return likeRunes([]rune(*pattern), []rune(s))
}

func likeRunes(p, s []rune) bool {
	// Iterative matcher with backtracking to the last %, linear in
	// practice and never exponential.
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		if pi < len(p) {
			switch c := p[pi]; {
			case c == '%':
				star, mark = pi, si
				pi++
				continue
			case c == '_':
				pi++
				si++
				continue
			case c == '\\' && pi+1 < len(p):
				if p[pi+1] == s[si] {
					pi += 2
					si++
					continue
				}
			case c == s[si]:
				pi++
				si++
				continue
			}
		}
		if star < 0 {
			return false
		}
		mark++
		si = mark
		pi = star + 1
	}
	for pi < len(p) && p[pi] == '%' {
		pi++
	}
	return pi == len(p)
}
