package planner_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/catalog"
	"github.com/nscale/nscale/controlplane/planner"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

type env struct {
	pl       *planner.Planner
	verifier *taskplan.Verifier
	svc      *catalog.Service
	root     string
}

// files of sales.tx, relative to the table location, with their sizes.
var files = map[string]int{
	"dt=2024-01-01/part-0.parquet": 100,
	"dt=2024-01-02/part-0.parquet": 100,
	"dt=2024-01-02/part-1.parquet": 100,
	"dt=2024-01-03/part-0.parquet": 300,
}

func newEnv(t *testing.T, target int64) *env {
	t.Helper()
	root := t.TempDir()
	for rel, size := range files {
		p := filepath.Join(root, "tx", filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Repeat("x", size)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st := storetest.Open(t, store.SQLite)
	svc := catalog.New(catalog.Config{Store: st, Objects: &catalog.ObjectStore{LocalRoot: root}, LocalRoot: root,
		Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ddl := `
		CREATE DATABASE sales;
		CREATE EXTERNAL TABLE sales.tx (id bigint, email string, card string, country string, secret string)
			PARTITIONED BY (dt date) STORED AS PARQUET LOCATION 'file://` + root + `/tx/';
		CREATE ROLE analyst;
		GRANT SELECT (id, email, card, country, dt) ON TABLE sales.tx TO ROLE analyst WHERE dt >= '2024-01-02';
		ALTER TABLE sales.tx ALTER COLUMN email SET MASK email_domain FOR ROLE analyst;
		GRANT ROLE analyst TO USER alice;
		CREATE ROLE masker;
		GRANT SELECT (id, country, dt) ON TABLE sales.tx TO ROLE masker;
		ALTER TABLE sales.tx ALTER COLUMN dt SET MASK null FOR ROLE masker;
		GRANT ROLE masker TO USER bob;
		CREATE ROLE plain;
		GRANT SELECT (id, country, dt) ON TABLE sales.tx TO ROLE plain;
		GRANT ROLE plain TO USER carol;
		CREATE ROLE nothing;
		GRANT SELECT (id) ON TABLE sales.tx TO ROLE nothing WHERE false;
		GRANT ROLE nothing TO USER dave;
		CREATE ROLE cf1;
		CREATE ROLE cf2;
		GRANT SELECT (id, country, dt) ON TABLE sales.tx TO ROLE cf1;
		GRANT SELECT (id, card) ON TABLE sales.tx TO ROLE cf2 WHERE country = 'eu';
		GRANT ROLE cf1 TO USER eve;
		GRANT ROLE cf2 TO USER eve;
		CREATE ROLE other;
		GRANT ROLE other TO USER mallory;
	`
	if _, err := svc.Exec(context.Background(), auth.Principal{Bootstrap: true}, ddl, "req"); err != nil {
		t.Fatal(err)
	}
	id, priv, err := taskplan.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := taskplan.NewSigner(id, priv)
	if err != nil {
		t.Fatal(err)
	}
	v, err := taskplan.NewVerifier(signer.PublicKeys(), 0)
	if err != nil {
		t.Fatal(err)
	}
	pl := planner.New(planner.Config{Catalog: svc, Store: st, Signer: signer, TargetTaskBytes: target, Now: func() time.Time { return now }})
	return &env{pl: pl, verifier: v, svc: svc, root: root}
}

func (e *env) tasks(t *testing.T, user string, p *planner.Plan) []taskplan.Task {
	t.Helper()
	var out []taskplan.Task
	for _, tk := range p.Tickets {
		task, err := e.verifier.Verify(tk, now.Add(time.Minute), user)
		if err != nil {
			t.Fatalf("ticket does not verify for %s: %v", user, err)
		}
		out = append(out, task)
	}
	return out
}

func objects(tasks []taskplan.Task) []string {
	var out []string
	for _, t := range tasks {
		for _, o := range t.Objects {
			out = append(out, o.Path)
		}
	}
	sort.Strings(out)
	return out
}

func names(cols []taskplan.Column) string {
	var out []string
	for _, c := range cols {
		n := c.Name + ":" + c.Type
		if c.As != "" {
			n += " as " + c.As
		}
		if c.FilterOnly {
			n += " (filter)"
		}
		if c.Mask != nil {
			n += " mask " + c.Mask.Func
		}
		out = append(out, n)
	}
	return strings.Join(out, ",")
}

func TestPlan(t *testing.T) {
	e := newEnv(t, 0)
	all := []string{"dt=2024-01-01/part-0.parquet", "dt=2024-01-02/part-0.parquet", "dt=2024-01-02/part-1.parquet", "dt=2024-01-03/part-0.parquet"}
	for _, tc := range []struct {
		name, user, sql string
		schema          string   // output columns
		taskCols        string   // task columns ("" = same as schema)
		objects         []string // files read
		pruned          int
	}{
		{name: "star is the visible columns in table order", user: "carol", sql: "SELECT * FROM sales.tx",
			schema: "id:int64,country:string,dt:date32", objects: all},
		{name: "explicit columns in query order", user: "carol", sql: "SELECT dt, id FROM sales.tx",
			schema: "dt:date32,id:int64", objects: all},
		{name: "aliases name the schema, stored names the task", user: "carol", sql: "SELECT id AS ident, country c FROM sales.tx",
			schema: "ident:int64,c:string", taskCols: "id:int64 as ident,country:string as c", objects: all},
		{name: "user predicate prunes an unmasked partition column", user: "carol", sql: "SELECT id FROM sales.tx WHERE dt = '2024-01-02'",
			schema: "id:int64", taskCols: "id:int64,dt:date32 (filter)", objects: all[1:3], pruned: 2},
		{name: "user predicate IN and range", user: "carol", sql: "SELECT id FROM sales.tx WHERE dt IN ('2024-01-01', '2024-01-03') AND id > 5",
			schema: "id:int64", taskCols: "id:int64,dt:date32 (filter)", objects: []string{all[0], all[3]}, pruned: 2},
		{name: "OR with a non-partition column keeps every file", user: "carol", sql: "SELECT id FROM sales.tx WHERE dt = '2024-01-02' OR id = 1",
			schema: "id:int64", taskCols: "id:int64,dt:date32 (filter)", objects: all},
		{name: "IS NULL on a partition column prunes every file", user: "carol", sql: "SELECT id FROM sales.tx WHERE dt IS NULL",
			schema: "id:int64", taskCols: "id:int64,dt:date32 (filter)", pruned: 4},
		{name: "policy row filter prunes the partition column", user: "alice", sql: "SELECT id FROM sales.tx",
			schema: "id:int64", objects: all[1:], pruned: 1},
		{name: "policy filter and user predicate combine", user: "alice", sql: "SELECT id, dt FROM sales.tx WHERE dt < '2024-01-03'",
			schema: "id:int64,dt:date32", objects: all[1:3], pruned: 2},
		{name: "WHERE on a masked column not selected reads it masked, filter-only", user: "alice", sql: "SELECT id FROM sales.tx WHERE email = 'a@b.c'",
			schema: "id:int64", taskCols: "id:int64,email:string (filter) mask email_domain", objects: all[1:], pruned: 1},
		{name: "no pruning on a masked partition column", user: "bob", sql: "SELECT id, dt FROM sales.tx WHERE dt = '2024-01-01'",
			schema: "id:int64,dt:date32 mask null", objects: all, pruned: 0},
		{name: "WHERE 1=0 gives no task but the schema", user: "carol", sql: "SELECT * FROM sales.tx WHERE 1=0",
			schema: "id:int64,country:string,dt:date32"},
		{name: "FALSE policy filter gives no task", user: "dave", sql: "SELECT * FROM sales.tx",
			schema: "id:int64"},
		{name: "LIMIT 0 gives no task", user: "carol", sql: "SELECT id FROM sales.tx LIMIT 0",
			schema: "id:int64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := e.pl.Plan(context.Background(), tc.user, tc.sql)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(p.Schema); got != tc.schema {
				t.Errorf("schema = %s, want %s", got, tc.schema)
			}
			tasks := e.tasks(t, tc.user, p)
			want := tc.taskCols
			if want == "" {
				want = tc.schema
			}
			for _, task := range tasks {
				if got := names(task.Columns); got != want {
					t.Errorf("task columns = %s, want %s", got, want)
				}
			}
			if got := objects(tasks); !reflect.DeepEqual(got, tc.objects) {
				t.Errorf("objects = %v, want %v", got, tc.objects)
			}
			if p.Tasks != len(p.Tickets) {
				t.Errorf("Tasks = %d, tickets %d", p.Tasks, len(p.Tickets))
			}
			if p.PrunedFiles != tc.pruned {
				t.Errorf("PrunedFiles = %d, want %d", p.PrunedFiles, tc.pruned)
			}
			if len(tc.objects) > 0 && p.Files != 4 {
				t.Errorf("Files = %d, want 4", p.Files)
			}
		})
	}
}

func TestPlanRefusals(t *testing.T) {
	e := newEnv(t, 0)
	for _, tc := range []struct {
		name, user, sql string
		code            apierr.Code
		msg             string
	}{
		{"column not granted", "carol", "SELECT id, email FROM sales.tx", apierr.PermissionDenied, "column email is not available in sales.tx"},
		{"column that does not exist: same error", "carol", "SELECT id, nosuch FROM sales.tx", apierr.PermissionDenied, "column nosuch is not available in sales.tx"},
		{"absent column for a filtered user", "alice", "SELECT secret FROM sales.tx", apierr.PermissionDenied, "column secret is not available in sales.tx"},
		{"WHERE on a non-visible column", "carol", "SELECT id FROM sales.tx WHERE email = 'x'", apierr.PermissionDenied, "column email is not available in sales.tx"},
		{"WHERE on a non-existent column", "carol", "SELECT id FROM sales.tx WHERE nosuch = 'x'", apierr.PermissionDenied, "column nosuch is not available in sales.tx"},
		{"WHERE type error", "carol", "SELECT id FROM sales.tx WHERE id = 'abc'", apierr.InvalidArgument, ""},
		{"no grant", "mallory", "SELECT * FROM sales.tx", apierr.PermissionDenied, ""},
		{"unknown table", "carol", "SELECT * FROM sales.nosuch", apierr.PermissionDenied, "user carol has no SELECT grant on sales.nosuch"},
		{"parse error", "carol", "SELECT * FROM tx", apierr.InvalidArgument, ""},
		{"nested field", "carol", "SELECT country.x FROM sales.tx", apierr.InvalidArgument, "only struct fields can be selected"},
		{"column twice", "carol", "SELECT id, id AS j FROM sales.tx", apierr.InvalidArgument, "selected twice"},
		{"output name twice", "carol", "SELECT id AS x, country AS x FROM sales.tx", apierr.InvalidArgument, "appears twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := e.pl.Plan(context.Background(), tc.user, tc.sql)
			if err == nil {
				t.Fatalf("planned %d tasks, want %s", p.Tasks, tc.code)
			}
			if apierr.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v (%s), want %s containing %q", err, apierr.CodeOf(err), tc.code, tc.msg)
			}
		})
	}
}

