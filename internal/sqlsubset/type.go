package sqlsubset

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nscale/nscale/internal/apierr"
)

// TypeID names a data type. Its String form is the Arrow-style spelling used
// in canonical type strings.
type TypeID uint8

// Type identifiers. Null is the type of the NULL literal only.
const (
	Invalid TypeID = iota
	Null
	Bool
	Int8
	Int16
	Int32
	Int64
	Uint8
	Uint16
	Uint32
	Uint64
	Float32
	Float64
	Decimal128
	String
	Binary
	Date32
	Timestamp
	Struct
	List
)

var typeIDNames = [...]string{
	Invalid: "invalid", Null: "null", Bool: "bool",
	Int8: "int8", Int16: "int16", Int32: "int32", Int64: "int64",
	Uint8: "uint8", Uint16: "uint16", Uint32: "uint32", Uint64: "uint64",
	Float32: "float32", Float64: "float64", Decimal128: "decimal128",
	String: "string", Binary: "binary", Date32: "date32", Timestamp: "timestamp",
	Struct: "struct", List: "list",
}

func (id TypeID) String() string {
	if int(id) < len(typeIDNames) {
		return typeIDNames[id]
	}
	return "invalid"
}

// TimeUnit is the unit of a timestamp: s, ms, us or ns.
type TimeUnit string

// Timestamp units.
const (
	Second TimeUnit = "s"
	Milli  TimeUnit = "ms"
	Micro  TimeUnit = "us"
	Nano   TimeUnit = "ns"
)

// Valid reports whether u is one of the four units.
func (u TimeUnit) Valid() bool {
	return u == Second || u == Milli || u == Micro || u == Nano
}

// perSecond is the number of units in one second.
func (u TimeUnit) perSecond() int64 {
	switch u {
	case Second:
		return 1
	case Milli:
		return 1e3
	case Micro:
		return 1e6
	default:
		return 1e9
	}
}

// MaxDecimalPrecision is the largest decimal128 precision.
const MaxDecimalPrecision = 38

// maxTypeDepth bounds the nesting of struct and list types.
const maxTypeDepth = 32

// Type is a column or value type. Only the fields that belong to ID are set:
// Precision and Scale for Decimal128, Unit and TZ for Timestamp (TZ "" means
// a timestamp without time zone), Fields for Struct and Elem for List.
//
// The canonical string form (String, ParseType) is:
//
//	null bool int8 int16 int32 int64 uint8 uint16 uint32 uint64
//	float32 float64 string binary date32
//	decimal128(P,S)          1 <= P <= 38, 0 <= S <= P
//	timestamp(UNIT)          UNIT one of s ms us ns: no time zone
//	timestamp(UNIT,TZ)       TZ e.g. UTC, Europe/Paris, +01:00
//	struct<NAME:TYPE,...>    NAME bare when it is [a-z_][a-z0-9_]*, else "double-quoted"
//	list<TYPE>
type Type struct {
	ID        TypeID
	Precision int32
	Scale     int32
	Unit      TimeUnit
	TZ        string
	Fields    []Field
	Elem      *Type
}

// Field is one field of a struct type.
type Field struct {
	Name string
	Type Type
}

// Convenience constructors for types with parameters.

// DecimalType returns decimal128(p,s); it does not validate.
func DecimalType(p, s int32) Type { return Type{ID: Decimal128, Precision: p, Scale: s} }

// TimestampType returns timestamp(unit[,tz]); it does not validate.
func TimestampType(unit TimeUnit, tz string) Type { return Type{ID: Timestamp, Unit: unit, TZ: tz} }

// ListType returns list<elem>.
func ListType(elem Type) Type { return Type{ID: List, Elem: &elem} }

// StructType returns struct<fields...>.
func StructType(fields ...Field) Type { return Type{ID: Struct, Fields: fields} }

// IsInteger reports whether t is a signed or unsigned integer type.
func (t Type) IsInteger() bool { return t.ID >= Int8 && t.ID <= Uint64 }

// IsNumeric reports whether t is an integer, floating point or decimal type.
func (t Type) IsNumeric() bool { return t.ID >= Int8 && t.ID <= Decimal128 }

// IsTemporal reports whether t is date32 or a timestamp.
func (t Type) IsTemporal() bool { return t.ID == Date32 || t.ID == Timestamp }

// Equal reports whether t and o are the same type.
func (t Type) Equal(o Type) bool {
	if t.ID != o.ID {
		return false
	}
	switch t.ID {
	case Decimal128:
		return t.Precision == o.Precision && t.Scale == o.Scale
	case Timestamp:
		return t.Unit == o.Unit && t.TZ == o.TZ
	case List:
		if t.Elem == nil || o.Elem == nil {
			return t.Elem == o.Elem
		}
		return t.Elem.Equal(*o.Elem)
	case Struct:
		if len(t.Fields) != len(o.Fields) {
			return false
		}
		for i := range t.Fields {
			if t.Fields[i].Name != o.Fields[i].Name || !t.Fields[i].Type.Equal(o.Fields[i].Type) {
				return false
			}
		}
	}
	return true
}

