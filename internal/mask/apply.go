package mask

import (
	"crypto/cipher"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// masker is a mask checked against one data type, with its keys derived and
// its time zone loaded. It holds no per-call state, so one masker may serve
// several goroutines.
type masker struct {
	fn        string
	n         int64
	dt        arrow.DataType
	hashKey   []byte
	tokKey    []byte
	intCipher cipher.Block
	loc       *time.Location // date_year on a timestamp with a zone other than UTC
}

func compile(m sqlsubset.Mask, dt arrow.DataType, key Key) (*masker, error) {
	if err := Check(m, dt); err != nil {
		return nil, err
	}
	c := &masker{fn: m.Func, dt: dt}
	if len(m.Args) == 1 {
		c.n = m.Args[0]
	}
	if functions[m.Func].keyed {
		if len(key) != KeySize {
			return nil, apierr.New(apierr.FailedPrecondition, "mask function %s needs a %d-byte masking key, got %d bytes", m.Func, KeySize, len(key))
		}
		vt := dt
		if d, ok := dt.(*arrow.DictionaryType); ok {
			vt = d.ValueType
		}
		switch {
		case m.Func == FuncHash:
			c.hashKey = subkey(key, labelHash)
		case isInteger(vt):
			b, err := newIntCipher(key)
			if err != nil {
				return nil, apierr.Wrap(apierr.Internal, err, "mask function %s: key setup", m.Func)
			}
			c.intCipher = b
		default:
			c.tokKey = subkey(key, labelTokenize)
		}
	}
	if m.Func == FuncDateYear {
		vt := dt
		if d, ok := dt.(*arrow.DictionaryType); ok {
			vt = d.ValueType
		}
		if ts, ok := vt.(*arrow.TimestampType); ok && ts.TimeZone != "" {
			loc, err := ts.GetZone()
			if err != nil {
				return nil, invalid("mask function date_year: unknown time zone %q of type %s", ts.TimeZone, TypeName(dt))
			}
			if loc != time.UTC {
				c.loc = loc
			}
		}
	}
	return c, nil
}

func (c *masker) unsupported(dt arrow.DataType) error {
	return invalid("mask function %s does not apply to type %s", c.fn, TypeName(dt))
}

func (c *masker) apply(mem memory.Allocator, arr arrow.Array) (arrow.Array, error) {
	if !arrow.TypeEqual(arr.DataType(), c.dt) {
		return nil, apierr.New(apierr.Internal, "mask %s was checked for type %s, applied to %s", c.fn, TypeName(c.dt), TypeName(arr.DataType()))
	}
	if c.fn == FuncNull {
		return array.MakeArrayOfNull(mem, arr.DataType(), arr.Len()), nil
	}
	return c.values(mem, arr)
}

// values applies c to arr, through the dictionary of a dictionary array.
func (c *masker) values(mem memory.Allocator, arr arrow.Array) (arrow.Array, error) {
	if d, ok := arr.(*array.Dictionary); ok {
		dict, err := c.values(mem, d.Dictionary())
		if err != nil {
			return nil, err
		}
		defer dict.Release()
		return array.NewDictionaryArray(arr.DataType(), d.Indices(), dict), nil
	}
	switch c.fn {
	case FuncRedact:
		return redact(mem, arr)
	case FuncHash, FuncTokenize, FuncShowFirst, FuncShowLast, FuncEmailDomain:
		switch arr.DataType().ID() {
		case arrow.STRING, arrow.BINARY:
			return applyBytes[int32](c, mem, arr)
		case arrow.LARGE_STRING, arrow.LARGE_BINARY:
			return applyBytes[int64](c, mem, arr)
		}
		if c.fn == FuncTokenize {
			return c.tokenizeInts(mem, arr)
		}
	case FuncZero:
		if fw, ok := arr.DataType().(arrow.FixedWidthDataType); ok && isNumeric(arr.DataType()) {
			return zeroValues(mem, arr, fw.BitWidth()), nil
		}
	case FuncRound:
		return c.round(mem, arr)
	case FuncDateYear:
		return c.dateYear(mem, arr)
	}
	return nil, c.unsupported(arr.DataType())
}

// redact replaces each non-null value of arr by the constant of its type.
func redact(mem memory.Allocator, arr arrow.Array) (arrow.Array, error) {
	switch dt := arr.DataType().(type) {
	case *arrow.NullType:
		return same(arr), nil
	case *arrow.StringType, *arrow.BinaryType:
		c := masker{fn: FuncRedact}
		return applyBytes[int32](&c, mem, arr)
	case *arrow.LargeStringType, *arrow.LargeBinaryType:
		c := masker{fn: FuncRedact}
		return applyBytes[int64](&c, mem, arr)
	case *arrow.ListType, *arrow.MapType:
		return emptyLists(mem, arr, 4)
	case *arrow.LargeListType:
		return emptyLists(mem, arr, 8)
	case *arrow.FixedSizeListType:
		a := arr.(*array.FixedSizeList)
		size := int64(dt.Len())
		start := int64(a.Offset()) * size
		values := array.NewSlice(a.ListValues(), start, start+int64(a.Len())*size)
		defer values.Release()
		child, err := redact(mem, values)
		if err != nil {
			return nil, err
		}
		defer child.Release()
		return nested(mem, arr, []arrow.ArrayData{child.Data()}, nil), nil
	case *arrow.StructType:
		a := arr.(*array.Struct)
		children := make([]arrow.ArrayData, a.NumField())
		for i := range children {
			f, err := redact(mem, a.Field(i))
			if err != nil {
				for _, d := range children[:i] {
					d.Release()
				}
				return nil, err
			}
			children[i] = f.Data()
			children[i].Retain()
			f.Release()
		}
		defer func() {
			for _, d := range children {
				d.Release()
			}
		}()
		return nested(mem, arr, children, nil), nil
	case *arrow.DictionaryType:
		c := masker{fn: FuncRedact, dt: dt}
		return c.values(mem, arr)
	case arrow.ExtensionType:
	case arrow.FixedWidthDataType:
		return zeroValues(mem, arr, dt.BitWidth()), nil
	}
	return nil, invalid("mask function redact does not apply to type %s", TypeName(arr.DataType()))
}

// nested builds an array of arr's nested type with arr's nulls, the given
// children and, for lists, the given offsets buffer (released here).
func nested(mem memory.Allocator, arr arrow.Array, children []arrow.ArrayData, offsets *memory.Buffer) arrow.Array {
	valid := validity(mem, arr)
	bufs := []*memory.Buffer{valid}
	if offsets != nil {
		bufs = append(bufs, offsets)
	}
	data := array.NewData(arr.DataType(), arr.Len(), bufs, children, arr.NullN(), 0)
	out := array.MakeFromData(data)
	data.Release()
	if valid != nil {
		valid.Release()
	}
	if offsets != nil {
		offsets.Release()
	}
	return out
}

// emptyLists makes every non-null list (or map) of arr empty: all offsets 0
// and an empty child of the element type.
func emptyLists(mem memory.Allocator, arr arrow.Array, offsetSize int) (arrow.Array, error) {
	offsets := memory.NewResizableBuffer(mem)
	offsets.Resize((arr.Len() + 1) * offsetSize)
	clear(offsets.Bytes())
	elem := array.MakeArrayOfNull(mem, arr.Data().Children()[0].DataType(), 0)
	defer elem.Release()
	return nested(mem, arr, []arrow.ArrayData{elem.Data()}, offsets), nil
}