// A table the user may not read and one that does not exist (in an
// existing database or not) are indistinguishable.
func TestHiddenAndMissingTablesLookAlike(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	if _, err := e.svc.Exec(ctx, auth.Principal{Bootstrap: true}, "CREATE EXTERNAL TABLE sales.hidden (id bigint) PARTITIONED BY (dt date) STORED AS PARQUET LOCATION 'file://"+e.root+"/tx/'", "req"); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, tbl := range []string{"sales.hidden", "sales.nosuch", "nosuchdb.t"} {
		_, err := e.pl.Plan(ctx, "carol", "SELECT id FROM "+tbl)
		if apierr.CodeOf(err) != apierr.PermissionDenied {
			t.Fatalf("%s: %v, want PermissionDenied", tbl, err)
		}
		msgs = append(msgs, strings.Replace(err.Error(), tbl, "T", 1))
	}
	if msgs[0] != msgs[1] || msgs[1] != msgs[2] {
		t.Fatalf("the errors tell the tables apart: %q", msgs)
	}
}

// A non-granted column and a missing one are indistinguishable.
func TestDeniedAndMissingColumnsLookAlike(t *testing.T) {
	e := newEnv(t, 0)
	_, e1 := e.pl.Plan(context.Background(), "carol", "SELECT card FROM sales.tx")
	_, e2 := e.pl.Plan(context.Background(), "carol", "SELECT cardx FROM sales.tx")
	if e1 == nil || e2 == nil || apierr.CodeOf(e1) != apierr.CodeOf(e2) ||
		strings.Replace(e1.Error(), "card", "X", 1) != strings.Replace(e2.Error(), "cardx", "X", 1) {
		t.Fatalf("errors differ: %v / %v", e1, e2)
	}
}