// String returns the canonical type string.
func (t Type) String() string {
	var b strings.Builder
	t.write(&b)
	return b.String()
}

func (t Type) write(b *strings.Builder) {
	switch t.ID {
	case Decimal128:
		b.WriteString("decimal128(")
		b.WriteString(strconv.Itoa(int(t.Precision)))
		b.WriteByte(',')
		b.WriteString(strconv.Itoa(int(t.Scale)))
		b.WriteByte(')')
	case Timestamp:
		b.WriteString("timestamp(")
		b.WriteString(string(t.Unit))
		if t.TZ != "" {
			b.WriteByte(',')
			b.WriteString(t.TZ)
		}
		b.WriteByte(')')
	case Struct:
		b.WriteString("struct<")
		for i, f := range t.Fields {
			if i > 0 {
				b.WriteByte(',')
			}
			if bareFieldName(f.Name) {
				b.WriteString(f.Name)
			} else {
				b.WriteString(quoteDouble(f.Name))
			}
			b.WriteByte(':')
			f.Type.write(b)
		}
		b.WriteByte('>')
	case List:
		b.WriteString("list<")
		if t.Elem != nil {
			t.Elem.write(b)
		}
		b.WriteByte('>')
	default:
		b.WriteString(t.ID.String())
	}
}

func bareFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || (c >= 'a' && c <= 'z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

// quoteDouble quotes s as a SQL delimited identifier.
func quoteDouble(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// Validate checks the parameters of t: decimal precision and scale, timestamp
// unit and time zone, struct field names (non-empty, unique, valid UTF-8) and
// the nesting depth.
func (t Type) Validate() error { return t.validate(1) }

func (t Type) validate(depth int) error {
	if depth > maxTypeDepth {
		return apierr.New(apierr.InvalidArgument, "type nests deeper than %d levels", maxTypeDepth)
	}
	switch t.ID {
	case Null, Bool, Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64,
		Float32, Float64, String, Binary, Date32:
		return nil
	case Decimal128:
		if t.Precision < 1 || t.Precision > MaxDecimalPrecision {
			return apierr.New(apierr.InvalidArgument, "decimal precision %d is out of range 1..%d", t.Precision, MaxDecimalPrecision)
		}
		if t.Scale < 0 || t.Scale > t.Precision {
			return apierr.New(apierr.InvalidArgument, "decimal scale %d is out of range 0..%d", t.Scale, t.Precision)
		}
		return nil
	case Timestamp:
		if !t.Unit.Valid() {
			return apierr.New(apierr.InvalidArgument, "timestamp unit %q is not one of s, ms, us, ns", string(t.Unit))
		}
		if t.TZ != "" && !validTZ(t.TZ) {
			return apierr.New(apierr.InvalidArgument, "invalid time zone %q", t.TZ)
		}
		return nil
	case Struct:
		if len(t.Fields) == 0 {
			return apierr.New(apierr.InvalidArgument, "struct type has no fields")
		}
		seen := make(map[string]bool, len(t.Fields))
		for _, f := range t.Fields {
			if f.Name == "" || !utf8.ValidString(f.Name) || strings.IndexByte(f.Name, 0) >= 0 {
				return apierr.New(apierr.InvalidArgument, "invalid struct field name %q", f.Name)
			}
			if seen[f.Name] {
				return apierr.New(apierr.InvalidArgument, "duplicate struct field %q", f.Name)
			}
			seen[f.Name] = true
			if err := f.Type.validate(depth + 1); err != nil {
				return err
			}
		}
		return nil
	case List:
		if t.Elem == nil {
			return apierr.New(apierr.InvalidArgument, "list type has no element type")
		}
		return t.Elem.validate(depth + 1)
	}
	return apierr.New(apierr.InvalidArgument, "invalid type id %d", int(t.ID))
}

// validTZ accepts IANA names and numeric offsets: letters, digits and
// / _ + - : . up to 64 bytes.
func validTZ(tz string) bool {
	if len(tz) == 0 || len(tz) > 64 {
		return false
	}
	for i := 0; i < len(tz); i++ {
		c := tz[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '/' || c == '_' || c == '+' || c == '-' || c == ':' || c == '.':
		default:
			return false
		}
	}
	return true
}

var simpleTypeIDs = map[string]TypeID{
	"null": Null, "bool": Bool,
	"int8": Int8, "int16": Int16, "int32": Int32, "int64": Int64,
	"uint8": Uint8, "uint16": Uint16, "uint32": Uint32, "uint64": Uint64,
	"float32": Float32, "float64": Float64,
	"string": String, "binary": Binary, "date32": Date32,
}

// ParseType parses a canonical type string (see Type). It accepts exactly
// what String produces: no spaces, lower case.
func ParseType(s string) (Type, error) {
	p := typeParser{s: s}
	t, err := p.parse(1)
	if err != nil {
		return Type{}, err
	}
	if p.i != len(s) {
		return Type{}, p.errorf("unexpected %q", s[p.i:])
	}
	if err := t.Validate(); err != nil {
		return Type{}, apierr.New(apierr.InvalidArgument, "type %q: %s", s, apierr.PublicMessage(err))
	}
	return t, nil
}

// MustParseType is ParseType for constants in tests and tables; it panics on
// error.
func MustParseType(s string) Type {
	t, err := ParseType(s)
	if err != nil {
		panic(err)
	}
	return t
}

type typeParser struct {
	s string
	i int
}

func (p *typeParser) errorf(format string, args ...any) error {
	return apierr.New(apierr.InvalidArgument, "type %q: %s at offset %d", p.s, fmt.Sprintf(format, args...), p.i)
}

func (p *typeParser) word() string {
	j := p.i
	for j < len(p.s) && (p.s[j] >= 'a' && p.s[j] <= 'z' || p.s[j] >= '0' && p.s[j] <= '9') {
		j++
	}
	w := p.s[p.i:j]
	p.i = j
	return w
}

func (p *typeParser) expect(c byte) error {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return nil
	}
	return p.errorf("expected %q", string(c))
}

func (p *typeParser) number() (int32, error) {
	j := p.i
	for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
		j++
	}
	if j == p.i || j-p.i > 4 || (j-p.i > 1 && p.s[p.i] == '0') {
		return 0, p.errorf("expected a number")
	}
	n, _ := strconv.Atoi(p.s[p.i:j])
	p.i = j
	return int32(n), nil
}

