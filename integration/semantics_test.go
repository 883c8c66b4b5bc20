//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nscale/nscale/integration/pyharness"
	"github.com/nscale/nscale/internal/sqlsubset/semanticstest"
)

// semanticsZones are the session time zones DuckDB answers the table in:
// what the subset accepts must not depend on one (it has none), and what
// it refuses as zone-dependent must.
var semanticsZones = []string{"UTC", "America/New_York"}

// TestSemanticsAgreeWithDuckDB: every expected answer of the SQL subset's
// table of comparisons and LIKEs (internal/sqlsubset/testdata/semantics.json,
// which the policy folding, the planner's pruning and the agent's
// evaluation each run in their unit tests) is DuckDB's answer to the same
// case, in every session time zone, so that the table, and the evaluators
// with it, cannot drift from the oracle. For a case the subset refuses,
// DuckDB does what the table says: refuses it too, answers differently in
// two time zones, or casts implicitly (answers).
func TestSemanticsAgreeWithDuckDB(t *testing.T) {
	pyharness.Require(t, false, "duckdb")
	cases := semanticstest.Load(t)
	req := struct {
		Queries []string `json:"queries"`
	}{}
	for _, c := range cases {
		for _, z := range semanticsZones {
			req.Queries = append(req.Queries, "SET TimeZone = '"+z+"'; "+c.DuckDB)
		}
	}
	var out struct {
		Results []struct {
			Rows  [][]json.RawMessage `json:"rows"`
			Error string              `json:"error"`
		} `json:"results"`
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := pyharness.Run(ctx, "duckdb_oracle.py", nil, req, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Results) != len(req.Queries) {
		t.Fatalf("%d answers for %d queries", len(out.Results), len(req.Queries))
	}
	for i, c := range cases {
		var answers []string // per zone: TRUE, FALSE, NULL or "error: ..."
		for j := range semanticsZones {
			r := out.Results[i*len(semanticsZones)+j]
			switch {
			case r.Error != "":
				answers = append(answers, "error: "+r.Error)
			case len(r.Rows) != 1 || len(r.Rows[0]) != 1:
				t.Fatalf("%s: DuckDB answered %+v to %s", c.Name, r, c.DuckDB)
			default:
				var got *bool
				if err := json.Unmarshal(r.Rows[0][0], &got); err != nil {
					t.Fatalf("%s: DuckDB's answer %s is not a boolean", c.Name, r.Rows[0][0])
				}
				answers = append(answers, semanticstest.Show(got))
			}
		}
		errored := answers[0][0] == 'e' || answers[1][0] == 'e'
		switch {
		case !c.Refused:
			for j, a := range answers {
				if a != semanticstest.Show(c.Want) {
					t.Errorf("%s: the table says %s, DuckDB (TimeZone %s) %s: %s", c.Name, semanticstest.Show(c.Want), semanticsZones[j], a, c.DuckDB)
				}
			}
		case c.DuckDBOnRefused == semanticstest.DuckDBError:
			if answers[0][0] != 'e' || answers[1][0] != 'e' {
				t.Errorf("%s: refused, and the table says DuckDB refuses it too; DuckDB answered %v: %s", c.Name, answers, c.DuckDB)
			}
		case c.DuckDBOnRefused == semanticstest.DuckDBZoneDependent:
			if errored || answers[0] == answers[1] {
				t.Errorf("%s: refused as zone-dependent, but DuckDB answers %v in %v: %s", c.Name, answers, semanticsZones, c.DuckDB)
			}
		case c.DuckDBOnRefused == semanticstest.DuckDBCasts:
			if errored {
				t.Errorf("%s: the table says DuckDB casts and answers; it answered %v: %s", c.Name, answers, c.DuckDB)
			}
		}
	}
}
