package jsharness

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// The functions in this file are the Go half of the canonical rendering;
// integration/js/render.mjs is the JavaScript half. They must agree byte for
// byte, so each one is written to be easy to mirror rather than clever.

// formatFloat renders f with the shortest digits that read back as the same
// float64, laid out the way ECMAScript's Number.prototype.toString lays digits
// out: JavaScript's String(x) is the other half, hence ECMAScript's layout and
// not Go's 'g'. Both pick the closest shortest digits and the even one on a
// tie. A float32 is rendered as the float64 it widens to ("1.100000023841858"
// for 1.1): a shortest-float32 search in JavaScript would need exact decimal
// arithmetic to break ties the way Go does, and one rule is safer than two.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0"
		}
		return "0"
	}
	// 'e' with precision -1 gives the shortest round-trip digits as d.ddde±XX.
	s := strconv.FormatFloat(f, 'e', -1, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, exp, _ := strings.Cut(s, "e")
	digits := strings.Replace(mant, ".", "", 1)
	e, _ := strconv.Atoi(exp)
	out := ecmaLayout(digits, e+1)
	if neg {
		return "-" + out
	}
	return out
}

// ecmaLayout places the decimal point in digits (no leading or trailing
// zeros) so that the value is 0.digits × 10^n, following ECMA-262
// Number::toString: plain notation for 1e-7 < |x| < 1e21, else exponent.
func ecmaLayout(digits string, n int) string {
	k := len(digits)
	switch {
	case k <= n && n <= 21:
		return digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		return digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		return "0." + strings.Repeat("0", -n) + digits
	}
	e := n - 1
	sign := "+"
	if e < 0 {
		sign, e = "-", -e
	}
	if k == 1 {
		return digits + "e" + sign + strconv.Itoa(e)
	}
	return digits[:1] + "." + digits[1:] + "e" + sign + strconv.Itoa(e)
}

// formatDecimal renders the unscaled integer v with scale digits after the
// point, keeping trailing zeros ("12.30" for 1230 at scale 2), because the
// scale is part of the column's type and both sides know it.
func formatDecimal(v *big.Int, scale int32) string {
	neg := v.Sign() < 0
	s := new(big.Int).Abs(v).String()
	switch {
	case scale < 0:
		if s != "0" {
			s += strings.Repeat("0", int(-scale))
		}
	case scale > 0:
		if len(s) <= int(scale) {
			s = strings.Repeat("0", int(scale)-len(s)+1) + s
		}
		s = s[:len(s)-int(scale)] + "." + s[len(s)-int(scale):]
	}
	if neg {
		return "-" + s
	}
	return s
}

// formatDate renders days since 1970-01-01 as YYYY-MM-DD in the proleptic
// Gregorian calendar; years below 0 get a leading minus, years above 9999
// more digits.
func formatDate(days int64) string {
	t := time.Unix(days*86400, 0).UTC()
	return formatYear(t.Year()) + "-" + pad(int64(t.Month()), 2) + "-" + pad(int64(t.Day()), 2)
}

func formatYear(y int) string {
	if y < 0 {
		return "-" + pad(int64(-y), 4)
	}
	return pad(int64(y), 4)
}

func pad(v int64, width int) string {
	s := strconv.FormatInt(v, 10)
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return s
}

// unitsPerSecond is 1, 1e3, 1e6 or 1e9 for seconds to nanoseconds; fracDigits
// is 9 for nanoseconds and 6 otherwise, so every unit coarser than a
// nanosecond renders alike ("…05.000000Z" for a whole second in any of them).
func fracDigits(unitsPerSecond int64) int {
	if unitsPerSecond == 1e9 {
		return 9
	}
	return 6
}

// splitUnits splits v (counted in units of 1/unitsPerSecond s) into whole
// seconds and the fraction rendered as fracDigits digits, flooring so that
// negative values before the epoch come out right.
func splitUnits(v, unitsPerSecond int64) (secs int64, frac string) {
	secs = floorDiv(v, unitsPerSecond)
	rem := v - secs*unitsPerSecond
	digits := fracDigits(unitsPerSecond)
	if digits == 6 {
		rem *= 1e6 / unitsPerSecond
	}
	return secs, pad(rem, digits)
}

// formatTimestamp renders an instant as RFC 3339 with a fixed fraction,
// "2024-01-02T03:04:05.000006Z"; utc false (a timestamp without a time zone)
// drops the Z because the value is a wall-clock reading, not an instant.
func formatTimestamp(v, unitsPerSecond int64, utc bool) string {
	secs, frac := splitUnits(v, unitsPerSecond)
	days := floorDiv(secs, 86400)
	s := formatDate(days) + "T" + formatClock(secs-days*86400) + "." + frac
	if utc {
		s += "Z"
	}
	return s
}

// formatTime renders a time of day as HH:MM:SS.ffffff (9 digits for ns).
func formatTime(v, unitsPerSecond int64) string {
	secs, frac := splitUnits(v, unitsPerSecond)
	return formatClock(secs) + "." + frac
}

func formatClock(secs int64) string {
	return pad(secs/3600, 2) + ":" + pad(secs/60%60, 2) + ":" + pad(secs%60, 2)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
