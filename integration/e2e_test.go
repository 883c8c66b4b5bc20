//go:build integration

package integration

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
	"github.com/nscale/nscale/integration/jsharness"
)

// e2eEnv is a running stack with e2e.people loaded, its policies set, the
// users' tokens, and the local copy DuckDB reads.
type e2eEnv struct {
	*stack
	local  string // local copy root of e2e.people
	tokens map[string]string
	// tokensSeen maps a column and a clear value to its token, and back,
	// across the queries and clients of one deployment (one masking key).
	tokensSeen map[string]string
}

// e2ePolicy is set once; each corpus case names its user. Who sees what
// (the oracle of every case writes this out by hand in DuckDB SQL):
//
//	ada   catalog_admin: every row and column, unmasked
//	ann   role analyst: rows of DE, FR, ES, IE; email email_domain and card
//	      show_last(4) (column masks beat the pii tag policy); name clear
//	      (UNMASK on tag pii.name); signup date_year (tag policy)
//	mia   every row; column masks for her: name show_first(2), card redact,
//	      amount round(0), score round(1), signup null, seen date_year,
//	      active redact, visits zero, address redact; email hash (tag policy)
//	tim   columns id, country, amount, seen; id and country tokenized
//	cole  columns id, name, country, amount, dt only; name hash (tag policy)
//	cel   two grants with different filters on different columns: rows of DE
//	      or FR; email (hash) and amount only where DE, card (clear: UNMASK
//	      on the column) and visits only where FR, NULL elsewhere
//	una   role support: rows WHERE active; UNMASK on tag pii; signup date_year
//	dora, jun, nob  role local: rows WHERE country = user_attribute('country')
//	      with country DE, JP and none (no rows); pii hashed, signup date_year
//	zed   no grant at all
const e2ePolicy = `
GRANT ROLE catalog_admin TO USER ada;

ALTER TABLE e2e.people ALTER COLUMN name SET TAGS ('pii.name');
ALTER TABLE e2e.people ALTER COLUMN email SET TAGS ('pii.email');
ALTER TABLE e2e.people ALTER COLUMN card SET TAGS ('pii.card');
ALTER TABLE e2e.people ALTER COLUMN signup SET TAGS ('personal.dob');
CREATE TAG POLICY pii_hash ON TAG 'pii' MASK hash;
CREATE TAG POLICY dob_year ON TAG 'personal' MASK date_year;

CREATE ROLE analyst;
GRANT SELECT ON TABLE e2e.people TO ROLE analyst WHERE country IN ('DE', 'FR', 'ES', 'IE');
ALTER TABLE e2e.people ALTER COLUMN email SET MASK email_domain FOR ROLE analyst;
ALTER TABLE e2e.people ALTER COLUMN card SET MASK show_last(4) FOR ROLE analyst;
GRANT UNMASK ON TAG 'pii.name' TO ROLE analyst;
GRANT ROLE analyst TO USER ann;

GRANT SELECT ON TABLE e2e.people TO USER mia;
ALTER TABLE e2e.people ALTER COLUMN name SET MASK show_first(2) FOR USER mia;
ALTER TABLE e2e.people ALTER COLUMN card SET MASK redact FOR USER mia;
ALTER TABLE e2e.people ALTER COLUMN amount SET MASK round(0) FOR USER mia;
ALTER TABLE e2e.people ALTER COLUMN score SET MASK round(1) FOR USER mia;
ALTER TABLE e2e.people ALTER COLUMN signup SET MASK null FOR USER mia;
ALTER TABLE e2e.people ALTER COLUMN seen SET MASK date_year FOR USER mia;
ALTER TABLE e2e.people ALTER COLUMN active SET MASK redact FOR USER mia;
ALTER TABLE e2e.people ALTER COLUMN visits SET MASK zero FOR USER mia;
ALTER TABLE e2e.people ALTER COLUMN address SET MASK redact FOR USER mia;

GRANT SELECT (id, country, amount, seen) ON TABLE e2e.people TO USER tim;
ALTER TABLE e2e.people ALTER COLUMN id SET MASK tokenize FOR USER tim;
ALTER TABLE e2e.people ALTER COLUMN country SET MASK tokenize FOR USER tim;

GRANT SELECT (id, name, country, amount, dt) ON TABLE e2e.people TO USER cole;

GRANT SELECT (id, country, email, amount) ON TABLE e2e.people TO USER cel WHERE country = 'DE';
GRANT SELECT (id, country, card, visits) ON TABLE e2e.people TO USER cel WHERE country = 'FR';
GRANT UNMASK ON COLUMN e2e.people.card TO USER cel;

CREATE ROLE support;
GRANT SELECT ON TABLE e2e.people TO ROLE support WHERE active;
GRANT UNMASK ON TAG 'pii' TO ROLE support;
GRANT ROLE support TO USER una;

CREATE ROLE local;
GRANT SELECT ON TABLE e2e.people TO ROLE local WHERE country = user_attribute('country');
GRANT ROLE local TO USER dora, USER jun, USER nob;
`

