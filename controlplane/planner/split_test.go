package planner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/planner"
	"github.com/nscale/nscale/internal/apierr"
)

// Every part of a split reads disjoint files, and the parts together read
// exactly the files of the unsplit query, also combined with a filter in
// the shape Spark sends ((pushed filters) AND (predicate)).
func TestSplitPartsAreDisjointAndComplete(t *testing.T) {
	e := newEnv(t, 1) // one file per task
	ctx := context.Background()
	for _, base := range []string{
		"SELECT id FROM sales.tx",
		`SELECT "id" FROM sales.tx WHERE ("dt" >= '2024-01-02')`,
	} {
		whole, err := e.pl.Plan(ctx, "carol", base)
		if err != nil {
			t.Fatal(err)
		}
		want := objects(e.tasks(t, "carol", whole))
		for _, n := range []int{1, 2, 3, 7} {
			var got []string
			for i := 0; i < n; i++ {
				sql := fmt.Sprintf("%s WHERE %s = '%d/%d'", base, planner.SplitColumn, i, n)
				if strings.Contains(base, "WHERE") {
					sql = fmt.Sprintf("%s AND (%s = '%d/%d')", base, planner.SplitColumn, i, n)
				}
				p, err := e.pl.Plan(ctx, "carol", sql)
				if err != nil {
					t.Fatalf("%s: %v", sql, err)
				}
				got = append(got, objects(e.tasks(t, "carol", p))...)
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%q split %d ways reads %v, want each of %v once", base, n, got, want)
			}
		}
	}
}

func TestSplitRefusals(t *testing.T) {
	e := newEnv(t, 0)
	for _, where := range []string{
		"_nscale_split = '3/3'",
		"_nscale_split = '0/0'",
		"_nscale_split = 'a/b'",
		"_nscale_split = 1",
		"_nscale_split <> '0/2'",
		"_nscale_split = '0/2' OR id = 1",
		"NOT (_nscale_split = '0/2')",
		"_nscale_split = '0/2' AND _nscale_split = '1/2'",
		"_nscale_split = '0/200000'",
	} {
		_, err := e.pl.Plan(context.Background(), "carol", "SELECT id FROM sales.tx WHERE "+where)
		if !apierr.Is(err, apierr.InvalidArgument) || !strings.Contains(err.Error(), planner.SplitColumn) {
			t.Errorf("WHERE %s: err = %v, want INVALID_ARGUMENT naming %s", where, err, planner.SplitColumn)
		}
	}
}

