//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/integration/jsharness"
	"github.com/nscale/nscale/integration/pyharness"
)

// What spark_read.py answers: per python block of docs/spark.md, its error
// or the DataFrames and ints it bound; the test's own probes; the JVM's
// arguments.
type sparkRun struct {
	Blocks  []sparkBlock `json:"blocks"`
	Probes  []sparkProbe `json:"probes"`
	JVMArgs []string     `json:"jvm_args"`
}

type sparkBlock struct {
	Name   string                `json:"name"`
	Error  *string               `json:"error"`
	Frames map[string]sparkFrame `json:"frames"`
	Values map[string]int64      `json:"values"`
}

type sparkFrame struct {
	jsharness.Result
	Partition  []int  `json:"partition"`  // the Spark partition of each row
	Partitions int    `json:"partitions"` // how many the DataFrame has
	Schema     string `json:"schema"`     // Spark's, simpleString
}

type sparkProbe struct {
	Name   string  `json:"name"`
	Error  *string `json:"error"`
	Schema *string `json:"schema"`
	Count  *int64  `json:"count"`
}

// sparkProbeReq is one of the test's own reads (not the page's code).
type sparkProbeReq struct {
	Name         string   `json:"name"`
	DBTable      string   `json:"dbtable,omitempty"`
	Query        string   `json:"query,omitempty"`
	Predicates   []string `json:"predicates,omitempty"`
	CustomSchema string   `json:"customSchema,omitempty"`
	Where        string   `json:"where,omitempty"`
}

// sparkWant is what one DataFrame (frame) or one int (value) of a block of
// docs/spark.md must be for a user: DuckDB's answer to duck, written over
// {V}, the user's view of e2e.people from the corpus (their row filter and
// masks by hand). A value is the oracle's row count.
type sparkWant struct {
	block, name string
	value       bool
	duck        string
	limit       int // the rows are limit of the oracle's (or all of them)
	split       int // the frame has split partitions: together the oracle's rows, each once
}

// The page's DataFrames and ints, by block. The oracle of each is the page's
// read written in DuckDB SQL.
const sparkEU = "SELECT id, name, email, card, country, amount, score, signup, active, visits, address.city AS city, dt FROM {V}"

var sparkWants = []sparkWant{
	{block: "split", name: "people", duck: "SELECT * FROM {V}", split: 4},
	{block: "split", name: "rich_de", duck: "SELECT id, amount FROM {V} WHERE country = 'DE' AND amount > 100000"},
	{block: "split", name: "everyone", value: true, duck: "SELECT * FROM {V}"},
	{block: "split", name: "a_few", duck: "SELECT * FROM {V}", limit: 5},
	{block: "query", name: "eu", duck: sparkEU},
	{block: "query", name: "french", duck: sparkEU + " WHERE country = 'FR' AND visits > 100"},
	{block: "query", name: "inactive", value: true, duck: "SELECT id FROM {V} WHERE NOT active"},
	{block: "query", name: "sample", duck: "SELECT id, country FROM {V}", limit: 10},
	{block: "view", name: "by_country", duck: `SELECT country, count(*) AS people, CAST(sum(amount) AS DECIMAL(22,2)) AS total
		FROM {V} WHERE dt = DATE '2024-03-02' GROUP BY country`},
}

// sparkUser is one user's run: their view, the columns the policy hashes
// (the oracle has them clear; the test hashes them), the blocks that must
// fail and with what, and probes with what each must answer.
type sparkUser struct {
	user, view string
	hashed     []string
	fails      map[string][]string // block: substrings of its error
	probes     []sparkProbeCheck
}

type sparkProbeCheck struct {
	req    sparkProbeReq
	err    []string // substrings of the error; nil: must succeed
	schema string   // Spark's schema, when it must succeed
	duck   string   // the count must be this oracle's row count (over {V})
}

