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

// TestSemanticsAgreeWithDuckDB: every expected answer of the SQL subset's
// table of comparisons and LIKEs (internal/sqlsubset/testdata/semantics.json,
// which the policy folding, the planner's pruning and the agent's
// evaluation each run in their unit tests) is DuckDB's answer to the same
// case, so that the table, and the evaluators with it, cannot drift from
// the oracle.
func TestSemanticsAgreeWithDuckDB(t *testing.T) {
	pyharness.Require(t, false, "duckdb")
	cases := semanticstest.Load(t)
	req := struct {
		Queries []string `json:"queries"`
	}{}
	for _, c := range cases {
		req.Queries = append(req.Queries, "SET TimeZone = 'UTC'; "+c.DuckDB)
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
	if len(out.Results) != len(cases) {
		t.Fatalf("%d answers for %d cases", len(out.Results), len(cases))
	}
	for i, c := range cases {
		r := out.Results[i]
		if r.Error != "" || len(r.Rows) != 1 || len(r.Rows[0]) != 1 {
			t.Errorf("%s: DuckDB answered %+v to %s", c.Name, r, c.DuckDB)
			continue
		}
		var got *bool
		if err := json.Unmarshal(r.Rows[0][0], &got); err != nil {
			t.Errorf("%s: DuckDB's answer %s is not a boolean", c.Name, r.Rows[0][0])
			continue
		}
		if (got == nil) != (c.Want == nil) || (got != nil && *got != *c.Want) {
			t.Errorf("%s: the table says %v, DuckDB %s (%s)", c.Name, fmtAnswer(c.Want), r.Rows[0][0], c.DuckDB)
		}
	}
}

func fmtAnswer(b *bool) string {
	switch {
	case b == nil:
		return "NULL"
	case *b:
		return "TRUE"
	}
	return "FALSE"
}
