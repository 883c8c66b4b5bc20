//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/nscale/nscale/integration/jsharness"
	"github.com/nscale/nscale/integration/pyharness"
)

// pythonCases are the corpus cases (e2eCorpus, by name) that the Python
// clients run: every column type, NULLs, unicode, decimals, timestamptz, a
// struct, masks of each kind, row filters, cell filters, column grants,
// user attributes, tokenize, LIMIT, an empty result and a Spark split.
var pythonCases = []string{
	"admin sees every row and column",
	"admin filter on decimal",
	"admin timestamps with a zone",
	"admin unicode string equality and order",
	"admin IS NULL on a struct and a string",
	"admin selects struct fields (NULL where the struct is NULL)",
	"admin LIMIT",
	"admin LIMIT 0 keeps the columns",
	"admin empty result keeps the columns",
	"admin Spark split of SELECT *",
	"analyst: SELECT * with masks and a struct",
	"analyst: WHERE on a masked column not selected",
	"analyst: LIMIT",
	"Spark count: SELECT 1 with the analyst's row filter",
	"masks: SELECT * with every column mask",
	"masks: round(0) on a decimal",
	"masks: date_year on timestamptz compared as masked",
	"masks: zero and redacted struct",
	"tokenize: deterministic, one token per value, never the value",
	"column grant: SELECT * is the granted columns",
	"cell filters: SELECT *",
	"attribute: country JP, SELECT *",
	"attribute: no attribute, no rows",
}

// pyClients are the clients of integration/python/pyclients.py.
var pyClients = []string{"adbc", "pandas", "flight"}

type pyQuery struct {
	Client string `json:"client"`
	URI    string `json:"uri"`
	Token  string `json:"token"`
	SQL    string `json:"sql"`
}

type pyAnswer struct {
	Columns []jsharness.Column `json:"columns"`
	Rows    [][]any            `json:"rows"`
	Dtypes  []string           `json:"dtypes"`
	Error   *pyError           `json:"error"`
}

// pyError is a failure as the Python client reports it: the gRPC code
// (InvalidArgument, Unauthenticated, ...), the server's message with the
// client's own wrapping removed, and the client's whole text.
type pyError struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Raw       string `json:"raw"`
	Exception string `json:"exception"` // the Python exception's class
}

func (e *pyError) Error() string { return e.Code + ": " + e.Message + " (" + e.Raw + ")" }

// runPython answers qs with pyclients.py, in one process.
func runPython(ctx context.Context, t *testing.T, qs []pyQuery) []pyAnswer {
	t.Helper()
	var out struct {
		Results []pyAnswer `json:"results"`
	}
	if err := pyharness.Run(ctx, "pyclients.py", nil, map[string]any{"queries": qs}, &out); err != nil {
		t.Fatalf("pyclients.py: %v", err)
	}
	if len(out.Results) != len(qs) {
		t.Fatalf("pyclients.py answered %d of %d queries", len(out.Results), len(qs))
	}
	return out.Results
}

// transports are the agent's two listeners as client URIs.
func (e *e2eEnv) transports() map[string]string {
	return map[string]string{
		"tcp":  "grpc://" + e.flight,
		"unix": "grpc+unix://" + filepath.Join(e.dir, "agent", "agent.sock"),
	}
}

// withoutTypes is r with its column types blanked: a pandas DataFrame
// keeps the names and values, not the Arrow types.
func withoutTypes(r jsharness.Result) jsharness.Result {
	out := jsharness.Result{Rows: r.Rows}
	for _, c := range r.Columns {
		out.Columns = append(out.Columns, jsharness.Column{Name: c.Name})
	}
	return out
}

