package enforce

import (
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

// Selecting fields of a struct column: NULL where the struct is NULL, a
// redacted struct's field is redacted, and two fields of one column can be
// selected together.
func TestStructFields(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	addr := arrow.StructOf(
		arrow.Field{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "geo", Type: arrow.StructOf(arrow.Field{Name: "zip", Type: arrow.PrimitiveTypes.Int32, Nullable: true}), Nullable: true},
	)
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, {Name: "address", Type: addr, Nullable: true}}, nil)
	b := array.NewRecordBuilder(mem, schema)
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3, 4}, nil)
	sb := b.Field(1).(*array.StructBuilder)
	city := sb.FieldBuilder(0).(*array.StringBuilder)
	geo := sb.FieldBuilder(1).(*array.StructBuilder)
	zip := geo.FieldBuilder(0).(*array.Int32Builder)
	// 1: Paris/75001  2: NULL struct  3: Oslo, geo NULL  4: NULL city, 10
	// (Append(false) appends NULL children itself.)
	sb.Append(true)
	city.Append("Paris")
	geo.Append(true)
	zip.Append(75001)
	sb.Append(false)
	sb.Append(true)
	city.Append("Oslo")
	geo.Append(false)
	sb.Append(true)
	city.AppendNull()
	geo.Append(true)
	zip.Append(10)
	in := b.NewRecordBatch()
	b.Release()
	defer in.Release()

	typ := "struct<city:string,geo:struct<zip:int32>>"
	run := func(cols []taskplan.Column) [][]string {
		t.Helper()
		e, err := New(taskplan.Task{Columns: cols}, testKey, mem)
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Apply(in)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Release()
		if !out.Schema().Equal(e.OutputSchema()) {
			t.Fatalf("schema %v, want %v", out.Schema(), e.OutputSchema())
		}
		return rows(out)
	}
	got := run([]taskplan.Column{
		{Name: "id", Type: "int64"},
		{Name: "address", As: "city", Type: typ, Field: []string{"city"}},
		{Name: "address", As: "zip", Type: typ, Field: []string{"geo", "zip"}},
	})
	want := [][]string{{"1", "Paris", "75001"}, {"2", "NULL", "NULL"}, {"3", "Oslo", "NULL"}, {"4", "NULL", "10"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fields = %v, want %v", got, want)
	}
	got = run([]taskplan.Column{{Name: "address", As: "city", Type: typ, Field: []string{"city"}, Mask: &sqlsubset.Mask{Func: "redact"}}})
	if want := [][]string{{"xxxx"}, {"NULL"}, {"xxxx"}, {"NULL"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("field of a redacted struct = %v, want %v", got, want)
	}
	if _, err := New(taskplan.Task{Columns: []taskplan.Column{{Name: "address", Type: typ, Field: []string{"nope"}}}}, testKey, mem); err == nil {
		t.Fatal("an unknown field was accepted")
	}
}

// A NULL struct hides whatever its children hold.
func TestStructFieldHidesChildrenOfNullStructs(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"a", "secret", "c"}, nil)
	child := sb.NewArray()
	sb.Release()
	defer child.Release()
	valid := memory.NewBufferBytes([]byte{0b101})
	st, err := array.NewStructArrayWithNulls([]arrow.Array{child}, []string{"city"}, valid, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Release()
	for _, a := range []arrow.Array{st, array.NewSlice(st, 1, 3)} {
		got, err := structField(mem, a, []string{"city"})
		if err != nil {
			t.Fatal(err)
		}
		if got.IsValid(a.Len()-2) || got.ValueStr(a.Len()-1) != "c" {
			t.Fatalf("field of %v = %v, want the NULL struct's child hidden", a, got)
		}
		got.Release()
		if a != arrow.Array(st) {
			a.Release()
		}
	}
}

// A constant column (SELECT 1) has one value per row that passes.
func TestConstantColumn(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := input(mem)
	defer in.Release()
	one := int64(1)
	e, err := New(taskplan.Task{
		Columns:   []taskplan.Column{{Name: "_nscale_const_0", As: "1", Type: "int64", Const: &one}, {Name: "region", Type: "string", FilterOnly: true}},
		RowFilter: tree(eq(col("region"), str("eu"))),
	}, testKey, mem)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Apply(in)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if got := rows(out); !reflect.DeepEqual(got, [][]string{{"1"}, {"1"}}) || out.Schema().Field(0).Name != "1" {
		t.Fatalf("rows %v schema %v", got, out.Schema())
	}
}

// A mask the WHERE clause does not read is applied after the WHERE: the
// output is the same as masking first.
func TestMaskAfterPredicateSameOutput(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := input(mem)
	defer in.Release()
	run := func(pred sqlsubset.Expr) [][]string {
		e, err := New(taskplan.Task{Columns: showLast4(cols("id", "card", "name"), "card"), Predicate: tree(pred)}, testKey, mem)
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Apply(in)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Release()
		return rows(out)
	}
	got := run(cmp(sqlsubset.Ge, col("id"), i64(2)))
	want := [][]string{{"2", "xxxxxxxxxxxx0004", "Ōsaka"}, {"3", "NULL", "straße"}, {"4", "xxxxxxxxxxxx1111", "NULL"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows = %v, want %v", got, want)
	}
}
