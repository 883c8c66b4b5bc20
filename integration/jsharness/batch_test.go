//go:build integration

package jsharness

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestDuckDBBatch(t *testing.T) {
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, errs, err := DuckDBBatch(ctx, []string{
		"SELECT 1 AS a",
		"SELECT nope",
		"CREATE MACRO f(x) AS x + 1; SELECT f(41) AS b WHERE false",
		"SELECT f(1)", // each query has its own database: no macro f here
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(Result{Columns: []Column{{"a", "int32"}}, Rows: [][]any{{"1"}}}, res[0]); d != "" || errs[0] != nil {
		t.Errorf("query 0: %s %v", d, errs[0])
	}
	if errs[1] == nil || !strings.Contains(errs[1].Error(), `"nope"`) {
		t.Errorf("query 1: error %v", errs[1])
	}
	if d := Diff(Result{Columns: []Column{{"b", "int32"}}, Rows: [][]any{}}, res[2]); d != "" || errs[2] != nil {
		t.Errorf("query 2: %s %v", d, errs[2])
	}
	if errs[3] == nil {
		t.Error("query 3 saw the macro of query 2")
	}
}

func TestRustClientBatch(t *testing.T) {
	_, req, ctx := flightTest(t)
	res, errs, err := FlightSQLBatch(ctx, req.Host, req.Port, []FlightQuery{
		{Token: testToken, SQL: qAllTypes},
		{Token: testToken, SQL: qEmpty},
		{Token: testToken, SQL: qDenied},
		{Token: testToken, SQL: qAllTypes},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(allTypesWant, res[0]); d != "" || errs[0] != nil {
		t.Errorf("query 0: %s %v", d, errs[0])
	}
	if d := Diff(Result{Columns: allTypesWant.Columns, Rows: [][]any{}}, res[1]); d != "" || errs[1] != nil {
		t.Errorf("query 1: %s %v", d, errs[1])
	}
	if want := "rpc error: code = PermissionDenied desc = " + denyMessage; errs[2] == nil || errs[2].Error() != want {
		t.Errorf("query 2: error %v, want %q", errs[2], want)
	}
	if errs[3] == nil || !strings.HasPrefix(errs[3].Error(), "not run: ") {
		t.Errorf("query 3: error %v, want not run after a failure", errs[3])
	}
}
