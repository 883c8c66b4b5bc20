package policy

import (
	"github.com/nscale/nscale/internal/sqlsubset"
)

// MaskRank lists the mask functions from most to least restrictive. When
// several masks apply to a column at the same precedence level, the one
// that comes first here wins; between two masks of the same function, the
// smaller argument wins (show_first(2) beats show_first(4), round(0) beats
// round(2)); between equal masks, the source that sorts first (safeguard
// name, mask id, tag policy name) is named.
var MaskRank = []string{
	"null",
	"redact",
	"zero",
	"hash",
	"tokenize",
	"email_domain",
	"show_first",
	"show_last",
	"date_year",
	"round",
}

var maskRankIndex = func() map[string]int {
	m := make(map[string]int, len(MaskRank))
	for i, f := range MaskRank {
		m[f] = i
	}
	return m
}()

// maskLevel is where a candidate mask comes from, highest precedence first.
type maskLevel int

const (
	levelSafeguard maskLevel = iota
	levelColumn
	levelTag
)

// candidate is a mask that applies to one column for one user.
type candidate struct {
	level  maskLevel
	mask   sqlsubset.Mask
	id     string // the safeguard name, mask id or tag policy name
	source string // for Effective.MaskSource
}

// moreRestrictive reports whether a beats b at the same level.
func moreRestrictive(a, b *candidate) bool {
	ra, rb := rankOf(a.mask.Func), rankOf(b.mask.Func)
	if ra != rb {
		return ra < rb
	}
	for i := 0; i < len(a.mask.Args) && i < len(b.mask.Args); i++ {
		if a.mask.Args[i] != b.mask.Args[i] {
			return a.mask.Args[i] < b.mask.Args[i]
		}
	}
	if len(a.mask.Args) != len(b.mask.Args) {
		return len(a.mask.Args) < len(b.mask.Args)
	}
	if a.id != b.id {
		return a.id < b.id
	}
	return a.source < b.source
}

func rankOf(f string) int {
	if r, ok := maskRankIndex[f]; ok {
		return r
	}
	return len(MaskRank) // unknown functions fail CheckType before ranking
}

// pickMask returns the winning candidate: the first level that has one,
// then the most restrictive at that level. nil if there is none.
func pickMask(cands []candidate) *candidate {
	var best *candidate
	for i := range cands {
		c := &cands[i]
		switch {
		case best == nil, c.level < best.level:
			best = c
		case c.level == best.level && moreRestrictive(c, best):
			best = c
		}
	}
	return best
}
