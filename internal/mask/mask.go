// Package mask applies column masks to Arrow arrays. The control plane calls
// Check (or CheckType) when a mask is written; an agent calls Apply or
// ApplyRecord on every record batch before it leaves the node.
//
// A mask never changes a column's Arrow data type or its length, and a null
// stays null. The functions (docs/masks.md gives the exact output per type):
//
//	null           every type           every value becomes null
//	redact         every type (but views, unions, run-end encoded, extension)
//	                                    a fixed constant of the type: "xxxx", empty
//	                                    binary, false, 0, 1970-01-01, the epoch;
//	                                    lists and maps become empty, structs are
//	                                    redacted field by field
//	hash           string binary        HMAC-SHA256 under the key: 64 lowercase hex
//	                                    characters (binary: the 32 digest bytes)
//	tokenize       string binary        "tok_" + 26 base32 characters (binary: 16
//	                                    bytes) of an HMAC-SHA256 under the key
//	               int8..int64 uint8..uint64
//	                                    a keyed permutation of the type's values
//	                                    (8-round Feistel network over AES-256)
//	show_first(n)  string               keep the first n characters, each other one
//	                                    becomes 'x'
//	show_last(n)   string               keep the last n characters, each other one
//	                                    becomes 'x'
//	email_domain   string               "xxxx" + the last '@' and what follows it;
//	                                    "xxxx" when there is no '@'
//	date_year      date32 date64 timestamp
//	                                    January 1, 00:00 of the value's year, in the
//	                                    column's time zone (UTC when it has none)
//	round(n)       float32 float64 decimal128
//	                                    round half away from zero to n digits after
//	                                    the point; integers are returned unchanged
//	zero           integers, floats, decimals
//	                                    every value becomes 0
//
// "string" means utf8 and large_utf8, "binary" binary and large_binary; a
// dictionary-encoded column is masked through its dictionary. Masks that
// produce a value the type cannot hold (round of decimal128(4,2) 99.99 to no
// digits, date_year of a nanosecond timestamp in 1677) produce null instead.
//
// Everything is vectorised: fixed-width results are computed into one new
// buffer, variable-width ones into one offsets and one data buffer, and the
// keyed functions allocate their hashing state once per call, not per row.
package mask

import (
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// KeySize is the length of a masking key in bytes.
const KeySize = 32

// Key is the deployment-wide masking key that keys hash and tokenize: the
// same value masked with the same key gives the same output on every agent,
// so joins on a tokenized column still work within a deployment, and a
// different key gives unrelated outputs. It must be KeySize bytes. Key never
// prints its bytes.
type Key []byte

// String returns "[REDACTED]" so that a key never reaches a log.
func (Key) String() string { return "[REDACTED]" }

// GoString returns "mask.Key([REDACTED])".
func (Key) GoString() string { return "mask.Key([REDACTED])" }

// Format prints "[REDACTED]" for every verb.
func (k Key) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(k.GoString()))
		return
	}
	_, _ = f.Write([]byte(k.String()))
}

// Function names.
const (
	FuncNull        = "null"
	FuncRedact      = "redact"
	FuncHash        = "hash"
	FuncTokenize    = "tokenize"
	FuncShowFirst   = "show_first"
	FuncShowLast    = "show_last"
	FuncEmailDomain = "email_domain"
	FuncDateYear    = "date_year"
	FuncRound       = "round"
	FuncZero        = "zero"
)

type function struct {
	args    int
	keyed   bool
	applies func(arrow.DataType) bool // never called with a dictionary type
	kinds   string                    // for error messages
}

