package schema

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/mask"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// Column is one column of a table or a file.
type Column struct {
	Name string
	// Type is in the shared type vocabulary; Type.String() is the canonical
	// type string ("int64", "decimal128(10,2)", "timestamp(us,UTC)",
	// "struct<a:int32,b:string>", "list<int64>").
	Type sqlsubset.Type
	// Nullable is false only when every file says the column holds no NULL
	// (Parquet REQUIRED); struct fields and list elements are always nullable.
	Nullable bool
}

func (c Column) String() string {
	s := sqlsubset.QuoteIdent(c.Name) + " " + c.Type.String()
	if !c.Nullable {
		s += " not null"
	}
	return s
}

// FromArrow converts an Arrow schema to columns. Physical variants map to
// their logical type: large and view strings to string; large, view and
// fixed-size binaries to binary; large, view and fixed-size lists to list;
// decimal32/64/256 (precision <= 38) to decimal128; date64 to date32;
// dictionaries and run-end encodings to their value type; extension types to
// their storage type. float16, time32/64, durations, intervals, maps, unions
// and decimals with precision > 38 are refused (InvalidArgument naming the
// column), as are empty or duplicate column names.
func FromArrow(s *arrow.Schema) ([]Column, error) {
	cols := make([]Column, 0, s.NumFields())
	seen := make(map[string]bool, s.NumFields())
	for _, f := range s.Fields() {
		if f.Name == "" {
			return nil, apierr.New(apierr.InvalidArgument, "a column has an empty name")
		}
		if seen[f.Name] {
			return nil, apierr.New(apierr.InvalidArgument, "column %q appears twice", f.Name)
		}
		seen[f.Name] = true
		t, err := TypeOf(f.Type)
		if err != nil {
			return nil, apierr.New(apierr.InvalidArgument, "column %q: %s", f.Name, apierr.PublicMessage(err))
		}
		if err := t.Validate(); err != nil {
			return nil, apierr.New(apierr.InvalidArgument, "column %q: %s", f.Name, apierr.PublicMessage(err))
		}
		cols = append(cols, Column{Name: f.Name, Type: t, Nullable: f.Nullable})
	}
	return cols, nil
}

// TypeOf converts an Arrow data type (see FromArrow for the mapping).
func TypeOf(dt arrow.DataType) (sqlsubset.Type, error) { return typeOf(dt, 1) }

const maxDepth = 32

func typeOf(dt arrow.DataType, depth int) (sqlsubset.Type, error) {
	if depth > maxDepth {
		return sqlsubset.Type{}, apierr.New(apierr.InvalidArgument, "type nests deeper than %d levels", maxDepth)
	}
	unsupported := func() (sqlsubset.Type, error) {
		return sqlsubset.Type{}, apierr.New(apierr.InvalidArgument, "Arrow type %s is not supported", dt)
	}
	simple := func(id sqlsubset.TypeID) (sqlsubset.Type, error) { return sqlsubset.Type{ID: id}, nil }
	switch t := dt.(type) {
	case *arrow.NullType:
		return simple(sqlsubset.Null)
	case *arrow.BooleanType:
		return simple(sqlsubset.Bool)
	case *arrow.Int8Type:
		return simple(sqlsubset.Int8)
	case *arrow.Int16Type:
		return simple(sqlsubset.Int16)
	case *arrow.Int32Type:
		return simple(sqlsubset.Int32)
	case *arrow.Int64Type:
		return simple(sqlsubset.Int64)
	case *arrow.Uint8Type:
		return simple(sqlsubset.Uint8)
	case *arrow.Uint16Type:
		return simple(sqlsubset.Uint16)
	case *arrow.Uint32Type:
		return simple(sqlsubset.Uint32)
	case *arrow.Uint64Type:
		return simple(sqlsubset.Uint64)
	case *arrow.Float32Type:
		return simple(sqlsubset.Float32)
	case *arrow.Float64Type:
		return simple(sqlsubset.Float64)
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return simple(sqlsubset.String)
	case *arrow.BinaryType, *arrow.LargeBinaryType, *arrow.BinaryViewType, *arrow.FixedSizeBinaryType:
		return simple(sqlsubset.Binary)
	case *arrow.Date32Type, *arrow.Date64Type:
		return simple(sqlsubset.Date32)
	case arrow.DecimalType:
		if t.GetPrecision() < 1 || t.GetPrecision() > sqlsubset.MaxDecimalPrecision {
			return unsupported()
		}
		return sqlsubset.DecimalType(t.GetPrecision(), t.GetScale()), nil
	case *arrow.TimestampType:
		return sqlsubset.TimestampType(sqlsubset.TimeUnit(t.Unit.String()), t.TimeZone), nil
	case *arrow.StructType:
		if t.NumFields() == 0 {
			return sqlsubset.Type{}, apierr.New(apierr.InvalidArgument, "struct type has no fields")
		}
		fields := make([]sqlsubset.Field, t.NumFields())
		for i, f := range t.Fields() {
			ft, err := typeOf(f.Type, depth+1)
			if err != nil {
				return sqlsubset.Type{}, err
			}
			fields[i] = sqlsubset.Field{Name: f.Name, Type: ft}
		}
		return sqlsubset.StructType(fields...), nil
	case *arrow.MapType:
		return unsupported()
	case arrow.ListLikeType: // list, large list, list views, fixed-size list
		elem, err := typeOf(t.Elem(), depth+1)
		if err != nil {
			return sqlsubset.Type{}, err
		}
		return sqlsubset.ListType(elem), nil
	case *arrow.DictionaryType:
		return typeOf(t.ValueType, depth+1)
	case *arrow.RunEndEncodedType:
		return typeOf(t.Encoded(), depth+1)
	case arrow.ExtensionType:
		return typeOf(t.StorageType(), depth+1)
	}
	return unsupported()
}

// ArrowType converts a type to the Arrow type an agent decodes it as. The
// agent's mask package owns the mapping, so both sides agree on it.
func ArrowType(t sqlsubset.Type) (arrow.DataType, error) { return mask.ArrowType(t) }

// ToArrow converts columns to an Arrow schema.
func ToArrow(cols []Column) (*arrow.Schema, error) {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		dt, err := ArrowType(c.Type)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", c.Name, err)
		}
		fields[i] = arrow.Field{Name: c.Name, Type: dt, Nullable: c.Nullable}
	}
	return arrow.NewSchema(fields, nil), nil
}
