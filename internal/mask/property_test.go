package mask

import (
	"fmt"
	"math"
	"math/big"
	mrand "math/rand"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/sqlsubset"
)

var propertyTypes = []arrow.DataType{
	arrow.FixedWidthTypes.Boolean,
	arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64,
	arrow.PrimitiveTypes.Uint8, arrow.PrimitiveTypes.Uint16, arrow.PrimitiveTypes.Uint32, arrow.PrimitiveTypes.Uint64,
	arrow.PrimitiveTypes.Float32, arrow.PrimitiveTypes.Float64,
	d(10, 2), d(38, 5), d(4, 4),
	arrow.BinaryTypes.String, arrow.BinaryTypes.LargeString, arrow.BinaryTypes.Binary, arrow.BinaryTypes.LargeBinary,
	arrow.FixedWidthTypes.Date32, arrow.FixedWidthTypes.Date64,
	ts(arrow.Second, ""), ts(arrow.Millisecond, "UTC"), ts(arrow.Microsecond, "Europe/Paris"), ts(arrow.Nanosecond, "America/New_York"),
	arrow.StructOf(
		arrow.Field{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true}),
	arrow.ListOf(arrow.BinaryTypes.String),
	&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String},
}

var propertyMasks = []sqlsubset.Mask{
	mk("null"), mk("redact"), mk("hash"), mk("tokenize"),
	mk("show_first", 0), mk("show_first", 3), mk("show_last", 0), mk("show_last", 4), mk("show_last", 1000),
	mk("email_domain"), mk("date_year"), mk("round", 0), mk("round", 1), mk("round", 3), mk("round", 30), mk("zero"),
}

var sampleStrings = []string{"", "a", "alice@example.com", "bob@@corp", "ünïcödé", "😀👍🏽", "日本語テキスト",
	"4111-1111-1111-1234", "\xff\xfe invalid", "x@y", "@", "tab\there"}

// randomArray returns n random values of dt with about 1 in 8 null. Values
// stay where every mask has a representable result (decimals below their
// precision's last power of ten, timestamps within 1800..2200).
func randomArray(mem memory.Allocator, dt arrow.DataType, n int, rng *rand.Rand) arrow.Array {
	b := array.NewBuilder(mem, dt)
	defer b.Release()
	for i := 0; i < n; i++ {
		appendRandom(b, rng)
	}
	return b.NewArray()
}

func appendRandom(b array.Builder, rng *rand.Rand) {
	if rng.IntN(8) == 0 {
		b.AppendNull()
		return
	}
	const minSec, maxSec = -5364662400, 7258118400 // 1800..2200
	switch b := b.(type) {
	case *array.BooleanBuilder:
		b.Append(rng.IntN(2) == 0)
	case *array.Int8Builder:
		b.Append(int8(rng.Uint64()))
	case *array.Int16Builder:
		b.Append(int16(rng.Uint64()))
	case *array.Int32Builder:
		b.Append(int32(rng.Uint64()))
	case *array.Int64Builder:
		b.Append(int64(rng.Uint64()))
	case *array.Uint8Builder:
		b.Append(uint8(rng.Uint64()))
	case *array.Uint16Builder:
		b.Append(uint16(rng.Uint64()))
	case *array.Uint32Builder:
		b.Append(uint32(rng.Uint64()))
	case *array.Uint64Builder:
		b.Append(rng.Uint64())
	case *array.Float32Builder:
		b.Append(float32(randomFloat(rng)))
	case *array.Float64Builder:
		b.Append(randomFloat(rng))
	case *array.Decimal128Builder:
		p := b.Type().(*arrow.Decimal128Type).Precision
		v := new(big.Int).Rand(mrand.New(randSource{rng}), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(p-1)), nil))
		if rng.IntN(2) == 0 {
			v.Neg(v)
		}
		b.Append(decimal128.FromBigInt(v))
	case *array.StringBuilder:
		b.Append(randomString(rng))
	case *array.LargeStringBuilder:
		b.Append(randomString(rng))
	case *array.BinaryBuilder:
		b.Append([]byte(randomString(rng)))
	case *array.Date32Builder:
		b.Append(arrow.Date32(rng.Int64N((maxSec-minSec)/86400) + minSec/86400))
	case *array.Date64Builder:
		b.Append(arrow.Date64((rng.Int64N((maxSec-minSec)/86400) + minSec/86400) * 86400000))
	case *array.TimestampBuilder:
		per := unitsPerSecond(b.Type().(*arrow.TimestampType).Unit)
		b.Append(arrow.Timestamp((rng.Int64N(maxSec-minSec)+minSec)*per + rng.Int64N(per)))
	case *array.StructBuilder:
		b.Append(true)
		for i := 0; i < b.NumField(); i++ {
			appendRandom(b.FieldBuilder(i), rng)
		}
	case *array.ListBuilder:
		b.Append(true)
		for k := rng.IntN(4); k > 0; k-- {
			appendRandom(b.ValueBuilder(), rng)
		}
	case *array.BinaryDictionaryBuilder:
		if err := b.AppendString(sampleStrings[rng.IntN(len(sampleStrings))]); err != nil {
			panic(err)
		}
	default:
		panic(fmt.Sprintf("no random values for %T", b))
	}
}

