package scan

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in   string
		p, s int32
		want string // unscaled; "" = error
	}{
		{"0.0012", 5, 4, "12"},
		{"00012.50", 4, 2, "1250"},
		{"99999999.99", 10, 2, "9999999999"},
		{"-12345678.90", 10, 2, "-1234567890"},
		{"+1.10", 2, 1, "11"},
		{"-0", 3, 0, "0"},
		{"5.", 1, 0, "5"},
		{".5", 1, 1, "5"},
		{"12345678901234567890123456789012345678", 38, 0, "12345678901234567890123456789012345678"},
		{"0.001", 3, 2, ""},
		{"100", 2, 0, ""},
		{"1.5", 2, 2, ""}, // 1.50 needs 3 digits
		{".", 3, 1, ""},
		{"-", 3, 1, ""},
		{"1e3", 5, 0, ""},
		{"1,5", 5, 1, ""},
		{" 1", 5, 1, ""},
	}
	for _, tc := range tests {
		n, err := parseDecimal([]byte(tc.in), tc.p, tc.s)
		got := ""
		if err == nil {
			got = n.BigInt().String()
		}
		if got != tc.want {
			t.Errorf("parseDecimal(%q, %d, %d) = %q, %v; want %q", tc.in, tc.p, tc.s, got, err, tc.want)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		in   string
		unit arrow.TimeUnit
		want int64
		ok   bool
	}{
		{"1970-01-01", arrow.Second, 0, true},
		{"1970-01-01 00:00:01.5", arrow.Millisecond, 1500, true},
		{"1970-01-01T00:00:01.500000000Z", arrow.Second, 0, false}, // half a second is finer than seconds
		{"1970-01-01T00:00:01.000Z", arrow.Second, 1, true},
		{"1970-01-01 01:00+01:00", arrow.Microsecond, 0, true},
		{"1970-01-01 00:00-0130", arrow.Second, 5400, true},
		{"1969-12-31 23:59:59.999999999", arrow.Nanosecond, -1, true},
		{"9999-12-31 23:59:59", arrow.Microsecond, 253402300799000000, true},
		{"2262-04-12", arrow.Nanosecond, 0, false},
		{"2024-05-06 24:00:00", arrow.Second, 0, false},
		{"2024-05-06x", arrow.Second, 0, false},
		{"", arrow.Second, 0, false},
	}
	for _, tc := range tests {
		got, err := parseTimestamp(tc.in, tc.unit)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseTimestamp(%q, %s) = %d, %v; want %d ok=%v", tc.in, tc.unit, got, err, tc.want, tc.ok)
		}
	}
}
