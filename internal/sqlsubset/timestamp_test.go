package sqlsubset

import (
	"strings"
	"testing"
)

// One reading of a timestamp text, exact in the column's unit.
func TestParseTimestampIn(t *testing.T) {
	cases := []struct {
		s    string
		unit TimeUnit
		want int64
		err  string
	}{
		{"1970-01-01 00:00:01", Micro, 1_000_000, ""},
		{"1970-01-01T00:00:01.5Z", Milli, 1_500, ""},
		{"1970-01-01 01:00:00+01:00", Second, 0, ""},
		{"1969-12-31 23:59:59.999999", Micro, -1, ""},
		{"2024-05-06 10:11:12.123456789", Nano, 1714990272123456789, ""},
		{"2261-12-31 23:59:59.999999999", Nano, 9214646399999999999, ""},
		{"2262-04-11 23:47:16.854775808", Nano, 0, "outside years 1678..2261"},
		{"2300-01-01", Nano, 0, "out of range"},
		{"2024-05-06 10:00:00.5", Second, 0, "finer than the unit s"},
		{"2024-05-06 10:00:00.0001", Milli, 0, "finer than the unit ms"},
		{"2024-05-06 10:00:00+16:00", Micro, 0, "invalid timestamp"},
		{"2024-13-01", Micro, 0, "invalid"},
	}
	for _, c := range cases {
		got, err := ParseTimestampIn(c.s, c.unit)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("%q in %s = %d, %v; want %d", c.s, c.unit, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q in %s: %d, %v; want an error saying %q", c.s, c.unit, got, err, c.err)
		}
	}
}