var functions = map[string]function{
	FuncNull:        {0, false, func(arrow.DataType) bool { return true }, "every type"},
	FuncRedact:      {0, false, redactable, "every type except views, unions, run-end encoded and extension types"},
	FuncHash:        {0, true, isStringOrBinary, "string and binary"},
	FuncTokenize:    {0, true, func(dt arrow.DataType) bool { return isStringOrBinary(dt) || isInteger(dt) }, "string, binary and integer"},
	FuncShowFirst:   {1, false, isString, "string"},
	FuncShowLast:    {1, false, isString, "string"},
	FuncEmailDomain: {0, false, isString, "string"},
	FuncDateYear:    {0, false, isDateOrTimestamp, "date32, date64 and timestamp"},
	FuncRound:       {1, false, roundable, "integer, float32, float64 and decimal128"},
	FuncZero:        {0, false, isNumeric, "integer, floating point and decimal"},
}

// Functions lists the mask function names, sorted.
func Functions() []string {
	out := make([]string, 0, len(functions))
	for n := range functions {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func isString(dt arrow.DataType) bool {
	return dt.ID() == arrow.STRING || dt.ID() == arrow.LARGE_STRING
}

func isStringOrBinary(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		return true
	}
	return false
}

func isInteger(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

func isNumeric(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64,
		arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256:
		return true
	}
	return isInteger(dt)
}

func roundable(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128:
		return true
	}
	return isInteger(dt)
}

func isDateOrTimestamp(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP:
		return true
	}
	return false
}

// redactable reports whether redact has a constant for dt.
func redactable(dt arrow.DataType) bool {
	switch t := dt.(type) {
	case *arrow.NullType, *arrow.StringType, *arrow.LargeStringType,
		*arrow.BinaryType, *arrow.LargeBinaryType:
		return true
	case *arrow.ListType, *arrow.LargeListType, *arrow.MapType:
		return true // every list becomes empty, whatever its elements
	case *arrow.FixedSizeListType:
		return redactable(t.Elem())
	case *arrow.StructType:
		for _, f := range t.Fields() {
			if !redactable(f.Type) {
				return false
			}
		}
		return true
	case *arrow.DictionaryType:
		return redactable(t.ValueType)
	case arrow.ExtensionType:
		return false
	case arrow.FixedWidthDataType:
		return true // bool, numbers, decimals, dates, times, timestamps, durations, intervals, fixed_size_binary
	}
	return false
}

func invalid(format string, args ...any) error {
	return apierr.New(apierr.InvalidArgument, format, args...)
}

// validate checks the function name and its arguments.
func validate(m sqlsubset.Mask) (function, error) {
	f, ok := functions[m.Func]
	if !ok {
		return f, invalid("unknown mask function %q (known: %s)", m.Func, strings.Join(Functions(), ", "))
	}
	if len(m.Args) != f.args {
		return f, invalid("mask function %s takes %d argument(s), got %d", m.Func, f.args, len(m.Args))
	}
	for _, a := range m.Args {
		if a < 0 || a > sqlsubset.MaxMaskArg {
			return f, invalid("argument of mask function %s must be an integer in 0..%d, got %d", m.Func, sqlsubset.MaxMaskArg, a)
		}
	}
	return f, nil
}

// Check reports whether mask m is well formed and applies to a column of
// Arrow type dt. The error, with code InvalidArgument, names the function and
// the type.
func Check(m sqlsubset.Mask, dt arrow.DataType) error {
	f, err := validate(m)
	if err != nil {
		return err
	}
	if dt == nil {
		return invalid("mask function %s: no column type", m.Func)
	}
	vt := dt
	if d, ok := dt.(*arrow.DictionaryType); ok && m.Func != FuncNull {
		vt = d.ValueType
	}
	if !f.applies(vt) {
		return invalid("mask function %s does not apply to type %s (it applies to %s)", m.Func, TypeName(dt), f.kinds)
	}
	return nil
}

// CheckType is Check for a column type as the control plane's catalog spells
// it.
func CheckType(m sqlsubset.Mask, t sqlsubset.Type) error {
	dt, err := ArrowType(t)
	if err != nil {
		return err
	}
	return Check(m, dt)
}

