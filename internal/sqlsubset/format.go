package sqlsubset

import (
	"encoding/hex"
	"strconv"
	"strings"
)

// The String methods render SQL that PostgreSQL's grammar (and so nscale's
// statement parser) reads back into an equal tree, for every tree the parser
// produces. Hand-built trees render to equivalent SQL; they read back equal
// except that nested ANDs (ORs) are flattened and timestamp literals come
// back in microseconds (nanoseconds with more than six fraction digits) and
// UTC.

// reservedWords cannot be column names unless quoted (PostgreSQL's reserved
// and type_func_name keywords); keywords are quoted by QuoteIdent too.
var reservedWords = setOf(
	// reserved
	"all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both", "case", "cast",
	"check", "collate", "column", "constraint", "create", "current_catalog", "current_date", "current_role",
	"current_time", "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct", "do",
	"else", "end", "except", "false", "fetch", "for", "foreign", "from", "grant", "group", "having", "in",
	"initially", "intersect", "into", "lateral", "leading", "limit", "localtime", "localtimestamp", "not",
	"null", "offset", "on", "only", "or", "order", "placing", "primary", "references", "returning", "select",
	"session_user", "some", "symmetric", "system_user", "table", "then", "to", "trailing", "true", "union",
	"unique", "user", "using", "variadic", "when", "where", "window", "with",
	// type_func_name
	"authorization", "binary", "collation", "concurrently", "cross", "current_schema", "freeze", "full",
	"ilike", "inner", "is", "isnull", "join", "left", "like", "natural", "notnull", "outer", "overlaps",
	"right", "similar", "tablesample", "verbose",
)

// colNameKeywords may be column names but also start special syntax.
var colNameKeywords = setOf(
	"between", "bigint", "bit", "boolean", "char", "character", "coalesce", "dec", "decimal", "exists",
	"extract", "float", "greatest", "grouping", "inout", "int", "integer", "interval", "json", "json_array",
	"json_arrayagg", "json_exists", "json_object", "json_objectagg", "json_query", "json_scalar",
	"json_serialize", "json_table", "json_value", "least", "merge_action", "national", "nchar", "none",
	"normalize", "nullif", "numeric", "out", "overlay", "position", "precision", "real", "row", "setof",
	"smallint", "substring", "time", "timestamp", "treat", "trim", "values", "varchar", "xmlattributes",
	"xmlconcat", "xmlelement", "xmlexists", "xmlforest", "xmlnamespaces", "xmlparse", "xmlpi", "xmlroot",
	"xmlserialize", "xmltable",
)

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// IsReservedWord reports whether the lower-case word w can only be a name
// when it is quoted (PostgreSQL's reserved and type_func_name keywords).
func IsReservedWord(w string) bool { return reservedWords[w] }

// QuoteIdent returns name as it must be written in SQL: bare when it is a
// lower-case identifier and not a keyword, else in double quotes with inner
// double quotes doubled.
func QuoteIdent(name string) string { return quoteIdent(name) }

func quoteIdent(name string) string {
	if bareFieldName(name) && !reservedWords[name] && !colNameKeywords[name] {
		return name
	}
	return quoteDouble(name)
}

// QuoteString returns s as a SQL string literal, with each single quote
// written twice.
func QuoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// Precedence levels for parenthesising.
const (
	precOr = iota + 1
	precAnd
	precNot
	precPredicate
	precAtom
)

func precedence(e Expr) int {
	switch e.(type) {
	case *Or:
		return precOr
	case *And:
		return precAnd
	case *Not:
		return precNot
	case *Compare, *In, *Between, *Like, *IsNull, *IsBool:
		return precPredicate
	}
	return precAtom
}

func str(e Expr) string {
	if isNil(e) {
		return "<nil>"
	}
	return e.String()
}

// operand renders e as an operand of a node with precedence parent: bare if
// it binds tighter, else in parentheses.
func operand(e Expr, parent int) string {
	p := precedence(e)
	if p == precAtom || (parent <= precNot && p > parent) {
		return str(e)
	}
	return "(" + str(e) + ")"
}

func (c *Column) String() string {
	var b strings.Builder
	b.WriteString(quoteIdent(c.Name))
	for _, p := range c.Path {
		b.WriteByte('.')
		b.WriteString(quoteIdent(p))
	}
	return b.String()
}

func (c *Compare) String() string {
	return operand(c.Left, precPredicate) + " " + string(c.Op) + " " + operand(c.Right, precPredicate)
}

func junction(args []Expr, op string, prec int) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = operand(a, prec)
	}
	return strings.Join(parts, " "+op+" ")
}

func (a *And) String() string { return junction(a.Args, "AND", precAnd) }
func (o *Or) String() string  { return junction(o.Args, "OR", precOr) }
func (n *Not) String() string { return "NOT " + operand(n.Arg, precNot) }

func not(b bool) string {
	if b {
		return " NOT"
	}
	return ""
}

func (in *In) String() string {
	parts := make([]string, len(in.List))
	for i, l := range in.List {
		parts[i] = str(l)
	}
	return operand(in.Expr, precPredicate) + not(in.Not) + " IN (" + strings.Join(parts, ", ") + ")"
}

func (b *Between) String() string {
	return operand(b.Expr, precPredicate) + not(b.Not) + " BETWEEN " + operand(b.Low, precPredicate) + " AND " + operand(b.High, precPredicate)
}

