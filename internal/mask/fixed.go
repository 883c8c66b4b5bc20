package mask

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// word is a fixed-width value the functions compute on.
type word interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 |
		~float32 | ~float64 | decimal128.Num
}

// validity returns the validity bitmap of the output of a mask over arr,
// with offset 0: arr's own buffer (retained) when arr starts at offset 0, a
// copy otherwise, nil when arr has no nulls. The caller releases it.
func validity(mem memory.Allocator, arr arrow.Array) *memory.Buffer {
	if arr.NullN() == 0 {
		return nil
	}
	data := arr.Data()
	in := data.Buffers()[0]
	if data.Offset() == 0 {
		in.Retain()
		return in
	}
	out := memory.NewResizableBuffer(mem)
	out.Resize(int(bitutil.BytesForBits(int64(arr.Len()))))
	bitutil.CopyBitmap(in.Bytes(), data.Offset(), arr.Len(), out.Bytes(), 0)
	return out
}

// nullSetter marks output slots null when a function's result does not fit
// the type. It copies the validity bitmap the first time.
type nullSetter struct {
	mem   memory.Allocator
	n     int
	buf   *memory.Buffer // output validity; nil means all valid
	owned bool
	nulls int
}

func (s *nullSetter) setNull(i int) {
	if !s.owned {
		out := memory.NewResizableBuffer(s.mem)
		out.Resize(int(bitutil.BytesForBits(int64(s.n))))
		b := out.Bytes()
		if s.buf == nil {
			for j := range b {
				b[j] = 0xff
			}
		} else {
			copy(b, s.buf.Bytes()[:len(b)])
			s.buf.Release()
		}
		s.buf, s.owned = out, true
	}
	if bitutil.BitIsSet(s.buf.Bytes(), i) {
		bitutil.ClearBit(s.buf.Bytes(), i)
		s.nulls++
	}
}

// newFixed makes an array of type dt and length n from a validity buffer and
// a values buffer, and releases both.
func newFixed(dt arrow.DataType, n int, valid, values *memory.Buffer, nulls int) arrow.Array {
	data := array.NewData(dt, n, []*memory.Buffer{valid, values}, nil, nulls, 0)
	out := array.MakeFromData(data)
	data.Release()
	if valid != nil {
		valid.Release()
	}
	values.Release()
	return out
}

// mapWords returns an array of arr's type whose value i is f(arr[i]) where
// arr[i] is valid, and null where it is null or f reports that the result
// does not fit the type. The values under null slots are zero: nothing of
// the input is left in the output buffers.
func mapWords[T word](mem memory.Allocator, arr arrow.Array, f func(T) (T, bool)) arrow.Array {
	n := arr.Len()
	data := arr.Data()
	var in []T
	if n > 0 {
		in = arrow.GetValues[T](data, 1)
	}
	values := memory.NewResizableBuffer(mem)
	var zero T
	values.Resize(n * int(unsafe.Sizeof(zero)))
	out := arrow.GetData[T](values.Bytes())
	ns := nullSetter{mem: mem, n: n, buf: validity(mem, arr)}
	ns.nulls = arr.NullN()
	if arr.NullN() == 0 {
		for i, v := range in {
			r, ok := f(v)
			if !ok {
				r = zero
				ns.setNull(i)
			}
			out[i] = r
		}
	} else {
		bm, off := data.Buffers()[0].Bytes(), data.Offset()
		for i, v := range in {
			if !bitutil.BitIsSet(bm, off+i) {
				out[i] = zero
				continue
			}
			r, ok := f(v)
			if !ok {
				r = zero
				ns.setNull(i)
			}
			out[i] = r
		}
	}
	return newFixed(arr.DataType(), n, ns.buf, values, ns.nulls)
}

// zeroValues returns an array of arr's fixed-width type with arr's nulls and
// every other value's bits zero: 0, false, 1970-01-01, the epoch, a zero
// interval, a fixed_size_binary of zero bytes.
func zeroValues(mem memory.Allocator, arr arrow.Array, bitWidth int) arrow.Array {
	n := arr.Len()
	values := memory.NewResizableBuffer(mem)
	values.Resize(int(bitutil.BytesForBits(int64(n) * int64(bitWidth))))
	clear(values.Bytes())
	return newFixed(arr.DataType(), n, validity(mem, arr), values, arr.NullN())
}

// same returns a new array sharing arr's buffers (for masks that leave a
// type's values unchanged, such as round on integers).
func same(arr arrow.Array) arrow.Array {
	return array.MakeFromData(arr.Data())
}
