package discovery

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// PartitionColumn is a declared partition column of a table.
type PartitionColumn struct {
	Name string
	// Type is a canonical type string (sqlsubset.ParseType): bool,
	// int8..int64, uint8..uint64, float32, float64, decimal128(p,s),
	// string, binary, date32 or timestamp(unit[,tz]).
	Type string
}

type partitionSpec struct {
	names []string
	types []sqlsubset.Type
}

func compilePartitions(cols []PartitionColumn) (partitionSpec, error) {
	spec := partitionSpec{}
	seen := make(map[string]bool, len(cols))
	for _, c := range cols {
		if c.Name == "" {
			return spec, apierr.New(apierr.InvalidArgument, "partition column name is empty")
		}
		if seen[c.Name] {
			return spec, apierr.New(apierr.InvalidArgument, "partition column %q is declared twice", c.Name)
		}
		seen[c.Name] = true
		t, err := sqlsubset.ParseType(c.Type)
		if err != nil {
			return spec, apierr.Wrap(apierr.InvalidArgument, err, "partition column %q", c.Name)
		}
		switch t.ID {
		case sqlsubset.Struct, sqlsubset.List, sqlsubset.Null:
			return spec, apierr.New(apierr.InvalidArgument, "partition column %q has type %s: partition columns must have a scalar type", c.Name, t)
		}
		spec.names = append(spec.names, c.Name)
		spec.types = append(spec.types, t)
	}
	return spec, nil
}

// keysMismatch explains how a file's partition keys differ from the
// declared columns, or returns "" when they match.
func keysMismatch(keys, declared []string) string {
	same := len(keys) == len(declared)
	for i := 0; same && i < len(keys); i++ {
		same = keys[i] == declared[i]
	}
	if same {
		return ""
	}
	has := func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	}
	var missing, extra []string
	for _, d := range declared {
		if !has(keys, d) {
			missing = append(missing, d)
		}
	}
	for _, k := range keys {
		if !has(declared, k) {
			extra = append(extra, k)
		}
	}
	var why []string
	if len(missing) > 0 {
		why = append(why, "missing "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		why = append(why, "unexpected "+strings.Join(extra, ", "))
	}
	if len(why) == 0 {
		why = append(why, "wrong order")
	}
	return fmt.Sprintf("partition directories (%s) do not match the table's partition columns (%s): %s",
		strings.Join(keys, ", "), strings.Join(declared, ", "), strings.Join(why, "; "))
}

// PartitionValue converts a raw (unescaped) partition value to a literal of
// type t. NullPartition is NULL for every type. Accepted spellings:
//
//	bool              true, false (any case)
//	int8..int64       decimal digits with an optional sign, in range
//	uint8..uint64     decimal digits, in range
//	float32, float64  a finite decimal number (1.5, -2e3)
//	decimal128(p,s)   [-]digits[.digits] with at most s fraction digits and p digits
//	string, binary    any value
//	date32            YYYY-MM-DD
//	timestamp(u[,tz]) YYYY-MM-DD[( |T)HH:MM[:SS[.fraction]]][Z|+HH[:MM]|-HH[:MM]];
//	                  without an offset the value is read as UTC; a fraction
//	                  finer than the unit is an error
//
// Integers come back as Int64 literals, unsigned integers as Uint64,
// floats as Float64 literals. Errors are plain (no code).
func PartitionValue(t sqlsubset.Type, raw string) (*sqlsubset.Literal, error) {
	if raw == NullPartition {
		return sqlsubset.NullLiteral(), nil
	}
	switch t.ID {
	case sqlsubset.Bool:
		switch strings.ToLower(raw) {
		case "true":
			return sqlsubset.BoolLiteral(true), nil
		case "false":
			return sqlsubset.BoolLiteral(false), nil
		}
		return nil, fmt.Errorf("want true or false")
	case sqlsubset.Int8, sqlsubset.Int16, sqlsubset.Int32, sqlsubset.Int64:
		size := map[sqlsubset.TypeID]int{sqlsubset.Int8: 8, sqlsubset.Int16: 16, sqlsubset.Int32: 32, sqlsubset.Int64: 64}[t.ID]
		v, err := strconv.ParseInt(raw, 10, size)
		if err != nil {
			return nil, fmt.Errorf("want an integer in the range of %s", t)
		}
		return sqlsubset.Int64Literal(v), nil
	case sqlsubset.Uint8, sqlsubset.Uint16, sqlsubset.Uint32, sqlsubset.Uint64:
		size := map[sqlsubset.TypeID]int{sqlsubset.Uint8: 8, sqlsubset.Uint16: 16, sqlsubset.Uint32: 32, sqlsubset.Uint64: 64}[t.ID]
		v, err := strconv.ParseUint(raw, 10, size)
		if err != nil || raw[0] == '+' {
			return nil, fmt.Errorf("want an unsigned integer in the range of %s", t)
		}
		return sqlsubset.Uint64Literal(v), nil
	case sqlsubset.Float32, sqlsubset.Float64:
		size := 64
		if t.ID == sqlsubset.Float32 {
			size = 32
		}
		if !sqlsubset.IsDecimalNumber(raw) {
			return nil, fmt.Errorf("want a decimal number")
		}
		v, err := strconv.ParseFloat(raw, size)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("want a finite number in the range of %s", t)
		}
		return sqlsubset.Float64Literal(v), nil
	case sqlsubset.Decimal128:
		unscaled, err := parseDecimal(raw, t.Precision, t.Scale)
		if err != nil {
			return nil, err
		}
		return sqlsubset.DecimalLiteral(unscaled, t.Precision, t.Scale), nil
	case sqlsubset.String:
		return sqlsubset.StringLiteral(raw), nil
	case sqlsubset.Binary:
		return sqlsubset.BinaryLiteral([]byte(raw)), nil
	case sqlsubset.Date32:
		days, err := sqlsubset.ParseDate(raw)
		if err != nil {
			return nil, fmt.Errorf("want YYYY-MM-DD")
		}
		return sqlsubset.Date32Literal(days), nil
	case sqlsubset.Timestamp:
		v, err := sqlsubset.ParseTimestampIn(raw, t.Unit)
		if err != nil {
			return nil, err
		}
		return sqlsubset.TimestampLiteral(v, t.Unit, t.TZ), nil
	}
	return nil, fmt.Errorf("type %s cannot be a partition column", t)
}

// parseDecimal returns the unscaled value of s at scale, in the form
// sqlsubset.Literal wants (no leading zeros, "0" for zero).
func parseDecimal(s string, precision, scale int32) (string, error) {
	bad := fmt.Errorf("want a decimal number with at most %d digits, %d after the point", precision, scale)
	neg := false
	rest := s
	if rest != "" && (rest[0] == '-' || rest[0] == '+') {
		neg = rest[0] == '-'
		rest = rest[1:]
	}
	intPart, frac, _ := strings.Cut(rest, ".")
	if intPart == "" && frac == "" {
		return "", bad
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return "", bad
			}
		}
	}
	frac = strings.TrimRight(frac, "0")
	if int32(len(frac)) > scale {
		return "", bad
	}
	digits := strings.TrimLeft(intPart+frac+strings.Repeat("0", int(scale)-len(frac)), "0")
	if int32(len(digits)) > precision {
		return "", bad
	}
	if digits == "" {
		return "0", nil
	}
	if neg {
		digits = "-" + digits
	}
	return digits, nil
}
