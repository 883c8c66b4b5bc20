package policy

import "strings"

// TagMatch reports whether the tag pattern matches tag. Tags are dotted
// names (pii.card.number); a pattern names a subtree of them:
//
//   - a pattern matches a tag when it matches the tag itself or one of its
//     ancestors (the tag's prefixes that end before a dot): pii matches pii,
//     pii.email and pii.card.number, but not piix or pi;
//   - '*' matches any run of characters, dots included, possibly empty:
//     pii.* matches pii.email and pii.card.number but not pii itself;
//     *.email matches pii.email (and, as its subtree, pii.email.work); the
//     pattern consisting of a single '*' matches every tag.
//
// Matching is case-sensitive and byte-exact. An empty pattern or an empty
// tag matches nothing. The same rule is used for tag policies, safeguards
// and UNMASK on tags, so anything a policy on a pattern masks, an UNMASK on
// the same pattern can lift.
func TagMatch(pattern, tag string) bool {
	if pattern == "" || tag == "" {
		return false
	}
	if glob(pattern, tag) {
		return true
	}
	// The subtree: match an ancestor of tag.
	for i := 0; i < len(tag); i++ {
		if tag[i] == '.' && glob(pattern, tag[:i]) {
			return true
		}
	}
	return false
}

// glob matches s against pattern, where '*' matches any run of bytes and
// every other byte matches itself. Iterative with single backtracking:
// linear in practice, O(len(p)*len(s)) at worst.
func glob(p, s string) bool {
	if !strings.Contains(p, "*") {
		return p == s
	}
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && p[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
