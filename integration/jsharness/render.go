package jsharness

import (
	"encoding/base64"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// FromRecords renders Arrow record batches, as a Go Flight SQL client
// receives them from nscale, into the canonical Result that the node scripts
// print, so a test compares nscale with DuckDB or the Rust client with
// reflect.DeepEqual.
func FromRecords(schema *arrow.Schema, recs ...arrow.RecordBatch) (Result, error) {
	cols, err := Columns(schema)
	if err != nil {
		return Result{}, err
	}
	res := Result{Columns: cols, Rows: [][]any{}}
	for _, rec := range recs {
		rows, err := RenderRecord(rec)
		if err != nil {
			return Result{}, err
		}
		res.Rows = append(res.Rows, rows...)
	}
	return res, nil
}

// Columns gives the canonical name and type of each field.
func Columns(schema *arrow.Schema) ([]Column, error) {
	cols := make([]Column, 0, schema.NumFields())
	for _, f := range schema.Fields() {
		t, err := TypeName(f.Type)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		cols = append(cols, Column{Name: f.Name, Type: t})
	}
	return cols, nil
}

// RenderRecord renders each row of rec as canonical values.
func RenderRecord(rec arrow.RecordBatch) ([][]any, error) {
	rows := make([][]any, rec.NumRows())
	for r := range rows {
		rows[r] = make([]any, rec.NumCols())
	}
	for c, col := range rec.Columns() {
		for r := range rows {
			v, err := Value(col, r)
			if err != nil {
				return nil, fmt.Errorf("column %q: %w", rec.ColumnName(c), err)
			}
			rows[r][c] = v
		}
	}
	return rows, nil
}

// TypeName is the canonical, width- and encoding-independent name of an
// Arrow type: the names DuckDB's types map to as well (see render.mjs), so
// utf8, large_utf8 and utf8_view are all "string" and a dictionary is its
// value type.
func TypeName(dt arrow.DataType) (string, error) {
	switch t := dt.(type) {
	case *arrow.NullType:
		return "null", nil
	case *arrow.BooleanType:
		return "bool", nil
	case *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type,
		*arrow.Uint8Type, *arrow.Uint16Type, *arrow.Uint32Type, *arrow.Uint64Type,
		*arrow.Float32Type, *arrow.Float64Type:
		return t.Name(), nil
	case arrow.DecimalType:
		return "decimal(" + strconv.Itoa(int(t.GetPrecision())) + "," + strconv.Itoa(int(t.GetScale())) + ")", nil
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return "string", nil
	case *arrow.BinaryType, *arrow.LargeBinaryType, *arrow.BinaryViewType, *arrow.FixedSizeBinaryType:
		return "binary", nil
	case *arrow.Date32Type, *arrow.Date64Type:
		return "date", nil
	case *arrow.Time32Type, *arrow.Time64Type:
		return "time", nil
	case *arrow.TimestampType:
		if t.TimeZone != "" {
			return "timestamptz", nil
		}
		return "timestamp", nil
	case *arrow.MapType:
		k, err := TypeName(t.KeyType())
		if err != nil {
			return "", err
		}
		v, err := TypeName(t.ItemType())
		if err != nil {
			return "", err
		}
		return "map<" + k + ", " + v + ">", nil
	case arrow.ListLikeType:
		e, err := TypeName(t.Elem())
		if err != nil {
			return "", err
		}
		return "list<" + e + ">", nil
	case *arrow.StructType:
		parts := make([]string, 0, t.NumFields())
		for _, f := range t.Fields() {
			ft, err := TypeName(f.Type)
			if err != nil {
				return "", err
			}
			parts = append(parts, f.Name+": "+ft)
		}
		return "struct<" + strings.Join(parts, ", ") + ">", nil
	case *arrow.DictionaryType:
		return TypeName(t.ValueType)
	case arrow.ExtensionType:
		return TypeName(t.StorageType())
	}
	return "", fmt.Errorf("no canonical rendering for Arrow type %s", dt)
}

// Value renders row i of arr: nil for NULL, bool for booleans, a string for
// every scalar (so int64 and decimals lose nothing), []any for lists and
// maps, map[string]any for structs. These are the types encoding/json
// decodes the scripts' output into.
func Value(arr arrow.Array, i int) (any, error) {
	if arr.IsNull(i) {
		return nil, nil
	}
	switch a := arr.(type) {
	case *array.Null:
		return nil, nil
	case *array.Boolean:
		return a.Value(i), nil
	case *array.Int8:
		return strconv.FormatInt(int64(a.Value(i)), 10), nil
	case *array.Int16:
		return strconv.FormatInt(int64(a.Value(i)), 10), nil
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10), nil
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10), nil
	case *array.Uint8:
		return strconv.FormatUint(uint64(a.Value(i)), 10), nil
	case *array.Uint16:
		return strconv.FormatUint(uint64(a.Value(i)), 10), nil
	case *array.Uint32:
		return strconv.FormatUint(uint64(a.Value(i)), 10), nil
	case *array.Uint64:
		return strconv.FormatUint(a.Value(i), 10), nil
	case *array.Float32:
		return formatFloat(float64(a.Value(i))), nil
	case *array.Float64:
		return formatFloat(a.Value(i)), nil
	case *array.Decimal32:
		return formatDecimal(big.NewInt(int64(a.Value(i))), scaleOf(a)), nil
	case *array.Decimal64:
		return formatDecimal(big.NewInt(int64(a.Value(i))), scaleOf(a)), nil
	case *array.Decimal128:
		return formatDecimal(a.Value(i).BigInt(), scaleOf(a)), nil
	case *array.Decimal256:
		return formatDecimal(a.Value(i).BigInt(), scaleOf(a)), nil
	case *array.String:
		return a.Value(i), nil
	case *array.LargeString:
		return a.Value(i), nil
	case *array.StringView:
		return a.Value(i), nil
	case *array.Binary:
		return base64.StdEncoding.EncodeToString(a.Value(i)), nil
	case *array.LargeBinary:
		return base64.StdEncoding.EncodeToString(a.Value(i)), nil
	case *array.BinaryView:
		return base64.StdEncoding.EncodeToString(a.Value(i)), nil
	case *array.FixedSizeBinary:
		return base64.StdEncoding.EncodeToString(a.Value(i)), nil
	case *array.Date32:
		return formatDate(int64(a.Value(i))), nil
	case *array.Date64:
		return formatDate(floorDiv(int64(a.Value(i)), 86400000)), nil
	case *array.Time32:
		return formatTime(int64(a.Value(i)), perSecond(a.DataType().(*arrow.Time32Type).Unit)), nil
	case *array.Time64:
		return formatTime(int64(a.Value(i)), perSecond(a.DataType().(*arrow.Time64Type).Unit)), nil
	case *array.Timestamp:
		t := a.DataType().(*arrow.TimestampType)
		return formatTimestamp(int64(a.Value(i)), perSecond(t.Unit), t.TimeZone != ""), nil
	case *array.Map:
		// Before ListLike: a map is a list of key/value structs, rendered as
		// [{"key":k,"value":v},...] because keys need not be strings.
		start, end := a.ValueOffsets(i)
		out := make([]any, 0, end-start)
		for j := int(start); j < int(end); j++ {
			k, err := Value(a.Keys(), j)
			if err != nil {
				return nil, err
			}
			v, err := Value(a.Items(), j)
			if err != nil {
				return nil, err
			}
			out = append(out, map[string]any{"key": k, "value": v})
		}
		return out, nil
	case array.ListLike:
		start, end := a.ValueOffsets(i)
		out := make([]any, 0, end-start)
		for j := int(start); j < int(end); j++ {
			v, err := Value(a.ListValues(), j)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case *array.Struct:
		t := a.DataType().(*arrow.StructType)
		out := make(map[string]any, a.NumField())
		for f := 0; f < a.NumField(); f++ {
			v, err := Value(a.Field(f), i)
			if err != nil {
				return nil, err
			}
			out[t.Field(f).Name] = v
		}
		return out, nil
	case *array.Dictionary:
		return Value(a.Dictionary(), a.GetValueIndex(i))
	case array.ExtensionArray:
		return Value(a.Storage(), i)
	}
	return nil, fmt.Errorf("no canonical rendering for Arrow type %s", arr.DataType())
}

func scaleOf(a arrow.Array) int32 { return a.DataType().(arrow.DecimalType).GetScale() }

func perSecond(u arrow.TimeUnit) int64 {
	switch u {
	case arrow.Second:
		return 1
	case arrow.Millisecond:
		return 1e3
	case arrow.Microsecond:
		return 1e6
	}
	return 1e9
}
