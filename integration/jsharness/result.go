// Package jsharness runs the independent JavaScript clients of the
// integration tests (DuckDB as the SQL oracle, the Rust Flight SQL client
// from npm) and renders Arrow data the same way they print it, so a test
// compares nscale's answer with theirs value for value.
//
// The canonical form (mirrored in integration/js/render.mjs):
//
//	NULL               null
//	bool               true / false
//	integers           decimal string, "-42" (int64 and uint64 lose nothing)
//	floats             shortest round-trip digits in ECMAScript layout:
//	                   "0.1", "1e+21", "1.5e-7", "-0", "NaN", "Infinity";
//	                   a float32 as the float64 it widens to, "1.100000023841858"
//	decimal(p,s)       plain string with exactly s fraction digits, "12.30", "-0.05"
//	string             as is
//	binary             standard base64 with padding
//	date               "YYYY-MM-DD"
//	time               "HH:MM:SS.ffffff" (9 digits for nanoseconds)
//	timestamptz        "2024-01-02T03:04:05.000006Z", UTC, 6 fraction digits
//	                   (9 for nanoseconds) whatever the unit or zone
//	timestamp          the same without the Z (no zone: a wall-clock reading)
//	list               JSON array; struct: JSON object; map: [{"key":k,"value":v},...]
//
// Column types are canonical names that do not depend on widths of offsets
// or encodings: int64, decimal(12,2), string, binary, date, timestamptz,
// list<string>, struct<a: int32, b: string>, map<string, int64>.
package jsharness

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
)

// Result is a query result in canonical form.
type Result struct {
	Columns []Column `json:"columns"`
	Rows    [][]any  `json:"rows"`
}

// Column is a result column's name and canonical type.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// SortRows orders rows by their JSON encoding, for comparing results of
// queries without ORDER BY (nscale answers in file and task order).
func (r Result) SortRows() Result {
	keys := make([]string, len(r.Rows))
	idx := make([]int, len(r.Rows))
	for i, row := range r.Rows {
		b, _ := json.Marshal(row)
		keys[i], idx[i] = string(b), i
	}
	sort.SliceStable(idx, func(a, b int) bool { return keys[idx[a]] < keys[idx[b]] })
	rows := make([][]any, len(r.Rows))
	for i, j := range idx {
		rows[i] = r.Rows[j]
	}
	return Result{Columns: r.Columns, Rows: rows}
}

// Diff describes the first difference between want and got, or returns ""
// when they are equal; short enough for a test failure message.
func Diff(want, got Result) string {
	if !reflect.DeepEqual(want.Columns, got.Columns) {
		return fmt.Sprintf("columns differ:\nwant %v\ngot  %v", want.Columns, got.Columns)
	}
	for i := 0; i < len(want.Rows) && i < len(got.Rows); i++ {
		if !reflect.DeepEqual(want.Rows[i], got.Rows[i]) {
			w, _ := json.Marshal(want.Rows[i])
			g, _ := json.Marshal(got.Rows[i])
			return fmt.Sprintf("row %d differs:\nwant %s\ngot  %s", i, w, g)
		}
	}
	if len(want.Rows) != len(got.Rows) {
		return fmt.Sprintf("want %d rows, got %d", len(want.Rows), len(got.Rows))
	}
	return ""
}
