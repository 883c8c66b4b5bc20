package enforce

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/mask"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

type S = sqlsubset.Expr

func col(n string) *sqlsubset.Column  { return &sqlsubset.Column{Name: n} }
func str(s string) *sqlsubset.Literal { return sqlsubset.StringLiteral(s) }
func i64(v int64) *sqlsubset.Literal  { return sqlsubset.Int64Literal(v) }
func cmp(op sqlsubset.CompareOp, l, r S) S {
	return &sqlsubset.Compare{Op: op, Left: l, Right: r}
}
func eq(l, r S) S             { return cmp(sqlsubset.Eq, l, r) }
func tree(e S) sqlsubset.Tree { return sqlsubset.Tree{Expr: e} }

var testKey = mask.Key(strings.Repeat("k", mask.KeySize))

func us(s string) int64 {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMicro()
}

// input builds the stored batch:
//
//	id card              region salary  ts                   name    active
//	1  4111111111111111  eu     1234.56 2024-01-01T00:00:00Z Zoë     true
//	2  5500000000000004  us     99.99   2024-06-01T12:00:00Z Ōsaka   false
//	3  NULL              eu     NULL    NULL                 straße  NULL
//	4  4111111111111111  NULL   5000.00 2023-12-31T23:59:59Z NULL    true
func input(mem memory.Allocator) arrow.RecordBatch {
	tsType := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	decType := &arrow.Decimal128Type{Precision: 10, Scale: 2}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "card", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "region", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "salary", Type: decType, Nullable: true},
		{Name: "ts", Type: tsType, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "active", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3, 4}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"4111111111111111", "5500000000000004", "", "4111111111111111"}, []bool{true, true, false, true})
	b.Field(2).(*array.StringBuilder).AppendValues([]string{"eu", "us", "eu", ""}, []bool{true, true, true, false})
	b.Field(3).(*array.Decimal128Builder).AppendValues([]decimal128.Num{decimal128.FromI64(123456), decimal128.FromI64(9999), {}, decimal128.FromI64(500000)}, []bool{true, true, false, true})
	b.Field(4).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{
		arrow.Timestamp(us("2024-01-01T00:00:00Z")), arrow.Timestamp(us("2024-06-01T12:00:00Z")), 0, arrow.Timestamp(us("2023-12-31T23:59:59Z")),
	}, []bool{true, true, false, true})
	b.Field(5).(*array.StringBuilder).AppendValues([]string{"Zoë", "Ōsaka", "straße", ""}, []bool{true, true, true, false})
	b.Field(6).(*array.BooleanBuilder).AppendValues([]bool{true, false, false, true}, []bool{true, true, false, true})
	return b.NewRecordBatch()
}

// rows renders a batch as strings, "NULL" for nulls.
func rows(rec arrow.RecordBatch) [][]string {
	out := [][]string{}
	for r := 0; r < int(rec.NumRows()); r++ {
		row := make([]string, rec.NumCols())
		for c := range row {
			a := rec.Column(c)
			if a.IsNull(r) {
				row[c] = "NULL"
			} else {
				row[c] = a.ValueStr(r)
			}
		}
		out = append(out, row)
	}
	return out
}

func cols(names ...string) []taskplan.Column {
	types := map[string]string{"id": "int64", "card": "string", "region": "string", "salary": "decimal128(10,2)",
		"ts": "timestamp(us,UTC)", "name": "string", "active": "bool"}
	out := make([]taskplan.Column, len(names))
	for i, n := range names {
		out[i] = taskplan.Column{Name: n, Type: types[n]}
	}
	return out
}

func showLast4(c []taskplan.Column, name string) []taskplan.Column {
	for i := range c {
		if c[i].Name == name {
			c[i].Mask = &sqlsubset.Mask{Func: "show_last", Args: []int64{4}}
		}
	}
	return c
}