type randSource struct{ r *rand.Rand }

func (s randSource) Int63() int64 { return int64(s.r.Uint64() >> 1) }
func (s randSource) Seed(int64)   {}

func randomFloat(rng *rand.Rand) float64 {
	switch rng.IntN(4) {
	case 0:
		return float64(rng.IntN(20001)-10000) / 8 // exact binary ties
	case 1:
		return (rng.Float64() - 0.5) * math.Pow(10, float64(rng.IntN(40)-20))
	case 2:
		return math.Float64frombits(rng.Uint64()) // anything, NaN and Inf included
	}
	return float64(rng.IntN(2000001)-1000000) / 1000
}

func randomString(rng *rand.Rand) string {
	if rng.IntN(2) == 0 {
		return sampleStrings[rng.IntN(len(sampleStrings))]
	}
	r := make([]rune, rng.IntN(30))
	for i := range r {
		switch rng.IntN(4) {
		case 0:
			r[i] = rune(0x20 + rng.IntN(0x5f))
		case 1:
			r[i] = rune(0xa0 + rng.IntN(0x700))
		case 2:
			r[i] = rune(0x1f300 + rng.IntN(0x300))
		default:
			r[i] = '@'
		}
	}
	return string(r)
}

// TestEveryMaskKeepsShape applies every mask to every type it applies to,
// on a whole batch and on slices of it, and checks that the type, the
// length and the null positions are kept (all null for null), that masking
// a slice gives the slice of the masked batch (masks are row by row, so
// batch boundaries never change an output), and that nothing leaks from
// the allocator.
func TestEveryMaskKeepsShape(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dt := range propertyTypes {
		for _, m := range propertyMasks {
			if Check(m, dt) != nil {
				continue
			}
			t.Run(TypeName(dt)+"/"+m.String(), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				in := randomArray(mem, dt, 700, rng)
				defer in.Release()
				whole := applyOK(t, mem, in, m, testKey)
				defer whole.Release()
				checkValidFrom(t, in, whole)
				for i := 0; i < in.Len(); i++ {
					wantNull := in.IsNull(i) || m.Func == FuncNull
					if whole.IsNull(i) != wantNull {
						t.Fatalf("row %d: null = %v, want %v (input %s)", i, whole.IsNull(i), wantNull, in.ValueStr(i))
					}
				}
				again := applyOK(t, mem, in, m, testKey)
				defer again.Release()
				if !array.Equal(whole, again) && !hasNaN(whole) {
					t.Fatal("two calls with the same key differ")
				}
				for _, r := range [][2]int64{{0, 1}, {37, 537}, {699, 700}, {100, 100}} {
					part := array.NewSlice(in, r[0], r[1])
					got := applyOK(t, mem, part, m, testKey)
					want := array.NewSlice(whole, r[0], r[1])
					if !array.Equal(got, want) && !hasNaN(want) {
						t.Errorf("slice %v: got %v\nwant %v", r, got, want)
					}
					checkValidFrom(t, part, got)
					part.Release()
					got.Release()
					want.Release()
				}
			})
		}
	}
}

