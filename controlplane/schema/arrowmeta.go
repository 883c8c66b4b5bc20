package schema

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
)

// arrowSchemaKey is the Parquet key-value entry where Arrow writers store
// the Arrow schema (a base64 IPC Schema message).
const arrowSchemaKey = "ARROW:schema"

// Limits on what a stored Arrow schema may make the decoder do.
const (
	maxArrowNodes       = 100_000  // fields, types and key-value pairs visited
	maxArrowStringBytes = 16 << 20 // string bytes visited (strings may be shared)
	maxArrowDepth       = 64
)

// checkArrowSchema verifies the ARROW:schema value before pqarrow hands it
// to Arrow's IPC reader, which trusts it: the message length and body
// length are allocated before they are read, and every flatbuffer offset,
// vector length and nesting level is followed as it is. The check decodes
// the value as pqarrow does, then walks the flatbuffer like the decoder
// would, with bounds on every offset, vector and string, on the depth and on
// the total work (offsets may share subtrees, so a small buffer can
// describe a huge tree).
func checkArrowSchema(serialized string) error {
	var decoded []byte
	var err error
	if len(serialized)%4 == 0 {
		decoded, err = base64.StdEncoding.DecodeString(serialized)
	}
	if len(decoded) == 0 || err != nil {
		decoded, err = base64.RawStdEncoding.DecodeString(serialized)
	}
	if err != nil {
		return errors.New("not base64")
	}
	data := decoded
	if len(data) < 8 {
		return errors.New("too short")
	}
	p := 4
	msgLen := int64(int32(binary.LittleEndian.Uint32(data)))
	if uint32(msgLen) == 0xFFFFFFFF {
		msgLen = int64(int32(binary.LittleEndian.Uint32(data[4:])))
		p = 8
	}
	if msgLen < 4 || msgLen > int64(len(data)-p) {
		return fmt.Errorf("message length %d does not fit in %d bytes", msgLen, len(data)-p)
	}
	v := fbVerifier{buf: data[p : int64(p)+msgLen]}
	if len(v.buf) < 4 {
		return errors.New("too short")
	}
	msg, err := v.indirectTable(0)
	if err != nil {
		return err
	}
	if ht, err := v.scalar(msg, 1, 1); err != nil || ht != 1 {
		return errors.New("not a Schema message")
	}
	body, err := v.scalar(msg, 3, 8)
	if err != nil {
		return err
	}
	if int64(body) < 0 || int64(body) > int64(len(data)-p)-msgLen {
		return fmt.Errorf("message body length %d does not fit", int64(body))
	}
	if err := v.keyValues(msg, 4); err != nil {
		return err
	}
	sc, ok, err := v.tableField(msg, 2)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("the message holds no schema")
	}
	if err := v.tables(sc, 1, func(f uint64) error { return v.field(f, 1) }); err != nil {
		return err
	}
	if err := v.keyValues(sc, 2); err != nil {
		return err
	}
	_, err = v.vector(sc, 3, 8)
	return err
}

// fbVerifier checks flatbuffer tables the way the Go flatbuffers runtime
// reads them, but with every position checked against the buffer.
type fbVerifier struct {
	buf         []byte
	nodes       int
	stringBytes int
}

func (v *fbVerifier) u32(pos uint64) (uint64, error) {
	if pos+4 > uint64(len(v.buf)) {
		return 0, errors.New("offset out of bounds")
	}
	return uint64(binary.LittleEndian.Uint32(v.buf[pos:])), nil
}

func (v *fbVerifier) u16(pos uint64) (uint64, error) {
	if pos+2 > uint64(len(v.buf)) {
		return 0, errors.New("offset out of bounds")
	}
	return uint64(binary.LittleEndian.Uint16(v.buf[pos:])), nil
}

// fbTable is a verified table: its position, vtable and inline size.
type fbTable struct {
	pos, vtable, vtSize, inline uint64
}

// table verifies the table at pos.
func (v *fbVerifier) table(pos uint64) (fbTable, error) {
	if v.nodes++; v.nodes > maxArrowNodes {
		return fbTable{}, fmt.Errorf("more than %d schema nodes", maxArrowNodes)
	}
	soff, err := v.u32(pos)
	if err != nil {
		return fbTable{}, err
	}
	vt := int64(pos) - int64(int32(uint32(soff)))
	if vt < 0 {
		return fbTable{}, errors.New("vtable out of bounds")
	}
	t := fbTable{pos: pos, vtable: uint64(vt)}
	if t.vtSize, err = v.u16(t.vtable); err != nil {
		return fbTable{}, err
	}
	if t.inline, err = v.u16(t.vtable + 2); err != nil {
		return fbTable{}, err
	}
	if t.vtSize < 4 || t.vtSize%2 != 0 || t.vtable+t.vtSize > uint64(len(v.buf)) || t.inline < 4 || pos+t.inline > uint64(len(v.buf)) {
		return fbTable{}, errors.New("malformed table")
	}
	for e := uint64(4); e < t.vtSize; e += 2 {
		off, _ := v.u16(t.vtable + e)
		if off != 0 && off >= t.inline {
			return fbTable{}, errors.New("table field out of bounds")
		}
	}
	return t, nil
}