func TestTaskContents(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	p, err := e.pl.Plan(ctx, "alice", "SELECT id, email, dt FROM sales.tx WHERE email = 'xxxx@b.c' LIMIT 7")
	if err != nil {
		t.Fatal(err)
	}
	tasks := e.tasks(t, "alice", p)
	if len(tasks) != 1 || p.PolicyVersion == 0 {
		t.Fatalf("tasks = %d, policy version %d", len(tasks), p.PolicyVersion)
	}
	task := tasks[0]
	if task.QueryID != p.QueryID || task.Principal != "alice" || task.Table != "sales.tx" || task.Format != "parquet" ||
		!strings.HasPrefix(task.Location, "file://") || task.Limit != 7 || task.PolicyVersion != p.PolicyVersion ||
		task.PolicyHash == "" || !task.IssuedAt.Equal(now) || !task.ExpiresAt.Equal(now.Add(planner.DefaultTaskTTL)) {
		t.Errorf("task = %+v", task)
	}
	if m := task.Columns[1].Mask; m == nil || m.Func != "email_domain" {
		t.Errorf("email mask = %v", m)
	}
	if task.Columns[0].Mask != nil {
		t.Errorf("id is masked: %v", task.Columns[0].Mask)
	}
	if task.RowFilter.Expr == nil || !strings.Contains(task.RowFilter.Expr.String(), "dt") {
		t.Errorf("row filter = %v", task.RowFilter.Expr)
	}
	if task.Predicate.Expr == nil || !strings.Contains(task.Predicate.Expr.String(), "email") {
		t.Errorf("predicate = %v", task.Predicate.Expr)
	}
	for _, o := range task.Objects {
		if int(o.Size) != files[o.Path] {
			t.Errorf("object %s size %d, want %d", o.Path, o.Size, files[o.Path])
		}
	}

	// Cell filters travel with their columns.
	p, err = e.pl.Plan(ctx, "eve", "SELECT id, card FROM sales.tx")
	if err != nil {
		t.Fatal(err)
	}
	task = e.tasks(t, "eve", p)[0]
	if cf := task.Columns[1].CellFilter.Expr; cf == nil || !strings.Contains(cf.String(), "country") {
		t.Errorf("card cell filter = %v", cf)
	}
	if task.Columns[0].CellFilter.Expr != nil {
		t.Errorf("id cell filter = %v", task.Columns[0].CellFilter.Expr)
	}

	// Tickets are bound to the user.
	for _, tk := range p.Tickets {
		if _, err := e.verifier.Verify(tk, now.Add(time.Minute), "mallory"); !apierr.Is(err, apierr.PermissionDenied) {
			t.Errorf("ticket verified for another user: %v", err)
		}
	}
	// Masked partition column: WHERE is kept for the agent, on masked values.
	p, err = e.pl.Plan(ctx, "bob", "SELECT id, dt FROM sales.tx WHERE dt = '2024-01-01'")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range e.tasks(t, "bob", p) {
		if m := task.Columns[1].Mask; m == nil || m.Func != "null" {
			t.Errorf("dt mask = %v", m)
		}
		if c, ok := task.Predicate.Expr.(*sqlsubset.Compare); !ok || c.Right.(*sqlsubset.Literal).Type.ID != sqlsubset.Date32 {
			t.Errorf("predicate = %v, want dt = DATE literal", task.Predicate.Expr)
		}
	}
}

func TestGrouping(t *testing.T) {
	e := newEnv(t, 200)
	p, err := e.pl.Plan(context.Background(), "carol", "SELECT id FROM sales.tx")
	if err != nil {
		t.Fatal(err)
	}
	tasks := e.tasks(t, "carol", p)
	var groups [][]string
	ids := map[string]bool{}
	for _, task := range tasks {
		var g []string
		var size int64
		for _, o := range task.Objects {
			g = append(g, o.Path)
			size += o.Size
		}
		if size > 200 && len(g) > 1 {
			t.Errorf("task of %d bytes has %d objects", size, len(g))
		}
		groups = append(groups, g)
		ids[task.ID] = true
	}
	// 100+100 | 100 | 300 (larger than the target: alone)
	if len(tasks) != 3 || p.Tasks != 3 || len(ids) != 3 {
		t.Fatalf("tasks = %v", groups)
	}
}
