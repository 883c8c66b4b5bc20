package task

import (
	"fmt"
	"math/big"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/mask"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

// partitions are the partition columns a task needs from one object: they
// come from the object's directory (Object.Partition), not from the file.
type partitions struct {
	names   []string
	scalars []scalar.Scalar
}

// splitColumns divides the columns a task needs into those the file stores
// and those the object's partition values supply.
func splitColumns(t taskplan.Task, obj taskplan.Object, columns []string) (file []string, parts *partitions, err error) {
	parts = &partitions{}
	for _, name := range columns {
		typ, ok := t.PartitionColumns[name]
		if !ok {
			file = append(file, name)
			continue
		}
		st, err := sqlsubset.ParseType(typ)
		if err != nil {
			return nil, nil, apierr.Wrap(apierr.InvalidArgument, err, "partition column %s", name)
		}
		dt, err := mask.ArrowType(st)
		if err != nil {
			return nil, nil, apierr.Wrap(apierr.InvalidArgument, err, "partition column %s", name)
		}
		v, ok := obj.Partition[name]
		if !ok {
			return nil, nil, apierr.New(apierr.InvalidArgument, "object %s has no value for partition column %s", obj.Path, name)
		}
		sc, err := partitionScalar(st, dt, v)
		if err != nil {
			return nil, nil, apierr.New(apierr.InvalidArgument, "object %s: partition column %s: %v", obj.Path, name, err)
		}
		parts.names = append(parts.names, name)
		parts.scalars = append(parts.scalars, sc)
	}
	return file, parts, nil
}

var bits = map[sqlsubset.TypeID]int{
	sqlsubset.Int8: 8, sqlsubset.Int16: 16, sqlsubset.Int32: 32, sqlsubset.Int64: 64,
	sqlsubset.Uint8: 8, sqlsubset.Uint16: 16, sqlsubset.Uint32: 32, sqlsubset.Uint64: 64,
}

// partitionScalar parses a value in the task's canonical text.
func partitionScalar(st sqlsubset.Type, dt arrow.DataType, v *string) (scalar.Scalar, error) {
	if v == nil {
		return scalar.MakeNullScalar(dt), nil
	}
	s := *v
	switch st.ID {
	case sqlsubset.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a boolean", s)
		}
		return scalar.NewBooleanScalar(b), nil
	case sqlsubset.Timestamp:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return scalar.NewTimestampScalar(arrow.Timestamp(n), dt), nil
	case sqlsubset.Int8, sqlsubset.Int16, sqlsubset.Int32, sqlsubset.Int64:
		n, err := strconv.ParseInt(s, 10, bits[st.ID])
		if err != nil {
			return nil, fmt.Errorf("%q is not a %s", s, st)
		}
		return scalar.NewInt64Scalar(n).CastTo(dt)
	case sqlsubset.Uint8, sqlsubset.Uint16, sqlsubset.Uint32, sqlsubset.Uint64:
		n, err := strconv.ParseUint(s, 10, bits[st.ID])
		if err != nil {
			return nil, fmt.Errorf("%q is not a %s", s, st)
		}
		return scalar.NewUint64Scalar(n).CastTo(dt)
	case sqlsubset.Float32, sqlsubset.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return scalar.NewFloat64Scalar(f).CastTo(dt)
	case sqlsubset.Decimal128:
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return nil, fmt.Errorf("%q is not an unscaled decimal", s)
		}
		num := decimal128.FromBigInt(n)
		if !num.FitsInPrecision(st.Precision) {
			return nil, fmt.Errorf("%q does not fit %s", s, st)
		}
		return scalar.NewDecimal128Scalar(num, dt), nil
	case sqlsubset.String:
		return scalar.NewStringScalar(s), nil
	case sqlsubset.Binary:
		return scalar.NewBinaryScalar(memory.NewBufferBytes([]byte(s)), dt), nil
	case sqlsubset.Date32:
		days, err := sqlsubset.ParseDate(s)
		if err != nil {
			return nil, err
		}
		return scalar.NewDate32Scalar(arrow.Date32(days)), nil
	}
	return nil, fmt.Errorf("type %s cannot be a partition column", st)
}

// add returns rec with the partition columns appended as constants; the
// caller releases both.
func (p *partitions) add(mem memory.Allocator, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	n := int(rec.NumRows())
	fields := append([]arrow.Field(nil), rec.Schema().Fields()...)
	cols := append([]arrow.Array(nil), rec.Columns()...)
	var made []arrow.Array
	defer func() {
		for _, a := range made {
			a.Release()
		}
	}()
	for i, name := range p.names {
		a, err := scalar.MakeArrayFromScalar(p.scalars[i], n, mem)
		if err != nil {
			return nil, apierr.Wrap(apierr.Internal, err, "partition column %s", name)
		}
		made = append(made, a)
		fields = append(fields, arrow.Field{Name: name, Type: a.DataType(), Nullable: true})
		cols = append(cols, a)
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(n)), nil
}
