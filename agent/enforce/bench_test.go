package enforce

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/sqlsubset"
)

// BenchmarkEvalLike measures the vectorized evaluation of LIKE, ILIKE and
// text comparison filters over one batch of 4096 e-mail-like strings, the
// shapes row filters use. It reports ns per row:
//
//	go test -run XXX -bench BenchmarkEvalLike ./agent/enforce/
func BenchmarkEvalLike(b *testing.B) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(b, 0)
	const rows = 4096
	sb := array.NewStringBuilder(mem)
	for i := range rows {
		sb.Append(fmt.Sprintf("user%05d.name@%s.example.com", i, []string{"mail", "corp", "eu"}[i%3]))
	}
	col := sb.NewArray()
	defer col.Release()
	sb.Release()
	get := func(string) (arrow.Array, error) { return col, nil }
	email := &sqlsubset.Column{Name: "email"}
	for _, c := range []struct {
		name string
		expr sqlsubset.Expr
	}{
		{"prefix", &sqlsubset.Like{Expr: email, Pattern: "user01%"}},
		{"suffix", &sqlsubset.Like{Expr: email, Pattern: "%@corp.example.com"}},
		{"infix", &sqlsubset.Like{Expr: email, Pattern: "%name@eu%"}},
		{"underscore", &sqlsubset.Like{Expr: email, Pattern: "user_____.name@%"}},
		{"ilike", &sqlsubset.Like{Expr: email, Pattern: "%@CORP.%", CaseInsensitive: true}},
		{"text_lt", &sqlsubset.Compare{Op: sqlsubset.Lt, Left: email, Right: sqlsubset.StringLiteral("user02048")}},
	} {
		comp, err := compile(c.expr)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				if _, err := comp.evalBool(rows, get); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
		})
	}
}
