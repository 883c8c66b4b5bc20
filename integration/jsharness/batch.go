package jsharness

import (
	"context"
	"errors"
	"fmt"
)

// Batches run many queries in one node process, which saves the process
// start (about a third of a second each) when a test asks hundreds.

// batchItem is one answer of a batch: a result or the error of that query.
type batchItem struct {
	Result
	Error *string `json:"error"`
}

func batchResults(script string, items []batchItem, n int) ([]Result, []error, error) {
	if len(items) != n {
		return nil, nil, fmt.Errorf("%s: %d results for %d queries", script, len(items), n)
	}
	res := make([]Result, n)
	errs := make([]error, n)
	for i, it := range items {
		if it.Error != nil {
			errs[i] = errors.New(*it.Error)
			continue
		}
		if it.Rows == nil {
			it.Rows = [][]any{}
		}
		res[i] = it.Result
	}
	return res, errs, nil
}

// DuckDBBatch runs each of sqls as DuckDB does, each in its own fresh
// in-memory database, all in one process. errs[i] is query i's error; err
// is a failure of the whole batch.
func DuckDBBatch(ctx context.Context, sqls []string) (res []Result, errs []error, err error) {
	var out struct {
		Results []batchItem `json:"results"`
	}
	if err := runJSON(ctx, "duckdb_query.mjs", map[string]any{"batch": sqls}, &out); err != nil {
		return nil, nil, err
	}
	return batchResults("duckdb_query.mjs", out.Results, len(sqls))
}

// FlightQuery is one query of a FlightSQLBatch: the bearer token and SQL.
type FlightQuery struct {
	Token string `json:"token,omitempty"`
	SQL   string `json:"sql"`
}

// FlightSQLBatch runs queries through the Rust Flight SQL client in one
// process, one client per token, in order. errs[i] is query i's error as
// "rpc error: code = ... desc = ..."; the first failure ends the batch,
// and the queries after it fail with "not run: ...".
func FlightSQLBatch(ctx context.Context, host string, port int, queries []FlightQuery) (res []Result, errs []error, err error) {
	var out struct {
		Results []batchItem `json:"results"`
	}
	req := map[string]any{"host": host, "port": port, "batch": queries}
	if err := runJSON(ctx, "flightsql_query.mjs", req, &out); err != nil {
		return nil, nil, err
	}
	return batchResults("flightsql_query.mjs", out.Results, len(queries))
}
