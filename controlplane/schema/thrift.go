package schema

import (
	"errors"
	"fmt"
)

// checkThriftStruct walks the FileMetaData struct at the start of buf, a
// Thrift compact-protocol struct, without decoding it, and fails if it is
// malformed: a truncated value, an unknown type, nesting deeper than
// maxThriftDepth, a container or string that claims more elements or bytes
// than remain, or a schema element claiming more children than the schema
// has elements. Only then does the real decoder see the footer: the claim
// "a list of 100 million row groups" in a 20-byte footer, or a schema node
// with two billion children, would otherwise make it allocate for them.
func checkThriftStruct(buf []byte) error {
	w := thriftWalker{buf: buf}
	if err := w.structure(1, w.fileMetaDataField); err != nil {
		return fmt.Errorf("%w at byte %d of the footer", err, w.pos)
	}
	return nil
}

// fieldHook may take over reading the value of field id (of type typ);
// it returns handled=false to let the walker skip the value.
type fieldHook func(id int64, typ byte, depth int) (handled bool, err error)

// fileMetaDataField checks FileMetaData.schema (field 2, a list of
// SchemaElement): every num_children (field 5) must be 0..len(schema)-1.
func (w *thriftWalker) fileMetaDataField(id int64, typ byte, depth int) (bool, error) {
	if id != 2 || typ != tList {
		return false, nil
	}
	n, elem, err := w.listHeader()
	if err != nil {
		return true, err
	}
	if elem != tStruct {
		return true, fmt.Errorf("the schema is not a list of structs")
	}
	for range n {
		err := w.structure(depth+1, func(id int64, typ byte, _ int) (bool, error) {
			if id != 5 || typ != tI32 {
				return false, nil
			}
			v, err := w.varint()
			if err != nil {
				return true, err
			}
			children := int64(v>>1) ^ -int64(v&1) // zigzag
			if children < 0 || children >= int64(n) {
				return true, fmt.Errorf("a schema element claims %d children in a schema of %d elements", children, n)
			}
			return true, nil
		})
		if err != nil {
			return true, err
		}
	}
	return true, nil
}

const maxThriftDepth = 64

// Compact protocol type codes.
const (
	tStop   = 0
	tTrue   = 1
	tFalse  = 2
	tByte   = 3
	tI16    = 4
	tI32    = 5
	tI64    = 6
	tDouble = 7
	tBinary = 8
	tList   = 9
	tSet    = 10
	tMap    = 11
	tStruct = 12
	tUUID   = 13
)

var (
	errTruncated = errors.New("truncated footer")
	errTooDeep   = errors.New("footer nests too deep")
)

type thriftWalker struct {
	buf []byte
	pos int
}

func (w *thriftWalker) byte() (byte, error) {
	if w.pos >= len(w.buf) {
		return 0, errTruncated
	}
	b := w.buf[w.pos]
	w.pos++
	return b, nil
}

func (w *thriftWalker) skip(n uint64) error {
	if n > uint64(len(w.buf)-w.pos) {
		return errTruncated
	}
	w.pos += int(n)
	return nil
}

func (w *thriftWalker) varint() (uint64, error) {
	var v uint64
	for shift := uint(0); shift < 70; shift += 7 {
		b, err := w.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(b&0x7f) << shift
		if b&0x80 == 0 {
			return v, nil
		}
	}
	return 0, errors.New("varint longer than 10 bytes")
}

func (w *thriftWalker) remaining() uint64 { return uint64(len(w.buf) - w.pos) }

func (w *thriftWalker) structure(depth int, hook fieldHook) error {
	if depth > maxThriftDepth {
		return errTooDeep
	}
	var id int64
	for {
		h, err := w.byte()
		if err != nil {
			return err
		}
		if h == tStop {
			return nil
		}
		if delta := int64(h >> 4); delta != 0 {
			id += delta
		} else { // long form: the field id follows as a zigzag varint
			v, err := w.varint()
			if err != nil {
				return err
			}
			id = int64(v>>1) ^ -int64(v&1)
		}
		typ := h & 0x0f
		if typ == tTrue || typ == tFalse {
			continue // the value is in the type
		}
		if hook != nil {
			handled, err := hook(id, typ, depth)
			if err != nil {
				return err
			}
			if handled {
				continue
			}
		}
		if err := w.value(typ, depth); err != nil {
			return err
		}
	}
}

// listHeader reads a list or set header: the element count and type.
func (w *thriftWalker) listHeader() (uint64, byte, error) {
	h, err := w.byte()
	if err != nil {
		return 0, 0, err
	}
	n := uint64(h >> 4)
	if n == 15 {
		if n, err = w.varint(); err != nil {
			return 0, 0, err
		}
	}
	elem := h & 0x0f
	if n > w.remaining()/minSize(elem) {
		return 0, 0, fmt.Errorf("list claims %d elements in %d bytes", n, w.remaining())
	}
	return n, elem, nil
}

// minSize is the fewest bytes one element of typ takes.
func minSize(typ byte) uint64 {
	switch typ {
	case tDouble:
		return 8
	case tUUID:
		return 16
	}
	return 1
}

func (w *thriftWalker) value(typ byte, depth int) error {
	switch typ {
	case tTrue, tFalse, tByte:
		return w.skip(1)
	case tI16, tI32, tI64:
		_, err := w.varint()
		return err
	case tDouble:
		return w.skip(8)
	case tUUID:
		return w.skip(16)
	case tBinary:
		n, err := w.varint()
		if err != nil {
			return err
		}
		return w.skip(n)
	case tStruct:
		return w.structure(depth+1, nil)
	case tList, tSet:
		n, elem, err := w.listHeader()
		if err != nil {
			return err
		}
		if depth+1 > maxThriftDepth {
			return errTooDeep
		}
		for range n {
			if err := w.value(elem, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tMap:
		n, err := w.varint()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		kv, err := w.byte()
		if err != nil {
			return err
		}
		key, val := kv>>4, kv&0x0f
		if n > w.remaining()/(minSize(key)+minSize(val)) {
			return fmt.Errorf("map claims %d entries in %d bytes", n, w.remaining())
		}
		if depth+1 > maxThriftDepth {
			return errTooDeep
		}
		for range n {
			if err := w.value(key, depth+1); err != nil {
				return err
			}
			if err := w.value(val, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown Thrift type %d", typ)
}
