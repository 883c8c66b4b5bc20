//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nscale/nscale/integration/pyharness"
)

// peopleColumns are e2e.people's columns in table order (peopleDDL).
var peopleColumns = []string{"id", "name", "email", "card", "country", "amount", "score", "signup", "seen", "active", "visits", "address", "dt"}

// jdbcMetadata is what JdbcMetadata.java prints for one connection.
type jdbcMetadata struct {
	Catalogs   [][]*string `json:"catalogs"`
	Schemas    [][]*string `json:"schemas"`
	Tables     [][]*string `json:"tables"`
	Columns    [][]*string `json:"columns"`
	Query      [][]*string `json:"query"`
	QueryError *string     `json:"query_error"`
	Error      *string     `json:"error"`
}

// checkJDBCMetadata makes the DatabaseMetaData calls of BI tools and Spark
// (getCatalogs, getSchemas, getTables, getColumns) and a prepared
// statement's ResultSetMetaData through the real driver, connecting with
// the user=&password= form of docs/spark.md, as users who see every
// column, some columns, and nothing: each sees only what policy grants.
func (e *e2eEnv) checkJDBCMetadata(ctx context.Context, t *testing.T) {
	pyharness.Require(t, true)
	port := e.flightPort(t)
	const query = "SELECT * FROM e2e.people"
	cases := []struct {
		user    string
		columns []string // nil: sees no database, table or column
	}{
		{"ada", peopleColumns},
		{"ann", peopleColumns},
		{"cole", []string{"id", "name", "country", "amount", "dt"}},
		{"tim", []string{"id", "country", "amount", "seen"}},
		{"zed", nil},
	}
	args := []string{"--add-opens=java.base/java.nio=ALL-UNNAMED", "-cp", pyharness.JDBCJar(), filepath.Join(pyharness.ScriptsDir(), "JdbcMetadata.java")}
	for _, c := range cases {
		args = append(args, fmt.Sprintf("jdbc:arrow-flight-sql://127.0.0.1:%d/?useEncryption=false&user=%s&password=%s", port, c.user, e.tokens[c.user]), query)
	}
	cmd := exec.CommandContext(ctx, "java", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("JdbcMetadata.java: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("JdbcMetadata.java printed %d lines for %d users:\n%s\n%s", len(lines), len(cases), out, stderr.String())
	}
	for i, c := range cases {
		t.Run(c.user, func(t *testing.T) {
			var md jdbcMetadata
			if err := json.Unmarshal([]byte(lines[i]), &md); err != nil {
				t.Fatalf("line %d: %v: %s", i+1, err, lines[i])
			}
			if md.Error != nil {
				t.Fatalf("metadata calls failed: %s", *md.Error)
			}
			if got := col(md.Catalogs, 0); !slices.Equal(got, []string{"nscale"}) {
				t.Errorf("getCatalogs = %v, want [nscale]", got)
			}
			if c.columns == nil {
				if len(md.Schemas)+len(md.Tables)+len(md.Columns) != 0 {
					t.Errorf("a user without a grant sees schemas %v, tables %v, columns %v", strs(md.Schemas), strs(md.Tables), strs(md.Columns))
				}
				if md.QueryError == nil || !strings.Contains(*md.QueryError, "has no SELECT grant on e2e.people") {
					t.Errorf("preparing %q: %v, want the refusal naming no more than the grant", query, deref(md.QueryError))
				}
				return
			}
			if got := strs(md.Schemas); len(got) != 1 || !slices.Equal(got[0], []string{"e2e", "nscale"}) {
				t.Errorf("getSchemas = %v, want [[e2e nscale]]", got)
			}
			if got := strs(md.Tables); len(got) != 1 || !slices.Equal(got[0], []string{"nscale", "e2e", "people", "TABLE"}) {
				t.Errorf("getTables = %v, want [[nscale e2e people TABLE]]", got)
			}
			if got := col(md.Columns, 2); !slices.Equal(got, c.columns) {
				t.Errorf("getColumns = %v, want %v", got, c.columns)
			}
			if md.QueryError != nil {
				t.Fatalf("preparing %q: %s", query, *md.QueryError)
			}
			if got := col(md.Query, 0); !slices.Equal(got, c.columns) {
				t.Errorf("ResultSetMetaData labels = %v, want %v", got, c.columns)
			}
			// A decimal keeps its precision and scale in both places
			// (the agent's Flight SQL column metadata); a type is named.
			for _, r := range strs(md.Columns) {
				if r[2] == "amount" && (r[4] != "3" || r[5] != "12" || r[6] != "2") {
					t.Errorf("getColumns amount: JDBC type %s, size %s, digits %s; want DECIMAL (3), 12, 2", r[4], r[5], r[6])
				}
				if r[3] == "" || r[7] != "1" {
					t.Errorf("getColumns %s: type name %q, nullable %s", r[2], r[3], r[7])
				}
			}
			for _, r := range strs(md.Query) {
				if r[0] == "amount" && (r[2] != "3" || r[3] != "12" || r[4] != "2") {
					t.Errorf("ResultSetMetaData amount: type %s, precision %s, scale %s; want DECIMAL (3), 12, 2", r[2], r[3], r[4])
				}
			}
		})
	}
}

// strs turns JSON rows of nullable strings into strings (null as "").
func strs(rows [][]*string) [][]string {
	out := [][]string{}
	for _, r := range rows {
		var row []string
		for _, v := range r {
			if v == nil {
				row = append(row, "")
			} else {
				row = append(row, *v)
			}
		}
		out = append(out, row)
	}
	return out
}

// col is column i of rows.
func col(rows [][]*string, i int) []string {
	out := []string{}
	for _, r := range strs(rows) {
		if i < len(r) {
			out = append(out, r[i])
		}
	}
	return out
}
