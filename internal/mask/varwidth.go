package mask

import (
	"bytes"
	"encoding/hex"
	"math"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/apierr"
)

type offset interface{ int32 | int64 }

// binOut accumulates the offsets and data buffers of a string or binary
// array. Values are written in place through grow, so no value is built in a
// temporary first.
type binOut[O offset] struct {
	offsets *memory.Buffer
	offs    []O
	data    *memory.Buffer
	buf     []byte // the data buffer's whole capacity
	size    int
	limit   int
	scratch []byte // written to once the limit is exceeded
	over    bool
}

func newBinOut[O offset](mem memory.Allocator, n, estimate int) *binOut[O] {
	o := &binOut[O]{offsets: memory.NewResizableBuffer(mem), data: memory.NewResizableBuffer(mem)}
	var z O
	o.limit = math.MaxInt32
	if unsafe.Sizeof(z) == 8 {
		o.limit = math.MaxInt
	}
	o.offsets.Resize((n + 1) * int(unsafe.Sizeof(z)))
	o.offs = arrow.GetData[O](o.offsets.Bytes())
	o.offs[0] = 0
	if estimate > o.limit {
		estimate = o.limit
	}
	if estimate > 0 {
		o.data.Reserve(estimate)
		o.buf = o.data.Buf()
	}
	return o
}

// grow appends k bytes to the data and returns them for the caller to fill.
func (o *binOut[O]) grow(k int) []byte {
	if o.size+k > o.limit || o.over {
		o.over = true
		if cap(o.scratch) < k {
			o.scratch = make([]byte, k)
		}
		return o.scratch[:k]
	}
	if o.size+k > len(o.buf) {
		c := 2 * len(o.buf)
		if c < o.size+k {
			c = o.size + k
		}
		if c < 64 {
			c = 64
		}
		if c > o.limit {
			c = o.limit
		}
		o.data.Reserve(c)
		o.buf = o.data.Buf()
	}
	b := o.buf[o.size : o.size+k : o.size+k]
	o.size += k
	return b
}

func (o *binOut[O]) put(v []byte) { copy(o.grow(len(v)), v) }

func (o *binOut[O]) putString(v string) { copy(o.grow(len(v)), v) }

// end closes value i.
func (o *binOut[O]) end(i int) { o.offs[i+1] = O(o.size) }

// finish builds the array and releases the buffers (and valid).
func (o *binOut[O]) finish(dt arrow.DataType, n int, valid *memory.Buffer, nulls int) (arrow.Array, error) {
	defer func() {
		o.offsets.Release()
		o.data.Release()
		if valid != nil {
			valid.Release()
		}
	}()
	if o.over {
		return nil, apierr.New(apierr.FailedPrecondition, "masked %s column exceeds %d bytes in one batch; use a large type or smaller batches", TypeName(dt), o.limit)
	}
	o.data.ResizeNoShrink(o.size)
	data := array.NewData(dt, n, []*memory.Buffer{valid, o.offsets, o.data}, nil, nulls, 0)
	defer data.Release()
	return array.MakeFromData(data), nil
}

// mapBytes applies f to each valid value of a string or binary array with
// offsets of type O; f writes the masked value through o. Null slots stay
// null and empty.
func mapBytes[O offset](mem memory.Allocator, arr arrow.Array, estimate int, f func(o *binOut[O], v []byte)) (arrow.Array, error) {
	n := arr.Len()
	data := arr.Data()
	o := newBinOut[O](mem, n, estimate)
	if n > 0 {
		offs := arrow.GetOffsets[O](data, 1)
		var raw []byte
		if b := data.Buffers()[2]; b != nil {
			raw = b.Bytes()
		}
		if arr.NullN() == 0 {
			for i := 0; i < n; i++ {
				f(o, raw[offs[i]:offs[i+1]])
				o.end(i)
			}
		} else {
			for i := 0; i < n; i++ {
				if arr.IsValid(i) {
					f(o, raw[offs[i]:offs[i+1]])
				}
				o.end(i)
			}
		}
	}
	return o.finish(arr.DataType(), n, validity(mem, arr), arr.NullN())
}