// Stream hands out the header first, then each ticket; SchemaOnly signs
// nothing.
func TestStream(t *testing.T) {
	e := newEnv(t, 1)
	ctx := context.Background()
	var events []string
	p, err := e.pl.Stream(ctx, "carol", "SELECT id FROM sales.tx", planner.Options{},
		func(p *planner.Plan) error { events = append(events, "header:"+names(p.Schema)); return nil },
		func([]byte) error { events = append(events, "ticket"); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"header:id:int64", "ticket", "ticket", "ticket", "ticket"}
	if !reflect.DeepEqual(events, want) || p.Tasks != 4 || p.Tickets != nil {
		t.Fatalf("events %v, Tasks %d, want %v and 4", events, p.Tasks, want)
	}
	events = nil
	p, err = e.pl.Stream(ctx, "carol", "SELECT id FROM sales.tx", planner.Options{SchemaOnly: true},
		func(p *planner.Plan) error { events = append(events, "header"); return nil },
		func([]byte) error { events = append(events, "ticket"); return nil })
	if err != nil || !reflect.DeepEqual(events, []string{"header"}) || p.Tasks != 0 {
		t.Fatalf("schema only: %v, events %v", err, events)
	}
	stop := fmt.Errorf("client went away")
	if _, err := e.pl.Stream(ctx, "carol", "SELECT id FROM sales.tx", planner.Options{}, nil,
		func([]byte) error { return stop }); err != stop {
		t.Fatalf("a ticket sink error: got %v", err)
	}
}

// A LIMIT query is one task over every kept file, so the limit holds
// across the whole result; without LIMIT the same files are several tasks.
func TestLimitIsOneTask(t *testing.T) {
	e := newEnv(t, 1) // one file per task without LIMIT
	ctx := context.Background()
	p, err := e.pl.Plan(ctx, "carol", "SELECT id FROM sales.tx LIMIT 5")
	if err != nil {
		t.Fatal(err)
	}
	tasks := e.tasks(t, "carol", p)
	if len(tasks) != 1 || len(tasks[0].Objects) != 4 || tasks[0].Limit != 5 || p.LimitTruncated {
		t.Fatalf("LIMIT plan: %d tasks, want 1 of 4 objects with limit 5", len(tasks))
	}
	p, err = e.pl.Plan(ctx, "carol", "SELECT id FROM sales.tx")
	if err != nil || p.Tasks != 4 {
		t.Fatalf("plan without LIMIT: %v, %d tasks, want 4", err, p.Tasks)
	}
}

// Each object carries its partition values, which the files do not store.
func TestObjectsCarryPartitionValues(t *testing.T) {
	e := newEnv(t, 0)
	p, err := e.pl.Plan(context.Background(), "carol", "SELECT id, dt FROM sales.tx")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, task := range e.tasks(t, "carol", p) {
		for _, o := range task.Objects {
			n++
			want := strings.TrimPrefix(strings.Split(o.Path, "/")[0], "dt=")
			if v := o.Partition["dt"]; v == nil || *v != want || len(o.Partition) != 1 {
				t.Errorf("%s: partition %v, want dt=%s", o.Path, o.Partition, want)
			}
		}
	}
	if n != 4 {
		t.Fatalf("%d objects, want 4", n)
	}
}

// CSV and JSON tasks carry the table's file columns in order, typed.
func TestTextTasksCarryFileColumns(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	csv := filepath.Join(e.root, "csvtx", "dt=2024-01-01", "a.csv")
	if err := os.MkdirAll(filepath.Dir(csv), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(csv, []byte("id;amount;country\n1;2.50;DE\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Exec(ctx, auth.Principal{Bootstrap: true}, `
		CREATE EXTERNAL TABLE sales.csvtx (id bigint, amount decimal(10,2), country string) PARTITIONED BY (dt date)
			STORED AS CSV LOCATION 'file://`+e.root+`/csvtx/' TBLPROPERTIES ('delimiter' = ';');
		GRANT SELECT ON TABLE sales.csvtx TO USER carol;`, "req"); err != nil {
		t.Fatal(err)
	}
	p, err := e.pl.Plan(ctx, "carol", "SELECT country FROM sales.csvtx")
	if err != nil {
		t.Fatal(err)
	}
	tasks := e.tasks(t, "carol", p)
	if len(tasks) == 0 {
		t.Fatalf("no task: %d files, %d pruned", p.Files, p.PrunedFiles)
	}
	task := tasks[0]
	want := `[{"name":"id","type":"int64"},{"name":"amount","type":"decimal128(10,2)"},{"name":"country","type":"string"}]`
	if task.Format != "csv" || task.FormatOptions["columns"] != want || task.FormatOptions["delimiter"] != ";" {
		t.Fatalf("format %s options %v", task.Format, task.FormatOptions)
	}
}

// Spark's df.count() sends SELECT 1: a constant column, nothing read for
// it, the row filter and WHERE still applied.
func TestSelectConstant(t *testing.T) {
	e := newEnv(t, 0)
	p, err := e.pl.Plan(context.Background(), "alice", "SELECT 1 FROM sales.tx WHERE id > 3")
	if err != nil {
		t.Fatal(err)
	}
	if got := names(p.Schema); got != "1:int64" {
		t.Fatalf("schema = %s, want 1:int64", got)
	}
	task := e.tasks(t, "alice", p)[0]
	if got := names(task.Columns); got != "_nscale_const_0:int64 as 1,id:int64 (filter)" || task.RowFilter.Expr == nil {
		t.Fatalf("task columns = %s, row filter %v", got, task.RowFilter.Expr)
	}
	if _, err := e.pl.Plan(context.Background(), "mallory", "SELECT 1 FROM sales.tx"); !apierr.Is(err, apierr.PermissionDenied) {
		t.Fatalf("SELECT 1 without a grant: %v", err)
	}
}
