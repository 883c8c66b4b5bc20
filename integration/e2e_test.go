//go:build integration

package integration

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/integration/jsharness"
)

// e2eEnv is a running stack with e2e.people loaded, its policies set, the
// users' tokens, and the local copy DuckDB reads.
type e2eEnv struct {
	*stack
	local  string // local copy root of e2e.people
	tokens map[string]string
}

// e2ePolicy is set once; each corpus case names its user.
const e2ePolicy = `
GRANT ROLE catalog_admin TO USER ada;
CREATE ROLE analyst;
GRANT SELECT ON TABLE e2e.people TO ROLE analyst WHERE country IN ('DE', 'FR', 'ES', 'IE');
ALTER TABLE e2e.people ALTER COLUMN email SET MASK email_domain FOR ROLE analyst;
ALTER TABLE e2e.people ALTER COLUMN card SET MASK show_last(4) FOR ROLE analyst;
GRANT ROLE analyst TO USER ann;
`

var e2eUsers = []string{"ada", "ann"}

func setupE2E(t *testing.T, o stackOptions) *e2eEnv {
	t.Helper()
	jsharness.Require(t)
	s := startStack(t, o)
	local := filepath.Join(s.dir, "local", "people")
	for rel, body := range writePeople(t, local) {
		s.s3.PutObject(t, "lake", "e2e/people/"+rel, body)
	}
	s.admin(t, peopleDDL+e2ePolicy)
	e := &e2eEnv{stack: s, local: local, tokens: map[string]string{}}
	for _, u := range e2eUsers {
		e.tokens[u] = s.token(t, u)
	}
	return e
}

// duck replaces the table name P in sql with the local copy.
func (e *e2eEnv) duck(sql string) string {
	src := "read_parquet('" + e.local + "/**/*.parquet', hive_partitioning = true)"
	return strings.ReplaceAll(sql, "{P}", src)
}

type e2eCase struct {
	name, user, sql string
	duck            string // DuckDB SQL over {P}, the filters and masks written out by hand
}

var e2eCorpus = []e2eCase{
	{"admin sees every row and column", "ada", "SELECT * FROM e2e.people", "SELECT * FROM {P}"},
	{"admin filter on decimal", "ada", "SELECT id, amount FROM e2e.people WHERE amount > 1000.50", "SELECT id, amount FROM {P} WHERE amount > 1000.50"},
	{"admin partition pruning", "ada", `SELECT "id", "dt" FROM e2e.people WHERE "dt" = '2024-03-02'`, "SELECT id, dt FROM {P} WHERE dt = DATE '2024-03-02'"},
	{"analyst: EU rows, masked email and card", "ann", "SELECT id, email, card, country FROM e2e.people",
		`SELECT id, CASE WHEN email IS NULL THEN NULL ELSE 'xxxx' || regexp_extract(email, '(@[^@]*)$', 1) END AS email,
		 CASE WHEN card IS NULL THEN NULL ELSE repeat('x', length(card) - 4) || right(card, 4) END AS card, country
		 FROM {P} WHERE country IN ('DE', 'FR', 'ES', 'IE')`},
	{"analyst: WHERE on the stored card finds nothing", "ann", "SELECT id FROM e2e.people WHERE card LIKE '4%'",
		`SELECT id FROM {P} WHERE false`},
	{"analyst: LIMIT", "ann", "SELECT country FROM e2e.people WHERE country = 'DE' LIMIT 3",
		`SELECT country FROM {P} WHERE country = 'DE' LIMIT 3`},
}

func TestEndToEndCorpus(t *testing.T) {
	e := setupE2E(t, stackOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, c := range e2eCorpus {
		t.Run(c.name, func(t *testing.T) {
			want, err := jsharness.DuckDB(ctx, e.duck(c.duck))
			if err != nil {
				t.Fatalf("DuckDB: %v", err)
			}
			got, err := e.adbcQuery(ctx, e.tokens[c.user], c.sql)
			if err != nil {
				t.Fatalf("ADBC: %v", err)
			}
			if d := jsharness.Diff(want.SortRows(), got.SortRows()); d != "" {
				t.Fatalf("ADBC vs DuckDB: %s", d)
			}
			if len(want.Rows) == 0 && !strings.Contains(c.name, "nothing") {
				t.Fatalf("the oracle returned no rows; the case proves little")
			}
		})
	}
	e.stop(t)
}
