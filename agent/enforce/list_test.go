package enforce

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

// TestListIsNull: IS [NOT] NULL reads a list column's validity (it used to
// fail with "unsupported column type list"), masked or not.
func TestListIsNull(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	lb := array.NewListBuilder(mem, arrow.PrimitiveTypes.Int64)
	vb := lb.ValueBuilder().(*array.Int64Builder)
	lb.Append(true)
	vb.AppendValues([]int64{1, 2}, nil)
	lb.AppendNull()
	lb.Append(true) // an empty list is not NULL
	ib := array.NewInt64Builder(mem)
	ib.AppendValues([]int64{10, 20, 30}, nil)
	tags, ids := lb.NewArray(), ib.NewArray()
	lb.Release()
	ib.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "tags", Type: tags.DataType(), Nullable: true}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{ids, tags}, 3)
	ids.Release()
	tags.Release()
	defer rec.Release()
	for _, c := range []struct {
		not  bool
		mask *sqlsubset.Mask
		want []int64
	}{
		{false, nil, []int64{20}},
		{true, nil, []int64{10, 30}},
		{false, &sqlsubset.Mask{Func: "null"}, []int64{10, 20, 30}},
	} {
		task := taskplan.Task{
			Columns:   []taskplan.Column{{Name: "id", Type: "int64"}, {Name: "tags", Type: "list<int64>", Mask: c.mask, FilterOnly: true}},
			Predicate: sqlsubset.Tree{Expr: &sqlsubset.IsNull{Expr: &sqlsubset.Column{Name: "tags"}, Not: c.not}},
		}
		e, err := New(task, testKey, mem)
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Apply(rec)
		if err != nil {
			t.Fatalf("IS NULL (not=%v, mask %v) on a list: %v", c.not, c.mask, err)
		}
		var got []int64
		col := out.Column(0).(*array.Int64)
		for i := 0; i < col.Len(); i++ {
			got = append(got, col.Value(i))
		}
		out.Release()
		if len(got) != len(c.want) {
			t.Fatalf("not=%v mask %v: ids %v, want %v", c.not, c.mask, got, c.want)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Fatalf("not=%v mask %v: ids %v, want %v", c.not, c.mask, got, c.want)
			}
		}
	}
}
