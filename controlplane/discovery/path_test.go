package discovery

import (
	"slices"
	"strings"
	"testing"

	"github.com/nscale/nscale/internal/sqlsubset"
)

func TestHidden(t *testing.T) {
	cases := []struct {
		name  string
		isDir bool
		want  bool
	}{
		{"part-0.parquet", false, false},
		{"000000_0", false, false},
		{"_SUCCESS", false, true},
		{"_committed_123", false, true},
		{"_started_123", false, true},
		{".part-0.parquet.crc", false, true},
		{"part-0.parquet.crc", false, true},
		{"part-0.parquet._COPYING_", false, true},
		{"dt=1_$folder$", false, true},
		{"_temporary", true, true},
		{"_delta_log", true, true},
		{".hive-staging_hive_2024", true, true},
		{".spark-staging-1", true, true},
		{"_col=1", true, false}, // Spark: a partition column may start with "_"
		{"_col=1", false, true}, // ... but a file never
		{".col=1", true, true},
		{"dt=2024-05-06", true, false},
		{"x.crc", true, false}, // only files end in .crc
		{"", false, false},
	}
	for _, c := range cases {
		if got := Hidden(c.name, c.isDir); got != c.want {
			t.Errorf("Hidden(%q, dir=%v) = %v, want %v", c.name, c.isDir, got, c.want)
		}
	}
}

func TestParsePath(t *testing.T) {
	ok := []struct {
		rel    string
		keys   []string
		values []string
		name   string
	}{
		{"a.parquet", nil, nil, "a.parquet"},
		{"dt=2024-05-06/a.parquet", []string{"dt"}, []string{"2024-05-06"}, "a.parquet"},
		{"dt=2024-05-06/hr=01/part-0", []string{"dt", "hr"}, []string{"2024-05-06", "01"}, "part-0"},
		{"dt=2024-05-06/sub/dir/a.parquet", []string{"dt"}, []string{"2024-05-06"}, "a.parquet"},
		{"sub/dir/a.parquet", nil, nil, "a.parquet"},
		{"s=a%2Fb%3Dc%25d/f", []string{"s"}, []string{"a/b=c%d"}, "f"},
		{"s=100%/f", []string{"s"}, []string{"100%"}, "f"},         // Hive keeps a stray %
		{"s=%zz%4/f", []string{"s"}, []string{"%zz%4"}, "f"},       // not two hex digits
		{"s=%C3%A9t%c3%a9/f", []string{"s"}, []string{"été"}, "f"}, // UTF-8 bytes
		{"s=a=b/f", []string{"s"}, []string{"a=b"}, "f"},           // first "=" splits
		{"k%3Dx=1/f", []string{"k=x"}, []string{"1"}, "f"},
		{"dt=" + NullPartition + "/f", []string{"dt"}, []string{NullPartition}, "f"},
		{"_under=1/f", []string{"_under"}, []string{"1"}, "f"},
		{"ville=Zürich/日本.parquet", []string{"ville"}, []string{"Zürich"}, "日本.parquet"},
	}
	for _, c := range ok {
		info, hidden, err := ParsePath(c.rel)
		if err != nil || hidden {
			t.Errorf("ParsePath(%q): hidden=%v err=%v", c.rel, hidden, err)
			continue
		}
		if !slices.Equal(info.Keys, c.keys) || !slices.Equal(info.Values, c.values) || info.Name != c.name {
			t.Errorf("ParsePath(%q) = %+v, want keys %q values %q name %q", c.rel, info, c.keys, c.values, c.name)
		}
	}
	hidden := []string{
		"_SUCCESS", "dt=1/_SUCCESS", "_temporary/0/dt=bad/x", "dt=1/.x.crc", "dt=1/x.crc",
		".hive-staging/dt=1/x", "dt=1/_temporary/x", "a/b/.c/d", "_delta_log/0000.json",
	}
	for _, rel := range hidden {
		if _, h, err := ParsePath(rel); !h || err != nil {
			t.Errorf("ParsePath(%q): hidden=%v err=%v, want hidden", rel, h, err)
		}
	}
	bad := []struct{ rel, want string }{
		{"", "empty path"},
		{"a//b", "empty"},
		{"a/../b", `".."`},
		{"./b", `"."`},
		{"dt=/f", "empty value"},
		{"=1/f", "empty key"},
		{"sub/dt=1/f", "below the plain directory"},
		{"dt=1/x/hr=2/f", "below the plain directory"},
		{"dt=1/dt=2/f", "appears twice"},
		{"s=%ff/f", "invalid UTF-8"},
		{"s=%00/f", "NUL"},
		{"a\xffb", "UTF-8"},
		{strings.Repeat("a", MaxPathLen+1), "longer than"},
	}
	for _, c := range bad {
		_, _, err := ParsePath(c.rel)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParsePath(%q) = %v, want error containing %q", c.rel, err, c.want)
		}
	}
}

func TestEscapePathName(t *testing.T) {
	cases := map[string]string{
		"plain":       "plain",
		"a/b=c%d":     "a%2Fb%3Dc%25d",
		"x:y?z*":      "x%3Ay%3Fz%2A",
		".dot":        "%2Edot",
		"_u":          "%5Fu",
		"mid.dot_u":   "mid.dot_u",
		"tab\tnl\n":   "tab%09nl%0A",
		"Zürich 2024": "Zürich 2024",
	}
	for in, want := range cases {
		got := EscapePathName(in)
		if got != want {
			t.Errorf("EscapePathName(%q) = %q, want %q", in, got, want)
		}
		back, err := UnescapePathName(got)
		if err != nil || back != in {
			t.Errorf("UnescapePathName(%q) = %q, %v, want %q", got, back, err, in)
		}
	}
	a, b := "2024-05-06", "x/y"
	if got := PartitionDir([]string{"dt", "s", "n"}, []*string{&a, &b, nil}); got != "dt=2024-05-06/s=x%2Fy/n="+NullPartition+"/" {
		t.Errorf("PartitionDir = %q", got)
	}
}

