package mask

import (
	"math"
	"math/big"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// tokenizeInts maps each integer through the keyed permutation of its width.
// Signed values are permuted as their two's-complement bits, so a token may
// have either sign.
func (c *masker) tokenizeInts(mem memory.Allocator, arr arrow.Array) (arrow.Array, error) {
	f := newFeistel(c.intCipher)
	switch arr.DataType().ID() {
	case arrow.INT8:
		return mapWords(mem, arr, func(v int8) (int8, bool) { return int8(f.permute(uint64(uint8(v)), 8)), true }), nil
	case arrow.UINT8:
		return mapWords(mem, arr, func(v uint8) (uint8, bool) { return uint8(f.permute(uint64(v), 8)), true }), nil
	case arrow.INT16:
		return mapWords(mem, arr, func(v int16) (int16, bool) { return int16(f.permute(uint64(uint16(v)), 16)), true }), nil
	case arrow.UINT16:
		return mapWords(mem, arr, func(v uint16) (uint16, bool) { return uint16(f.permute(uint64(v), 16)), true }), nil
	case arrow.INT32:
		return mapWords(mem, arr, func(v int32) (int32, bool) { return int32(f.permute(uint64(uint32(v)), 32)), true }), nil
	case arrow.UINT32:
		return mapWords(mem, arr, func(v uint32) (uint32, bool) { return uint32(f.permute(uint64(v), 32)), true }), nil
	case arrow.INT64:
		return mapWords(mem, arr, func(v int64) (int64, bool) { return int64(f.permute(uint64(v), 64)), true }), nil
	case arrow.UINT64:
		return mapWords(mem, arr, func(v uint64) (uint64, bool) { return f.permute(v, 64), true }), nil
	}
	return nil, c.unsupported(arr.DataType())
}

func (c *masker) round(mem memory.Allocator, arr arrow.Array) (arrow.Array, error) {
	n := c.n
	switch dt := arr.DataType().(type) {
	case *arrow.Float64Type:
		return mapWords(mem, arr, func(v float64) (float64, bool) { return roundFloat(v, n, false), true }), nil
	case *arrow.Float32Type:
		return mapWords(mem, arr, func(v float32) (float32, bool) { return float32(roundFloat(float64(v), n, true)), true }), nil
	case *arrow.Decimal128Type:
		if n >= int64(dt.Scale) {
			return same(arr), nil
		}
		drop := int64(dt.Scale) - n
		prec := dt.Precision
		return mapWords(mem, arr, func(v decimal128.Num) (decimal128.Num, bool) { return roundDecimal(v, drop, prec) }), nil
	}
	if isInteger(arr.DataType()) {
		return same(arr), nil // integers have no digits after the point
	}
	return nil, c.unsupported(arr.DataType())
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// roundFloat rounds x to n digits after the decimal point, half away from
// zero, judged on x's exact binary value (2.675 is stored as
// 2.67499999999999982236431605997495353221893310546875, so round(2) gives
// 2.67). The result is the float64 (float32 when f32) nearest to the rounded
// decimal. NaN and infinities are unchanged; a result of zero is +0 whatever
// the sign of x, so that the sign of a small value does not show.
//
// f32 means that x is a float32 and the result must be the float32 nearest
// to the rounded decimal.
func roundFloat(x float64, n int64, f32 bool) float64 {
	if x == 0 {
		return 0
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	ax := math.Abs(x)
	// Rounding moves x by at most 10^-n/2. When that is under a quarter of
	// the spacing of the values around x (|x|·10^n >= 2^54 for float64,
	// 2^25 for float32; the thresholds below leave a margin for the
	// inexact product), x is already the value nearest to the result.
	if (!f32 && n >= 330) || (f32 && n >= 50) {
		return x
	}
	var scaled float64
	if n <= 22 {
		scaled = ax * pow10[n]
	} else {
		scaled = ax * pow10[22] * math.Pow(10, float64(n-22))
	}
	if (!f32 && scaled >= 0x1p56) || (f32 && scaled >= 0x1p27) {
		return x
	}
	if n <= 22 {
		p := pow10[n]
		if y := scaled; y < 0x1p52 {
			e := math.FMA(ax, p, -y) // ax·p - y exactly
			r := math.Floor(y)
			frac := y - r // exact
			if frac > 0.5 || (frac == 0.5 && e >= 0) {
				r++
			}
			if r == 0 {
				return 0
			}
			q := r / p // nearest float64 to r/10^n
			if f32 {
				q = nearestFloat32(q, r, p)
			}
			return math.Copysign(q, x)
		}
	}
	return roundFloatExact(x, n, f32)
}

// nearestFloat32 returns the float32 (as float64) nearest to r/p, given
// q = r/p rounded to float64, without the error of rounding twice: when q
// is exactly halfway between two float32 values, the exact residual r - q·p
// says which one r/p is nearer to.
func nearestFloat32(q, r, p float64) float64 {
	f := float32(q)
	if math.Float64bits(q)&(1<<29-1) != 1<<28 {
		return float64(f) // not a float32 midpoint: one rounding
	}
	res := math.FMA(-q, p, r) // r - q·p exactly
	switch {
	case res > 0 && float64(f) < q:
		f = math.Nextafter32(f, float32(math.Inf(1)))
	case res < 0 && float64(f) > q:
		f = math.Nextafter32(f, 0)
	}
	return float64(f)
}

// roundFloatExact is roundFloat in exact rational arithmetic, for the rare
// values the fast path cannot decide.
func roundFloatExact(x float64, n int64, f32 bool) float64 {
	var r big.Rat
	r.SetFloat64(math.Abs(x))
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(n), nil)
	num := new(big.Int).Mul(r.Num(), scale)
	q, m := new(big.Int).QuoRem(num, r.Denom(), new(big.Int))
	if m.Lsh(m, 1).Cmp(r.Denom()) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if q.Sign() == 0 {
		return 0
	}
	res := new(big.Rat).SetFrac(q, scale)
	var out float64
	if f32 {
		f, _ := res.Float32()
		out = float64(f)
	} else {
		out, _ = res.Float64()
	}
	return math.Copysign(out, x)
}

// u128 is an unsigned 128-bit integer.
type u128 struct{ hi, lo uint64 }

// pow10u64 holds 10^0 .. 10^19.
var pow10u64 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// divmod divides u by d (d > 0) and returns the quotient and remainder.
func (u u128) divmod(d uint64) (u128, uint64) {
	qhi, r := u.hi/d, u.hi%d
	qlo, r := bits.Div64(r, u.lo, d)
	return u128{qhi, qlo}, r
}

func (u u128) mul(m uint64) u128 {
	hi, lo := bits.Mul64(u.lo, m)
	return u128{u.hi*m + hi, lo}
}

func (u u128) add1() u128 {
	lo, c := bits.Add64(u.lo, 1, 0)
	return u128{u.hi + c, lo}
}

// roundDecimal rounds the unscaled decimal v half away from zero to a
// multiple of 10^drop (1 <= drop), keeping the scale: 123.456 with
// decimal128(6,3) rounded to 1 digit is 123.500. It reports false when the
// result has more than prec digits.
func roundDecimal(v decimal128.Num, drop int64, prec int32) (decimal128.Num, bool) {
	neg := v.Sign() < 0
	if neg {
		v = v.Negate()
	}
	u := u128{uint64(v.HighBits()), v.LowBits()}
	if drop > 38 {
		// |v| < 2^128 < 10^39 <= 10^drop / 2 · ... : v rounds to 0.
		return decimal128.Num{}, true
	}
	var up bool
	if drop <= 19 {
		q, r := u.divmod(pow10u64[drop])
		up = r >= 5*pow10u64[drop-1]
		u = q
	} else {
		q, _ := u.divmod(pow10u64[19])
		q, r := q.divmod(pow10u64[drop-19])
		up = r >= 5*pow10u64[drop-20]
		u = q
	}
	if up {
		u = u.add1()
	}
	if drop <= 19 {
		u = u.mul(pow10u64[drop])
	} else {
		u = u.mul(pow10u64[19]).mul(pow10u64[drop-19])
	}
	out := decimal128.New(int64(u.hi), u.lo)
	if u.hi>>63 != 0 || !out.Less(decimal128.GetScaleMultiplier(int(prec))) {
		return decimal128.Num{}, false
	}
	if neg {
		out = out.Negate()
	}
	return out, true
}