func (l *Like) String() string {
	op := " LIKE "
	if l.CaseInsensitive {
		op = " ILIKE "
	}
	return operand(l.Expr, precPredicate) + not(l.Not) + op + QuoteString(l.Pattern)
}

func (n *IsNull) String() string {
	return operand(n.Expr, precPredicate) + " IS" + not(n.Not) + " NULL"
}

func (n *IsBool) String() string {
	v := " FALSE"
	if n.Value {
		v = " TRUE"
	}
	return operand(n.Expr, precPredicate) + " IS" + not(n.Not) + v
}

func (c *Cast) String() string {
	return "CAST(" + str(c.Expr) + " AS " + SQLTypeName(c.Type) + ")"
}

func (c *Call) String() string {
	parts := make([]string, len(c.Args))
	for i, a := range c.Args {
		parts[i] = str(a)
	}
	// Function names come from a closed set of plain identifiers; current_user
	// is a keyword that nscale's parser accepts with parentheses.
	return c.Name + "(" + strings.Join(parts, ", ") + ")"
}

func (l *Literal) String() string {
	switch l.Type.ID {
	case Null:
		return "NULL"
	case Bool:
		if l.Bool {
			return "TRUE"
		}
		return "FALSE"
	case Int64:
		return strconv.FormatInt(l.Int, 10)
	case Uint64:
		return strconv.FormatUint(l.Uint, 10)
	case Float64:
		// Always with an exponent, which the parser reads as float64.
		return strconv.FormatFloat(l.Float, 'e', -1, 64)
	case Decimal128:
		// A decimal with a point reads back as a decimal of its natural
		// precision; others need the cast (5 alone would be an int64).
		s := FormatDecimal(l.Str, l.Type.Scale)
		if l.Type.Scale == 0 || naturalPrecision(l.Str, l.Type.Scale) != l.Type.Precision {
			return "CAST(" + s + " AS " + SQLTypeName(l.Type) + ")"
		}
		return s
	case String:
		return QuoteString(l.Str)
	case Binary:
		return "X'" + strings.ToUpper(hex.EncodeToString(l.Bytes)) + "'"
	case Date32:
		return "DATE '" + FormatDate(int32(l.Int)) + "'"
	case Timestamp:
		t := timestampTime(l.Int, l.Type.Unit)
		layout := "2006-01-02 15:04:05.999999"
		if l.Type.Unit == Nano {
			layout = "2006-01-02 15:04:05.000000000"
		}
		if l.Type.TZ != "" {
			return "TIMESTAMP WITH TIME ZONE '" + t.Format(layout) + "+00'"
		}
		return "TIMESTAMP '" + t.Format(layout) + "'"
	}
	return "<invalid literal>"
}

// FormatDecimal renders an unscaled decimal value with scale digits after
// the point: ("-12345", 2) is "-123.45", ("5", 3) is "0.005".
func FormatDecimal(unscaled string, scale int32) string {
	neg := strings.HasPrefix(unscaled, "-")
	digits := strings.TrimPrefix(unscaled, "-")
	if scale > 0 {
		if int(scale) >= len(digits) {
			digits = strings.Repeat("0", int(scale)-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-int(scale)] + "." + digits[len(digits)-int(scale):]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// naturalPrecision is the precision a decimal literal written with scale
// fraction digits has: its digit count, at least the scale and at least 1.
func naturalPrecision(unscaled string, scale int32) int32 {
	p := int32(len(strings.TrimPrefix(unscaled, "-")))
	if p < scale {
		p = scale
	}
	if p < 1 {
		p = 1
	}
	return p
}

// SQLTypeName renders t in SQL type syntax that nscale's parser maps back to
// t: BIGINT, DECIMAL(10,2), TIMESTAMP(3), STRUCT<a:INTEGER>, ...
func SQLTypeName(t Type) string {
	switch t.ID {
	case Bool:
		return "BOOLEAN"
	case Int8:
		return "TINYINT"
	case Int16:
		return "SMALLINT"
	case Int32:
		return "INTEGER"
	case Int64:
		return "BIGINT"
	case Uint8, Uint16, Uint32, Uint64:
		return strings.ToUpper(t.ID.String())
	case Float32:
		return "REAL"
	case Float64:
		return "DOUBLE PRECISION"
	case Decimal128:
		return "DECIMAL(" + strconv.Itoa(int(t.Precision)) + "," + strconv.Itoa(int(t.Scale)) + ")"
	case String:
		return "TEXT"
	case Binary:
		return "BYTEA"
	case Date32:
		return "DATE"
	case Timestamp:
		s := "TIMESTAMP"
		switch t.Unit {
		case Second:
			s += "(0)"
		case Milli:
			s += "(3)"
		case Nano:
			s += "(9)"
		}
		if t.TZ != "" {
			s += " WITH TIME ZONE"
		}
		return s
	case Struct:
		parts := make([]string, len(t.Fields))
		for i, f := range t.Fields {
			parts[i] = quoteIdent(f.Name) + ":" + SQLTypeName(f.Type)
		}
		return "STRUCT<" + strings.Join(parts, ",") + ">"
	case List:
		if t.Elem == nil {
			return "ARRAY<?>"
		}
		return "ARRAY<" + SQLTypeName(*t.Elem) + ">"
	}
	return strings.ToUpper(t.ID.String())
}
