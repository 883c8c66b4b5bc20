package mask

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/sqlsubset"
)

const benchRows = 1_000_000

// benchArray builds 1M rows of dt, one in 16 null: strings are e-mail
// addresses of 20 to 30 bytes, one in 8 with non-ASCII characters.
func benchArray(mem memory.Allocator, dt arrow.DataType) arrow.Array {
	rng := rand.New(rand.NewPCG(1, 1))
	b := array.NewBuilder(mem, dt)
	defer b.Release()
	b.Reserve(benchRows)
	for i := 0; i < benchRows; i++ {
		if rng.IntN(16) == 0 {
			b.AppendNull()
			continue
		}
		switch b := b.(type) {
		case *array.StringBuilder:
			if rng.IntN(8) == 0 {
				b.Append(fmt.Sprintf("jürgen.müller%d@bücher.example", rng.IntN(1e6)))
			} else {
				b.Append(fmt.Sprintf("user%07d@example%02d.com", rng.IntN(1e7), rng.IntN(100)))
			}
		case *array.Int64Builder:
			b.Append(int64(rng.Uint64()))
		case *array.Float64Builder:
			b.Append((rng.Float64() - 0.5) * 1e6)
		case *array.Decimal128Builder:
			b.Append(decimal128.FromI64(rng.Int64N(1e12) - 5e11))
		case *array.TimestampBuilder:
			b.Append(arrow.Timestamp(rng.Int64N(1e15) + 1e15)) // 2001..2033, microseconds
		}
	}
	return b.NewArray()
}

// plainCopy copies arr's buffers into new ones: the baseline a mask is
// measured against.
func plainCopy(mem memory.Allocator, arr arrow.Array) arrow.Array {
	in := arr.Data()
	bufs := make([]*memory.Buffer, len(in.Buffers()))
	for i, b := range in.Buffers() {
		if b == nil {
			continue
		}
		nb := memory.NewResizableBuffer(mem)
		nb.Resize(b.Len())
		copy(nb.Bytes(), b.Bytes())
		bufs[i] = nb
	}
	data := array.NewData(in.DataType(), in.Len(), bufs, nil, in.NullN(), in.Offset())
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
	out := array.MakeFromData(data)
	data.Release()
	return out
}

// benchMask masks arr with m b.N times, copying it (untimed) before each
// mask, and reports rows/s and x_copy, the time of a mask over the time of
// a plain copy of the same array in the same run.
func benchMask(b *testing.B, arr arrow.Array, m sqlsubset.Mask) {
	mem := memory.NewGoAllocator()
	var copying time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		start := time.Now()
		c := plainCopy(mem, arr)
		copying += time.Since(start)
		c.Release()
		b.StartTimer()
		out, err := Apply(mem, arr, m, testKey)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	b.ReportMetric(float64(b.N)*float64(arr.Len())/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(b.Elapsed().Seconds()/copying.Seconds(), "x_copy")
}

func benchFuncs(b *testing.B, dt arrow.DataType, masks []sqlsubset.Mask) {
	arr := benchArray(memory.NewGoAllocator(), dt)
	defer arr.Release()
	for _, m := range masks {
		b.Run(m.String(), func(b *testing.B) { benchMask(b, arr, m) })
	}
}

func BenchmarkMaskString(b *testing.B) {
	benchFuncs(b, arrow.BinaryTypes.String, []sqlsubset.Mask{
		mk("null"), mk("redact"), mk("hash"), mk("tokenize"),
		mk("show_first", 2), mk("show_last", 4), mk("email_domain"),
	})
}

func BenchmarkMaskInt64(b *testing.B) {
	benchFuncs(b, arrow.PrimitiveTypes.Int64, []sqlsubset.Mask{
		mk("null"), mk("redact"), mk("tokenize"), mk("round", 0), mk("zero"),
	})
}

func BenchmarkMaskFloat64(b *testing.B) {
	benchFuncs(b, arrow.PrimitiveTypes.Float64, []sqlsubset.Mask{mk("round", 2)})
}

func BenchmarkMaskDecimal(b *testing.B) {
	benchFuncs(b, d(18, 4), []sqlsubset.Mask{mk("round", 2)})
}

func BenchmarkMaskTimestamp(b *testing.B) {
	benchFuncs(b, ts(arrow.Microsecond, "UTC"), []sqlsubset.Mask{mk("date_year")})
	b.Run("zoned", func(b *testing.B) {
		benchFuncs(b, ts(arrow.Microsecond, "Europe/Paris"), []sqlsubset.Mask{mk("date_year")})
	})
}
