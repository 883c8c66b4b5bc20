package mask

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/sqlsubset"
)

var fuzzStringFuncs = []string{"null", "redact", "hash", "tokenize", "show_first", "show_last", "email_domain"}

// FuzzMaskString masks a string (in a batch of [s, null, s, first half of
// s, ""], as string and large_string, whole and sliced) with every string
// function and checks each output value against an independent statement
// of the function: show_first and show_last keep exactly the expected
// characters, every hidden one becomes one 'x'.
func FuzzMaskString(f *testing.F) {
	f.Add("alice@example.com", uint8(6), uint16(0))
	f.Add("4111-1111-1111-1234", uint8(5), uint16(4))
	f.Add("😀ünïcödé", uint8(4), uint16(3))
	f.Add("", uint8(4), uint16(0))
	f.Add("\xff\xfe@\xc3", uint8(6), uint16(1))
	f.Add("a@b@c", uint8(2), uint16(9))
	f.Fuzz(func(t *testing.T, s string, fn uint8, n uint16) {
		m := sqlsubset.Mask{Func: fuzzStringFuncs[int(fn)%len(fuzzStringFuncs)]}
		if m.Func == FuncShowFirst || m.Func == FuncShowLast {
			m.Args = []int64{int64(n)}
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		vals := []string{s, "", s, s[:len(s)/2], ""}
		valid := []bool{true, false, true, true, true}
		for _, dt := range []arrow.DataType{arrow.BinaryTypes.String, arrow.BinaryTypes.LargeString} {
			b := array.NewBuilder(mem, dt)
			switch b := b.(type) {
			case *array.StringBuilder:
				b.AppendValues(vals, valid)
			case *array.LargeStringBuilder:
				b.AppendValues(vals, valid)
			}
			in := b.NewArray()
			b.Release()
			sliced := array.NewSlice(in, 1, int64(in.Len()))
			for _, arr := range []arrow.Array{in, sliced} {
				out, err := Apply(mem, arr, m, testKey)
				if err != nil {
					t.Fatalf("Apply(%s, %s): %v", m, dt, err)
				}
				if !arrow.TypeEqual(out.DataType(), dt) || out.Len() != arr.Len() {
					t.Fatalf("%s: type %s length %d, want %s %d", m, out.DataType(), out.Len(), dt, arr.Len())
				}
				for i := 0; i < arr.Len(); i++ {
					if out.IsNull(i) != (arr.IsNull(i) || m.Func == FuncNull) {
						t.Fatalf("%s row %d: null %v", m, i, out.IsNull(i))
					}
					if out.IsValid(i) {
						checkStringMask(t, m, arr.ValueStr(i), out.ValueStr(i))
					}
				}
				out.Release()
			}
			sliced.Release()
			in.Release()
		}
	})
}

func checkStringMask(t *testing.T, m sqlsubset.Mask, in, out string) {
	t.Helper()
	switch m.Func {
	case FuncRedact:
		if out != "xxxx" {
			t.Fatalf("redact(%q) = %q", in, out)
		}
	case FuncHash:
		h := hmac.New(sha256.New, subkey(testKey, labelHash))
		h.Write([]byte(in))
		if want := hex.EncodeToString(h.Sum(nil)); out != want {
			t.Fatalf("hash(%q) = %q, want %q", in, out, want)
		}
	case FuncTokenize:
		h := hmac.New(sha256.New, subkey(testKey, labelTokenize))
		h.Write([]byte(in))
		want := "tok_" + strings.ToLower(strings.TrimRight(b32(h.Sum(nil)[:16]), "="))
		if out != want || len(out) != 30 {
			t.Fatalf("tokenize(%q) = %q, want %q", in, out, want)
		}
	case FuncEmailDomain:
		want := "xxxx"
		if at := strings.LastIndex(in, "@"); at >= 0 {
			want += in[at:]
		}
		if out != want {
			t.Fatalf("email_domain(%q) = %q, want %q", in, out, want)
		}
	case FuncShowFirst, FuncShowLast:
		n := int(m.Args[0])
		ir, or := []rune(in), []rune(out) // an invalid byte is one U+FFFD in both
		if len(or) != len(ir) {
			t.Fatalf("%s(%q) = %q: %d characters, want %d", m, in, out, len(or), len(ir))
		}
		if len(ir) <= n {
			if out != in {
				t.Fatalf("%s(%q) = %q, want it unchanged", m, in, out)
			}
			return
		}
		hidden := strings.Repeat("x", len(ir)-n)
		var want []rune
		if m.Func == FuncShowFirst {
			want = append(slices.Clone(ir[:n]), []rune(hidden)...)
		} else {
			want = append([]rune(hidden), ir[len(ir)-n:]...)
		}
		if !slices.Equal(or, want) {
			t.Fatalf("%s(%q) = %q, want %q", m, in, out, string(want))
		}
		if utf8.ValidString(in) && !utf8.ValidString(out) {
			t.Fatalf("%s(%q) = %q is not UTF-8", m, in, out)
		}
	}
}

func b32(b []byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var sb strings.Builder
	var acc uint64
	bits := 0
	for _, c := range b {
		acc = acc<<8 | uint64(c)
		bits += 8
		for bits >= 5 {
			sb.WriteByte(alphabet[(acc>>(bits-5))&31])
			bits -= 5
		}
	}
	if bits > 0 {
		sb.WriteByte(alphabet[(acc<<(5-bits))&31])
	}
	return sb.String()
}

var fuzzIntFuncs = []string{"null", "redact", "tokenize", "round", "zero"}

var intTypes = []arrow.DataType{
	arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64,
	arrow.PrimitiveTypes.Uint8, arrow.PrimitiveTypes.Uint16, arrow.PrimitiveTypes.Uint32, arrow.PrimitiveTypes.Uint64,
}

// FuzzMaskInt masks [v, null, v, w] of every integer type with every
// integer function: tokenize is the same for equal values, differs for
// different ones and inverts back to the input; round leaves integers as
// they are; zero and redact give 0.
func FuzzMaskInt(f *testing.F) {
	f.Add(int64(0), int64(1), uint8(2), uint8(0))
	f.Add(int64(-1), int64(math.MaxInt64), uint8(2), uint8(0))
	f.Add(int64(math.MinInt64), int64(255), uint8(3), uint8(7))
	f.Add(int64(42), int64(43), uint8(4), uint8(0))
	f.Fuzz(func(t *testing.T, v, w int64, fn, n uint8) {
		m := sqlsubset.Mask{Func: fuzzIntFuncs[int(fn)%len(fuzzIntFuncs)]}
		if m.Func == FuncRound {
			m.Args = []int64{int64(n)}
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		c, err := compile(mk("tokenize"), arrow.PrimitiveTypes.Int64, testKey)
		if err != nil {
			t.Fatal(err)
		}
		feist := newFeistel(c.intCipher)
		for _, dt := range intTypes {
			width := uint(dt.(arrow.FixedWidthDataType).BitWidth())
			mask := uint64(math.MaxUint64) >> (64 - width)
			in := fromJSON(t, mem, dt, "["+intJSON(dt, v)+", null, "+intJSON(dt, v)+", "+intJSON(dt, w)+"]")
			out, err := Apply(mem, in, m, testKey)
			if err != nil {
				t.Fatalf("Apply(%s, %s): %v", m, dt, err)
			}
			if !arrow.TypeEqual(out.DataType(), dt) || out.Len() != 4 || out.IsValid(1) {
				t.Fatalf("%s on %s: %v", m, dt, out)
			}
			if m.Func == FuncNull {
				if out.NullN() != 4 {
					t.Fatalf("null: %v", out)
				}
				out.Release()
				in.Release()
				continue
			}
			vin, win := bitsAt(in, 0), bitsAt(in, 3)
			vout, vout2, wout := bitsAt(out, 0), bitsAt(out, 2), bitsAt(out, 3)
			switch m.Func {
			case FuncTokenize:
				if vout != vout2 || (vin == win) != (vout == wout) {
					t.Fatalf("tokenize %s: %d->%d, %d->%d, %d->%d", dt, vin, vout, vin, vout2, win, wout)
				}
				if vout != feist.permute(vin, width) || feist.invert(vout, width) != vin || vout&^mask != 0 {
					t.Fatalf("tokenize %s(%d) = %d is not the permutation", dt, vin, vout)
				}
			case FuncRound:
				if vout != vin || wout != win {
					t.Fatalf("round %s changed %d to %d", dt, vin, vout)
				}
			case FuncZero, FuncRedact:
				if vout != 0 || wout != 0 {
					t.Fatalf("%s %s: %d", m, dt, vout)
				}
			}
			out.Release()
			in.Release()
		}
	})
}

func intJSON(dt arrow.DataType, v int64) string {
	width := dt.(arrow.FixedWidthDataType).BitWidth()
	u := uint64(v) & (math.MaxUint64 >> (64 - width))
	switch dt.ID() {
	case arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return strconv.FormatUint(u, 10)
	}
	return strconv.FormatInt(int64(u<<(64-width))>>(64-width), 10) // sign-extended
}

// bitsAt returns value i of an integer array as its unsigned bits.
func bitsAt(arr arrow.Array, i int) uint64 {
	switch a := arr.(type) {
	case *array.Int8:
		return uint64(uint8(a.Value(i)))
	case *array.Int16:
		return uint64(uint16(a.Value(i)))
	case *array.Int32:
		return uint64(uint32(a.Value(i)))
	case *array.Int64:
		return uint64(a.Value(i))
	case *array.Uint8:
		return uint64(a.Value(i))
	case *array.Uint16:
		return uint64(a.Value(i))
	case *array.Uint32:
		return uint64(a.Value(i))
	case *array.Uint64:
		return a.Value(i)
	}
	panic("not an integer array")
}

// FuzzRoundFloat checks the fast float rounding against exact rational
// arithmetic, for float64 and float32, and that rounding twice changes
// nothing.
func FuzzRoundFloat(f *testing.F) {
	f.Add(2.675, uint16(2))
	f.Add(0.125, uint16(2))
	f.Add(-2.5, uint16(0))
	f.Add(1e-320, uint16(320))
	f.Add(16777.216, uint16(2))
	f.Add(4503599627370497.5, uint16(0))
	f.Fuzz(func(t *testing.T, x float64, n uint16) {
		if math.IsNaN(x) || math.IsInf(x, 0) || x == 0 {
			return
		}
		k := int64(n % 400)
		got, want := roundFloat(x, k, false), roundFloatExact(x, k, false)
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("round(%v, %d) = %v, exact %v", x, k, got, want)
		}
		if again := roundFloat(got, k, false); math.Float64bits(again) != math.Float64bits(got) {
			t.Fatalf("round(round(%v, %d)) = %v, not %v", x, k, again, got)
		}
		x32 := float64(float32(x))
		if math.IsInf(x32, 0) || x32 == 0 {
			return
		}
		got, want = roundFloat(x32, k, true), roundFloatExact(x32, k, true)
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("round(float32 %v, %d) = %v, exact %v", float32(x), k, got, want)
		}
	})
}