// The three users of docs/spark.md: a row filter and masks (ann), a mask of
// each kind (mia), a column grant (cole).
var sparkUsers = []sparkUser{
	{user: "ann", view: annV,
		fails: map[string][]string{"split": {"UNRECOGNIZED_SQL_TYPE", "TIMESTAMP_WITH_TIMEZONE"}},
		probes: []sparkProbeCheck{
			{req: sparkProbeReq{Name: "struct column", Query: "SELECT id, address FROM e2e.people"}, err: []string{"UNRECOGNIZED_SQL_TYPE", "JAVA_OBJECT"}},
			{req: sparkProbeReq{Name: "integers without customSchema", Query: "SELECT id, visits FROM e2e.people"}, schema: "struct<id:decimal(20,0),visits:bigint>"},
			{req: sparkProbeReq{Name: "pushed LIKE", Query: "SELECT id, name FROM e2e.people", Where: "name LIKE 'Z%'"},
				err: []string{"INVALID_ARGUMENT", "LIKE ... ESCAPE is not supported"}},
			{req: sparkProbeReq{Name: "LIKE in the query text", Query: "SELECT id, name FROM e2e.people WHERE name LIKE 'Z%'", CustomSchema: "id BIGINT"},
				schema: "struct<id:bigint,name:string>", duck: "SELECT id FROM {V} WHERE name LIKE 'Z%'"},
			{req: sparkProbeReq{Name: "timestamptz filter in the query text", Query: "SELECT id FROM e2e.people WHERE seen > TIMESTAMP WITH TIME ZONE '2023-10-01 00:00:00+00'", CustomSchema: "id BIGINT"},
				schema: "struct<id:bigint>", duck: "SELECT id FROM {V} WHERE seen > TIMESTAMPTZ '2023-10-01 00:00:00+00'"},
		}},
	{user: "mia", view: miaV, hashed: []string{"email"},
		fails: map[string][]string{"split": {"UNRECOGNIZED_SQL_TYPE", "TIMESTAMP_WITH_TIMEZONE"}}},
	{user: "cole", view: coleV, hashed: []string{"name"},
		fails: map[string][]string{"query": {"UNAUTHORIZED: column email is not available in e2e.people"}},
		probes: []sparkProbeCheck{
			{req: sparkProbeReq{Name: "split of a subquery", DBTable: "(SELECT id, country FROM e2e.people) p", Predicates: []string{"_nscale_split = '0/2'", "_nscale_split = '1/2'"}},
				err: []string{"INVALID_ARGUMENT", "column _nscale_split is not in the subquery's select list"}},
		}},
}

// docsDir is the repository's docs directory, found from this file.
func docsDir(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	return filepath.Join(filepath.Dir(file), "..", "docs")
}

