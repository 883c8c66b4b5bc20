package flight

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"

	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/taskplan"
)

// JDBC clients (the Arrow Flight SQL JDBC driver, and Spark through it)
// take a decimal's precision and scale from the Flight SQL column metadata.
func TestColumnMetadata(t *testing.T) {
	cases := []struct {
		typ                  string
		precision, scale     int32
		hasPrecision, hasAny bool
	}{
		{typ: "decimal128(12,2)", precision: 12, scale: 2, hasPrecision: true, hasAny: true},
		{typ: "decimal128(38,0)", precision: 38, scale: 0, hasPrecision: true, hasAny: true},
		{typ: "int64"},
		{typ: "string"},
		{typ: "timestamp(us,UTC)"},
		{typ: "struct<a:decimal128(5,1)>"}, // a struct column has no precision of its own
	}
	for _, tc := range cases {
		f, err := field("c", tc.typ)
		if err != nil {
			t.Fatalf("%s: %v", tc.typ, err)
		}
		if got := f.HasMetadata(); got != tc.hasAny {
			t.Errorf("%s: metadata %v, want some: %v", tc.typ, f.Metadata, tc.hasAny)
		}
		md := flightsql.ColumnMetadata{Data: &f.Metadata}
		p, okP := md.Precision()
		s, okS := md.Scale()
		if okP != tc.hasPrecision || okS != tc.hasPrecision || p != tc.precision || s != tc.scale {
			t.Errorf("%s: precision %d (%v), scale %d (%v); want %d, %d (%v)", tc.typ, p, okP, s, okS, tc.precision, tc.scale, tc.hasPrecision)
		}
	}
}

// A plan's schema and its task's stream schema must be equal, metadata
// included: ADBC refuses an endpoint whose schema differs from the
// FlightInfo's, and the IPC writer a batch whose schema differs from the
// stream's.
func TestPlanAndTaskSchemasAgree(t *testing.T) {
	plan, err := columnsSchema([]*agentapi.Column{
		{Name: "id", Type: "int64"},
		{Name: "amount", Type: "decimal128(12,2)"},
		{Name: "price", Type: "decimal128(5,1)"},
	})
	if err != nil {
		t.Fatal(err)
	}
	task, err := taskSchema(taskplan.Task{Columns: []taskplan.Column{
		{Name: "id", Type: "int64"},
		{Name: "amount", Type: "decimal128(12,2)"},
		{Name: "filter_only", Type: "decimal128(9,3)", FilterOnly: true},
		{Name: "nested", As: "price", Type: "struct<p:decimal128(5,1),q:string>", Field: []string{"p"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !plan.Equal(task) {
		t.Fatalf("plan schema\n%s\ntask schema\n%s", plan, task)
	}

	bare := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "amount", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
		{Name: "price", Type: &arrow.Decimal128Type{Precision: 5, Scale: 1}, Nullable: true},
	}, nil)
	if bare.Equal(task) {
		t.Fatal("the task schema carries no column metadata")
	}
	if !sameColumns(bare, task) {
		t.Error("sameColumns: the enforcer's batch (no metadata) does not match the announced schema")
	}
	for _, other := range []*arrow.Schema{
		arrow.NewSchema(bare.Fields()[:2], nil),
		arrow.NewSchema([]arrow.Field{bare.Field(0), bare.Field(1), {Name: "price", Type: &arrow.Decimal128Type{Precision: 5, Scale: 2}, Nullable: true}}, nil),
		arrow.NewSchema([]arrow.Field{bare.Field(0), bare.Field(1), {Name: "cost", Type: bare.Field(2).Type, Nullable: true}}, nil),
		arrow.NewSchema([]arrow.Field{bare.Field(0), bare.Field(1), {Name: "price", Type: bare.Field(2).Type}}, nil),
	} {
		if sameColumns(other, task) {
			t.Errorf("sameColumns(%s, %s) = true", other, task)
		}
	}
}
