package statement

import (
	"fmt"
	"strings"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// maxTypeDepth bounds the nesting of ARRAY and STRUCT types.
const maxTypeDepth = 32

// ParseColumnType parses a column type as written in CREATE TABLE (Hive,
// Spark or PostgreSQL spelling) into the Arrow-style type of sqlsubset:
// "BIGINT", "decimal(10,2)", "struct<a:int,b:array<string>>",
// "timestamp with time zone", "int[]". See the package documentation for
// the full mapping.
func ParseColumnType(s string) (sqlsubset.Type, error) {
	toks, err := tokenize(s)
	if err != nil {
		return sqlsubset.Type{}, err
	}
	if len(toks) == 0 {
		return sqlsubset.Type{}, apierr.New(apierr.InvalidArgument, "empty type")
	}
	p := &parser{src: s, toks: toks}
	tp := typeParser{parser: p}
	t, err := tp.parseType(1)
	if err != nil {
		return sqlsubset.Type{}, err
	}
	return t, p.end()
}

type typeParser struct{ *parser }

// parseType reads one type at nesting depth.
func (tp typeParser) parseType(depth int) (sqlsubset.Type, error) {
	p := tp.parser
	if depth > maxTypeDepth {
		return sqlsubset.Type{}, p.errHere("type nests deeper than %d levels", maxTypeDepth)
	}
	t := p.tok(0)
	if t == nil || t.kind != tIdent {
		return sqlsubset.Type{}, p.expected("a type")
	}
	start := t.start
	word := lowerASCII(t.text)
	p.i++
	var typ sqlsubset.Type
	switch word {
	case "array":
		if err := p.expectOp("<"); err != nil {
			return typ, err
		}
		elem, err := tp.parseType(depth + 1)
		if err != nil {
			return typ, err
		}
		if err := p.expectOp(">"); err != nil {
			return typ, err
		}
		typ = sqlsubset.ListType(elem)
	case "struct":
		if err := p.expectOp("<"); err != nil {
			return typ, err
		}
		var fields []sqlsubset.Field
		seen := map[string]bool{}
		for {
			fstart := p.offset()
			f := p.tok(0)
			if f == nil || (f.kind != tIdent && f.kind != tQuoted) {
				return typ, p.expected("a struct field name")
			}
			name := f.text
			if f.kind == tIdent {
				name = lowerASCII(name)
			}
			p.i++
			if seen[name] {
				return typ, errAt(p.src, fstart, "duplicate struct field %s", sqlsubset.QuoteIdent(name))
			}
			seen[name] = true
			p.acceptOp(":")
			ft, err := tp.parseType(depth + 1)
			if err != nil {
				return typ, err
			}
			fields = append(fields, sqlsubset.Field{Name: name, Type: ft})
			if p.acceptOp(">") {
				break
			}
			if !p.acceptOp(",") {
				return typ, p.expected(`"," or ">"`)
			}
		}
		typ = sqlsubset.StructType(fields...)
	case "map":
		return typ, errAt(p.src, start, "type MAP is not supported")
	default:
		name := word
		switch {
		case word == "double" && p.acceptKw("precision"):
			name = "double precision"
		case (word == "character" || word == "char") && p.acceptKw("varying"):
			name = "varchar"
		}
		var mods []int64
		if p.acceptOp("(") {
			for {
				n, err := p.nonNegativeInt("a type parameter", 1000)
				if err != nil {
					return typ, err
				}
				mods = append(mods, n)
				if p.acceptOp(")") {
					break
				}
				if !p.acceptOp(",") {
					return typ, p.expected(`"," or ")"`)
				}
			}
		}
		if name == "timestamp" {
			switch {
			case p.acceptKw("with", "time", "zone"):
				name = "timestamptz"
			case p.acceptKw("without", "time", "zone"):
			}
		}
		var err error
		if typ, err = scalarType(name, mods); err != nil {
			return typ, errAt(p.src, start, "%s", apierr.PublicMessage(err))
		}
	}
	// PostgreSQL array suffix: int[], text[][], int[3].
	for p.isOp(0, "[") {
		depth++
		if depth > maxTypeDepth {
			return sqlsubset.Type{}, p.errHere("type nests deeper than %d levels", maxTypeDepth)
		}
		p.i++
		if p.tok(0) != nil && p.tok(0).kind == tNumber {
			if _, err := p.nonNegativeInt("an array bound", 1<<31-1); err != nil {
				return typ, err
			}
		}
		if err := p.expectOp("]"); err != nil {
			return typ, err
		}
		typ = sqlsubset.ListType(typ)
	}
	return typ, nil
}

type typeFamily uint8

const (
	famFixed     typeFamily = iota + 1 // no parameters
	famFloat                           // float(p)
	famDecimal                         // decimal(p[,s])
	famChar                            // varchar(n): length accepted, not enforced
	famTimestamp                       // timestamp(p)
)

type typeEntry struct {
	family typeFamily
	typ    sqlsubset.Type
}

func fixed(id sqlsubset.TypeID) typeEntry {
	return typeEntry{family: famFixed, typ: sqlsubset.Type{ID: id}}
}

// typeNames maps every accepted spelling (lower case; multi-word names
// joined by one space) to a type. Hive/Spark, PostgreSQL (including its
// internal names, which pg_query reports for casts) and Arrow spellings.
//
// Where Hive and PostgreSQL disagree PostgreSQL wins, because casts in
// filters are parsed by PostgreSQL's grammar and one spelling must mean one
// type everywhere: INT8 is BIGINT (int64) and FLOAT is DOUBLE PRECISION
// (float64). Write TINYINT for an 8-bit integer and REAL or FLOAT4 for a
// 32-bit float. Both choices only ever widen a Hive column, never narrow it.
var typeNames = map[string]typeEntry{
	"boolean": fixed(sqlsubset.Bool), "bool": fixed(sqlsubset.Bool),

	"tinyint": fixed(sqlsubset.Int8), "byte": fixed(sqlsubset.Int8),
	"smallint": fixed(sqlsubset.Int16), "int2": fixed(sqlsubset.Int16), "short": fixed(sqlsubset.Int16), "int16": fixed(sqlsubset.Int16),
	"int": fixed(sqlsubset.Int32), "integer": fixed(sqlsubset.Int32), "int4": fixed(sqlsubset.Int32), "int32": fixed(sqlsubset.Int32),
	"bigint": fixed(sqlsubset.Int64), "int8": fixed(sqlsubset.Int64), "long": fixed(sqlsubset.Int64), "int64": fixed(sqlsubset.Int64),
	"uint8": fixed(sqlsubset.Uint8), "uint16": fixed(sqlsubset.Uint16), "uint32": fixed(sqlsubset.Uint32), "uint64": fixed(sqlsubset.Uint64),

	"real": fixed(sqlsubset.Float32), "float4": fixed(sqlsubset.Float32), "float32": fixed(sqlsubset.Float32),
	"double": fixed(sqlsubset.Float64), "double precision": fixed(sqlsubset.Float64), "float8": fixed(sqlsubset.Float64), "float64": fixed(sqlsubset.Float64),
	"float": {family: famFloat},

	"decimal": {family: famDecimal}, "numeric": {family: famDecimal}, "dec": {family: famDecimal},

	"string": fixed(sqlsubset.String), "text": fixed(sqlsubset.String),
	"varchar": {family: famChar}, "char": {family: famChar}, "character": {family: famChar}, "bpchar": {family: famChar},

	"binary": fixed(sqlsubset.Binary), "bytea": fixed(sqlsubset.Binary), "varbinary": {family: famChar, typ: sqlsubset.Type{ID: sqlsubset.Binary}},

	"date": fixed(sqlsubset.Date32),

	"timestamp": {family: famTimestamp}, "timestamp_ntz": {family: famTimestamp},
	"timestamptz": {family: famTimestamp, typ: sqlsubset.Type{TZ: "UTC"}}, "timestamp_ltz": {family: famTimestamp, typ: sqlsubset.Type{TZ: "UTC"}},
}

// unsupportedTypes are real types nscale cannot read yet; they get a clearer
// message than an unknown name.
var unsupportedTypes = map[string]bool{
	"time": true, "timetz": true, "interval": true, "json": true, "jsonb": true, "uuid": true, "money": true,
	"xml": true, "inet": true, "cidr": true, "macaddr": true, "bit": true, "varbit": true, "map": true,
	"variant": true, "void": true, "serial": true, "bigserial": true, "smallserial": true,
}

// scalarType maps a type name and its parameters to a type.
func scalarType(name string, mods []int64) (sqlsubset.Type, error) {
	e, ok := typeNames[name]
	upper := strings.ToUpper(name)
	if !ok {
		if unsupportedTypes[name] {
			return sqlsubset.Type{}, apierr.New(apierr.InvalidArgument, "type %s is not supported", upper)
		}
		return sqlsubset.Type{}, apierr.New(apierr.InvalidArgument, "unknown type %s", upper)
	}
	bad := func(format string, args ...any) (sqlsubset.Type, error) {
		return sqlsubset.Type{}, apierr.New(apierr.InvalidArgument, "%s: %s", upper, fmt.Sprintf(format, args...))
	}
	switch e.family {
	case famFixed:
		if len(mods) > 0 {
			return bad("takes no parameters")
		}
		return e.typ, nil
	case famFloat:
		switch {
		case len(mods) == 0:
			return sqlsubset.Type{ID: sqlsubset.Float64}, nil
		case len(mods) > 1:
			return bad("takes one parameter, the precision in bits")
		case mods[0] >= 1 && mods[0] <= 24:
			return sqlsubset.Type{ID: sqlsubset.Float32}, nil
		case mods[0] >= 25 && mods[0] <= 53:
			return sqlsubset.Type{ID: sqlsubset.Float64}, nil
		}
		return bad("precision %d is out of range 1..53", mods[0])
	case famDecimal:
		// Hive's and Spark's default is DECIMAL(10,0).
		p, s := int64(10), int64(0)
		switch len(mods) {
		case 0:
		case 1:
			p = mods[0]
		case 2:
			p, s = mods[0], mods[1]
		default:
			return bad("takes at most two parameters, precision and scale")
		}
		if p < 1 || p > sqlsubset.MaxDecimalPrecision {
			return bad("precision %d is out of range 1..%d", p, sqlsubset.MaxDecimalPrecision)
		}
		if s > p {
			return bad("scale %d is greater than precision %d", s, p)
		}
		return sqlsubset.DecimalType(int32(p), int32(s)), nil
	case famChar:
		if len(mods) > 1 {
			return bad("takes one parameter, the length")
		}
		if len(mods) == 1 && mods[0] < 1 {
			return bad("length must be at least 1")
		}
		if e.typ.ID == sqlsubset.Binary {
			return e.typ, nil
		}
		return sqlsubset.Type{ID: sqlsubset.String}, nil
	case famTimestamp:
		unit := sqlsubset.Micro
		switch {
		case len(mods) == 0:
		case len(mods) > 1:
			return bad("takes one parameter, the fractional-second precision")
		case mods[0] == 0:
			unit = sqlsubset.Second
		case mods[0] <= 3:
			unit = sqlsubset.Milli
		case mods[0] <= 6:
			unit = sqlsubset.Micro
		case mods[0] <= 9:
			unit = sqlsubset.Nano
		default:
			return bad("precision %d is out of range 0..9", mods[0])
		}
		return sqlsubset.TimestampType(unit, e.typ.TZ), nil
	}
	return sqlsubset.Type{}, apierr.New(apierr.Internal, "type table entry %q has no family", name)
}
