package task

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/mask"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

// catalogTypes are the Arrow types the task's columns must have.
func catalogTypes(t taskplan.Task) (map[string]arrow.DataType, error) {
	out := make(map[string]arrow.DataType, len(t.Columns))
	for _, c := range t.Columns {
		if c.Const != nil {
			continue
		}
		st, err := sqlsubset.ParseType(c.Type)
		if err != nil {
			return nil, apierr.Wrap(apierr.InvalidArgument, err, "column %s", c.Name)
		}
		dt, err := mask.ArrowType(st)
		if err != nil {
			return nil, apierr.Wrap(apierr.InvalidArgument, err, "column %s", c.Name)
		}
		out[c.Name] = dt
	}
	return out, nil
}

// conform gives rec's columns the catalog's types where a writer stored
// them differently but losslessly convertible: a timestamp in another unit
// or zone label (the instant is kept), a narrower integer or float. A cast
// that would lose data fails, and any other difference is left for the
// enforcer to refuse: the agent never guesses a value.
func conform(mem memory.Allocator, rec arrow.RecordBatch, want map[string]arrow.DataType) (arrow.RecordBatch, bool, error) {
	var cols []arrow.Array
	var fields []arrow.Field
	changed := false
	for i, f := range rec.Schema().Fields() {
		col := rec.Column(i)
		dt, ok := want[f.Name]
		if !ok || arrow.TypeEqual(col.DataType(), dt) || !convertible(col.DataType(), dt) {
			col.Retain()
			cols, fields = append(cols, col), append(fields, f)
			continue
		}
		ctx := compute.WithAllocator(context.Background(), mem)
		out, err := compute.CastArray(ctx, col, compute.SafeCastOptions(dt))
		if err != nil {
			for _, c := range cols {
				c.Release()
			}
			return nil, false, apierr.New(apierr.InvalidArgument, "column %s is stored as %s and does not convert to the table's %s: %v", f.Name, col.DataType(), dt, err)
		}
		changed = true
		cols = append(cols, out)
		fields = append(fields, arrow.Field{Name: f.Name, Type: dt, Nullable: true})
	}
	if !changed {
		for _, c := range cols {
			c.Release()
		}
		return rec, false, nil
	}
	res := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return res, true, nil
}

// convertible lists the stored/catalog pairs that conform casts.
func convertible(from, to arrow.DataType) bool {
	switch {
	case from.ID() == arrow.TIMESTAMP && to.ID() == arrow.TIMESTAMP:
		return true
	case arrow.IsInteger(from.ID()) && arrow.IsInteger(to.ID()):
		return true
	case from.ID() == arrow.FLOAT32 && to.ID() == arrow.FLOAT64:
		return true
	case from.ID() == arrow.LARGE_STRING && to.ID() == arrow.STRING,
		from.ID() == arrow.LARGE_BINARY && to.ID() == arrow.BINARY:
		return true
	}
	return false
}
