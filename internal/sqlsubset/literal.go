package sqlsubset

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Literal is a typed constant. Type.ID is one of Null, Bool, Int64, Uint64,
// Float64, Decimal128, String, Binary, Date32 or Timestamp, and the value is
// in the field that belongs to it:
//
//	Bool        Bool
//	Int64       Int
//	Uint64      Uint
//	Float64     Float (finite)
//	Decimal128  Str: the unscaled value in decimal digits, optional leading
//	            '-', no leading zeros ("-12345" with scale 2 is -123.45)
//	String      Str (valid UTF-8)
//	Binary      Bytes
//	Date32      Int: days since 1970-01-01, years 1..9999
//	Timestamp   Int: Type.Unit since 1970-01-01T00:00:00Z, years 1..9999
//
// Build literals with the constructors below; other fields stay zero.
type Literal struct {
	Type  Type
	Bool  bool
	Int   int64
	Uint  uint64
	Float float64
	Str   string
	Bytes []byte
}

// NullLiteral returns NULL.
func NullLiteral() *Literal { return &Literal{Type: Type{ID: Null}} }

// BoolLiteral returns TRUE or FALSE.
func BoolLiteral(v bool) *Literal { return &Literal{Type: Type{ID: Bool}, Bool: v} }

// Int64Literal returns an int64 constant.
func Int64Literal(v int64) *Literal { return &Literal{Type: Type{ID: Int64}, Int: v} }

// Uint64Literal returns a uint64 constant.
func Uint64Literal(v uint64) *Literal { return &Literal{Type: Type{ID: Uint64}, Uint: v} }

// Float64Literal returns a float64 constant.
func Float64Literal(v float64) *Literal { return &Literal{Type: Type{ID: Float64}, Float: v} }

// DecimalLiteral returns a decimal128(precision,scale) constant whose
// unscaled value is the decimal string unscaled. Use Validate to check it.
func DecimalLiteral(unscaled string, precision, scale int32) *Literal {
	return &Literal{Type: DecimalType(precision, scale), Str: unscaled}
}

// StringLiteral returns a string constant.
func StringLiteral(v string) *Literal { return &Literal{Type: Type{ID: String}, Str: v} }

// BinaryLiteral returns a binary constant. A nil slice is stored as empty.
func BinaryLiteral(v []byte) *Literal {
	if v == nil {
		v = []byte{}
	}
	return &Literal{Type: Type{ID: Binary}, Bytes: v}
}

// Date32Literal returns a date constant, days since 1970-01-01.
func Date32Literal(days int32) *Literal { return &Literal{Type: Type{ID: Date32}, Int: int64(days)} }

// TimestampLiteral returns a timestamp constant: v units since the epoch.
func TimestampLiteral(v int64, unit TimeUnit, tz string) *Literal {
	return &Literal{Type: TimestampType(unit, tz), Int: v}
}

// Date limits: 0001-01-01 and 9999-12-31 as days since the epoch.
const (
	minDateDays = -719162
	maxDateDays = 2932896
	minUnixSec  = int64(minDateDays) * 86400
	maxUnixSec  = int64(maxDateDays)*86400 + 86399
)