func hasNaN(arr arrow.Array) bool {
	switch a := arr.(type) {
	case *array.Float64:
		return slices.ContainsFunc(a.Float64Values(), math.IsNaN)
	case *array.Float32:
		return slices.ContainsFunc(a.Float32Values(), func(f float32) bool { return f != f })
	}
	return false
}

func stringsOf(t testing.TB, arr arrow.Array) []string {
	t.Helper()
	out := make([]string, arr.Len())
	for i := range out {
		out[i] = arr.ValueStr(i)
	}
	return out
}

// TestTokenizeStable: the token of a value depends on the value and the key
// only: not on its row, its batch, its neighbours or the string type.
func TestTokenizeStable(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	vals := `["alice", "bob", "", "😀", "carol@x.example"]`
	shuffled := `["carol@x.example", "😀", "alice", "zed", "bob", ""]`
	a := fromJSON(t, mem, arrow.BinaryTypes.String, vals)
	defer a.Release()
	b := fromJSON(t, mem, arrow.BinaryTypes.LargeString, shuffled)
	defer b.Release()
	ta := applyOK(t, mem, a, mk("tokenize"), testKey)
	defer ta.Release()
	tb := applyOK(t, mem, b, mk("tokenize"), testKey)
	defer tb.Release()
	tokA, tokB := stringsOf(t, ta), stringsOf(t, tb)
	want := map[int]int{0: 2, 1: 4, 2: 5, 3: 1, 4: 0}
	for i, j := range want {
		if tokA[i] != tokB[j] {
			t.Errorf("token of row %d in batch a (%s) != row %d in batch b (%s)", i, tokA[i], j, tokB[j])
		}
	}
	seen := map[string]bool{}
	for _, tok := range tokB {
		if seen[tok] {
			t.Errorf("two different values share token %s", tok)
		}
		seen[tok] = true
		if len(tok) != stringTokenLen || tok[:4] != "tok_" {
			t.Errorf("token %q has the wrong form", tok)
		}
	}

	ints := fromJSON(t, mem, arrow.PrimitiveTypes.Int64, `[5, 6, 7]`)
	defer ints.Release()
	ints2 := fromJSON(t, mem, arrow.PrimitiveTypes.Int64, `[7, null, 5]`)
	defer ints2.Release()
	ti := applyOK(t, mem, ints, mk("tokenize"), testKey)
	defer ti.Release()
	ti2 := applyOK(t, mem, ints2, mk("tokenize"), testKey)
	defer ti2.Release()
	x, y := ti.(*array.Int64), ti2.(*array.Int64)
	if x.Value(0) != y.Value(2) || x.Value(2) != y.Value(0) {
		t.Errorf("integer tokens depend on the batch: %v %v", x, y)
	}
}

// TestKeyed: hash and tokenize under another key give other outputs.
func TestKeyed(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, dt := range []arrow.DataType{arrow.BinaryTypes.String, arrow.BinaryTypes.Binary, arrow.PrimitiveTypes.Int64,
		arrow.PrimitiveTypes.Uint32, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Uint8} {
		for _, fn := range []string{"hash", "tokenize"} {
			m := mk(fn)
			if Check(m, dt) != nil {
				continue
			}
			t.Run(TypeName(dt)+"/"+fn, func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				in := randomArray(mem, dt, 2000, rng)
				defer in.Release()
				a := applyOK(t, mem, in, m, testKey)
				defer a.Release()
				b := applyOK(t, mem, in, m, otherKey)
				defer b.Release()
				same, valid := 0, 0
				for i := 0; i < in.Len(); i++ {
					if in.IsNull(i) {
						continue
					}
					valid++
					if a.ValueStr(i) == b.ValueStr(i) {
						same++
					}
				}
				// A keyed permutation of 8-bit values agrees with another one on
				// about 1 value in 256; wider outputs essentially never agree.
				limit := 0
				if dt.ID() == arrow.UINT8 {
					limit = valid / 50
				}
				if same > limit {
					t.Fatalf("%d of %d values mask the same under two keys", same, valid)
				}
			})
		}
	}
}