// dataLen is the number of value bytes arr spans.
func dataLen[O offset](arr arrow.Array) int {
	if arr.Len() == 0 {
		return 0
	}
	offs := arrow.GetOffsets[O](arr.Data(), 1)
	return int(offs[len(offs)-1] - offs[0])
}

// redactedString is the constant every non-null string becomes under redact,
// and what email_domain makes of a value without '@'.
const redactedString = "xxxx"

// hidden is the character that replaces each hidden character of
// show_first, show_last and email_domain.
const hidden = 'x'

func fill(b []byte) {
	for i := range b {
		b[i] = hidden
	}
}

// prefixEnd returns the byte index just after the first n characters (code
// points; an invalid byte counts as one) of s, or len(s).
func prefixEnd(s []byte, n int64) int {
	i := 0
	for ; n > 0 && i < len(s); n-- {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		_, w := utf8.DecodeRune(s[i:])
		i += w
	}
	return i
}

// countChars counts the characters of s as prefixEnd does. (It is
// utf8.RuneCount without the string conversion that allocates for long
// non-ASCII values.)
func countChars(s []byte) int {
	n := 0
	for i := 0; i < len(s); n++ {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		_, w := utf8.DecodeRune(s[i:])
		i += w
	}
	return n
}

// applyBytes masks a string or binary array (all functions but round, zero
// and date_year).
func applyBytes[O offset](c *masker, mem memory.Allocator, arr arrow.Array) (arrow.Array, error) {
	n, dl := arr.Len(), dataLen[O](arr)
	str := isString(arr.DataType())
	switch c.fn {
	case FuncRedact:
		if !str {
			return mapBytes(mem, arr, 0, func(*binOut[O], []byte) {})
		}
		return mapBytes(mem, arr, n*len(redactedString), func(o *binOut[O], _ []byte) { o.putString(redactedString) })
	case FuncHash:
		mac := newMAC(c.hashKey)
		if !str {
			return mapBytes(mem, arr, n*len(mac.sum), func(o *binOut[O], v []byte) { o.put(mac.digest(v)) })
		}
		return mapBytes(mem, arr, n*hex.EncodedLen(len(mac.sum)), func(o *binOut[O], v []byte) {
			hex.Encode(o.grow(hex.EncodedLen(len(mac.sum))), mac.digest(v))
		})
	case FuncTokenize:
		mac := newMAC(c.tokKey)
		if !str {
			return mapBytes(mem, arr, n*tokenLen, func(o *binOut[O], v []byte) { o.put(mac.digest(v)[:tokenLen]) })
		}
		return mapBytes(mem, arr, n*stringTokenLen, func(o *binOut[O], v []byte) {
			b := o.grow(stringTokenLen)
			copy(b, tokenPrefix)
			tokenB32.Encode(b[len(tokenPrefix):], mac.digest(v)[:tokenLen])
		})
	case FuncShowFirst:
		keep := c.n
		return mapBytes(mem, arr, dl, func(o *binOut[O], v []byte) {
			cut := prefixEnd(v, keep)
			if cut == len(v) {
				o.put(v)
				return
			}
			rest := countChars(v[cut:])
			b := o.grow(cut + rest)
			copy(b, v[:cut])
			fill(b[cut:])
		})
	case FuncShowLast:
		keep := c.n
		return mapBytes(mem, arr, dl, func(o *binOut[O], v []byte) {
			total := int64(countChars(v))
			if total <= keep {
				o.put(v)
				return
			}
			hide := total - keep
			cut := prefixEnd(v, hide)
			b := o.grow(int(hide) + len(v) - cut)
			fill(b[:hide])
			copy(b[hide:], v[cut:])
		})
	case FuncEmailDomain:
		return mapBytes(mem, arr, dl+n*len(redactedString), func(o *binOut[O], v []byte) {
			at := bytes.LastIndexByte(v, '@')
			if at < 0 {
				o.putString(redactedString)
				return
			}
			b := o.grow(len(redactedString) + len(v) - at)
			copy(b, redactedString)
			copy(b[len(redactedString):], v[at:])
		})
	}
	return nil, c.unsupported(arr.DataType())
}