func TestApply(t *testing.T) {
	salaryEU := cols("id", "salary")
	salaryEU[1].CellFilter = tree(eq(col("region"), str("eu")))
	tsLit := func(s string) S { return sqlsubset.TimestampLiteral(us(s), sqlsubset.Micro, "UTC") }
	dec := func(u string) S { return sqlsubset.DecimalLiteral(u, 10, 2) }

	tests := []struct {
		name string
		task taskplan.Task
		want [][]string
	}{
		{"all rows, projection order", taskplan.Task{Columns: cols("name", "id")},
			[][]string{{"Zoë", "1"}, {"Ōsaka", "2"}, {"straße", "3"}, {"NULL", "4"}}},
		{"(a) WHERE on stored value of masked column finds nothing",
			taskplan.Task{Columns: showLast4(cols("id", "card"), "card"), Predicate: tree(eq(col("card"), str("4111111111111111")))},
			[][]string{}},
		{"(a) WHERE on masked value matches",
			taskplan.Task{Columns: showLast4(cols("id", "card"), "card"), Predicate: tree(eq(col("card"), str("xxxxxxxxxxxx1111")))},
			[][]string{{"1", "xxxxxxxxxxxx1111"}, {"4", "xxxxxxxxxxxx1111"}}},
		{"(a) LIKE on masked column cannot probe a prefix",
			taskplan.Task{Columns: showLast4(cols("id", "card"), "card"), Predicate: tree(&sqlsubset.Like{Expr: col("card"), Pattern: "41%"})},
			[][]string{}},
		{"(b) cell filter nulls salary outside eu (NULL region too)",
			taskplan.Task{Columns: salaryEU},
			[][]string{{"1", "1234.56"}, {"2", "NULL"}, {"3", "NULL"}, {"4", "NULL"}}},
		{"(b) WHERE cannot recover a cell-filtered value",
			taskplan.Task{Columns: salaryEU, Predicate: tree(eq(col("salary"), dec("500000")))},
			[][]string{}},
		{"(b) WHERE sees the cell-filtered NULL",
			taskplan.Task{Columns: salaryEU, Predicate: tree(&sqlsubset.IsNull{Expr: col("salary")})},
			[][]string{{"2", "NULL"}, {"3", "NULL"}, {"4", "NULL"}}},
		{"(c) row filter sees unmasked values",
			taskplan.Task{Columns: showLast4(cols("id", "card"), "card"), RowFilter: tree(eq(col("card"), str("4111111111111111")))},
			[][]string{{"1", "xxxxxxxxxxxx1111"}, {"4", "xxxxxxxxxxxx1111"}}},
		{"row filter on a column not in the output; NULL drops",
			taskplan.Task{Columns: cols("id"), RowFilter: tree(&sqlsubset.Not{Arg: eq(col("region"), str("us"))})},
			[][]string{{"1"}, {"3"}}},
		{"row filter then predicate",
			taskplan.Task{Columns: cols("id", "region"), RowFilter: tree(eq(col("region"), str("eu"))), Predicate: tree(cmp(sqlsubset.Gt, col("id"), i64(1)))},
			[][]string{{"3", "eu"}}},
		{"(f) NULL = x is NULL",
			taskplan.Task{Columns: cols("id"), Predicate: tree(&sqlsubset.IsNull{Expr: eq(col("id"), sqlsubset.NullLiteral())})},
			[][]string{{"1"}, {"2"}, {"3"}, {"4"}}},
		{"(f) NOT NULL is NULL",
			taskplan.Task{Columns: cols("id", "active"), Predicate: tree(&sqlsubset.IsNull{Expr: &sqlsubset.Not{Arg: col("active")}})},
			[][]string{{"3", "NULL"}}},
		{"(f) NULL OR TRUE is TRUE",
			taskplan.Task{Columns: cols("id", "active"), Predicate: tree(&sqlsubset.Or{Args: []S{col("active"), cmp(sqlsubset.Ge, col("id"), i64(3))}})},
			[][]string{{"1", "true"}, {"3", "NULL"}, {"4", "true"}}},
		{"(f) NULL AND FALSE is FALSE",
			taskplan.Task{Columns: cols("active", "id"), Predicate: tree(&sqlsubset.IsBool{Expr: &sqlsubset.And{Args: []S{col("active"), eq(col("id"), i64(0))}}, Value: false})},
			[][]string{{"true", "1"}, {"false", "2"}, {"NULL", "3"}, {"true", "4"}}},
		{"(f) NULL AND TRUE is NULL",
			taskplan.Task{Columns: cols("active", "id"), Predicate: tree(&sqlsubset.IsNull{Expr: &sqlsubset.And{Args: []S{col("active"), eq(col("id"), col("id"))}}})},
			[][]string{{"NULL", "3"}}},
		{"IS NOT TRUE keeps false and null",
			taskplan.Task{Columns: cols("id", "active"), Predicate: tree(&sqlsubset.IsBool{Expr: col("active"), Value: true, Not: true})},
			[][]string{{"2", "false"}, {"3", "NULL"}}},
		{"IN with unicode",
			taskplan.Task{Columns: cols("id", "name"), Predicate: tree(&sqlsubset.In{Expr: col("name"), List: []*sqlsubset.Literal{str("Ōsaka"), str("straße")}})},
			[][]string{{"2", "Ōsaka"}, {"3", "straße"}}},
		{"NOT IN with a NULL in the list is never TRUE",
			taskplan.Task{Columns: cols("id"), Predicate: tree(&sqlsubset.In{Expr: col("id"), List: []*sqlsubset.Literal{i64(1), sqlsubset.NullLiteral()}, Not: true})},
			[][]string{}},
		{"NOT IN",
			taskplan.Task{Columns: cols("id"), Predicate: tree(&sqlsubset.In{Expr: col("id"), List: []*sqlsubset.Literal{i64(1), i64(4)}, Not: true})},
			[][]string{{"2"}, {"3"}}},
		{"BETWEEN decimals and an int literal",
			taskplan.Task{Columns: cols("id", "salary"), Predicate: tree(&sqlsubset.Between{Expr: col("salary"), Low: i64(100), High: dec("500000")})},
			[][]string{{"1", "1234.56"}, {"4", "5000"}}},
		{"NOT BETWEEN",
			taskplan.Task{Columns: cols("id", "salary"), Predicate: tree(&sqlsubset.Between{Expr: col("salary"), Low: i64(100), High: dec("500000"), Not: true})},
			[][]string{{"2", "99.99"}}},
		{"timestamp compare",
			taskplan.Task{Columns: cols("id", "ts"), Predicate: tree(cmp(sqlsubset.Ge, col("ts"), tsLit("2024-01-01T00:00:00Z")))},
			[][]string{{"1", "2024-01-01T00:00:00Z"}, {"2", "2024-06-01T12:00:00Z"}}},
		{"timestamp vs a literal of another unit",
			taskplan.Task{Columns: cols("id", "ts"), Predicate: tree(cmp(sqlsubset.Lt, col("ts"), sqlsubset.TimestampLiteral(1704067200, sqlsubset.Second, "UTC")))}, // 2024-01-01
			[][]string{{"4", "2023-12-31T23:59:59Z"}}},
		{"LIKE with _ on unicode",
			taskplan.Task{Columns: cols("name", "id"), Predicate: tree(&sqlsubset.Like{Expr: col("name"), Pattern: "Zo_"})},
			[][]string{{"Zoë", "1"}}},
		{"NOT LIKE drops NULL",
			taskplan.Task{Columns: cols("name", "id"), Predicate: tree(&sqlsubset.Like{Expr: col("name"), Pattern: "%a%", Not: true})},
			[][]string{{"Zoë", "1"}}},
		{"ILIKE",
			taskplan.Task{Columns: cols("name", "id"), Predicate: tree(&sqlsubset.Like{Expr: col("name"), Pattern: "ōSAKA", CaseInsensitive: true})},
			[][]string{{"Ōsaka", "2"}}},
		{"CAST int to string",
			taskplan.Task{Columns: cols("id"), Predicate: tree(eq(&sqlsubset.Cast{Expr: col("id"), Type: sqlsubset.MustParseType("string")}, str("3")))},
			[][]string{{"3"}}},
		{"CAST decimal to int64 rounds",
			taskplan.Task{Columns: cols("id", "salary"), Predicate: tree(eq(&sqlsubset.Cast{Expr: col("salary"), Type: sqlsubset.MustParseType("int64")}, i64(1235)))},
			[][]string{{"1", "1234.56"}}},
		{"masked then all rows", taskplan.Task{Columns: showLast4(cols("card"), "card")},
			[][]string{{"xxxxxxxxxxxx1111"}, {"xxxxxxxxxxxx0004"}, {"NULL"}, {"xxxxxxxxxxxx1111"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			e, err := New(tc.task, testKey, mem)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			in := input(mem)
			defer in.Release()
			out, err := e.Apply(in)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			defer out.Release()
			if !out.Schema().Equal(e.OutputSchema()) {
				t.Errorf("schema %s, want %s", out.Schema(), e.OutputSchema())
			}
			if got := rows(out); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNewFailsClosed(t *testing.T) {
	tests := []struct {
		name string
		task taskplan.Task
	}{
		{"function call", taskplan.Task{Columns: cols("id"), RowFilter: tree(eq(&sqlsubset.Call{Name: "current_user"}, str("x")))}},
		{"cast to list", taskplan.Task{Columns: cols("id"), Predicate: tree(eq(&sqlsubset.Cast{Expr: col("id"), Type: sqlsubset.MustParseType("list<string>")}, i64(1)))}},
		{"predicate on non-output column", taskplan.Task{Columns: cols("id"), Predicate: tree(eq(col("card"), str("x")))}},
		{"unknown mask", taskplan.Task{Columns: []taskplan.Column{{Name: "id", Type: "int64", Mask: &sqlsubset.Mask{Func: "reverse"}}}}},
		{"mask on wrong type", taskplan.Task{Columns: []taskplan.Column{{Name: "id", Type: "int64", Mask: &sqlsubset.Mask{Func: "show_last", Args: []int64{4}}}}}},
		{"bad type", taskplan.Task{Columns: []taskplan.Column{{Name: "id", Type: "int128"}}}},
		{"no columns", taskplan.Task{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			if _, err := New(tc.task, testKey, mem); err == nil {
				t.Fatal("New succeeded, want an error")
			}
		})
	}
}

func TestApplyFailsClosed(t *testing.T) {
	tests := []struct {
		name string
		task taskplan.Task
	}{
		{"missing column", taskplan.Task{Columns: cols("id"), RowFilter: tree(eq(col("nope"), i64(1)))}},
		{"type mismatch", taskplan.Task{Columns: []taskplan.Column{{Name: "id", Type: "int32"}}}},
		{"string vs int", taskplan.Task{Columns: cols("id"), Predicate: tree(eq(col("id"), str("1")))}},
		// ts has a zone: an instant does not compare with a date or a
		// wall-clock timestamp (sqlsubset.TemporalComparable).
		{"timestamp with zone vs date", taskplan.Task{Columns: cols("id", "ts"), Predicate: tree(&sqlsubset.Compare{Op: sqlsubset.Lt, Left: col("ts"), Right: sqlsubset.Date32Literal(19723)})}},
		{"timestamp with zone vs without", taskplan.Task{Columns: cols("id", "ts"), Predicate: tree(&sqlsubset.Compare{Op: sqlsubset.Lt, Left: col("ts"), Right: sqlsubset.TimestampLiteral(1704067200, sqlsubset.Second, "")})}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			e, err := New(tc.task, testKey, mem)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			in := input(mem)
			defer in.Release()
			if out, err := e.Apply(in); err == nil {
				out.Release()
				t.Fatal("Apply succeeded, want an error")
			}
		})
	}
}

func TestLimitAcrossBatches(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	task := taskplan.Task{Columns: cols("id"), Predicate: tree(cmp(sqlsubset.Ne, col("id"), i64(2))), Limit: 4}
	e, err := New(task, testKey, mem)
	if err != nil {
		t.Fatal(err)
	}
	want := [][][]string{{{"1"}, {"3"}, {"4"}}, {{"1"}}, {}}
	for i, w := range want {
		in := input(mem)
		out, err := e.Apply(in)
		in.Release()
		if err != nil {
			t.Fatal(err)
		}
		if got := rows(out); !reflect.DeepEqual(got, w) {
			t.Errorf("batch %d: got %q, want %q", i, got, w)
		}
		out.Release()
		if done := e.Done(); done != (i >= 1) {
			t.Errorf("batch %d: Done = %v", i, done)
		}
	}
}

func TestKleene(t *testing.T) {
	// index: 0 TRUE, 1 FALSE, 2 NULL
	mk := func(vals ...int) *vec {
		v := newBoolVec(len(vals))
		for i, x := range vals {
			v.valid[i], v.b[i] = x != 2, x == 0
		}
		return v
	}
	a := mk(0, 0, 0, 1, 1, 1, 2, 2, 2)
	b := mk(0, 1, 2, 0, 1, 2, 0, 1, 2)
	render := func(v *vec) []int {
		out := make([]int, len(v.valid))
		for i := range out {
			switch {
			case !v.valid[i]:
				out[i] = 2
			case v.b[i]:
				out[i] = 0
			default:
				out[i] = 1
			}
		}
		return out
	}
	if got, want := render(kleene(a, b, true)), []int{0, 1, 2, 1, 1, 1, 2, 1, 2}; !reflect.DeepEqual(got, want) {
		t.Errorf("AND %v, want %v", got, want)
	}
	if got, want := render(kleene(a, b, false)), []int{0, 0, 0, 0, 1, 2, 0, 2, 2}; !reflect.DeepEqual(got, want) {
		t.Errorf("OR %v, want %v", got, want)
	}
	if got, want := render(not(mk(0, 1, 2))), []int{1, 0, 2}; !reflect.DeepEqual(got, want) {
		t.Errorf("NOT %v, want %v", got, want)
	}
}

func TestFilterOnlyColumnsAndAliases(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := input(mem)
	defer in.Release()

	c := showLast4(cols("id", "card", "region"), "card")
	c[0].As = "customer"
	c[1].FilterOnly = true
	c[2].FilterOnly = true
	run := func(pred S) (*arrow.Schema, [][]string) {
		t.Helper()
		e, err := New(taskplan.Task{Columns: c, Predicate: tree(pred)}, testKey, mem)
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Apply(in)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Release()
		return out.Schema(), rows(out)
	}
	schema, got := run(eq(col("region"), str("eu")))
	if schema.NumFields() != 1 || schema.Field(0).Name != "customer" {
		t.Fatalf("schema = %v, want only the aliased id as customer", schema)
	}
	if want := [][]string{{"1"}, {"3"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("WHERE on a filter-only column: got %v, want %v", got, want)
	}
	// A filter-only masked column is masked before the predicate: its
	// stored value cannot be probed even though it is not returned.
	if _, got := run(eq(col("card"), str("4111111111111111"))); len(got) != 0 {
		t.Fatalf("WHERE on the stored value of a masked filter-only column returned %v", got)
	}
	if _, got := run(eq(col("card"), str("xxxxxxxxxxxx1111"))); !reflect.DeepEqual(got, [][]string{{"1"}, {"4"}}) {
		t.Fatalf("WHERE on the masked value of a filter-only column: got %v", got)
	}
	if _, err := New(taskplan.Task{Columns: []taskplan.Column{{Name: "id", Type: "int64", FilterOnly: true}}}, testKey, mem); err == nil {
		t.Fatal("a task with only filter-only columns was accepted")
	}
}

// Struct fields in filters: a field of a NULL struct is NULL even when the
// child array holds a value in that slot, and a struct column itself can be
// tested with IS NULL.
func TestNestedColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	addr := arrow.StructOf(
		arrow.Field{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "zip", Type: arrow.BinaryTypes.String, Nullable: true},
	)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "address", Type: addr, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3, 4}, nil)
	sb := b.Field(1).(*array.StructBuilder)
	city, zip := sb.FieldBuilder(0).(*array.StringBuilder), sb.FieldBuilder(1).(*array.StringBuilder)
	sb.Append(true)
	city.Append("Paris")
	zip.Append("75001")
	sb.Append(true)
	city.AppendNull()
	zip.Append("1")
	sb.AppendValues([]bool{false}) // a NULL struct whose children hold Paris, 2
	city.Append("Paris")
	zip.Append("2")
	sb.Append(true)
	city.Append("Berlin")
	zip.AppendNull()
	in := b.NewRecordBatch()
	b.Release()
	defer in.Release()

	field := func(f string) S { return &sqlsubset.Column{Name: "address", Path: []string{f}} }
	for _, tc := range []struct {
		name       string
		row, where S
		want       [][]string
	}{
		{"field in the predicate", nil, eq(field("city"), str("Paris")), [][]string{{"1"}}},
		{"field IS NULL", nil, &sqlsubset.IsNull{Expr: field("zip")}, [][]string{{"3"}, {"4"}}},
		{"struct IS NULL", nil, &sqlsubset.IsNull{Expr: col("address")}, [][]string{{"3"}}},
		{"struct IS NOT NULL", nil, &sqlsubset.IsNull{Expr: col("address"), Not: true}, [][]string{{"1"}, {"2"}, {"4"}}},
		{"field in the row filter", eq(field("city"), str("Berlin")), nil, [][]string{{"4"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task := taskplan.Task{Columns: cols("id"), RowFilter: tree(tc.row), Predicate: tree(tc.where)}
			if tc.where != nil {
				task.Columns = append(task.Columns, taskplan.Column{Name: "address", Type: "struct<city:string,zip:string>", FilterOnly: true})
			}
			e, err := New(task, testKey, mem)
			if err != nil {
				t.Fatal(err)
			}
			out, err := e.Apply(in)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Release()
			if got := rows(out); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