// TestPythonClients runs a subset of the end-to-end corpus through the
// Python clients data engineers use (ADBC's DB-API with Arrow and with
// pandas, and pyarrow.flight) over the agent's TCP port and its unix
// socket, and compares every answer with DuckDB's, exactly as
// TestEndToEndCorpus does; then the errors a Python user gets.
func TestPythonClients(t *testing.T) {
	pyharness.Require(t, false, "adbc_driver_flightsql.dbapi", "pyarrow.flight", "pandas")
	jsharness.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	oracles := corpusOracles(ctx, t)
	var cases []e2eCase
	for _, name := range pythonCases {
		i := indexCase(name)
		if i < 0 {
			t.Fatalf("pythonCases names %q, which is not in e2eCorpus", name)
		}
		cases = append(cases, e2eCorpus[i])
	}
	// One task per file: a query answers several endpoints, which every
	// client must read (a LIMIT query is still one task).
	e := setupE2E(t, stackOptions{cpConfig: "planner:\n  target_task_bytes: 1024\n"})
	transports := e.transports()

	// One Python process answers every (case query, client, transport).
	var qs []pyQuery
	for _, c := range cases {
		for _, sql := range c.queries() {
			for _, tr := range []string{"tcp", "unix"} {
				for _, cl := range pyClients {
					qs = append(qs, pyQuery{Client: cl, URI: transports[tr], Token: e.tokens[c.user], SQL: sql})
				}
			}
		}
	}
	begin := time.Now()
	answers := map[pyQuery]pyAnswer{}
	for i, a := range runPython(ctx, t, qs) {
		answers[qs[i]] = a
	}
	t.Logf("pyclients.py answered %d queries in %s", len(qs), time.Since(begin).Round(time.Millisecond))
	run := func(client, uri, user string) runFunc {
		return func(sql string) (jsharness.Result, error) {
			a, ok := answers[pyQuery{Client: client, URI: uri, Token: e.tokens[user], SQL: sql}]
			if !ok {
				return jsharness.Result{}, fmt.Errorf("the batch did not ask %q", sql)
			}
			if a.Error != nil {
				return jsharness.Result{}, a.Error
			}
			if a.Rows == nil {
				a.Rows = [][]any{}
			}
			return jsharness.Result{Columns: a.Columns, Rows: a.Rows}, nil
		}
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.empty != (len(oracles[c.name].Rows) == 0) {
				t.Fatalf("the oracle returned %d rows; the case says empty=%v", len(oracles[c.name].Rows), c.empty)
			}
			want, err := e.withHashes(c, oracles[c.name])
			if err != nil {
				t.Fatal(err)
			}
			for _, tr := range []string{"tcp", "unix"} {
				for _, cl := range pyClients {
					w := want
					if cl == "pandas" {
						if c.props != nil {
							// tokenize turns id into random int64s; pandas
							// stores an int64 column with NULLs as float64
							// and rounds them (docs/clients.md): see
							// "pandas rounds large integers" below.
							continue
						}
						w = withoutTypes(want)
					}
					check(t, e, c, cl+" over "+tr, run(cl, transports[tr], c.user), w)
				}
			}
		})
	}

	t.Run("pandas dtypes", func(t *testing.T) {
		a := answers[pyQuery{Client: "pandas", URI: transports["tcp"], Token: e.tokens["ada"], SQL: "SELECT * FROM e2e.people"}]
		if a.Error != nil {
			t.Fatal(a.Error)
		}
		// What docs/clients.md promises a pandas user.
		want := map[string]string{"id": "float64", "visits": "float64", "score": "float64", "name": "object",
			"amount": "object", "signup": "object", "seen": "datetime64[us, UTC]", "active": "object", "address": "object", "dt": "object"}
		for i, col := range a.Columns {
			if d, ok := want[col.Name]; ok && (i >= len(a.Dtypes) || a.Dtypes[i] != d) {
				t.Errorf("column %s has pandas dtype %v, want %s (all: %v)", col.Name, a.Dtypes, d, a.Dtypes)
			}
		}
	})

	t.Run("pandas rounds large integers", func(t *testing.T) {
		// tim's ids are tokenized into random int64s, and id has a NULL:
		// fetch_df gives float64 and loses digits, Arrow keeps them.
		sql := "SELECT id FROM e2e.people"
		got := runPython(ctx, t, []pyQuery{
			{Client: "adbc", URI: transports["tcp"], Token: e.tokens["tim"], SQL: sql},
			{Client: "pandas", URI: transports["tcp"], Token: e.tokens["tim"], SQL: sql},
		})
		for _, a := range got {
			if a.Error != nil {
				t.Fatal(a.Error)
			}
		}
		arrowIDs, pandasIDs := got[0].Rows, got[1].Rows
		if len(arrowIDs) != len(pandasIDs) || len(arrowIDs) == 0 || got[1].Dtypes[0] != "float64" {
			t.Fatalf("%d ids through Arrow, %d through pandas (dtype %v)", len(arrowIDs), len(pandasIDs), got[1].Dtypes)
		}
		differ := 0
		for i := range arrowIDs {
			if fmt.Sprint(arrowIDs[i]) != fmt.Sprint(pandasIDs[i]) {
				differ++
			}
		}
		if differ == 0 {
			t.Fatal("pandas kept every tokenized id exactly; docs/clients.md says float64 rounds them")
		}
	})

	t.Run("errors", func(t *testing.T) { e.checkPythonErrors(ctx, t) })
	t.Run("go adbc", func(t *testing.T) { e.checkGoClient(ctx, t, oracles) })
	t.Run("nscalectl query", func(t *testing.T) { e.checkNscalectlQuery(t, oracles) })
	t.Run("jdbc", func(t *testing.T) { e.checkJDBC(ctx, t, oracles) })
	t.Run("jdbc metadata", func(t *testing.T) { e.checkJDBCMetadata(ctx, t) })
	e.stop(t)
}

