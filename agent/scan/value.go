package scan

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// appendText converts one non-empty text value (a CSV field, or a JSON
// string for a column that is not a string) and appends it. Its error
// says what is wrong without repeating the value: a message may reach a
// user that policy does not let see it.
type appendText func(v []byte) error

// textAppender returns the converter for a builder of a scalar type, and
// an error for a type that text cannot hold. The accepted spellings
// match schema inference and partition values on the control plane:
//
//	bool              true, false (any case)
//	int8..int64       decimal digits with an optional sign, in range
//	uint8..uint64     decimal digits, in range
//	float32, float64  a decimal number (1.5, -2e3), in range; NaN, Inf,
//	                  +Inf, -Inf, Infinity, +Infinity, -Infinity
//	decimal128(p,s)   [-]digits[.digits], at most s digits after the point
//	                  (trailing zeros aside) and p in all
//	string            any valid UTF-8
//	binary            base64 (standard alphabet, padded)
//	date32            YYYY-MM-DD
//	timestamp(u[,tz]) YYYY-MM-DD[( |T)HH:MM[:SS[.fraction]]][Z|±HH[:MM]];
//	                  without an offset the value is read as UTC, with one
//	                  it is converted to UTC; a fraction finer than the
//	                  unit is an error
func textAppender(b array.Builder) (appendText, error) {
	switch bld := b.(type) {
	case *array.BooleanBuilder:
		return func(v []byte) error {
			switch {
			case strings.EqualFold(str(v), "true"):
				bld.Append(true)
			case strings.EqualFold(str(v), "false"):
				bld.Append(false)
			default:
				return errors.New("want true or false")
			}
			return nil
		}, nil
	case *array.Int8Builder:
		return intAppender(8, func(x int64) { bld.Append(int8(x)) }), nil
	case *array.Int16Builder:
		return intAppender(16, func(x int64) { bld.Append(int16(x)) }), nil
	case *array.Int32Builder:
		return intAppender(32, func(x int64) { bld.Append(int32(x)) }), nil
	case *array.Int64Builder:
		return intAppender(64, bld.Append), nil
	case *array.Uint8Builder:
		return uintAppender(8, func(x uint64) { bld.Append(uint8(x)) }), nil
	case *array.Uint16Builder:
		return uintAppender(16, func(x uint64) { bld.Append(uint16(x)) }), nil
	case *array.Uint32Builder:
		return uintAppender(32, func(x uint64) { bld.Append(uint32(x)) }), nil
	case *array.Uint64Builder:
		return uintAppender(64, bld.Append), nil
	case *array.Float32Builder:
		return floatAppender(32, func(x float64) { bld.Append(float32(x)) }), nil
	case *array.Float64Builder:
		return floatAppender(64, bld.Append), nil
	case *array.Decimal128Builder:
		dt := bld.Type().(*arrow.Decimal128Type)
		return func(v []byte) error {
			n, err := parseDecimal(v, dt.Precision, dt.Scale)
			if err != nil {
				return err
			}
			bld.Append(n)
			return nil
		}, nil
	case *array.StringBuilder:
		return func(v []byte) error {
			if !utf8.Valid(v) {
				return errors.New("not valid UTF-8")
			}
			bld.BinaryBuilder.Append(v)
			return nil
		}, nil
	case *array.BinaryBuilder:
		if bld.Type().ID() != arrow.BINARY {
			break
		}
		var buf []byte
		return func(v []byte) error {
			if n := base64.StdEncoding.DecodedLen(len(v)); cap(buf) < n {
				buf = make([]byte, n)
			}
			buf = buf[:cap(buf)]
			n, err := base64.StdEncoding.Decode(buf, v)
			if err != nil {
				return errors.New("want base64")
			}
			bld.Append(buf[:n])
			return nil
		}, nil
	case *array.Date32Builder:
		return func(v []byte) error {
			days, err := sqlsubset.ParseDate(str(v))
			if err != nil {
				return errors.New("want YYYY-MM-DD")
			}
			bld.Append(arrow.Date32(days))
			return nil
		}, nil
	case *array.TimestampBuilder:
		unit := bld.Type().(*arrow.TimestampType).Unit
		return func(v []byte) error {
			x, err := parseTimestamp(str(v), unit)
			if err != nil {
				return err
			}
			bld.Append(arrow.Timestamp(x))
			return nil
		}, nil
	}
	return nil, apierr.New(apierr.FailedPrecondition, "type %s cannot be read from text", typeName(b.Type()))
}

// str views v as a string without copying. The string must not outlive
// v's buffer: converters only parse it.
func str(v []byte) string { return unsafe.String(unsafe.SliceData(v), len(v)) }