// Apply masks arr with m and returns a new array of the same data type and
// length; the caller releases it. A null stays null (and m = null makes every
// value null). The key must be KeySize bytes when m is hash or tokenize and
// is ignored otherwise. An unsupported function or type, or a bad key, is an
// error naming them: the agent must then fail the task, never serve arr.
func Apply(mem memory.Allocator, arr arrow.Array, m sqlsubset.Mask, key Key) (arrow.Array, error) {
	c, err := compile(m, arr.DataType(), key)
	if err != nil {
		return nil, err
	}
	return c.apply(mem, arr)
}

// MaskedSchema returns the schema of the batches ApplyRecord makes from
// batches of schema s: the same fields and types, with each masked field
// marked nullable (null, round and date_year may produce nulls). It checks
// every mask against its column's type; a mask naming no field is an error.
func MaskedSchema(s *arrow.Schema, masks map[string]sqlsubset.Mask) (*arrow.Schema, error) {
	names := make([]string, 0, len(masks))
	for n := range masks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		idx := s.FieldIndices(n)
		if len(idx) == 0 {
			return nil, invalid("mask on column %q, which is not in the batch", n)
		}
		for _, i := range idx {
			if err := Check(masks[n], s.Field(i).Type); err != nil {
				return nil, apierr.Wrap(apierr.InvalidArgument, err, "column %q", n)
			}
		}
	}
	fields := make([]arrow.Field, s.NumFields())
	for i := range fields {
		fields[i] = s.Field(i)
		if _, ok := masks[fields[i].Name]; ok {
			fields[i].Nullable = true
		}
	}
	md := s.Metadata()
	return arrow.NewSchemaWithEndian(fields, &md, s.Endianness()), nil
}

// ApplyRecord masks the columns of rec named in masks (every column of that
// name, if the schema repeats one) and returns a new record batch with the
// schema MaskedSchema gives; the caller releases it. Unmasked columns are
// shared with rec, not copied.
func ApplyRecord(mem memory.Allocator, rec arrow.RecordBatch, masks map[string]sqlsubset.Mask, key Key) (arrow.RecordBatch, error) {
	schema, err := MaskedSchema(rec.Schema(), masks)
	if err != nil {
		return nil, err
	}
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	compiled := make(map[string]*masker, len(masks))
	for i := range cols {
		col := rec.Column(i)
		name := schema.Field(i).Name
		m, ok := masks[name]
		if !ok {
			col.Retain()
			cols[i] = col
			continue
		}
		c := compiled[name]
		if c == nil || !arrow.TypeEqual(c.dt, col.DataType()) {
			if c, err = compile(m, col.DataType(), key); err != nil {
				return nil, apierr.Wrap(apierr.CodeOf(err), err, "column %q", name)
			}
			compiled[name] = c
		}
		if cols[i], err = c.apply(mem, col); err != nil {
			return nil, apierr.Wrap(apierr.CodeOf(err), err, "column %q", name)
		}
	}
	return array.NewRecordBatch(schema, cols, rec.NumRows()), nil
}

// TypeName spells dt the way the catalog does (string, decimal128(10,2),
// timestamp(us,UTC), list<int32>) where there is such a spelling, and as
// Arrow does otherwise.
func TypeName(dt arrow.DataType) string {
	var b strings.Builder
	writeTypeName(&b, dt)
	return b.String()
}

