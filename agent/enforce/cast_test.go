package enforce

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"

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
