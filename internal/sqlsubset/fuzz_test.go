package sqlsubset_test

import (
	"bytes"
	"testing"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// FuzzUnmarshal checks that the decoder never panics, that every rejection is
// an InvalidArgument *apierr.Error, and that every accepted tree is valid,
// renders to SQL, type-checks without panicking and survives
// Unmarshal(Marshal(x)) == x with a stable encoding.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{
		`{"kind":"column","name":"a"}`,
		`{"kind":"compare","op":"eq","left":{"kind":"column","name":"owner"},"right":{"kind":"call","name":"current_user"}}`,
		`{"kind":"and","args":[{"kind":"literal","type":"bool","value":true},{"kind":"is_null","expr":{"kind":"column","name":"a","path":["b"]},"not":true}]}`,
		`{"kind":"in","expr":{"kind":"column","name":"a"},"list":[{"kind":"literal","type":"decimal128(5,2)","value":"-123"},{"kind":"literal","type":"null"}]}`,
		`{"kind":"between","expr":{"kind":"column","name":"d"},"low":{"kind":"literal","type":"date32","value":"19000"},"high":{"kind":"literal","type":"timestamp(ns,UTC)","value":"-5"}}`,
		`{"kind":"like","expr":{"kind":"cast","expr":{"kind":"column","name":"x"},"type":"string"},"pattern":"a\\%_","ilike":true}`,
	} {
		f.Add([]byte(s))
	}
	schema := sqlsubset.Schema{
		"a": sqlsubset.MustParseType("int64"), "x": sqlsubset.MustParseType("struct<b:string>"),
		"d": sqlsubset.MustParseType("date32"), "owner": sqlsubset.MustParseType("string"),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := sqlsubset.Unmarshal(data)
		if err != nil {
			if ae, ok := err.(*apierr.Error); !ok || ae.Code != apierr.InvalidArgument {
				t.Fatalf("error %T %v is not InvalidArgument", err, err)
			}
			return
		}
		if err := sqlsubset.Validate(e); err != nil {
			t.Fatalf("decoded tree is invalid: %v", err)
		}
		enc, err := sqlsubset.Marshal(e)
		if err != nil {
			t.Fatalf("Marshal of a decoded tree: %v", err)
		}
		back, err := sqlsubset.Unmarshal(enc)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(x)): %v\n%s", err, enc)
		}
		if !sqlsubset.Equal(back, e) {
			t.Fatalf("round trip changed the tree:\n%s\n%s", e, back)
		}
		enc2, _ := sqlsubset.Marshal(back)
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
		}
		_ = e.String()
		_ = sqlsubset.TypeCheck(e, schema)
		_ = sqlsubset.Simplify(e)
	})
}