func writeTypeName(b *strings.Builder, dt arrow.DataType) {
	switch t := dt.(type) {
	case *arrow.BooleanType:
		b.WriteString("bool")
	case *arrow.StringType:
		b.WriteString("string")
	case *arrow.LargeStringType:
		b.WriteString("large_string")
	case *arrow.Decimal128Type:
		fmt.Fprintf(b, "decimal128(%d,%d)", t.Precision, t.Scale)
	case *arrow.Decimal256Type:
		fmt.Fprintf(b, "decimal256(%d,%d)", t.Precision, t.Scale)
	case *arrow.TimestampType:
		b.WriteString("timestamp(")
		b.WriteString(t.Unit.String())
		if t.TimeZone != "" {
			b.WriteByte(',')
			b.WriteString(t.TimeZone)
		}
		b.WriteByte(')')
	case *arrow.StructType:
		b.WriteString("struct<")
		for i, f := range t.Fields() {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(f.Name)
			b.WriteByte(':')
			writeTypeName(b, f.Type)
		}
		b.WriteByte('>')
	case *arrow.ListType:
		b.WriteString("list<")
		writeTypeName(b, t.Elem())
		b.WriteByte('>')
	case *arrow.LargeListType:
		b.WriteString("large_list<")
		writeTypeName(b, t.Elem())
		b.WriteByte('>')
	case *arrow.DictionaryType:
		b.WriteString("dictionary<")
		writeTypeName(b, t.ValueType)
		b.WriteByte('>')
	default:
		b.WriteString(dt.String())
	}
}

// ArrowType returns the Arrow data type of a catalog type: string is utf8,
// struct fields and list elements are nullable, timestamps keep their unit
// and zone.
func ArrowType(t sqlsubset.Type) (arrow.DataType, error) {
	switch t.ID {
	case sqlsubset.Null:
		return arrow.Null, nil
	case sqlsubset.Bool:
		return arrow.FixedWidthTypes.Boolean, nil
	case sqlsubset.Int8:
		return arrow.PrimitiveTypes.Int8, nil
	case sqlsubset.Int16:
		return arrow.PrimitiveTypes.Int16, nil
	case sqlsubset.Int32:
		return arrow.PrimitiveTypes.Int32, nil
	case sqlsubset.Int64:
		return arrow.PrimitiveTypes.Int64, nil
	case sqlsubset.Uint8:
		return arrow.PrimitiveTypes.Uint8, nil
	case sqlsubset.Uint16:
		return arrow.PrimitiveTypes.Uint16, nil
	case sqlsubset.Uint32:
		return arrow.PrimitiveTypes.Uint32, nil
	case sqlsubset.Uint64:
		return arrow.PrimitiveTypes.Uint64, nil
	case sqlsubset.Float32:
		return arrow.PrimitiveTypes.Float32, nil
	case sqlsubset.Float64:
		return arrow.PrimitiveTypes.Float64, nil
	case sqlsubset.Decimal128:
		return &arrow.Decimal128Type{Precision: t.Precision, Scale: t.Scale}, nil
	case sqlsubset.String:
		return arrow.BinaryTypes.String, nil
	case sqlsubset.Binary:
		return arrow.BinaryTypes.Binary, nil
	case sqlsubset.Date32:
		return arrow.FixedWidthTypes.Date32, nil
	case sqlsubset.Timestamp:
		var u arrow.TimeUnit
		switch t.Unit {
		case sqlsubset.Second:
			u = arrow.Second
		case sqlsubset.Milli:
			u = arrow.Millisecond
		case sqlsubset.Micro:
			u = arrow.Microsecond
		case sqlsubset.Nano:
			u = arrow.Nanosecond
		default:
			return nil, invalid("timestamp unit %q is not one of s, ms, us, ns", string(t.Unit))
		}
		return &arrow.TimestampType{Unit: u, TimeZone: t.TZ}, nil
	case sqlsubset.Struct:
		fields := make([]arrow.Field, len(t.Fields))
		for i, f := range t.Fields {
			ft, err := ArrowType(f.Type)
			if err != nil {
				return nil, err
			}
			fields[i] = arrow.Field{Name: f.Name, Type: ft, Nullable: true}
		}
		return arrow.StructOf(fields...), nil
	case sqlsubset.List:
		if t.Elem == nil {
			return nil, invalid("list type has no element type")
		}
		et, err := ArrowType(*t.Elem)
		if err != nil {
			return nil, err
		}
		return arrow.ListOf(et), nil
	}
	return nil, invalid("type %s has no Arrow equivalent", t)
}