// e2eAttributes are set with nscalectl users set-attribute.
var e2eAttributes = [][2]string{{"dora", "country=DE"}, {"jun", "country=JP"}}

var e2eUsers = []string{"ada", "ann", "mia", "tim", "cole", "cel", "una", "dora", "jun", "nob", "zed"}

func setupE2E(t *testing.T, o stackOptions) *e2eEnv {
	t.Helper()
	jsharness.Require(t)
	s := startStack(t, o)
	local := filepath.Join(s.dir, "local", "people")
	for rel, body := range writePeople(t, local) {
		s.s3.PutObject(t, "lake", "e2e/people/"+rel, body)
	}
	s.admin(t, peopleDDL+e2ePolicy)
	for _, a := range e2eAttributes {
		if _, errOut, code := s.ctl(t, s.adminFile, "users", "set-attribute", a[0], a[1]); code != 0 {
			t.Fatalf("set-attribute %s %s: exit %d: %s", a[0], a[1], code, errOut)
		}
	}
	e := &e2eEnv{stack: s, local: local, tokens: map[string]string{}, tokensSeen: map[string]string{}}
	for _, u := range e2eUsers {
		e.tokens[u] = s.token(t, u)
	}
	return e
}

// duckPrelude defines the masks as DuckDB macros, written from docs/masks.md:
// lengths and positions count characters (code points), as the masks do.
const duckPrelude = `SET TimeZone = 'UTC';
CREATE MACRO show_first(s, n) AS CASE WHEN length(s) <= n THEN s ELSE left(s, n) || repeat('x', length(s) - n) END;
CREATE MACRO show_last(s, n) AS CASE WHEN length(s) <= n THEN s ELSE repeat('x', length(s) - n) || right(s, n) END;
CREATE MACRO email_domain(s) AS CASE WHEN s IS NULL THEN NULL WHEN strpos(s, '@') = 0 THEN 'xxxx'
  ELSE 'xxxx' || regexp_extract(s, '(@[^@]*)$', 1) END;
CREATE MACRO redact_str(s) AS CASE WHEN s IS NULL THEN NULL ELSE 'xxxx' END;
CREATE MACRO year_of(d) AS CAST(date_trunc('year', d) AS DATE);
CREATE MACRO year_tz(ts) AS date_trunc('year', ts);
`

// duckSQL replaces the table name {P} in sql with the local copy under
// local and puts the mask macros before it.
func duckSQL(local, sql string) string {
	src := "read_parquet(" + jsharness.SQLString(local+"/**/*.parquet") + ", hive_partitioning = true)"
	return duckPrelude + strings.ReplaceAll(sql, "{P}", src)
}

// e2eCase is one (policy, user, query) case. The oracle is duck, run by
// DuckDB over the unmasked local copy with the user's filters and masks
// written out by hand; its result must equal nscale's (rows sorted).
type e2eCase struct {
	name, user, sql string
	duck            string   // DuckDB SQL over {P}
	hash            []string // output columns nscale hashes: the oracle gives the clear value, the test hashes it (docs/masks.md)
	limit           int      // the query has LIMIT n: n (or all) rows, each one of the oracle's (duck has no LIMIT)
	empty           bool     // the oracle returns no rows on purpose
	split           int      // sql holds {SPLIT}: the n parts 'i/n' together return the oracle's rows, none twice
	// props replaces equality for masks whose output is checked by its
	// properties (tokenize): want is the oracle over clear values.
	props func(t *testing.T, e *e2eEnv, want, got jsharness.Result)
}

// queries are the SQL texts the case sends: one, or its split parts.
func (c e2eCase) queries() []string {
	if c.split == 0 {
		return []string{c.sql}
	}
	var out []string
	for i := 0; i < c.split; i++ {
		out = append(out, strings.ReplaceAll(c.sql, "{SPLIT}", fmt.Sprintf("'%d/%d'", i, c.split)))
	}
	return out
}

