package enforce

import (
	"math/big"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/sqlsubset/semanticstest"
)

// The agent's evaluation over Arrow columns gives the table's answers
// (which integration checks against DuckDB), and refuses what the subset
// refuses (fail closed, should a task carry it). Each non-NULL operand is
// a one-row column of its type, so the column readers are exercised too.
func TestEvaluationAgreesWithSemanticsTable(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, c := range semanticstest.Load(t) {
		cols := map[string]arrow.Array{}
		operand := func(name string, l *sqlsubset.Literal) sqlsubset.Expr {
			if l.Type.ID == sqlsubset.Null {
				return l
			}
			cols[name] = oneRow(t, mem, l)
			return &sqlsubset.Column{Name: name}
		}
		var e sqlsubset.Expr
		if c.Like {
			e = &sqlsubset.Like{Expr: operand("s", c.Text), Pattern: c.Pattern, Not: c.Not, CaseInsensitive: c.CaseInsensitive}
		} else {
			e = &sqlsubset.Compare{Op: c.Op, Left: operand("l", c.Left), Right: operand("r", c.Right)}
		}
		comp, err := compile(e)
		var v *vec
		if err == nil {
			v, err = comp.evalBool(1, func(name string) (arrow.Array, error) { return cols[name], nil })
		}
		for _, a := range cols {
			a.Release()
		}
		if c.Refused {
			if err == nil {
				t.Errorf("%s evaluated, want refused", c.Name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		var got *bool
		if v.valid[0] {
			got = &v.b[0]
		}
		if (got == nil) != (c.Want == nil) || (got != nil && *got != *c.Want) {
			t.Errorf("%s = %v, want %v", c.Name, semanticstest.Show(got), semanticstest.Show(c.Want))
		}
	}
}

// oneRow is l as a one-row Arrow array of its type.
func oneRow(t *testing.T, mem memory.Allocator, l *sqlsubset.Literal) arrow.Array {
	t.Helper()
	var dt arrow.DataType
	switch l.Type.ID {
	case sqlsubset.Int64:
		dt = arrow.PrimitiveTypes.Int64
	case sqlsubset.Uint64:
		dt = arrow.PrimitiveTypes.Uint64
	case sqlsubset.Float64:
		dt = arrow.PrimitiveTypes.Float64
	case sqlsubset.Decimal128:
		dt = &arrow.Decimal128Type{Precision: l.Type.Precision, Scale: l.Type.Scale}
	case sqlsubset.String:
		dt = arrow.BinaryTypes.String
	case sqlsubset.Binary:
		dt = arrow.BinaryTypes.Binary
	case sqlsubset.Bool:
		dt = arrow.FixedWidthTypes.Boolean
	case sqlsubset.Date32:
		dt = arrow.FixedWidthTypes.Date32
	case sqlsubset.Timestamp:
		unit := map[sqlsubset.TimeUnit]arrow.TimeUnit{sqlsubset.Second: arrow.Second, sqlsubset.Milli: arrow.Millisecond,
			sqlsubset.Micro: arrow.Microsecond, sqlsubset.Nano: arrow.Nanosecond}[l.Type.Unit]
		dt = &arrow.TimestampType{Unit: unit, TimeZone: l.Type.TZ}
	default:
		t.Fatalf("no Arrow column for %s", l.Type)
	}
	b := array.NewBuilder(mem, dt)
	defer b.Release()
	switch bb := b.(type) {
	case *array.Int64Builder:
		bb.Append(l.Int)
	case *array.Uint64Builder:
		bb.Append(l.Uint)
	case *array.Float64Builder:
		bb.Append(l.Float)
	case *array.Decimal128Builder:
		n, _ := new(big.Int).SetString(l.Str, 10)
		bb.Append(decimal128.FromBigInt(n))
	case *array.StringBuilder:
		bb.Append(l.Str)
	case *array.BinaryBuilder:
		bb.Append(l.Bytes)
	case *array.BooleanBuilder:
		bb.Append(l.Bool)
	case *array.Date32Builder:
		bb.Append(arrow.Date32(l.Int))
	case *array.TimestampBuilder:
		bb.Append(arrow.Timestamp(l.Int))
	}
	return b.NewArray()
}
