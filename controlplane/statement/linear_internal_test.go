package statement

import (
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

// TestLineCounterMatchesPosition: the incremental counter gives position's
// answer at every offset, in order and after going back.
func TestLineCounterMatchesPosition(t *testing.T) {
	src := "a;\nbé ;\n\n  ünï;c\nd"
	c := &lineCounter{src: src, line: 1}
	offs := []int{0, 1, 2, 3, 4, 6, 7, 8, 9, 12, 15, 16, len(src), 5, 0, len(src) + 3}
	for _, off := range offs {
		l1, c1 := position(src, off)
		l2, c2 := c.at(off)
		if l1 != l2 || c1 != c2 {
			t.Fatalf("offset %d: counter %d:%d, position %d:%d", off, l2, c2, l1, c1)
		}
	}
}

// TestParseLinear: parsing many statements costs time linear in their
// number (it was quadratic: each statement's position was counted from the
// start of the text). 8x the statements must cost well under 64x the time.
func TestParseLinear(t *testing.T) {
	// Statements with a comment of 500 characters: enough text that the
	// old quadratic count (hundreds of MB at 1000 statements) dominates.
	pad := " /*" + strings.Repeat("é", 500) + "*/ "
	text := func(n int, sep string) string { return strings.Repeat("SHOW DATABASES"+pad+";"+sep, n) }
	best := func(sql string) time.Duration {
		d := time.Duration(1 << 62)
		for range 5 {
			t0 := time.Now()
			if _, err := Parse(sql); err != nil {
				t.Fatal(err)
			}
			d = min(d, time.Since(t0))
		}
		return d
	}
	for _, sep := range []string{"", "\n"} {
		small, large := best(text(MaxStatements/8, sep)), best(text(MaxStatements, sep))
		if ratio := float64(large) / float64(small); ratio > 24 {
			t.Errorf("sep %q: %d statements took %v, %d took %v: ratio %.1f, want about 8 (linear)", sep, MaxStatements/8, small, MaxStatements, large, ratio)
		}
	}
}

func TestStatementCountBounded(t *testing.T) {
	_, err := Parse(strings.Repeat("SHOW DATABASES;", MaxStatements+1))
	if apierr.CodeOf(err) != apierr.InvalidArgument || !strings.Contains(err.Error(), "more than 1000 statements") {
		t.Fatalf("err = %v, want InvalidArgument naming the bound", err)
	}
	if st, err := Parse(strings.Repeat("SHOW DATABASES;", MaxStatements)); err != nil || len(st) != MaxStatements {
		t.Fatalf("%d statements: %d, %v", MaxStatements, len(st), err)
	}
}