// hashString is the documented hash mask: lowercase hex of
// HMAC-SHA256(HMAC-SHA256(K, "nscale mask v1 hash"), value).
func hashString(key []byte, v string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("nscale mask v1 hash"))
	sub := m.Sum(nil)
	m = hmac.New(sha256.New, sub)
	m.Write([]byte(v))
	return hex.EncodeToString(m.Sum(nil))
}

// corpusOracles asks DuckDB every case's oracle, in one process, over a
// local copy of e2e.people (the same bytes every stack uploads). The
// answers do not depend on the deployment; hashes are applied per
// deployment (withHashes).
func corpusOracles(ctx context.Context, t *testing.T) map[string]jsharness.Result {
	t.Helper()
	local := filepath.Join(t.TempDir(), "people")
	writePeople(t, local)
	sqls := make([]string, len(e2eCorpus))
	for i, c := range e2eCorpus {
		sqls[i] = duckSQL(local, c.duck)
	}
	res, errs, err := jsharness.DuckDBBatch(ctx, sqls)
	if err != nil {
		t.Fatalf("DuckDB: %v", err)
	}
	out := map[string]jsharness.Result{}
	for i, c := range e2eCorpus {
		if _, dup := out[c.name]; dup {
			t.Fatalf("two cases are named %q", c.name)
		}
		if errs[i] != nil {
			t.Errorf("DuckDB, case %q: %v", c.name, errs[i])
		}
		out[c.name] = res[i]
	}
	if t.Failed() {
		t.FailNow()
	}
	return out
}

// withHashes returns the oracle with the case's hash columns hashed under
// this deployment's masking key.
func (e *e2eEnv) withHashes(c e2eCase, clear jsharness.Result) (jsharness.Result, error) {
	want := jsharness.Result{Columns: clear.Columns, Rows: make([][]any, len(clear.Rows))}
	for i, r := range clear.Rows {
		want.Rows[i] = append([]any(nil), r...)
	}
	for _, h := range c.hash {
		col := columnIndex(want, h)
		if col < 0 {
			return want, fmt.Errorf("hash column %s is not in the oracle's result", h)
		}
		for _, row := range want.Rows {
			if s, ok := row[col].(string); ok {
				row[col] = hashString(e.maskKey, s)
			}
		}
	}
	return want, nil
}