func indexCase(name string) int {
	for i, c := range e2eCorpus {
		if c.name == name {
			return i
		}
	}
	return -1
}

// checkPythonErrors: a refusal reaches every Python client, over both
// transports, with its gRPC code and the agent's message unchanged.
func (e *e2eEnv) checkPythonErrors(ctx context.Context, t *testing.T) {
	const bogus = "nsu_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	// The exceptions are the ones docs/clients.md lists: ADBC raises
	// ProgrammingError (vendor_code is the gRPC code), pyarrow.flight one
	// class per code.
	cases := []struct {
		name, token, sql, code, message, flightExc string
	}{
		{"ungranted column", e.tokens["tim"], "SELECT id, name FROM e2e.people", "PermissionDenied", "column name is not available in e2e.people", "FlightUnauthorizedError"},
		{"no grant", e.tokens["zed"], "SELECT id FROM e2e.people", "PermissionDenied", "user zed has no SELECT grant on e2e.people", "FlightUnauthorizedError"},
		{"unknown table", e.tokens["ada"], "SELECT id FROM e2e.nope", "NotFound", "table e2e.nope not found", "ArrowKeyError"},
		{"outside the SQL subset", e.tokens["ada"], "SELECT count(*) FROM e2e.people", "InvalidArgument", "aggregate function count() is not supported in a query at line 1, column 8", "ArrowInvalid"},
		{"bad token", bogus, "SELECT id FROM e2e.people", "Unauthenticated", "invalid user credential", "FlightUnauthenticatedError"},
		{"no token", "", "SELECT id FROM e2e.people", "Unauthenticated", `missing credential: send "authorization: Bearer <nscale token>"`, "FlightUnauthenticatedError"},
	}
	var qs []pyQuery
	for _, c := range cases {
		for _, uri := range e.transports() {
			for _, cl := range pyClients {
				qs = append(qs, pyQuery{Client: cl, URI: uri, Token: c.token, SQL: c.sql})
			}
		}
	}
	got := runPython(ctx, t, qs)
	for i, q := range qs {
		c := cases[i/(2*len(pyClients))]
		a := got[i]
		where := fmt.Sprintf("%s: %s over %s", c.name, q.Client, q.URI)
		if a.Error == nil {
			t.Errorf("%s: answered %d rows, want %s", where, len(a.Rows), c.code)
			continue
		}
		if a.Error.Code != c.code || !strings.HasPrefix(a.Error.Message, c.message) {
			t.Errorf("%s: %s %q, want %s %q", where, a.Error.Code, a.Error.Message, c.code, c.message)
		}
		exc := "ProgrammingError"
		if q.Client == "flight" {
			exc = c.flightExc
		}
		if a.Error.Exception != exc {
			t.Errorf("%s: raised %s, want %s", where, a.Error.Exception, exc)
		}
		if strings.Contains(a.Error.Raw, "goroutine") || strings.Contains(a.Error.Raw, bogus) || strings.Contains(a.Error.Raw, "X-Amz-") {
			t.Errorf("%s: the error leaks a stack, the token or a URL: %s", where, a.Error.Raw)
		}
	}
}

