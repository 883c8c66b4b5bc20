package discovery

import (
	"slices"
	"strings"
	"testing"

	"github.com/nscale/nscale/internal/sqlsubset"
)

// FuzzParsePath checks that ParsePath never panics, and that the partition
// keys and values it returns survive EscapePathName and a second parse.
// Seeds: testdata/fuzz/FuzzParsePath.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"a.parquet", "dt=2024-05-06/hr=01/part-0.parquet", "s=a%2Fb%3Dc%25/f", "_temporary/0/x",
		"dt=__HIVE_DEFAULT_PARTITION__/f", "k%3Dx=1/sub/f", "s=%C3%A9/f", "a//b", "x=%/f",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rel string) {
		info, hidden, err := ParsePath(rel)
		if err != nil || hidden {
			return
		}
		if len(info.Keys) != len(info.Values) || info.Name == "" || strings.Contains(info.Name, "/") {
			t.Fatalf("ParsePath(%q) = %+v", rel, info)
		}
		values := make([]*string, len(info.Values))
		for i := range info.Values {
			values[i] = &info.Values[i]
		}
		again := PartitionDir(info.Keys, values) + info.Name
		if len(again) > MaxPathLen {
			return // escaping may make a path up to three times longer
		}
		info2, hidden2, err := ParsePath(again)
		if err != nil || hidden2 {
			t.Fatalf("ParsePath(%q) (from %q) = hidden %v, %v", again, rel, hidden2, err)
		}
		if !slices.Equal(info.Keys, info2.Keys) || !slices.Equal(info.Values, info2.Values) || info.Name != info2.Name {
			t.Fatalf("round trip of %q via %q: %+v != %+v", rel, again, info, info2)
		}
		// Typed conversion never panics either.
		for _, typ := range []string{"int64", "date32", "timestamp(ns)", "decimal128(38,10)", "float32", "bool", "uint8"} {
			for _, v := range info.Values {
				if lit, err := PartitionValue(sqlsubset.MustParseType(typ), v); err == nil {
					if verr := lit.Validate(); verr != nil {
						t.Fatalf("PartitionValue(%s, %q) = invalid literal %+v: %v", typ, v, lit, verr)
					}
				}
			}
		}
	})
}
