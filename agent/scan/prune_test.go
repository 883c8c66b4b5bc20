package scan

import (
	"bytes"
	"context"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/nscale/nscale/internal/parquettest"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

// fourGroups: row group g holds ids 100g..100g+99, day 19000+g, name
// "n<g>", and n is NULL throughout group 2 (g elsewhere).
func fourGroups(t *testing.T) []byte {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	}, nil)
	var groups []arrow.RecordBatch
	for g := 0; g < 4; g++ {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := 0; i < 100; i++ {
			b.Field(0).(*array.Int64Builder).Append(int64(100*g + i))
			b.Field(1).(*array.Date32Builder).Append(arrow.Date32(19000 + g))
			b.Field(2).(*array.StringBuilder).Append(string(rune('a'+g)) + "name")
			if g == 2 {
				b.Field(3).AppendNull()
			} else {
				b.Field(3).(*array.Int32Builder).Append(int32(g))
			}
		}
		rec := b.NewRecordBatch()
		defer rec.Release()
		groups = append(groups, rec)
		b.Release()
	}
	return parquettest.FileWith(t, parquet.NewWriterProperties(parquet.WithStats(true)), pqarrow.DefaultWriterProps(), groups...)
}

func TestPruneRowGroups(t *testing.T) {
	data := fourGroups(t)
	col := func(n string) *sqlsubset.Column { return &sqlsubset.Column{Name: n} }
	cmp := func(op sqlsubset.CompareOp, c string, l *sqlsubset.Literal) sqlsubset.Expr {
		return &sqlsubset.Compare{Op: op, Left: col(c), Right: l}
	}
	i64 := sqlsubset.Int64Literal
	tree := func(e sqlsubset.Expr) sqlsubset.Tree { return sqlsubset.Tree{Expr: e} }
	cols := []taskplan.Column{{Name: "id", Type: "int64"}}
	masked := []taskplan.Column{{Name: "id", Type: "int64", Mask: &sqlsubset.Mask{Func: "zero"}}}
	for _, tc := range []struct {
		name string
		task taskplan.Task
		want []int64 // first id of each group read
	}{
		{"no filter reads all", taskplan.Task{Columns: cols}, []int64{0, 100, 200, 300}},
		{"row filter id >= 250", taskplan.Task{Columns: cols, RowFilter: tree(cmp(sqlsubset.Ge, "id", i64(250)))}, []int64{200, 300}},
		{"predicate BETWEEN", taskplan.Task{Columns: cols, Predicate: tree(&sqlsubset.Between{Expr: col("id"), Low: i64(120), High: i64(130)})}, []int64{100}},
		{"predicate IN", taskplan.Task{Columns: cols, Predicate: tree(&sqlsubset.In{Expr: col("id"), List: []*sqlsubset.Literal{i64(5), i64(350)}})}, []int64{0, 300}},
		{"AND of both", taskplan.Task{Columns: cols, RowFilter: tree(cmp(sqlsubset.Lt, "id", i64(300))), Predicate: tree(cmp(sqlsubset.Gt, "id", i64(150)))}, []int64{100, 200}},
		{"masked column: the predicate sees masked values, no pruning", taskplan.Task{Columns: masked, Predicate: tree(cmp(sqlsubset.Eq, "id", i64(7)))}, []int64{0, 100, 200, 300}},
		{"masked column: the row filter sees stored values", taskplan.Task{Columns: masked, RowFilter: tree(cmp(sqlsubset.Eq, "id", i64(7)))}, []int64{0}},
		{"date", taskplan.Task{Columns: cols, RowFilter: tree(cmp(sqlsubset.Eq, "day", sqlsubset.Date32Literal(19003)))}, []int64{300}},
		{"all-NULL group fails a comparison", taskplan.Task{Columns: cols, RowFilter: tree(cmp(sqlsubset.Ne, "n", i64(9)))}, []int64{0, 100, 300}},
		{"strings are not pruned on", taskplan.Task{Columns: cols, RowFilter: tree(cmp(sqlsubset.Eq, "name", sqlsubset.StringLiteral("zzz")))}, []int64{0, 100, 200, 300}},
		{"a mistyped literal is not pruned on", taskplan.Task{Columns: cols, RowFilter: tree(cmp(sqlsubset.Eq, "id", sqlsubset.StringLiteral("7")))}, []int64{0, 100, 200, 300}},
		{"OR is not pruned on", taskplan.Task{Columns: cols, RowFilter: tree(&sqlsubset.Or{Args: []sqlsubset.Expr{cmp(sqlsubset.Eq, "id", i64(1)), cmp(sqlsubset.Eq, "id", i64(301))}})}, []int64{0, 100, 200, 300}},
		{"nothing can match", taskplan.Task{Columns: cols, RowFilter: tree(cmp(sqlsubset.Gt, "id", i64(1000)))}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			var firsts []int64
			seen := map[int64]bool{}
			err := ParquetPruned(context.Background(), bytes.NewReader(data), int64(len(data)), []string{"id"}, nil, 1000, NewPrune(tc.task), mem,
				func(rec arrow.RecordBatch) error {
					ids := rec.Column(0).(*array.Int64)
					for i := 0; i < ids.Len(); i++ {
						g := ids.Value(i) / 100 * 100
						if !seen[g] {
							seen[g] = true
							firsts = append(firsts, g)
						}
					}
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(firsts, tc.want) {
				t.Fatalf("groups read %v, want %v", firsts, tc.want)
			}
		})
	}
}
