package jsharness

import (
	"math"
	"math/big"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestFromRecordsRendersEveryType(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	recs := allTypes(mem)
	got, err := FromRecords(allTypesSchema, recs...)
	release(recs...)
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(allTypesWant, got); d != "" {
		t.Error(d)
	}

	rec := extras(mem)
	got, err = FromRecords(extrasSchema, rec)
	rec.Release()
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(extrasWant, got); d != "" {
		t.Error(d)
	}

	rec = dict(mem)
	got, err = FromRecords(dictSchema, rec)
	rec.Release()
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(dictWant, got); d != "" {
		t.Error(d)
	}
}

func release(recs ...arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// The expected strings are what JavaScript's String(x) prints.
func TestFormatFloat(t *testing.T) {
	tenth := 0.1 // a variable, so that 0.1+0.2 is float64 arithmetic, not exact constant arithmetic
	for _, c := range []struct {
		f    float64
		want string
	}{
		{0.1, "0.1"},
		{1, "1"},
		{-2.5, "-2.5"},
		{100, "100"},
		{1e6, "1000000"},
		{123456789012345680000, "123456789012345680000"},
		{1e21, "1e+21"},
		{1.5e300, "1.5e+300"},
		{0.000001, "0.000001"},
		{1.5e-7, "1.5e-7"},
		{5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{tenth + 2*tenth, "0.30000000000000004"},
		{math.Copysign(0, -1), "-0"},
		{0, "0"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "Infinity"},
		{math.Inf(-1), "-Infinity"},
		{float64(float32(1.1)), "1.100000023841858"},
		{float64(float32(16777217)), "16777216"},
		{float64(float32(1e-45)), "1.401298464324817e-45"},
		{17592186044416.5625, "17592186044416.562"}, // a tie: the even digit
	} {
		if got := formatFloat(c.f); got != c.want {
			t.Errorf("formatFloat(%v) = %q, want %q", c.f, got, c.want)
		}
	}
}

func TestFormatDecimal(t *testing.T) {
	for _, c := range []struct {
		v     int64
		scale int32
		want  string
	}{
		{1230, 2, "12.30"},
		{-5, 2, "-0.05"},
		{0, 2, "0.00"},
		{7, 0, "7"},
		{12, -2, "1200"},
		{0, -2, "0"},
		{-123, 3, "-0.123"},
	} {
		if got := formatDecimal(big.NewInt(c.v), c.scale); got != c.want {
			t.Errorf("formatDecimal(%d, %d) = %q, want %q", c.v, c.scale, got, c.want)
		}
	}
}

func TestFormatDatesAndTimes(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{formatDate(0), "1970-01-01"},
		{formatDate(-719529), "-0001-12-31"},
		{formatDate(2932897), "10000-01-01"},
		{formatTimestamp(-1, 1e6, true), "1969-12-31T23:59:59.999999Z"},
		{formatTimestamp(1500, 1e3, false), "1970-01-01T00:00:01.500000"},
		{formatTimestamp(-1, 1e9, true), "1969-12-31T23:59:59.999999999Z"},
		{formatTimestamp(86400, 1, true), "1970-01-02T00:00:00.000000Z"},
		{formatTime(3723, 1), "01:02:03.000000"},
		{formatTime(1, 1e9), "00:00:00.000000001"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