// TestSparkReadsDocs runs the configuration and the PySpark code of
// docs/spark.md with real Spark (local mode) and the real Flight SQL JDBC
// driver against the real stack, once per user, and compares every
// DataFrame with DuckDB's answer over the same files.
func TestSparkReadsDocs(t *testing.T) {
	pyharness.Require(t, true, "pyspark", "pyarrow", "duckdb")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	e := setupE2E(t, stackOptions{})

	// The oracles, all in one DuckDB process.
	type oracleKey struct{ user, name string }
	var sqls []string
	var keys []oracleKey
	for _, u := range sparkUsers {
		for _, w := range sparkWants {
			if _, fails := u.fails[w.block]; fails {
				continue
			}
			keys = append(keys, oracleKey{u.user, w.name})
			sqls = append(sqls, duckSQL(e.local, strings.ReplaceAll(w.duck, "{V}", u.view)))
		}
		for _, p := range u.probes {
			if p.duck != "" {
				keys = append(keys, oracleKey{u.user, "probe " + p.req.Name})
				sqls = append(sqls, duckSQL(e.local, strings.ReplaceAll(p.duck, "{V}", u.view)))
			}
		}
	}
	var duck struct {
		Results []struct {
			jsharness.Result
			Error string `json:"error"`
		} `json:"results"`
	}
	if err := pyharness.Run(ctx, "duckdb_oracle.py", nil, map[string]any{"queries": sqls}, &duck); err != nil {
		t.Fatal(err)
	}
	if len(duck.Results) != len(sqls) {
		t.Fatalf("DuckDB answered %d of %d queries", len(duck.Results), len(sqls))
	}
	oracle := map[oracleKey]jsharness.Result{}
	for i, k := range keys {
		if r := duck.Results[i]; r.Error != "" {
			t.Fatalf("DuckDB, %s %s: %s", k.user, k.name, r.Error)
		}
		oracle[k] = duck.Results[i].Result
	}

	doc := filepath.Join(docsDir(t), "spark.md")
	_, port, _ := strings.Cut(e.flight, ":")
	for _, u := range sparkUsers {
		t.Run(u.user, func(t *testing.T) {
			tokenFile := filepath.Join(t.TempDir(), u.user+".token")
			if err := os.WriteFile(tokenFile, []byte(e.tokens[u.user]+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			var probes []sparkProbeReq
			for _, p := range u.probes {
				probes = append(probes, p.req)
			}
			req := map[string]any{"doc": doc, "jar": pyharness.JDBCJar(), "agent": "localhost:" + port, "token_file": tokenFile, "probes": probes}
			begin := time.Now()
			var run sparkRun
			if err := pyharness.Run(ctx, "spark_read.py", nil, req, &run); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: Spark ran docs/spark.md in %s", u.user, time.Since(begin).Round(time.Millisecond))
			e.checkSparkRun(t, u, run, func(name string) jsharness.Result { return oracle[oracleKey{u.user, name}] })
			if u.user == "ann" {
				e.checkSparkLimit(t)
			}
		})
	}
	t.Run("audit", func(t *testing.T) { e.checkSparkAudit(t) })
}

func (e *e2eEnv) checkSparkRun(t *testing.T, u sparkUser, run sparkRun, oracle func(name string) jsharness.Result) {
	t.Helper()
	// Spark adds the --add-opens the driver needs itself; the page sets no
	// JVM option.
	if !slices.Contains(run.JVMArgs, "--add-opens=java.base/java.nio=ALL-UNNAMED") {
		t.Errorf("the Spark JVM runs without --add-opens=java.base/java.nio=ALL-UNNAMED: %v", run.JVMArgs)
	}
	blocks := map[string]sparkBlock{}
	var names []string
	for _, b := range run.Blocks {
		blocks[b.Name] = b
		names = append(names, b.Name)
	}
	if want := []string{"session", "connect", "split", "query", "view"}; !slices.Equal(names, want) {
		t.Fatalf("docs/spark.md's python blocks are %v, the test knows %v", names, want)
	}
	for _, b := range run.Blocks {
		want, fails := u.fails[b.Name]
		switch {
		case fails && b.Error == nil:
			t.Errorf("block %s ran for %s; it must fail with %q", b.Name, u.user, want)
		case fails:
			for _, s := range want {
				if !strings.Contains(*b.Error, s) {
					t.Errorf("block %s: error lacks %q:\n%s", b.Name, s, *b.Error)
				}
			}
		case b.Error != nil:
			t.Errorf("block %s failed for %s:\n%s", b.Name, u.user, *b.Error)
		}
	}
	for _, w := range sparkWants {
		if _, fails := u.fails[w.block]; fails {
			continue
		}
		b := blocks[w.block]
		want := e.hashed(t, u, oracle(w.name))
		if w.value {
			got, ok := b.Values[w.name]
			if !ok {
				t.Errorf("block %s bound no int %s", w.block, w.name)
			} else if got != int64(len(want.Rows)) || got == 0 {
				t.Errorf("%s = %d, want %d", w.name, got, len(want.Rows))
			}
			continue
		}
		got, ok := b.Frames[w.name]
		if !ok {
			t.Errorf("block %s bound no DataFrame %s", w.block, w.name)
			continue
		}
		checkSparkFrame(t, w, got, want)
	}
	for _, p := range u.probes {
		checkSparkProbe(t, p, run.Probes, oracle("probe "+p.req.Name))
	}
}

// hashed applies the user's hash masks to the oracle's clear values.
func (e *e2eEnv) hashed(t *testing.T, u sparkUser, clear jsharness.Result) jsharness.Result {
	t.Helper()
	want, err := e.withHashes(e2eCase{hash: slices.DeleteFunc(slices.Clone(u.hashed), func(c string) bool { return columnIndex(clear, c) < 0 })}, clear)
	if err != nil {
		t.Fatal(err)
	}
	return want
}

func checkSparkFrame(t *testing.T, w sparkWant, got sparkFrame, want jsharness.Result) {
	t.Helper()
	if d := jsharness.Diff(jsharness.Result{Columns: want.Columns}, jsharness.Result{Columns: got.Columns}); d != "" {
		t.Errorf("%s (Spark %s) vs DuckDB: %s", w.name, got.Schema, d)
		return
	}
	if len(want.Rows) == 0 && w.name != "french" {
		t.Errorf("%s: the oracle has no rows; the comparison proves little", w.name)
	}
	switch {
	case w.limit > 0:
		if n := min(w.limit, len(want.Rows)); len(got.Rows) != n {
			t.Errorf("%s: %d rows, want %d (of %d)", w.name, len(got.Rows), n, len(want.Rows))
		}
		if missing := notIn(got.Rows, want.Rows); missing != "" {
			t.Errorf("%s: a row the unlimited read does not have: %s", w.name, missing)
		}
	default:
		// For the split frame, equal multisets: every row once, none
		// read by two parts.
		if d := jsharness.Diff(want.SortRows(), got.Result.SortRows()); d != "" {
			t.Errorf("%s vs DuckDB: %s", w.name, d)
		}
	}
	if w.split > 0 {
		if got.Partitions != w.split || len(got.Partition) != len(got.Rows) {
			t.Fatalf("%s: %d Spark partitions (%d partition ids for %d rows), want %d", w.name, got.Partitions, len(got.Partition), len(got.Rows), w.split)
		}
		rows := map[int]int{}
		for _, p := range got.Partition {
			rows[p]++
		}
		if len(rows) < 2 {
			t.Errorf("%s: rows per part %v: the split did not divide the files", w.name, rows)
		}
	}
}

func checkSparkProbe(t *testing.T, c sparkProbeCheck, got []sparkProbe, oracle jsharness.Result) {
	t.Helper()
	i := slices.IndexFunc(got, func(p sparkProbe) bool { return p.Name == c.req.Name })
	if i < 0 {
		t.Errorf("probe %q did not run", c.req.Name)
		return
	}
	p := got[i]
	if c.err != nil {
		if p.Error == nil {
			t.Errorf("probe %q succeeded (schema %v); it must fail with %q", c.req.Name, deref(p.Schema), c.err)
			return
		}
		for _, s := range c.err {
			if !strings.Contains(*p.Error, s) {
				t.Errorf("probe %q: error lacks %q:\n%s", c.req.Name, s, *p.Error)
			}
		}
		return
	}
	if p.Error != nil {
		t.Errorf("probe %q failed:\n%s", c.req.Name, *p.Error)
		return
	}
	if deref(p.Schema) != c.schema {
		t.Errorf("probe %q: Spark's schema %s, want %s", c.req.Name, deref(p.Schema), c.schema)
	}
	if c.duck != "" && (p.Count == nil || *p.Count != int64(len(oracle.Rows)) || len(oracle.Rows) == 0) {
		t.Errorf("probe %q: count %v, want %d", c.req.Name, p.Count, len(oracle.Rows))
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// checkSparkAudit finds in the audit trail what docs/spark.md says Spark
// sends: the split's predicates, pushed filters, SELECT 1 for count(), no
// LIMIT for df.limit(n), the query option's own LIMIT honoured, and a
// schema-only plan before each executed one, and no task for Spark's
// schema probe (WHERE 1=0).
func (e *e2eEnv) checkSparkAudit(t *testing.T) {
	events := e.auditEvents(t, 1000)
	plans := map[string]map[bool]int{} // cole's statements: schema_only -> plans
	for _, ev := range events {
		if ev.Action != "query.plan" || ev.Actor != "cole" {
			continue
		}
		// Refused: his split of a subquery, and the query block (email).
		if ev.Outcome != "ok" && !strings.Contains(ev.Statement, "SELECT id, country FROM e2e.people) p") &&
			!strings.Contains(string(ev.Detail), "column email is not available") {
			t.Errorf("cole's plan of %q: %s %s", ev.Statement, ev.Outcome, ev.Detail)
		}
		// Spark pads its statements with spaces ("e2e.people  WHERE ...    ").
		stmt := strings.Join(strings.Fields(ev.Statement), " ")
		if plans[stmt] == nil {
			plans[stmt] = map[bool]int{}
		}
		plans[stmt][ev.detail(t).SchemaOnly]++
	}
	find := func(what string, match func(string) bool) string {
		t.Helper()
		for s := range plans {
			if match(s) {
				return s
			}
		}
		t.Errorf("cole's plans have no %s; they are:\n%s", what, strings.Join(slices.Sorted(func(yield func(string) bool) {
			for s := range plans {
				if !yield(s) {
					return
				}
			}
		}), "\n"))
		return ""
	}
	// Spark appends the part's predicate last, parenthesised after pushed
	// filters.
	endsWith := func(s, part string) bool { return strings.HasSuffix(strings.TrimRight(s, " )"), part) }
	for i := 0; i < 4; i++ {
		part := fmt.Sprintf("_nscale_split = '%d/4'", i)
		s := find("part "+part, func(s string) bool {
			return strings.HasPrefix(s, `SELECT "id","name","country","amount","dt" FROM e2e.people WHERE `) && endsWith(s, part)
		})
		if s != "" && (plans[s][true] == 0 || plans[s][false] == 0) {
			t.Errorf("%q: %d schema-only and %d executed plans, want both", s, plans[s][true], plans[s][false])
		}
		find("pushed filters with part "+part, func(s string) bool {
			return strings.HasPrefix(s, `SELECT "id","amount" FROM e2e.people WHERE `) && strings.Contains(s, `("country" = 'DE')`) &&
				strings.Contains(s, `("amount" > 100000`) && endsWith(s, part)
		})
		find("count of part "+part, func(s string) bool {
			return strings.HasPrefix(s, "SELECT 1 FROM e2e.people") && endsWith(s, part)
		})
	}
	probes := 0
	for _, ev := range events {
		if ev.Action == "query.plan" && ev.Actor == "cole" && ev.Statement == "SELECT * FROM e2e.people WHERE 1=0" {
			probes++
			if d := ev.detail(t); ev.Outcome != "ok" || (d.Tasks != nil && *d.Tasks != 0) {
				t.Errorf("Spark's schema probe of e2e.people: %s, %v tasks (%s); want ok and no task", ev.Outcome, deref(d.Tasks), ev.Detail)
			}
		}
	}
	if probes == 0 {
		t.Error("cole's plans have no schema probe SELECT * FROM e2e.people WHERE 1=0")
	}
	for s := range plans {
		if strings.Contains(strings.ToUpper(s), "LIMIT") {
			t.Errorf("df.limit(5) reached nscale as %q; docs/spark.md says Spark does not push it", s)
		}
	}

}

// checkSparkLimit: ann's query option with LIMIT 10 reaches nscale, which
// stops at 10 rows. Run right after ann's run, while her events are among
// the newest the audit API pages.
func (e *e2eEnv) checkSparkLimit(t *testing.T) {
	var qid string
	for _, ev := range e.auditEvents(t, 1000) {
		if ev.Action == "query.plan" && ev.Actor == "ann" && strings.Contains(ev.Statement, "(SELECT id, country FROM e2e.people LIMIT 10) SPARK_GEN_SUBQ_") &&
			!strings.Contains(ev.Statement, "1=0") && !ev.detail(t).SchemaOnly {
			qid = ev.detail(t).QueryID
		}
	}
	if qid == "" {
		t.Fatal("no executed plan of ann's query with LIMIT 10")
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var rows int64
		reads := 0
		for _, ev := range e.auditEvents(t, 1000) {
			if ev.Action == "task.read" && ev.RequestID == qid {
				reads++
				if d := ev.detail(t); d.RowsReturned != nil {
					rows += *d.RowsReturned
				}
			}
		}
		if reads > 0 && rows == 10 {
			return
		}
		if time.Now().After(deadline) {
			var seen []string
			for _, ev := range e.auditEvents(t, 1000) {
				if ev.Actor == "ann" && (ev.Action == "task.read" || strings.Contains(ev.Statement, "LIMIT 10")) {
					seen = append(seen, fmt.Sprintf("%s %s %q %s", ev.Action, ev.RequestID, ev.Statement, ev.Detail))
				}
			}
			t.Fatalf("ann's LIMIT 10 query %s: %d task reads returned %d rows, want 10; ann's events:\n%s", qid, reads, rows, strings.Join(seen, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
