package flight

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"

	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/mask"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

// Schemas come from catalog type strings through the one mapping the
// enforcer uses (sqlsubset.ParseType, then mask.ArrowType), every field
// nullable and named by its output name, so that the schema a FlightInfo
// announces is exactly the schema DoGet streams.

// field maps one output column.
func field(name, typ string) (arrow.Field, error) {
	st, err := sqlsubset.ParseType(typ)
	if err != nil {
		return arrow.Field{}, apierr.Wrap(apierr.Internal, err, "column %q has type %q, which the agent cannot map", name, typ)
	}
	dt, err := mask.ArrowType(st)
	if err != nil {
		return arrow.Field{}, apierr.Wrap(apierr.Internal, err, "column %q has type %q, which the agent cannot map", name, typ)
	}
	return arrow.Field{Name: name, Type: dt, Nullable: true, Metadata: columnMetadata(dt)}, nil
}

// columnMetadata is the Flight SQL column metadata of a column of type dt.
// JDBC clients take a column's precision and scale from it, not from the
// Arrow type: without it, the Arrow Flight SQL JDBC driver reports
// precision 0 and Spark reads every decimal as decimal(38,18), which
// overflows for values of more than 20 integer digits. Only what the type
// determines goes here, so the schema of a plan and of its tasks' streams
// carry the same metadata.
func columnMetadata(dt arrow.DataType) arrow.Metadata {
	d, ok := dt.(arrow.DecimalType)
	if !ok {
		return arrow.Metadata{}
	}
	return flightsql.NewColumnMetadataBuilder().Precision(d.GetPrecision()).Scale(d.GetScale()).Metadata()
}

// sameColumns reports whether a and b have the same fields (names, types,
// nullability), whatever their metadata.
func sameColumns(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := range a.NumFields() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || fa.Nullable != fb.Nullable || !arrow.TypeEqual(fa.Type, fb.Type) {
			return false
		}
	}
	return true
}

// columnsSchema is the schema of a Plan header's or a catalog table's
// columns.
func columnsSchema(cols []*agentapi.Column) (*arrow.Schema, error) {
	fields := make([]arrow.Field, 0, len(cols))
	for _, c := range cols {
		f, err := field(c.GetName(), c.GetType())
		if err != nil {
			return nil, err
		}
		fields = append(fields, f)
	}
	return arrow.NewSchema(fields, nil), nil
}

// taskSchema is the schema of a task's output: its columns minus the
// filter-only ones, by output name (what enforce.OutputSchema is).
func taskSchema(t taskplan.Task) (*arrow.Schema, error) {
	fields := make([]arrow.Field, 0, len(t.Columns))
	for _, c := range t.Columns {
		if c.FilterOnly {
			continue
		}
		typ := c.Type
		if len(c.Field) > 0 {
			st, err := sqlsubset.ParseType(c.Type)
			if err != nil {
				return nil, apierr.Wrap(apierr.Internal, err, "column %s", c.Name)
			}
			ft, err := taskplan.FieldType(st, c.Field)
			if err != nil {
				return nil, apierr.Wrap(apierr.Internal, err, "column %s", c.Name)
			}
			typ = ft.String()
		}
		f, err := field(c.OutputName(), typ)
		if err != nil {
			return nil, err
		}
		fields = append(fields, f)
	}
	return arrow.NewSchema(fields, nil), nil
}