// fieldPos returns where field i of t is, if present.
func (v *fbVerifier) fieldPos(t fbTable, i int) (uint64, bool) {
	e := uint64(4 + 2*i)
	if e >= t.vtSize {
		return 0, false
	}
	off, _ := v.u16(t.vtable + e)
	if off == 0 {
		return 0, false
	}
	return t.pos + off, true
}

// scalar reads an unsigned little-endian scalar field of size bytes (0 when
// absent).
func (v *fbVerifier) scalar(t fbTable, i int, size uint64) (uint64, error) {
	p, ok := v.fieldPos(t, i)
	if !ok {
		return 0, nil
	}
	if p+size > t.pos+t.inline {
		return 0, errors.New("scalar out of bounds")
	}
	switch size {
	case 1:
		return uint64(v.buf[p]), nil
	case 2:
		return v.u16(p)
	case 4:
		return v.u32(p)
	}
	return binary.LittleEndian.Uint64(v.buf[p:]), nil
}

// indirect follows the uoffset at p.
func (v *fbVerifier) indirect(p uint64) (uint64, error) {
	off, err := v.u32(p)
	if err != nil {
		return 0, err
	}
	if p+off >= uint64(len(v.buf)) {
		return 0, errors.New("offset out of bounds")
	}
	return p + off, nil
}

func (v *fbVerifier) indirectTable(p uint64) (fbTable, error) {
	tp, err := v.indirect(p)
	if err != nil {
		return fbTable{}, err
	}
	return v.table(tp)
}

func (v *fbVerifier) tableField(t fbTable, i int) (fbTable, bool, error) {
	p, ok := v.fieldPos(t, i)
	if !ok {
		return fbTable{}, false, nil
	}
	sub, err := v.indirectTable(p)
	return sub, err == nil, err
}

// vector verifies the vector in field i (elements of elemSize bytes) and
// returns its length.
func (v *fbVerifier) vector(t fbTable, i int, elemSize uint64) (uint64, error) {
	p, ok := v.fieldPos(t, i)
	if !ok {
		return 0, nil
	}
	vp, err := v.indirect(p)
	if err != nil {
		return 0, err
	}
	n, err := v.u32(vp)
	if err != nil {
		return 0, err
	}
	if vp+4+n*elemSize > uint64(len(v.buf)) {
		return 0, errors.New("vector out of bounds")
	}
	return n, nil
}

func (v *fbVerifier) str(t fbTable, i int) error {
	n, err := v.vector(t, i, 1)
	if v.stringBytes += int(n); v.stringBytes > maxArrowStringBytes {
		return errors.New("too many string bytes")
	}
	return err
}

// tables verifies the vector of tables in field i, calling fn for each.
func (v *fbVerifier) tables(t fbTable, i int, fn func(uint64) error) error {
	n, err := v.vector(t, i, 4)
	if err != nil || n == 0 {
		return err
	}
	p, _ := v.fieldPos(t, i)
	vp, _ := v.indirect(p)
	for k := range n {
		tp, err := v.indirect(vp + 4 + 4*k)
		if err != nil {
			return err
		}
		if err := fn(tp); err != nil {
			return err
		}
	}
	return nil
}

func (v *fbVerifier) keyValues(t fbTable, i int) error {
	return v.tables(t, i, func(pos uint64) error {
		kv, err := v.table(pos)
		if err != nil {
			return err
		}
		if err := v.str(kv, 0); err != nil {
			return err
		}
		return v.str(kv, 1)
	})
}

// field verifies an Arrow Field table and its children.
func (v *fbVerifier) field(pos uint64, depth int) error {
	if depth > maxArrowDepth {
		return fmt.Errorf("fields nest deeper than %d levels", maxArrowDepth)
	}
	f, err := v.table(pos)
	if err != nil {
		return err
	}
	if err := v.str(f, 0); err != nil { // name
		return err
	}
	typeType, err := v.scalar(f, 2, 1)
	if err != nil {
		return err
	}
	if typ, ok, err := v.tableField(f, 3); err != nil {
		return err
	} else if ok {
		switch typeType {
		case 10: // Timestamp: timezone
			if err := v.str(typ, 1); err != nil {
				return err
			}
		case 14: // Union: typeIds
			if _, err := v.vector(typ, 1, 4); err != nil {
				return err
			}
		}
	}
	if dict, ok, err := v.tableField(f, 4); err != nil {
		return err
	} else if ok {
		if _, _, err := v.tableField(dict, 1); err != nil { // indexType
			return err
		}
	}
	if err := v.tables(f, 5, func(c uint64) error { return v.field(c, depth+1) }); err != nil {
		return err
	}
	return v.keyValues(f, 6)
}