func (p *typeParser) parse(depth int) (Type, error) {
	if depth > maxTypeDepth {
		return Type{}, p.errorf("type nests deeper than %d levels", maxTypeDepth)
	}
	start := p.i
	w := p.word()
	if id, ok := simpleTypeIDs[w]; ok {
		return Type{ID: id}, nil
	}
	switch w {
	case "decimal128":
		if err := p.expect('('); err != nil {
			return Type{}, err
		}
		prec, err := p.number()
		if err != nil {
			return Type{}, err
		}
		if err := p.expect(','); err != nil {
			return Type{}, err
		}
		scale, err := p.number()
		if err != nil {
			return Type{}, err
		}
		if err := p.expect(')'); err != nil {
			return Type{}, err
		}
		return DecimalType(prec, scale), nil
	case "timestamp":
		if err := p.expect('('); err != nil {
			return Type{}, err
		}
		unit := TimeUnit(p.word())
		if !unit.Valid() {
			return Type{}, p.errorf("timestamp unit must be s, ms, us or ns")
		}
		tz := ""
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			j := p.i
			for j < len(p.s) && p.s[j] != ')' {
				j++
			}
			tz = p.s[p.i:j]
			if !validTZ(tz) {
				return Type{}, p.errorf("invalid time zone %q", tz)
			}
			p.i = j
		}
		if err := p.expect(')'); err != nil {
			return Type{}, err
		}
		return TimestampType(unit, tz), nil
	case "list":
		if err := p.expect('<'); err != nil {
			return Type{}, err
		}
		elem, err := p.parse(depth + 1)
		if err != nil {
			return Type{}, err
		}
		if err := p.expect('>'); err != nil {
			return Type{}, err
		}
		return ListType(elem), nil
	case "struct":
		if err := p.expect('<'); err != nil {
			return Type{}, err
		}
		var fields []Field
		for {
			name, err := p.fieldName()
			if err != nil {
				return Type{}, err
			}
			if err := p.expect(':'); err != nil {
				return Type{}, err
			}
			ft, err := p.parse(depth + 1)
			if err != nil {
				return Type{}, err
			}
			fields = append(fields, Field{Name: name, Type: ft})
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
				continue
			}
			break
		}
		if err := p.expect('>'); err != nil {
			return Type{}, err
		}
		return StructType(fields...), nil
	}
	p.i = start
	if w == "" {
		return Type{}, p.errorf("expected a type name")
	}
	return Type{}, p.errorf("unknown type %q", w)
}

func (p *typeParser) fieldName() (string, error) {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		var b strings.Builder
		j := p.i + 1
		for {
			if j >= len(p.s) {
				return "", p.errorf("unterminated quoted field name")
			}
			if p.s[j] == '"' {
				if j+1 < len(p.s) && p.s[j+1] == '"' {
					b.WriteByte('"')
					j += 2
					continue
				}
				break
			}
			b.WriteByte(p.s[j])
			j++
		}
		name := b.String()
		if bareFieldName(name) {
			return "", p.errorf("field name %s must not be quoted", name)
		}
		p.i = j + 1
		return name, nil
	}
	j := p.i
	for j < len(p.s) && (p.s[j] == '_' || p.s[j] >= 'a' && p.s[j] <= 'z' || j > p.i && p.s[j] >= '0' && p.s[j] <= '9') {
		j++
	}
	if j == p.i {
		return "", p.errorf("expected a field name")
	}
	name := p.s[p.i:j]
	p.i = j
	return name, nil
}
