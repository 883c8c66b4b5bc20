//go:build integration

package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/internal/sqlsubset"
)

// reservedNames are S3 key segments with every character a URL, a query
// string or a second percent-decoding would treat specially.
var reservedNames = []string{
	"emp%3Fx", "emp%23x", "emp#x", "emp?x=1&y=2", "a/%252e%252e/emp", "emp%2Fx", "emp%x", "emp%",
	"emp x+y", "emp;x", "emp:x@y", "emp[x]", "emp'x", "emp~x!$,()*", "empé€😀", "emp%00x", "emp%20x", "emp+",
}

// randomReservedNames draws names from the reserved characters, seeded so
// that a failure is reproducible: the property is that whatever the name,
// a table reads its own objects and nothing else.
func randomReservedNames(seed uint64, n int) []string {
	const alphabet = "?#%&=+ ;:@[]'~!$,()*\"<>^`{|}é€😀a2"
	runes := []rune(alphabet)
	r := rand.New(rand.NewPCG(seed, seed))
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		b.WriteString("r") // never a decoy's name
		for range 2 + r.IntN(7) {
			b.WriteRune(runes[r.IntN(len(runes))])
		}
		out[i] = b.String()
	}
	return out
}

// TestS3KeysWithReservedCharacters: tables on versitygw whose keys hold
// reserved characters each read exactly their own rows through the agent,
// never a decoy that a cut at '?' or '#', or a second decoding of '%XX',
// would reach. (The file:// variant is agentrpc's
// TestLocationsWithReservedCharacters.)
func TestS3KeysWithReservedCharacters(t *testing.T) {
	s := startStack(t, stackOptions{})
	// Decoys: one row each, where a wrong parse of the names would lead.
	for _, key := range []string{"t/emp/part-0.parquet", "t/emp?x/part-0.parquet", "t/a/emp/part-0.parquet",
		"t/a/%2e%2e/emp/part-0.parquet", "t/emp/x/part-0.parquet", "t/emp /part-0.parquet", "t/emp x/part-0.parquet"} {
		s.s3.PutObject(t, "lake", key, parquetFile(t, 1))
	}
	names := append(append([]string(nil), reservedNames...), randomReservedNames(20261207, 24)...)
	var ddl strings.Builder
	ddl.WriteString("CREATE DATABASE s3k; GRANT ROLE catalog_admin TO USER ada;\n")
	for i, name := range names {
		// Table i's own file has i+2 rows: no decoy and no other table has
		// as many.
		s.s3.PutObject(t, "lake", "t/"+name+"/part-0.parquet", parquetFile(t, i+2))
		fmt.Fprintf(&ddl, "CREATE EXTERNAL TABLE s3k.t%d (id bigint) STORED AS PARQUET LOCATION %s;\n", i,
			sqlsubset.QuoteString("s3://lake/t/"+name+"/"))
	}
	s.admin(t, ddl.String())
	ada := s.token(t, "ada")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for i, name := range names {
		res, err := s.adbcQuery(ctx, ada, fmt.Sprintf("SELECT id FROM s3k.t%d", i))
		if err != nil {
			t.Errorf("table at %q: %v", name, err)
			continue
		}
		if len(res.Rows) != i+2 {
			t.Errorf("table at %q read %d rows, want its own %d", name, len(res.Rows), i+2)
		}
	}
}