// Validate checks that l is a literal type with a valid value.
func (l *Literal) Validate() error {
	if l == nil {
		return invalid("missing literal")
	}
	switch l.Type.ID {
	case Null, Bool, Int64, Uint64, Binary:
		return nil
	case Float64:
		if math.IsNaN(l.Float) || math.IsInf(l.Float, 0) {
			return invalid("float64 literal must be finite, got %v", l.Float)
		}
		return nil
	case String:
		if !utf8.ValidString(l.Str) {
			return invalid("string literal is not valid UTF-8")
		}
		return nil
	case Decimal128:
		if err := l.Type.Validate(); err != nil {
			return err
		}
		digits := strings.TrimPrefix(l.Str, "-")
		if digits == "" || !allDigits(digits) || (len(digits) > 1 && digits[0] == '0') || l.Str == "-0" {
			return invalid("invalid unscaled decimal value %q", l.Str)
		}
		if int32(len(digits)) > l.Type.Precision {
			return invalid("decimal value %s has more than %d digits", l.Str, l.Type.Precision)
		}
		return nil
	case Date32:
		if l.Int < minDateDays || l.Int > maxDateDays {
			return invalid("date32 literal %d is outside 0001-01-01..9999-12-31", l.Int)
		}
		return nil
	case Timestamp:
		if err := l.Type.Validate(); err != nil {
			return err
		}
		if l.Type.Unit == Nano {
			return nil // every int64 nanosecond count lies within years 1677..2262
		}
		per := l.Type.Unit.perSecond()
		if l.Int < minUnixSec*per || l.Int > maxUnixSec*per+per-1 {
			return invalid("timestamp literal %d%s is outside years 1..9999", l.Int, string(l.Type.Unit))
		}
		return nil
	}
	return invalid("type %s cannot be a literal", l.Type)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// FormatDate renders days since the epoch as YYYY-MM-DD.
func FormatDate(days int32) string {
	return time.Unix(int64(days)*86400, 0).UTC().Format("2006-01-02")
}

// ParseDate parses YYYY-MM-DD (years 0001..9999) into days since the epoch.
func ParseDate(s string) (int32, error) {
	if len(s) != 10 {
		return 0, invalid("invalid date %q: want YYYY-MM-DD", s)
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil || t.Year() < 1 {
		return 0, invalid("invalid date %q: want YYYY-MM-DD", s)
	}
	return int32(t.Unix() / 86400), nil
}

// ParseTimestamp parses YYYY-MM-DD[( |T)HH:MM[:SS[.F]]][Z|±HH[:MM]] with up
// to nine fraction digits. It returns the instant (a string without an
// offset is read as UTC), whether the string carried an offset, and the unit
// that holds it exactly: us for up to six fraction digits, else ns.
func ParseTimestamp(s string) (t time.Time, hasOffset bool, unit TimeUnit, err error) {
	bad := func() (time.Time, bool, TimeUnit, error) {
		return time.Time{}, false, "", invalid("invalid timestamp %q: want YYYY-MM-DD HH:MM:SS[.ffffff][+HH:MM]", s)
	}
	if len(s) < 10 {
		return bad()
	}
	days, derr := ParseDate(s[:10])
	if derr != nil {
		return bad()
	}
	rest := s[10:]
	var secs, nanos int64
	unit = Micro
	if rest != "" {
		if rest[0] != ' ' && rest[0] != 'T' && rest[0] != 't' {
			return bad()
		}
		rest = rest[1:]
		num := func(n int, max int64) (int64, bool) {
			if len(rest) < n || !allDigits(rest[:n]) {
				return 0, false
			}
			v, _ := strconv.ParseInt(rest[:n], 10, 64)
			rest = rest[n:]
			return v, v <= max
		}
		h, ok := num(2, 23)
		if !ok || rest == "" || rest[0] != ':' {
			return bad()
		}
		rest = rest[1:]
		m, ok := num(2, 59)
		if !ok {
			return bad()
		}
		var sec int64
		if rest != "" && rest[0] == ':' {
			rest = rest[1:]
			if sec, ok = num(2, 59); !ok {
				return bad()
			}
			if rest != "" && rest[0] == '.' {
				rest = rest[1:]
				n := 0
				for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
					n++
				}
				if n == 0 || n > 9 {
					return bad()
				}
				frac := rest[:n] + strings.Repeat("0", 9-n)
				nanos, _ = strconv.ParseInt(frac, 10, 64)
				if n > 6 {
					unit = Nano
				}
				rest = rest[n:]
			}
		}
		secs = h*3600 + m*60 + sec
		if rest != "" {
			hasOffset = true
			switch rest[0] {
			case 'Z', 'z':
				if len(rest) != 1 {
					return bad()
				}
			case '+', '-':
				sign := int64(1)
				if rest[0] == '-' {
					sign = -1
				}
				rest = rest[1:]
				oh, ok := num(2, 15)
				if !ok {
					return bad()
				}
				var om int64
				if rest != "" {
					if rest[0] == ':' {
						rest = rest[1:]
					}
					if om, ok = num(2, 59); !ok || rest != "" {
						return bad()
					}
				}
				secs -= sign * (oh*3600 + om*60)
			default:
				return bad()
			}
		}
	}
	unix := int64(days)*86400 + secs
	if unix < minUnixSec || unix > maxUnixSec {
		return bad()
	}
	t = time.Unix(unix, nanos).UTC()
	if unit == Nano && (t.Year() < 1678 || t.Year() > 2261) {
		return time.Time{}, false, "", invalid("timestamp %q with nanoseconds is outside years 1678..2261", s)
	}
	return t, hasOffset, unit, nil
}

// ParseTimestampIn parses s in ParseTimestamp's forms as a count of unit
// since the epoch, exactly: a fraction finer than unit, or a value the
// unit cannot count in 64 bits, is an error rather than a truncation. It
// is the one reading of a timestamp text for partition values and
// literals alike.
func ParseTimestampIn(s string, unit TimeUnit) (int64, error) {
	t, _, _, err := ParseTimestamp(s)
	if err != nil {
		return 0, err
	}
	per := unit.perSecond()
	if per == 0 {
		return 0, invalid("invalid timestamp unit %q", string(unit))
	}
	if int64(t.Nanosecond())%(1e9/per) != 0 {
		return 0, invalid("timestamp %q has a fraction finer than the unit %s", s, string(unit))
	}
	sec, frac := t.Unix(), int64(t.Nanosecond())/(1e9/per)
	if sec > math.MaxInt64/per || sec < math.MinInt64/per || sec*per > math.MaxInt64-frac {
		return 0, invalid("timestamp %q is out of range for timestamp(%s)", s, string(unit))
	}
	return sec*per + frac, nil
}

// TimestampValue converts t to units since the epoch, truncating finer
// precision.
func TimestampValue(t time.Time, unit TimeUnit) int64 {
	per := unit.perSecond()
	return t.Unix()*per + int64(t.Nanosecond())/(1e9/per)
}

// timestampTime converts a timestamp literal value back to a time.
func timestampTime(v int64, unit TimeUnit) time.Time {
	per := unit.perSecond()
	sec, rem := v/per, v%per
	if rem < 0 {
		sec--
		rem += per
	}
	return time.Unix(sec, rem*(1e9/per)).UTC()
}
