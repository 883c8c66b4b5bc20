package sqlsubset

import (
	"bytes"
	"math"
	"math/big"
	"strings"
)

// The ordering of values is defined here once; policy folding, the
// planner's file pruning and the agent's evaluation all follow it, and it
// is DuckDB's (the project's oracle, and Spark's too):
//
//   - Text orders byte-wise, which for UTF-8 is code-point order ('Z' <
//     'a' < 'é'); binary likewise.
//   - Numbers of different types compare by value. When either side is a
//     float the other is converted to float64 first (so a bigint above
//     2^53 can equal a nearby double), otherwise exactly (integers and
//     decimals of any scale).
//   - NaN equals NaN and is greater than every other number, +Inf
//     included; -0 equals 0.
//   - Dates compare with dates. A timestamp with a zone is an instant and
//     compares with another one (any zone, any unit); one without a zone
//     is a wall-clock value and compares with another one and with a date,
//     read as that day's midnight (DuckDB's implicit cast).
//   - Not comparable, and refused by the checker (Coerce) before any
//     evaluator sees them: a timestamp with a zone with one without, or
//     with a date (DuckDB answers both through its session time zone, so
//     the answer would depend on a setting no evaluator here has), and
//     values of different kinds (bool with number, text with number).

// CompareText orders two strings (or the bytes of two binaries).
func CompareText(a, b string) int { return strings.Compare(a, b) }

// CompareFloat orders two float64 values with NaN greatest and equal to
// itself.
func CompareFloat(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0 // equal, -0 and 0 included
}

// CompareLiterals orders two non-null literals; ok is false when their
// types are not comparable.
func CompareLiterals(a, b *Literal) (c int, ok bool) {
	if isNumber(a.Type.ID) && isNumber(b.Type.ID) {
		if a.Type.ID == Float64 || b.Type.ID == Float64 {
			fa, ok1 := floatOf(a)
			fb, ok2 := floatOf(b)
			return CompareFloat(fa, fb), ok1 && ok2
		}
		ra, ok1 := ratOf(a)
		rb, ok2 := ratOf(b)
		if !ok1 || !ok2 {
			return 0, false
		}
		return ra.Cmp(rb), true
	}
	if a.Type.ID != b.Type.ID {
		if d, ts, ok := dateAndWallClock(a, b); ok {
			return d.Cmp(ts), true
		}
		if d, ts, ok := dateAndWallClock(b, a); ok {
			return ts.Cmp(d), true
		}
		return 0, false
	}
	switch a.Type.ID {
	case String:
		return CompareText(a.Str, b.Str), true
	case Binary:
		return bytes.Compare(a.Bytes, b.Bytes), true
	case Bool:
		return boolOrder(a.Bool) - boolOrder(b.Bool), true
	case Date32:
		return cmpInt64(a.Int, b.Int), true
	case Timestamp:
		if (a.Type.TZ == "") != (b.Type.TZ == "") {
			return 0, false
		}
		na, ok1 := TimestampNanos(a.Int, a.Type.Unit)
		nb, ok2 := TimestampNanos(b.Int, b.Type.Unit)
		if !ok1 || !ok2 {
			return 0, false
		}
		return na.Cmp(nb), true
	}
	return 0, false
}

// Holds reports whether c (a CompareLiterals result) satisfies op.
func (op CompareOp) Holds(c int) bool {
	switch op {
	case Eq:
		return c == 0
	case Ne:
		return c != 0
	case Lt:
		return c < 0
	case Le:
		return c <= 0
	case Gt:
		return c > 0
	case Ge:
		return c >= 0
	}
	return false
}

// TimestampNanos is v in unit as nanoseconds, exactly.
func TimestampNanos(v int64, unit TimeUnit) (*big.Int, bool) {
	var f int64
	switch unit {
	case Second:
		f = 1e9
	case Milli:
		f = 1e6
	case Micro:
		f = 1e3
	case Nano:
		f = 1
	default:
		return nil, false
	}
	return new(big.Int).Mul(big.NewInt(v), big.NewInt(f)), true
}

// dateAndWallClock is the date a and the timestamp without zone b as
// nanoseconds, when they are that.
func dateAndWallClock(a, b *Literal) (*big.Int, *big.Int, bool) {
	if a.Type.ID != Date32 || b.Type.ID != Timestamp || b.Type.TZ != "" {
		return nil, nil, false
	}
	ts, ok := TimestampNanos(b.Int, b.Type.Unit)
	if !ok {
		return nil, nil, false
	}
	return new(big.Int).Mul(big.NewInt(a.Int), big.NewInt(86400e9)), ts, true
}

// TemporalComparable reports whether values of the date or timestamp
// types a and b may be compared (see the rules above).
func TemporalComparable(a, b Type) bool {
	zoned := func(t Type) bool { return t.ID == Timestamp && t.TZ != "" }
	return zoned(a) == zoned(b)
}

func isNumber(id TypeID) bool {
	return id == Int64 || id == Uint64 || id == Float64 || id == Decimal128
}

func floatOf(l *Literal) (float64, bool) {
	switch l.Type.ID {
	case Float64:
		return l.Float, true
	case Int64:
		return float64(l.Int), true
	case Uint64:
		return float64(l.Uint), true
	}
	r, ok := ratOf(l)
	if !ok {
		return 0, false
	}
	f, _ := r.Float64()
	return f, true
}

// ratOf is an exact integer or decimal literal.
func ratOf(l *Literal) (*big.Rat, bool) {
	switch l.Type.ID {
	case Int64:
		return new(big.Rat).SetInt64(l.Int), true
	case Uint64:
		return new(big.Rat).SetInt(new(big.Int).SetUint64(l.Uint)), true
	case Decimal128:
		n, ok := new(big.Int).SetString(l.Str, 10)
		if !ok {
			return nil, false
		}
		den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(l.Type.Scale)), nil)
		return new(big.Rat).SetFrac(n, den), true
	}
	return nil, false
}

func boolOrder(b bool) int {
	if b {
		return 1
	}
	return 0
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
