package enforce

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/mask"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

// Every CAST the control plane's type check accepts on a column, the agent
// evaluates: a filter that was accepted never fails a read.
func TestEveryAcceptedCastEvaluates(t *testing.T) {
	samples := map[string]string{
		"int8": "1", "int16": "1", "int32": "1", "int64": "1", "uint8": "1", "uint16": "1", "uint32": "1", "uint64": "1",
		"float32": "1.5", "float64": "1.5", "decimal128(10,2)": "1.25", "string": "7", "binary": "x", "bool": "true",
		"date32": "2024-01-01", "timestamp(us,UTC)": "2024-01-01T00:00:00Z",
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	accepted := 0
	for from, sample := range samples {
		ft := sqlsubset.MustParseType(from)
		dt, err := mask.ArrowType(ft)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := scalar.ParseScalar(dt, sample)
		if err != nil {
			t.Fatalf("%s sample: %v", from, err)
		}
		arr, err := scalar.MakeArrayFromScalar(sc, 3, mem)
		if err != nil {
			t.Fatal(err)
		}
		rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "c", Type: dt, Nullable: true}}, nil), []arrow.Array{arr}, 3)
		arr.Release()
		for to := range samples {
			pred, err := sqlsubset.Coerce(&sqlsubset.IsNull{Expr: &sqlsubset.Cast{Expr: &sqlsubset.Column{Name: "c"}, Type: sqlsubset.MustParseType(to)}, Not: true},
				sqlsubset.Schema{"c": ft})
			if err != nil {
				continue // refused when written
			}
			accepted++
			e, err := New(taskplan.Task{Columns: []taskplan.Column{{Name: "c", Type: from}}, Predicate: sqlsubset.Tree{Expr: pred}}, testKey, mem)
			if err != nil {
				t.Errorf("CAST(%s AS %s) type-checks but the agent refuses it: %v", from, to, err)
				continue
			}
			out, err := e.Apply(rec)
			if err != nil {
				t.Errorf("CAST(%s AS %s) type-checks but fails on the agent: %v", from, to, err)
				continue
			}
			if out.NumRows() != 3 {
				t.Errorf("CAST(%s '%s' AS %s) IS NOT NULL kept %d of 3 rows", from, sample, to, out.NumRows())
			}
			out.Release()
		}
		rec.Release()
	}
	if accepted < 100 {
		t.Fatalf("only %d casts accepted; the check is too narrow to be useful", accepted)
	}
}

// A cast to a non-numeric type other than the value's own fails the batch.
func TestCastToAnotherTypeFailsClosed(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := input(mem)
	defer in.Release()
	for _, to := range []string{"date32", "bool", "binary", "timestamp(us)"} {
		pred := &sqlsubset.IsNull{Expr: &sqlsubset.Cast{Expr: &sqlsubset.Column{Name: "id"}, Type: sqlsubset.MustParseType(to)}}
		e, err := New(taskplan.Task{Columns: cols("id"), Predicate: sqlsubset.Tree{Expr: pred}}, testKey, mem)
		if err != nil {
			continue // refused up front is fine too
		}
		if out, err := e.Apply(in); err == nil {
			out.Release()
			t.Errorf("CAST(int64 AS %s) was evaluated", to)
		}
	}
}

// TestFallibleCastInFilters: a CAST that fails on a row makes a policy
// filter NULL for that row (excluded, or the cell hidden) instead of an
// error that would tell the user such a hidden row exists; the same CAST in
// the user's WHERE is the user's error, InvalidArgument, on visible rows
// only.
func TestFallibleCastInFilters(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewInt64Builder(mem)
	b.AppendValues([]int64{1, 5, 1000, 7}, nil) // 1000 does not fit int8
	arr := b.NewArray()
	b.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil), []arrow.Array{arr}, 4)
	arr.Release()
	defer rec.Release()
	schema := sqlsubset.Schema{"n": sqlsubset.MustParseType("int64")}
	expr := func(sql string) sqlsubset.Expr {
		t.Helper()
		cast := &sqlsubset.Cast{Expr: &sqlsubset.Column{Name: "n"}, Type: sqlsubset.MustParseType("int8")}
		var e sqlsubset.Expr = &sqlsubset.Compare{Op: sqlsubset.Lt, Left: cast, Right: sqlsubset.Int64Literal(100)}
		if sql == "visible-only" {
			e = &sqlsubset.Compare{Op: sqlsubset.Lt, Left: &sqlsubset.Column{Name: "n"}, Right: sqlsubset.Int64Literal(100)}
		}
		c, err := sqlsubset.Coerce(e, schema)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	run := func(task taskplan.Task) ([]int64, error) {
		e, err := New(task, testKey, mem)
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Apply(rec)
		if err != nil {
			return nil, err
		}
		defer out.Release()
		col := out.Column(0).(*array.Int64)
		var vals []int64
		for i := 0; i < col.Len(); i++ {
			if col.IsNull(i) {
				vals = append(vals, -1)
			} else {
				vals = append(vals, col.Value(i))
			}
		}
		return vals, nil
	}
	cols := []taskplan.Column{{Name: "n", Type: "int64"}}
	// Row filter: the row whose cast fails is excluded, silently.
	got, err := run(taskplan.Task{Columns: cols, RowFilter: sqlsubset.Tree{Expr: expr("")}})
	if err != nil || len(got) != 3 || got[2] != 7 {
		t.Fatalf("row filter with a fallible cast: %v, %v; want rows 1 5 7 and no error", got, err)
	}
	// Cell filter: the cell is hidden.
	cell := []taskplan.Column{{Name: "n", Type: "int64", CellFilter: sqlsubset.Tree{Expr: expr("")}}}
	got, err = run(taskplan.Task{Columns: cell})
	if err != nil || len(got) != 4 || got[2] != -1 || got[3] != 7 {
		t.Fatalf("cell filter with a fallible cast: %v, %v; want 1 5 NULL 7", got, err)
	}
	// The user's WHERE: InvalidArgument when a visible row fails.
	_, err = run(taskplan.Task{Columns: cols, Predicate: sqlsubset.Tree{Expr: expr("")}})
	if apierr.CodeOf(err) != apierr.InvalidArgument || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("predicate with an out-of-range cast: %v (%s), want InvalidArgument", err, apierr.CodeOf(err))
	}
	// ... but not when the failing row is one the row filter hides.
	got, err = run(taskplan.Task{Columns: cols, RowFilter: sqlsubset.Tree{Expr: expr("visible-only")}, Predicate: sqlsubset.Tree{Expr: expr("")}})
	if err != nil || len(got) != 3 {
		t.Fatalf("predicate over visible rows only: %v, %v", got, err)
	}
}