// --- docs/clients.md: go ---
func queryGo(ctx context.Context, addr, token, sql string, each func(arrow.RecordBatch) error) (*arrow.Schema, error) {
	// addr: 127.0.0.1:7443, or unix:///run/nscale/agent.sock
	cl, err := flightsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	info, err := cl.Execute(ctx, sql)
	if err != nil {
		return nil, err
	}
	schema, err := flight.DeserializeSchema(info.Schema, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	// One endpoint per task; each is read from the agent that planned it.
	for _, ep := range info.Endpoint {
		rdr, err := cl.DoGet(ctx, ep.Ticket)
		if err != nil {
			return nil, err
		}
		for rdr.Next() {
			if err = each(rdr.RecordBatch()); err != nil {
				break
			}
		}
		if err == nil {
			err = rdr.Err()
		}
		rdr.Release()
		if err != nil {
			return nil, err
		}
	}
	return schema, nil
}

// --- end ---

// checkGoClient runs a few cases through queryGo, the snippet of
// docs/clients.md, over both transports.
func (e *e2eEnv) checkGoClient(ctx context.Context, t *testing.T, oracles map[string]jsharness.Result) {
	for _, name := range []string{"admin sees every row and column", "masks: SELECT * with every column mask", "cell filters: SELECT *"} {
		c := e2eCorpus[indexCase(name)]
		want, err := e.withHashes(c, oracles[c.name])
		if err != nil {
			t.Fatal(err)
		}
		for tr, uri := range e.transports() {
			check(t, e, c, "go adbc over "+tr, func(sql string) (jsharness.Result, error) {
				var rows [][]any
				schema, err := queryGo(ctx, goAddr(uri), e.tokens[c.user], sql, func(rec arrow.RecordBatch) error {
					r, err := jsharness.RenderRecord(rec)
					rows = append(rows, r...)
					return err
				})
				if err != nil {
					return jsharness.Result{}, err
				}
				res, err := jsharness.FromRecords(schema)
				res.Rows = append(res.Rows, rows...)
				return res, err
			}, want)
		}
	}
	_, err := queryGo(ctx, goAddr(e.transports()["unix"]), e.tokens["tim"], "SELECT name FROM e2e.people", func(arrow.RecordBatch) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "column name is not available in e2e.people") || !strings.Contains(err.Error(), "PermissionDenied") {
		t.Errorf("go adbc: an ungranted column gives %v", err)
	}
}

// goAddr is the gRPC target of an ADBC URI (grpc://host:port,
// grpc+unix://path).
func goAddr(uri string) string {
	if path, ok := strings.CutPrefix(uri, "grpc+unix://"); ok {
		return "unix://" + path
	}
	return strings.TrimPrefix(uri, "grpc://")
}

// checkNscalectlQuery: nscalectl query over the unix socket and the port
// answers what DuckDB does (the columns here print canonically).
func (e *e2eEnv) checkNscalectlQuery(t *testing.T, oracles map[string]jsharness.Result) {
	for _, tc := range []struct{ name, agent string }{
		{"admin filter on decimal", "unix:" + filepath.Join(e.dir, "agent", "agent.sock")},
		{"analyst: WHERE on a masked column not selected", e.flight},
	} {
		c := e2eCorpus[indexCase(tc.name)]
		tokFile := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(tokFile, []byte(e.tokens[c.user]+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := runCmd(t, e.dir, nil, "nscalectl", "--token-file", tokFile, "-o", "json", "query", "--agent", tc.agent, c.sql)
		if code != 0 {
			t.Fatalf("nscalectl query --agent %s: exit %d: %s", tc.agent, code, errOut)
		}
		var objs []map[string]any
		if err := json.Unmarshal([]byte(out), &objs); err != nil {
			t.Fatalf("nscalectl -o json query: %v\n%s", err, out)
		}
		want := oracles[c.name]
		got := jsharness.Result{Columns: want.Columns, Rows: [][]any{}}
		for _, o := range objs {
			row := make([]any, len(want.Columns))
			for i, col := range want.Columns {
				v, ok := o[col.Name]
				if !ok {
					t.Fatalf("nscalectl row %v lacks column %s", o, col.Name)
				}
				row[i] = v
			}
			got.Rows = append(got.Rows, row)
		}
		if d := jsharness.Diff(want.SortRows(), got.SortRows()); d != "" || len(got.Rows) == 0 {
			t.Errorf("nscalectl query --agent %s, %s: %s (%d rows)", tc.agent, c.name, d, len(got.Rows))
		}
	}
}

// checkJDBC runs the JDBC URL forms of docs/clients.md through the Arrow
// Flight SQL JDBC driver (JdbcQuery.java, one JVM): a bearer token, the
// basic-auth handshake, and the refusals. Only columns whose getString is
// the canonical rendering (bigint, decimal, string) are compared.
func (e *e2eEnv) checkJDBC(ctx context.Context, t *testing.T, oracles map[string]jsharness.Result) {
	pyharness.Require(t, true)
	port := e.flightPort(t)
	url := func(query string) string {
		return fmt.Sprintf("jdbc:arrow-flight-sql://127.0.0.1:%d/?useEncryption=false&%s", port, query)
	}
	ann := e2eCorpus[indexCase("analyst: WHERE on a masked column not selected")]
	ada := e2eCorpus[indexCase("admin filter on decimal")]
	calls := []struct {
		url, sql string
		want     string // case name, or the start of the error
	}{
		{url("token=" + e.tokens["ann"]), ann.sql, ann.name},
		{url("user=ann&password=" + e.tokens["ann"]), ann.sql, ann.name},
		{url("token=" + e.tokens["ada"]), ada.sql, ada.name},
		{url("user=bob&password=" + e.tokens["ann"]), ann.sql, "UNAUTHENTICATED: the user name does not match the token's principal"},
		{url("token=nsu_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), ann.sql, "UNAUTHENTICATED: invalid user credential"},
		// The driver drops the code of a failed query, not its message.
		{url("token=" + e.tokens["tim"]), "SELECT id, name FROM e2e.people", `Error while executing SQL "SELECT id, name FROM e2e.people": column name is not available in e2e.people`},
	}
	args := []string{"--add-opens=java.base/java.nio=ALL-UNNAMED", "-cp", pyharness.JDBCJar(), filepath.Join(pyharness.ScriptsDir(), "JdbcQuery.java")}
	for _, c := range calls {
		args = append(args, c.url, c.sql)
	}
	cmd := exec.CommandContext(ctx, "java", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("JdbcQuery.java: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(calls) {
		t.Fatalf("JdbcQuery.java printed %d lines for %d calls:\n%s\n%s", len(lines), len(calls), out, stderr.String())
	}
	for i, c := range calls {
		var got struct {
			Columns []string `json:"columns"`
			Rows    [][]any  `json:"rows"`
			Error   *string  `json:"error"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
			t.Fatalf("JdbcQuery.java line %d: %v: %s", i+1, err, lines[i])
		}
		where := tokenRE.ReplaceAllString(c.url, "nsu_...")
		oracle, isCase := oracles[c.want]
		switch {
		case !isCase:
			if got.Error == nil || !strings.Contains(*got.Error, c.want) {
				t.Errorf("%s: %s", where, lines[i])
			}
		case got.Error != nil:
			t.Errorf("%s: %s", where, *got.Error)
		default:
			res := jsharness.Result{Columns: oracle.Columns, Rows: got.Rows}
			var names []string
			for _, col := range oracle.Columns {
				names = append(names, col.Name)
			}
			if fmt.Sprint(names) != fmt.Sprint(got.Columns) || len(got.Rows) == 0 {
				t.Errorf("%s: columns %v (%d rows), want %v", where, got.Columns, len(got.Rows), names)
			} else if d := jsharness.Diff(oracle.SortRows(), res.SortRows()); d != "" {
				t.Errorf("%s vs DuckDB: %s", where, d)
			}
		}
	}
}

var tokenRE = regexp.MustCompile(`nsu_[A-Za-z0-9_-]+`)

// snippetRE finds the blocks pyclients.py and this file copy from
// docs/clients.md, between "# --- docs/clients.md: NAME ---" (or "//") and
// "--- end ---".
var snippetRE = regexp.MustCompile(`(?s)(?:#|//) --- docs/clients\.md: (\w+) ---\n(.*?)\n[ \t]*(?:#|//) --- end ---`)

// dedent removes the indentation every non-blank line of s shares (the
// Java block sits inside its class).
func dedent(s string) string {
	lines := strings.Split(s, "\n")
	n := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if ind := len(l) - len(strings.TrimLeft(l, " ")); n < 0 || ind < n {
			n = ind
		}
	}
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			lines[i] = ""
		} else {
			lines[i] = l[n:]
		}
	}
	return strings.Join(lines, "\n")
}

// fenceRE finds the fenced code blocks of a Markdown file with their language.
var fenceRE = regexp.MustCompile("(?sm)^```(\\w+)\n(.*?)\n^```$")

// TestClientsDocSnippets: every Python and Go block of docs/clients.md is,
// character for character, a block that TestPythonClients runs.
func TestClientsDocSnippets(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "clients.md"))
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]string{
		"python": filepath.Join(pyharness.ScriptsDir(), "pyclients.py"),
		"go":     "python_test.go",
		"java":   filepath.Join(pyharness.ScriptsDir(), "JdbcQuery.java"),
	}
	for lang, path := range sources {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var blocks []string
		for _, m := range snippetRE.FindAllStringSubmatch(string(src), -1) {
			blocks = append(blocks, strings.TrimRight(dedent(m[2]), "\n"))
		}
		var fences []string
		for _, m := range fenceRE.FindAllStringSubmatch(string(doc), -1) {
			if m[1] == lang {
				fences = append(fences, strings.TrimRight(m[2], "\n"))
			}
		}
		if len(blocks) == 0 || len(fences) != len(blocks) {
			t.Errorf("docs/clients.md has %d %s blocks, %s marks %d", len(fences), lang, path, len(blocks))
			continue
		}
		for i := range blocks {
			if fences[i] != blocks[i] {
				t.Errorf("%s block %d of docs/clients.md differs from %s:\n--- doc\n%s\n--- %s\n%s", lang, i+1, path, fences[i], path, blocks[i])
			}
		}
	}
}