func TestPartitionValue(t *testing.T) {
	ok := []struct {
		typ, raw string
		want     *sqlsubset.Literal
	}{
		{"int64", "42", sqlsubset.Int64Literal(42)},
		{"int64", "-0042", sqlsubset.Int64Literal(-42)},
		{"int8", "127", sqlsubset.Int64Literal(127)},
		{"uint16", "65535", sqlsubset.Uint64Literal(65535)},
		{"bool", "TRUE", sqlsubset.BoolLiteral(true)},
		{"bool", "false", sqlsubset.BoolLiteral(false)},
		{"string", "a/b", sqlsubset.StringLiteral("a/b")},
		{"binary", "ab", sqlsubset.BinaryLiteral([]byte("ab"))},
		{"date32", "2024-05-06", sqlsubset.Date32Literal(19849)},
		{"float64", "1.5e3", sqlsubset.Float64Literal(1500)},
		{"float32", "-0.25", sqlsubset.Float64Literal(-0.25)},
		{"decimal128(10,2)", "-12.5", sqlsubset.DecimalLiteral("-1250", 10, 2)},
		{"decimal128(5,0)", "00012", sqlsubset.DecimalLiteral("12", 5, 0)},
		{"decimal128(5,2)", "-0.00", sqlsubset.DecimalLiteral("0", 5, 2)},
		{"decimal128(5,2)", ".5", sqlsubset.DecimalLiteral("50", 5, 2)},
		{"decimal128(5,2)", "+999.990", sqlsubset.DecimalLiteral("99999", 5, 2)},
		{"int64", NullPartition, sqlsubset.NullLiteral()},
		{"date32", NullPartition, sqlsubset.NullLiteral()},
	}
	for _, c := range ok {
		v, err := PartitionValue(sqlsubset.MustParseType(c.typ), c.raw)
		if err != nil {
			t.Errorf("PartitionValue(%s, %q): %v", c.typ, c.raw, err)
			continue
		}
		if err := v.Validate(); err != nil {
			t.Errorf("PartitionValue(%s, %q) = invalid literal: %v", c.typ, c.raw, err)
		}
		if !v.Equal(c.want) {
			t.Errorf("PartitionValue(%s, %q) = %+v, want %+v", c.typ, c.raw, v, c.want)
		}
	}
	ts := []struct {
		typ, raw string
		want     int64
	}{
		{"timestamp(us)", "1970-01-01 00:00:01", 1_000_000},
		{"timestamp(us,UTC)", "1970-01-01T00:00:01.5Z", 1_500_000},
		{"timestamp(ms)", "1970-01-01 01:00:00+01:00", 0},
		{"timestamp(s)", "1969-12-31 23:59:59", -1},
		{"timestamp(ns)", "2024-05-06 10:11:12.123456789", 1714990272123456789},
		{"timestamp(s)", "2024-05-06", 1714953600},
		{"timestamp(us)", "2024-05-06 10:11", 1714990260000000},
		{"timestamp(s)", "2024-05-06 10:11:12.0", 1714990272},
		{"timestamp(s)", "0001-01-01 00:00:00", -62135596800},
	}
	for _, c := range ts {
		v, err := PartitionValue(sqlsubset.MustParseType(c.typ), c.raw)
		if err != nil {
			t.Errorf("PartitionValue(%s, %q): %v", c.typ, c.raw, err)
			continue
		}
		if v.Int != c.want || v.Type.ID != sqlsubset.Timestamp {
			t.Errorf("PartitionValue(%s, %q) = %d (%s), want %d", c.typ, c.raw, v.Int, v.Type, c.want)
		}
		if err := v.Validate(); err != nil {
			t.Errorf("PartitionValue(%s, %q): invalid literal %v", c.typ, c.raw, err)
		}
	}
	bad := []struct{ typ, raw string }{
		{"int64", "1.5"}, {"int64", "x"}, {"int8", "128"}, {"int64", "99999999999999999999"},
		{"uint8", "-1"}, {"uint8", "+1"}, {"bool", "yes"}, {"bool", "1"},
		{"date32", "2024-13-01"}, {"date32", "2024-5-6"}, {"date32", "20240506"},
		{"float64", "inf"}, {"float64", "NaN"}, {"float64", "0x10"}, {"float64", "1e999"}, {"float32", "1e39"},
		{"decimal128(5,2)", "1.234"}, {"decimal128(5,2)", "1234.5"}, {"decimal128(5,2)", "1,5"}, {"decimal128(5,2)", "."},
		{"timestamp(s)", "2024-05-06 10:11:12.5"}, {"timestamp(us)", "2024-05-06 25:00:00"},
		{"timestamp(us)", "2024-05-06 10:11:12+1"}, {"timestamp(us)", "2024-05-06X10:11"}, {"timestamp(us)", "2024-05-06 10:11:12.1234567890"},
		{"timestamp(ns)", "9999-12-31 23:59:59"},
	}
	for _, c := range bad {
		if v, err := PartitionValue(sqlsubset.MustParseType(c.typ), c.raw); err == nil {
			t.Errorf("PartitionValue(%s, %q) = %v, want error", c.typ, c.raw, v)
		}
	}
}