func intAppender(bits int, app func(int64)) appendText {
	return func(v []byte) error {
		x, err := strconv.ParseInt(str(v), 10, bits)
		if err != nil {
			// strconv's error holds the value: never pass it on.
			return fmt.Errorf("want an integer in the range of int%d", bits)
		}
		app(x)
		return nil
	}
}

func uintAppender(bits int, app func(uint64)) appendText {
	return func(v []byte) error {
		x, err := strconv.ParseUint(str(v), 10, bits)
		if err != nil || v[0] == '+' {
			return fmt.Errorf("want an unsigned integer in the range of uint%d", bits)
		}
		app(x)
		return nil
	}
}

func floatAppender(bits int, app func(float64)) appendText {
	return func(v []byte) error {
		s := str(v)
		switch s {
		case "NaN":
			app(math.NaN())
			return nil
		case "Inf", "+Inf", "Infinity", "+Infinity":
			app(math.Inf(1))
			return nil
		case "-Inf", "-Infinity":
			app(math.Inf(-1))
			return nil
		}
		if !sqlsubset.IsDecimalNumber(v) {
			return errors.New("want a decimal number")
		}
		x, err := strconv.ParseFloat(s, bits)
		if err != nil {
			return fmt.Errorf("out of range for float%d", bits)
		}
		app(x)
		return nil
	}
}

var ten = decimal128.FromU64(10)

// parseDecimal reads [+-]digits[.digits] at scale. Digits beyond the scale
// must be zeros: a decimal is never rounded silently.
func parseDecimal(v []byte, precision, scale int32) (decimal128.Num, error) {
	bad := decimalError{precision, scale}
	neg := false
	if len(v) > 0 && (v[0] == '-' || v[0] == '+') {
		neg = v[0] == '-'
		v = v[1:]
	}
	intPart, frac := v, []byte(nil)
	if i := bytes.IndexByte(v, '.'); i >= 0 {
		intPart, frac = v[:i], v[i+1:]
	}
	if len(intPart) == 0 && len(frac) == 0 {
		return decimal128.Num{}, bad
	}
	for _, part := range [][]byte{intPart, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return decimal128.Num{}, bad
			}
		}
	}
	for len(frac) > 0 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	for len(intPart) > 0 && intPart[0] == '0' {
		intPart = intPart[1:]
	}
	if int32(len(frac)) > scale {
		return decimal128.Num{}, bad
	}
	// The unscaled value's digits, leading zeros aside.
	var digits int32
	if len(intPart) > 0 {
		digits = int32(len(intPart)) + scale
	} else if sig := trimLeftZeros(frac); len(sig) > 0 {
		digits = int32(len(sig)) + scale - int32(len(frac))
	}
	if digits > precision {
		return decimal128.Num{}, bad
	}
	var n decimal128.Num
	for _, part := range [][]byte{intPart, frac} {
		for _, c := range part {
			n = n.Mul(ten).Add(decimal128.FromU64(uint64(c - '0')))
		}
	}
	for i := int32(len(frac)); i < scale; i++ {
		n = n.Mul(ten)
	}
	if neg {
		n = n.Negate()
	}
	return n, nil
}

type decimalError struct{ precision, scale int32 }

func (e decimalError) Error() string {
	return fmt.Sprintf("want a decimal number with at most %d digits, %d after the point", e.precision, e.scale)
}

func trimLeftZeros(b []byte) []byte {
	for len(b) > 0 && b[0] == '0' {
		b = b[1:]
	}
	return b
}

// The instants a timestamp(ns) can hold.
var (
	minNanos = time.Unix(0, math.MinInt64)
	maxNanos = time.Unix(0, math.MaxInt64)
)

// parseTimestamp reads a timestamp (see textAppender) as a count of unit
// since the epoch.
func parseTimestamp(s string, unit arrow.TimeUnit) (int64, error) {
	t, _, _, err := sqlsubset.ParseTimestamp(s)
	if err != nil {
		return 0, errors.New("want YYYY-MM-DD HH:MM:SS[.fraction][Z|±HH:MM]")
	}
	per := int64(time.Second / unit.Multiplier())
	step := int64(unit.Multiplier())
	if int64(t.Nanosecond())%step != 0 {
		return 0, fmt.Errorf("the fraction is finer than the column's unit %s", unit)
	}
	if unit == arrow.Nanosecond && (t.Before(minNanos) || t.After(maxNanos)) {
		return 0, errors.New("out of range for timestamp(ns)")
	}
	return t.Unix()*per + int64(t.Nanosecond())/step, nil
}