func columnIndex(r jsharness.Result, name string) int {
	for i, c := range r.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// runFunc answers one query of a case for the case's user.
type runFunc func(sql string) (jsharness.Result, error)

// rustAnswers runs every query of the corpus through the Rust client in
// one batch (sequentially, one process) and returns a runFunc per user
// that looks the answers up.
func (e *e2eEnv) rustAnswers(ctx context.Context, t *testing.T) func(user string) runFunc {
	t.Helper()
	host, _, _ := strings.Cut(e.flight, ":")
	p := e.flightPort(t)
	type answer struct {
		res jsharness.Result
		err error
	}
	var qs []jsharness.FlightQuery
	var keys []string
	for _, c := range e2eCorpus {
		for _, sql := range c.queries() {
			qs = append(qs, jsharness.FlightQuery{Token: e.tokens[c.user], SQL: sql})
			keys = append(keys, c.user+"\x00"+sql)
		}
	}
	res, errs, err := jsharness.FlightSQLBatch(ctx, host, p, qs)
	if err != nil {
		t.Fatalf("Rust client: %v", err)
	}
	answers := map[string]answer{}
	for i, k := range keys {
		answers[k] = answer{res[i], errs[i]}
	}
	return func(user string) runFunc {
		return func(sql string) (jsharness.Result, error) {
			a, ok := answers[user+"\x00"+sql]
			if !ok {
				return jsharness.Result{}, fmt.Errorf("the batch did not ask %q", sql)
			}
			return a.res, a.err
		}
	}
}

// check compares what run answers for case c with want.
func check(t *testing.T, e *e2eEnv, c e2eCase, client string, run runFunc, want jsharness.Result) {
	t.Helper()
	sameColumns := func(what string, got jsharness.Result) {
		t.Helper()
		if d := jsharness.Diff(jsharness.Result{Columns: want.Columns}, jsharness.Result{Columns: got.Columns}); d != "" {
			t.Fatalf("%s%s: %s", client, what, d)
		}
	}
	if c.split > 0 {
		union := jsharness.Result{Columns: want.Columns, Rows: [][]any{}}
		nonEmpty := 0
		for _, sql := range c.queries() {
			got, err := run(sql)
			if err != nil {
				t.Fatalf("%s: %s: %v", client, sql, err)
			}
			sameColumns(" "+sql, got)
			if len(got.Rows) > 0 {
				nonEmpty++
			}
			union.Rows = append(union.Rows, got.Rows...)
		}
		// Equal multisets: every row once, none read by two parts.
		if d := jsharness.Diff(want.SortRows(), union.SortRows()); d != "" {
			t.Fatalf("%s: union of the %d parts vs DuckDB: %s", client, c.split, d)
		}
		if nonEmpty < 2 {
			t.Fatalf("%s: only %d of %d parts returned rows; the split did not divide the files", client, nonEmpty, c.split)
		}
		return
	}
	got, err := run(c.sql)
	if err != nil {
		t.Fatalf("%s: %v", client, err)
	}
	switch {
	case c.props != nil:
		c.props(t, e, want, got)
	case c.limit > 0:
		sameColumns("", got)
		if n := min(c.limit, len(want.Rows)); len(got.Rows) != n {
			t.Fatalf("%s: LIMIT %d returned %d rows, want %d (of %d)", client, c.limit, len(got.Rows), n, len(want.Rows))
		}
		if missing := notIn(got.Rows, want.Rows); missing != "" {
			t.Fatalf("%s: LIMIT returned a row the unlimited query does not have: %s", client, missing)
		}
	default:
		if d := jsharness.Diff(want.SortRows(), got.SortRows()); d != "" {
			t.Fatalf("%s vs DuckDB: %s", client, d)
		}
	}
}

// notIn returns the first row of sub (as JSON) that all does not hold, each
// row of all matching at most once, or "".
func notIn(sub, all [][]any) string {
	left := map[string]int{}
	for _, r := range all {
		b, _ := json.Marshal(r)
		left[string(b)]++
	}
	for _, r := range sub {
		b, _ := json.Marshal(r)
		if left[string(b)] == 0 {
			return string(b)
		}
		left[string(b)]--
	}
	return ""
}

// e2eDialects are the control plane's store dialects the corpus runs on.
// PostgreSQL and MariaDB get a fresh database (storetest) on the test
// process's own server (internal/dbtest), dropped after the test; a server
// that cannot be had skips, or fails under CI=true.
var e2eDialects = []struct {
	name string
	opts func(t *testing.T) stackOptions
}{
	{"sqlite", func(t *testing.T) stackOptions { return stackOptions{} }},
	{"postgres", func(t *testing.T) stackOptions {
		cfg := storetest.Config(t, store.Postgres)
		return stackOptions{cpArgs: []string{"--store-dialect", "postgres", "--store-dsn", cfg.DSN}}
	}},
	{"mysql", func(t *testing.T) stackOptions {
		cfg := storetest.Config(t, store.MySQL)
		return stackOptions{cpArgs: []string{"--store-dialect", "mysql", "--store-dsn", cfg.DSN}}
	}},
}

// TestEndToEndCorpus runs every case of e2eCorpus on a control plane over
// each store dialect, through the ADBC Go driver and the Rust client, and
// compares each answer with DuckDB's.
func TestEndToEndCorpus(t *testing.T) {
	jsharness.Require(t)
	t.Parallel() // with TestAttacks, which mostly waits for a ticket to expire
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	oracles := corpusOracles(ctx, t)
	for _, d := range e2eDialects {
		t.Run(d.name, func(t *testing.T) {
			e := setupE2E(t, d.opts(t))
			if m := e.cp.waitLog(t, "control plane starting", time.Second); m["store"] != d.name {
				t.Fatalf("the control plane runs on store %v, want %s", m["store"], d.name)
			}
			rust := e.rustAnswers(ctx, t)
			for _, c := range e2eCorpus {
				t.Run(c.name, func(t *testing.T) {
					if c.empty != (len(oracles[c.name].Rows) == 0) {
						t.Fatalf("the oracle returned %d rows; the case says empty=%v", len(oracles[c.name].Rows), c.empty)
					}
					want, err := e.withHashes(c, oracles[c.name])
					if err != nil {
						t.Fatal(err)
					}
					token := e.tokens[c.user]
					if token == "" {
						t.Fatalf("no token for user %s", c.user)
					}
					check(t, e, c, "adbc", func(sql string) (jsharness.Result, error) { return e.adbcQuery(ctx, token, sql) }, want)
					check(t, e, c, "rust", rust(c.user), want)
				})
			}
			t.Run("audit", func(t *testing.T) { e.checkCorpusAudit(ctx, t) })
			t.Run("metadata", func(t *testing.T) { e.checkMetadata(ctx, t) })
			t.Run("tickets are opaque", func(t *testing.T) { e.checkOpaqueTickets(ctx, t) })
			e.stop(t)
		})
	}
}

// auditEvents reads the newest n audit events as the bootstrap admin.
func (s *stack) auditEvents(t *testing.T, n int) []auditEvent {
	t.Helper()
	out, errOut, code := s.ctl(t, s.adminFile, "-o", "json", "audit", "--limit", fmt.Sprint(n))
	if code != 0 {
		t.Fatalf("nscalectl audit: exit %d: %s", code, errOut)
	}
	var list struct {
		Events []auditEvent `json:"events"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("nscalectl -o json audit: %v\n%s", err, out)
	}
	return list.Events
}

type auditEvent struct {
	Actor     string          `json:"actor"`
	Action    string          `json:"action"`
	Target    string          `json:"target"`
	Outcome   string          `json:"outcome"`
	Statement string          `json:"statement"`
	Detail    json.RawMessage `json:"detail"`
	RequestID string          `json:"request_id"`
}

// auditDetail is the part of query.plan and task.read details the tests read.
type auditDetail struct {
	QueryID      string            `json:"query_id"`
	SchemaOnly   bool              `json:"schema_only"`
	Tasks        *int              `json:"tasks"`
	Files        *int              `json:"files"`
	PrunedFiles  *int              `json:"pruned_files"`
	RowsReturned *int64            `json:"rows_returned"`
	Objects      *int64            `json:"objects"`
	Masks        map[string]string `json:"masks"`
	RowFilter    string            `json:"row_filter"`
	Predicate    string            `json:"predicate"`
	Code         string            `json:"code"`
	Message      string            `json:"message"`
}

func (ev auditEvent) detail(t *testing.T) auditDetail {
	t.Helper()
	var d auditDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		t.Fatalf("audit detail %s: %v", ev.Detail, err)
	}
	return d
}

// planAudit finds the newest query.plan event of user for sql and the
// task.read events of its query, waiting for the agent's reports (they are
// sent in the background after the stream ends) until wantTasks are there.
func (s *stack) planAudit(t *testing.T, user, sql string, wantTasks int) (auditEvent, []auditEvent) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var plan *auditEvent
		var reads []auditEvent
		events := s.auditEvents(t, 1000)
		for i := range events {
			ev := events[i]
			if plan == nil && ev.Action == "query.plan" && ev.Actor == user && ev.Statement == sql && !ev.detail(t).SchemaOnly {
				plan = &events[i]
			}
		}
		if plan != nil {
			qid := plan.detail(t).QueryID
			for _, ev := range events {
				if ev.Action == "task.read" && qid != "" && ev.RequestID == qid {
					reads = append(reads, ev)
				}
			}
			if len(reads) >= wantTasks {
				return *plan, reads
			}
		}
		if time.Now().After(deadline) {
			if plan == nil {
				t.Fatalf("no query.plan event of %s for %q", user, sql)
			}
			t.Fatalf("query %s: %d task.read events, want %d", plan.RequestID, len(reads), wantTasks)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkCorpusAudit runs a few queries once more and finds them in the
// audit trail: the plan with its pruning, and the task reads with the
// user, table, rows returned and masks.
func (e *e2eEnv) checkCorpusAudit(ctx context.Context, t *testing.T) {
	// Every corpus query is allowed: no plan may be audited as refused or
	// failed, schema probes (the Rust client prepares each query) included.
	plans := 0
	for _, ev := range e.auditEvents(t, 1000) {
		if ev.Action != "query.plan" {
			continue
		}
		plans++
		if ev.Outcome != "ok" {
			t.Errorf("query.plan of %s for %q: %s %s", ev.Actor, ev.Statement, ev.Outcome, ev.Detail)
		}
	}
	if plans < len(e2eCorpus) {
		t.Errorf("%d query.plan events for %d cases", plans, len(e2eCorpus))
	}
	for _, q := range []struct {
		user, sql string
		masks     map[string]string
		pruned    int
		filter    string // part of the row filter
	}{
		{"ann", "SELECT id, email, card FROM e2e.people WHERE visits > -1000", map[string]string{"email": "email_domain", "card": "show_last(4)"}, 0, "country IN"},
		{"mia", "SELECT name, email, amount, address FROM e2e.people WHERE score > 0", map[string]string{"name": "show_first(2)", "email": "hash", "amount": "round(0)", "address": "redact", "score": "round(1)"}, 0, ""},
		{"ada", `SELECT "id", "dt" FROM e2e.people WHERE "dt" = '2024-03-02'`, map[string]string{}, 2, ""},
		{"dora", "SELECT id, name FROM e2e.people", map[string]string{"name": "hash"}, 0, "country = 'DE'"},
	} {
		got, err := e.adbcQuery(ctx, e.tokens[q.user], q.sql)
		if err != nil {
			t.Fatalf("%s: %s: %v", q.user, q.sql, err)
		}
		plan, reads := e.planAudit(t, q.user, q.sql, 1)
		pd := plan.detail(t)
		if plan.Outcome != "ok" || plan.Target != "table e2e.people" || pd.PrunedFiles == nil || *pd.PrunedFiles != q.pruned || pd.Files == nil || *pd.Files != 4 {
			t.Errorf("%s: query.plan event %+v detail %s: want ok on table e2e.people, 4 files, %d pruned", q.user, plan, plan.Detail, q.pruned)
		}
		var rows int64
		for _, r := range reads {
			d := r.detail(t)
			if r.Actor != q.user || r.Target != "table e2e.people" || r.Outcome != "ok" || d.RowsReturned == nil {
				t.Errorf("%s: task.read event %+v", q.user, r)
				continue
			}
			rows += *d.RowsReturned
			if fmt.Sprint(d.Masks) != fmt.Sprint(q.masks) {
				t.Errorf("%s: task.read masks %v, want %v", q.user, d.Masks, q.masks)
			}
			if !strings.Contains(d.RowFilter, q.filter) || (q.filter == "") != (d.RowFilter == "") {
				t.Errorf("%s: task.read row filter %q, want one with %q", q.user, d.RowFilter, q.filter)
			}
		}
		if len(reads) != *pd.Tasks || rows != int64(len(got.Rows)) || rows == 0 {
			t.Errorf("%s: %d task.read events for %d tasks, %d rows returned in the audit, %d received", q.user, len(reads), *pd.Tasks, rows, len(got.Rows))
		}
	}
}

// checkMetadata: the Flight SQL metadata commands through the Rust client
// answer from the catalog as each user may see it.
func (e *e2eEnv) checkMetadata(ctx context.Context, t *testing.T) {
	port := e.flightPort(t)
	for _, tc := range []struct {
		user           string
		schemas, table []any
	}{
		{"ada", []any{"e2e"}, []any{"nscale", "e2e", "people", "TABLE"}},
		{"tim", []any{"e2e"}, []any{"nscale", "e2e", "people", "TABLE"}},
		{"zed", nil, nil},
	} {
		req := jsharness.FlightRequest{Host: "127.0.0.1", Port: port, Token: e.tokens[tc.user], Op: "getDbSchemas"}
		got, err := jsharness.FlightSQL(ctx, req)
		if err != nil {
			t.Fatalf("%s getDbSchemas: %v", tc.user, err)
		}
		var schemas []any
		for _, r := range got.Rows {
			schemas = append(schemas, r[1])
		}
		if !reflect.DeepEqual(schemas, tc.schemas) {
			t.Errorf("%s sees databases %v, want %v", tc.user, schemas, tc.schemas)
		}
		req.Op = "getTables"
		got, err = jsharness.FlightSQL(ctx, req)
		if err != nil {
			t.Fatalf("%s getTables: %v", tc.user, err)
		}
		switch {
		case tc.table == nil && len(got.Rows) != 0:
			t.Errorf("%s sees tables %v, want none", tc.user, got.Rows)
		case tc.table != nil && (len(got.Rows) != 1 || !reflect.DeepEqual(got.Rows[0], tc.table)):
			t.Errorf("%s sees tables %v, want %v", tc.user, got.Rows, tc.table)
		}
	}
}
