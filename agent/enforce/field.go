package enforce

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// structField returns the field at path of the struct array a, NULL where a
// or any struct on the path is NULL (a child's own validity does not show
// its parent's). The caller releases the result.
func structField(mem memory.Allocator, a arrow.Array, path []string) (arrow.Array, error) {
	cur := a
	cur.Retain()
	for _, name := range path {
		st, ok := cur.(*array.Struct)
		if !ok {
			cur.Release()
			return nil, fmt.Errorf("field %q of a %s", name, cur.DataType())
		}
		idx, ok := st.DataType().(*arrow.StructType).FieldIdx(name)
		if !ok {
			cur.Release()
			return nil, fmt.Errorf("no field %q", name)
		}
		child, err := withParentNulls(mem, st, st.Field(idx))
		cur.Release()
		if err != nil {
			return nil, err
		}
		cur = child
	}
	return cur, nil
}

// withParentNulls is child with the nulls of parent added.
func withParentNulls(mem memory.Allocator, parent arrow.Array, child arrow.Array) (arrow.Array, error) {
	if parent.NullN() == 0 {
		child.Retain()
		return child, nil
	}
	d := child.Data()
	n, off := d.Len(), d.Offset()
	bits := memory.NewResizableBuffer(mem)
	bits.Resize(int(bitutil.BytesForBits(int64(off + n))))
	buf := bits.Bytes()
	for i := range buf {
		buf[i] = 0
	}
	nulls := 0
	for i := 0; i < n; i++ {
		if parent.IsValid(i) && child.IsValid(i) {
			bitutil.SetBit(buf, off+i)
		} else {
			nulls++
		}
	}
	bufs := append([]*memory.Buffer{bits}, d.Buffers()[1:]...)
	nd := array.NewData(d.DataType(), n, bufs, d.Children(), nulls, off)
	bits.Release()
	out := array.MakeFromData(nd)
	nd.Release()
	return out, nil
}
