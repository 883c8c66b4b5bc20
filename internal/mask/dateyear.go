package mask

import (
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func (c *masker) dateYear(mem memory.Allocator, arr arrow.Array) (arrow.Array, error) {
	switch dt := arr.DataType().(type) {
	case *arrow.Date32Type:
		return mapWords(mem, arr, func(v arrow.Date32) (arrow.Date32, bool) {
			s := daysFromCivil(yearOfDays(int64(v)))
			if s < math.MinInt32 {
				return 0, false
			}
			return arrow.Date32(s), true
		}), nil
	case *arrow.Date64Type:
		return mapWords(mem, arr, func(v arrow.Date64) (arrow.Date64, bool) {
			s, ok := yearStartUTC(int64(v), 86_400_000)
			return arrow.Date64(s), ok
		}), nil
	case *arrow.TimestampType:
		per := unitsPerSecond(dt.Unit)
		if c.loc == nil {
			return mapWords(mem, arr, func(v arrow.Timestamp) (arrow.Timestamp, bool) {
				s, ok := yearStartUTC(int64(v), per*86_400)
				return arrow.Timestamp(s), ok
			}), nil
		}
		z := zonedYear{loc: c.loc, per: per}
		return mapWords(mem, arr, func(v arrow.Timestamp) (arrow.Timestamp, bool) {
			s, ok := z.start(int64(v))
			return arrow.Timestamp(s), ok
		}), nil
	}
	return nil, c.unsupported(arr.DataType())
}

func unitsPerSecond(u arrow.TimeUnit) int64 {
	switch u {
	case arrow.Second:
		return 1
	case arrow.Millisecond:
		return 1e3
	case arrow.Microsecond:
		return 1e6
	}
	return 1e9
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// yearOfDays returns the proleptic Gregorian year of the day that is days
// after 1970-01-01 (H. Hinnant's civil_from_days, year only).
func yearOfDays(days int64) int64 {
	z := days + 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	if mp >= 10 { // January or February belong to the next civil year
		y++
	}
	return y
}

// daysFromCivil returns the number of days from 1970-01-01 to January 1 of
// year y.
func daysFromCivil(y int64) int64 {
	y-- // January counts in the previous March-based year
	era := floorDiv(y, 400)
	yoe := y - era*400
	const doy = 306 // March 1 .. January 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// yearStartUTC truncates v, a count of units since the epoch with perDay
// units a day, to January 1 00:00 UTC of its year. It reports false when
// that instant is before the type's range.
func yearStartUTC(v, perDay int64) (int64, bool) {
	s := daysFromCivil(yearOfDays(floorDiv(v, perDay)))
	if s < math.MinInt64/perDay {
		return 0, false
	}
	return s * perDay, true
}

// maxZonedSeconds bounds the instants (about ±35 million years) whose year
// is computed in a named time zone; beyond, the time package's arithmetic
// is not safe and date_year gives null.
const maxZonedSeconds = 1 << 50

// zonedYear truncates timestamps to January 1 00:00 local time of their
// year in loc. The local year of an instant is its UTC year or one of the
// two next to it, so it is the last of the local starts of those three years
// that is not after the instant. Those starts are computed with the time
// package once per UTC year and kept in a small direct-mapped cache, so that
// the time package is called a few times per batch, not once per row.
type zonedYear struct {
	loc   *time.Location
	per   int64
	cache [64]yearStarts
}

// yearStarts holds the local starts (in units) of years y-1, y and y+1;
// ok[i] is false when that start is outside the type's range.
type yearStarts struct {
	y     int64
	have  bool
	start [3]int64
	ok    [3]bool
}

func (z *zonedYear) start(v int64) (int64, bool) {
	sec := floorDiv(v, z.per)
	if sec < -maxZonedSeconds || sec > maxZonedSeconds {
		return 0, false
	}
	y := yearOfDays(floorDiv(sec, 86_400))
	e := &z.cache[uint64(y)%uint64(len(z.cache))]
	if !e.have || e.y != y {
		e.y, e.have = y, true
		for i := range e.start {
			s := time.Date(int(y)-1+i, time.January, 1, 0, 0, 0, 0, z.loc).Unix()
			e.ok[i] = s >= math.MinInt64/z.per && s <= math.MaxInt64/z.per
			if e.ok[i] {
				e.start[i] = s * z.per
			}
		}
	}
	for i := len(e.start) - 1; i >= 0; i-- {
		if e.ok[i] && e.start[i] <= v {
			return e.start[i], true
		}
		if !e.ok[i] && i < 2 {
			// The start of an earlier year is below the range: v's year
			// starts before the earliest value of the type.
			return 0, false
		}
	}
	return 0, false
}