// TestTokenizeIntegersArePermutations: integer tokens never collide. The 8
// and 16-bit types are checked exhaustively through Apply; the wider ones on
// 100,000 values, and by inverting the permutation.
func TestTokenizeIntegersArePermutations(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	exhaustive := []struct {
		dt   arrow.DataType
		bits uint
	}{{arrow.PrimitiveTypes.Int8, 8}, {arrow.PrimitiveTypes.Uint8, 8}, {arrow.PrimitiveTypes.Int16, 16}, {arrow.PrimitiveTypes.Uint16, 16}}
	for _, tt := range exhaustive {
		size := 1 << tt.bits
		b := array.NewBuilder(mem, tt.dt)
		for v := 0; v < size; v++ {
			switch b := b.(type) {
			case *array.Int8Builder:
				b.Append(int8(v))
			case *array.Uint8Builder:
				b.Append(uint8(v))
			case *array.Int16Builder:
				b.Append(int16(v))
			case *array.Uint16Builder:
				b.Append(uint16(v))
			}
		}
		in := b.NewArray()
		b.Release()
		out := applyOK(t, mem, in, mk("tokenize"), testKey)
		seen := make([]bool, size)
		fixed := 0
		for i := 0; i < size; i++ {
			var u int
			switch o := out.(type) {
			case *array.Int8:
				u = int(uint8(o.Value(i)))
			case *array.Uint8:
				u = int(o.Value(i))
			case *array.Int16:
				u = int(uint16(o.Value(i)))
			case *array.Uint16:
				u = int(o.Value(i))
			}
			if seen[u] {
				t.Fatalf("%s: two values map to %d", tt.dt, u)
			}
			seen[u] = true
			if u == i {
				fixed++
			}
		}
		if fixed > size/32 {
			t.Fatalf("%s: %d values map to themselves", tt.dt, fixed)
		}
		in.Release()
		out.Release()
	}

	c, err := compile(mk("tokenize"), arrow.PrimitiveTypes.Int64, testKey)
	if err != nil {
		t.Fatal(err)
	}
	f := newFeistel(c.intCipher)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, width := range []uint{32, 64} {
		seen := make(map[uint64]uint64, 100_000)
		for i := 0; i < 100_000; i++ {
			var x uint64
			if i < 1000 {
				x = uint64(i) // small consecutive ids, the common case
			} else {
				x = rng.Uint64()
			}
			if width == 32 {
				x &= math.MaxUint32
			}
			y := f.permute(x, width)
			if width == 32 && y > math.MaxUint32 {
				t.Fatalf("32-bit token %d out of range", y)
			}
			if prev, ok := seen[y]; ok && prev != x {
				t.Fatalf("width %d: %d and %d share token %d", width, prev, x, y)
			}
			seen[y] = x
			if back := f.invert(y, width); back != x {
				t.Fatalf("width %d: invert(permute(%d)) = %d", width, x, back)
			}
		}
	}
}

// TestDateYearIdempotent: date_year of date_year is date_year, the result
// is not after the value, falls in the same year in the column's zone and is
// January 1 00:00 there.
func TestDateYearIdempotent(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, dt := range []arrow.DataType{arrow.FixedWidthTypes.Date32, arrow.FixedWidthTypes.Date64,
		ts(arrow.Second, ""), ts(arrow.Millisecond, "UTC"), ts(arrow.Microsecond, "Europe/Paris"),
		ts(arrow.Nanosecond, "America/New_York"), ts(arrow.Second, "Australia/Lord_Howe"), ts(arrow.Millisecond, "-03:30")} {
		t.Run(TypeName(dt), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			in := randomArray(mem, dt, 3000, rng)
			defer in.Release()
			once := applyOK(t, mem, in, mk("date_year"), nil)
			defer once.Release()
			twice := applyOK(t, mem, once, mk("date_year"), nil)
			defer twice.Release()
			assertEqual(t, twice, once)
			loc := time.UTC
			if tt, ok := dt.(*arrow.TimestampType); ok {
				var err error
				if loc, err = tt.GetZone(); err != nil {
					t.Fatal(err)
				}
			}
			for i := 0; i < in.Len(); i++ {
				if in.IsNull(i) {
					continue
				}
				v, y := instant(in, i).In(loc), instant(once, i).In(loc)
				if y.After(v) || y.Year() != v.Year() || y.Month() != time.January || y.Day() != 1 || y.Hour() != 0 || y.Minute() != 0 || y.Second() != 0 || y.Nanosecond() != 0 {
					t.Fatalf("date_year(%s) = %s", v, y)
				}
			}
		})
	}
}

