package statement

import (
	"testing"

	"github.com/nscale/nscale/internal/apierr"
)

// FuzzTokenize checks that the tokenizer never panics, rejects only with
// InvalidArgument errors, and returns ordered, non-overlapping tokens whose
// offsets lie inside the input and whose unquoted text is the input's.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{
		"CREATE EXTERNAL TABLE db.t (a struct<b:int>) STORED AS PARQUET LOCATION 's3://x' TBLPROPERTIES ('k'='v')",
		"GRANT SELECT ON `Db`.\"T\" TO ROLE r WHERE a = E'x\\'y' -- c\n/* /* n */ */;",
		"1.5e3 .5 0x1F 1_000 1..2 a<=b>=c<>d!=e::f",
		"'unterminated", "\"", "/*", "é\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		toks, err := tokenize(src)
		if err != nil {
			if ae, ok := err.(*apierr.Error); !ok || ae.Code != apierr.InvalidArgument {
				t.Fatalf("error %T %v is not InvalidArgument", err, err)
			}
			return
		}
		prev := 0
		for _, tok := range toks {
			if tok.start < prev || tok.end <= tok.start || tok.end > len(src) {
				t.Fatalf("token %+v out of order or bounds (prev end %d, len %d)", tok, prev, len(src))
			}
			if (tok.kind == tIdent || tok.kind == tOp || tok.kind == tNumber) && src[tok.start:tok.end] != tok.text {
				t.Fatalf("token %+v text differs from input %q", tok, src[tok.start:tok.end])
			}
			if (tok.kind == tIdent || tok.kind == tQuoted) && len(tok.text) > maxIdentLen {
				t.Fatalf("identifier longer than %d bytes: %q", maxIdentLen, tok.text)
			}
			prev = tok.end
		}
		// Re-tokenizing the text from the first token on gives the same tokens.
		if len(toks) > 0 {
			again, err := tokenize(src[toks[0].start:])
			if err != nil || len(again) != len(toks) {
				t.Fatalf("re-tokenizing from the first token: %d tokens, %v", len(again), err)
			}
		}
	})
}
