package task

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/agent/fetch"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

func sp(s string) *string { return &s }

// Partition columns come from each object's values, not from the file: they
// are output, filtered on, and may be the only columns read.
func TestPartitionColumns(t *testing.T) {
	f := setup(t)
	objs := append([]taskplan.Object(nil), f.objs...)
	objs[0].Partition = map[string]*string{"dt": sp("2024-03-01"), "hour": sp("7")}
	objs[1].Partition = map[string]*string{"dt": sp("2024-03-02"), "hour": nil}
	base := taskplan.Task{ID: "t1", Table: "db.tbl", Format: "parquet", Objects: objs,
		PartitionColumns: map[string]string{"dt": "date32", "hour": "int16"}}

	render := func(task taskplan.Task) ([]string, error) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		var out []string
		_, err := Run(context.Background(), task, f.urls, testKey, fetch.Config{}, mem, func(rec arrow.RecordBatch) error {
			for r := 0; r < int(rec.NumRows()); r++ {
				var cells []string
				for c := 0; c < int(rec.NumCols()); c++ {
					cells = append(cells, rec.Column(c).ValueStr(r))
				}
				out = append(out, strings.Join(cells, " "))
			}
			return nil
		})
		return out, err
	}

	task := base
	task.Columns = []taskplan.Column{{Name: "id", Type: "int64"}, {Name: "dt", Type: "date32"}, {Name: "hour", Type: "int16"}}
	task.Predicate = sqlsubset.Tree{Expr: &sqlsubset.Compare{Op: sqlsubset.Ge, Left: &sqlsubset.Column{Name: "id"}, Right: sqlsubset.Int64Literal(4)}}
	got, err := render(task)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"4 2024-03-01 7", "5 2024-03-02 (null)", "6 2024-03-02 (null)", "7 2024-03-02 (null)", "8 2024-03-02 (null)"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows = %q, want %q", got, want)
	}

	// Only partition columns, filtered by the row filter on dt.
	task = base
	task.Columns = []taskplan.Column{{Name: "dt", Type: "date32"}}
	task.RowFilter = sqlsubset.Tree{Expr: &sqlsubset.Compare{Op: sqlsubset.Eq, Left: &sqlsubset.Column{Name: "dt"}, Right: sqlsubset.Date32Literal(19784)}}
	got, err = render(task)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0] != "2024-03-02" {
		t.Fatalf("dt-only rows = %q, want four of 2024-03-02", got)
	}

	// A value that does not fit its type fails the task before reading.
	task = base
	task.Columns = []taskplan.Column{{Name: "hour", Type: "int16"}}
	task.Objects = append([]taskplan.Object(nil), objs...)
	task.Objects[0].Partition = map[string]*string{"dt": sp("2024-03-01"), "hour": sp("70000")}
	if _, err := render(task); !apierr.Is(err, apierr.InvalidArgument) || !strings.Contains(err.Error(), "hour") {
		t.Fatalf("out-of-range partition value: %v", err)
	}
}