func instant(arr arrow.Array, i int) time.Time {
	switch a := arr.(type) {
	case *array.Date32:
		return a.Value(i).ToTime()
	case *array.Date64:
		return a.Value(i).ToTime()
	case *array.Timestamp:
		return a.Value(i).ToTime(a.DataType().(*arrow.TimestampType).Unit)
	}
	panic("not temporal")
}

// TestRoundFastPathMatchesExact compares the float fast path with exact
// rational arithmetic.
func TestRoundFastPathMatchesExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 200_000; i++ {
		x := randomFloat(rng)
		if math.IsNaN(x) || math.IsInf(x, 0) || x == 0 {
			continue
		}
		n := int64(rng.IntN(26))
		if got, want := roundFloat(x, n, false), roundFloatExact(x, n, false); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("round(%v, %d) = %v, exact %v", x, n, got, want)
		}
		x32 := float64(float32(x))
		if math.IsInf(x32, 0) || x32 == 0 {
			continue
		}
		if got, want := roundFloat(x32, n, true), roundFloatExact(x32, n, true); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("round(float32 %v, %d) = %v, exact %v", float32(x), n, got, want)
		}
	}
}

// TestRoundDecimalMatchesBig compares decimal rounding with math/big.
func TestRoundDecimalMatchesBig(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	ten := big.NewInt(10)
	for i := 0; i < 100_000; i++ {
		prec := int32(1 + rng.IntN(38))
		digits := int64(1 + rng.IntN(int(prec)))
		v := new(big.Int).Rand(mrand.New(randSource{rng}), new(big.Int).Exp(ten, big.NewInt(digits), nil))
		if rng.IntN(2) == 0 {
			v.Neg(v)
		}
		drop := int64(1 + rng.IntN(int(prec)))
		got, ok := roundDecimal(decimal128.FromBigInt(v), drop, prec)

		unit := new(big.Int).Exp(ten, big.NewInt(drop), nil)
		q, r := new(big.Int).QuoRem(new(big.Int).Abs(v), unit, new(big.Int))
		if new(big.Int).Lsh(r, 1).Cmp(unit) >= 0 {
			q.Add(q, big.NewInt(1))
		}
		want := q.Mul(q, unit)
		if v.Sign() < 0 {
			want.Neg(want)
		}
		fits := new(big.Int).Abs(want).Cmp(new(big.Int).Exp(ten, big.NewInt(int64(prec)), nil)) < 0
		if ok != fits || (ok && got.BigInt().Cmp(want) != 0) {
			t.Fatalf("roundDecimal(%s, drop %d, prec %d) = %s, %v; want %s, %v", v, drop, prec, got.BigInt(), ok, want, fits)
		}
	}
}

// TestConcurrentApply masks one shared batch from several goroutines (run
// with -race): Apply keeps no state between calls.
func TestConcurrentApply(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(13, 14))
	in := randomArray(mem, arrow.BinaryTypes.String, 2000, rng)
	defer in.Release()
	want := applyOK(t, mem, in, mk("tokenize"), testKey)
	defer want.Release()
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			out, err := Apply(mem, in, mk("tokenize"), testKey)
			if err == nil {
				if !array.Equal(out, want) {
					err = fmt.Errorf("concurrent result differs")
				}
				out.Release()
			}
			errs <- err
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
