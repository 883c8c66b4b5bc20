package schema

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pqschema "github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/nscale/nscale/internal/apierr"
)

// Footer is what a Parquet file's footer says: its schema, and for each row
// group the byte ranges and statistics a planner prunes with.
type Footer struct {
	// Schema is the Arrow schema (pqarrow.FromParquet, which honours an
	// ARROW:schema stored by Arrow writers: time zones, large types).
	Schema *arrow.Schema
	// Columns are Schema in the shared type vocabulary (FromArrow).
	Columns []Column
	NumRows int64
	// CreatedBy is the writer, e.g. "parquet-go version 18.0.0".
	CreatedBy string
	// FileSize is the size the footer was read against; FooterBytes the
	// length of the Thrift metadata.
	FileSize    int64
	FooterBytes int64
	RowGroups   []RowGroup
}

// RowGroup is one row group of a Parquet file.
type RowGroup struct {
	NumRows int64
	// Offset is where the row group's first page starts, and TotalBytes
	// how many (compressed) bytes its column chunks span from there: the
	// range [Offset, Offset+TotalBytes) holds the whole row group.
	Offset     int64
	TotalBytes int64
	// UncompressedBytes is the row group's total_byte_size.
	UncompressedBytes int64
	Columns           []ColumnStats
}

// ColumnStats describes one column chunk (one leaf column in one row group).
type ColumnStats struct {
	// Name is the leaf's dotted path in the Parquet schema: "amount",
	// "s.a", "tags.list.element".
	Name string
	// PhysicalType is the Parquet physical type: BOOLEAN, INT32, INT64,
	// INT96, FLOAT, DOUBLE, BYTE_ARRAY or FIXED_LEN_BYTE_ARRAY.
	PhysicalType string
	Compression  string
	// Offset and CompressedBytes give the chunk's byte range (dictionary
	// page included); UncompressedBytes its decoded page size.
	Offset            int64
	CompressedBytes   int64
	UncompressedBytes int64
	// NumValues counts values including NULLs (and, for repeated leaves,
	// list entries).
	NumValues int64
	// NullCount is valid when HasNullCount.
	NullCount    int64
	HasNullCount bool
	// Min and Max are nil unless the writer recorded trustworthy statistics
	// (arrow-go discards those of writers known to get them wrong). They
	// hold the physical value: bool, int32, int64, uint32 or uint64 (for
	// unsigned integer columns), float32 (FLOAT and FLOAT16), float64,
	// string (BYTE_ARRAY annotated as a string) or []byte
	// (other byte arrays, decimals in FIXED_LEN_BYTE_ARRAY as big-endian
	// two's complement). Dates are int32 days, timestamps int64 in the
	// column's unit, decimals their unscaled integer.
	Min, Max any
}

// Footer reading limits.
const (
	// DefaultPrefetch is how much of a file's tail ReadFooter reads at
	// once: most footers fit, so one ranged read is enough.
	DefaultPrefetch = 64 << 10
	// DefaultMaxFooter bounds the Thrift metadata ReadFooter accepts.
	DefaultMaxFooter = 16 << 20
)

// FooterOptions tune ReadFooter; the zero value uses the defaults.
type FooterOptions struct {
	// Prefetch is the size of the first read from the end of the file
	// (DefaultPrefetch when 0). A larger footer costs a second read.
	Prefetch int64
	// MaxFooter is the largest footer accepted (DefaultMaxFooter when 0).
	MaxFooter int64
}

var (
	magic          = []byte("PAR1")
	magicEncrypted = []byte("PARE")
)

// ReadFooter reads the footer of the Parquet file r of the given size with
// at most two ranged reads (one when the footer fits in Prefetch bytes):
// the tail of the file, then, if needed, the rest of the footer. name (a
// path or URI) is used in messages.
//
// A file that is not Parquet, truncated or corrupt gives InvalidArgument
// naming the file, never a panic; an encrypted footer or encrypted columns
// too. Errors from r are returned as they are when they carry an apierr
// code (the S3 and local adapters' do), else as Unavailable.
func ReadFooter(r io.ReaderAt, size int64, name string, opts FooterOptions) (f *Footer, err error) {
	defer func() {
		if p := recover(); p != nil {
			msg := fmt.Sprint(p)
			if len(msg) > 200 {
				msg = msg[:200] + "..."
			}
			f, err = nil, apierr.New(apierr.InvalidArgument, "%s: corrupt Parquet footer (%s)", name, msg)
		}
	}()
	invalid := func(format string, args ...any) error {
		return apierr.New(apierr.InvalidArgument, "%s: %s", name, fmt.Sprintf(format, args...))
	}
	prefetch, maxFooter := opts.Prefetch, opts.MaxFooter
	if prefetch <= 0 {
		prefetch = DefaultPrefetch
	}
	if prefetch < 8 {
		prefetch = 8
	}
	if maxFooter <= 0 {
		maxFooter = DefaultMaxFooter
	}
	if size < int64(2*len(magic)+4) {
		return nil, invalid("not a Parquet file: %d bytes is too small", size)
	}
	tail := make([]byte, min(size, prefetch))
	if err := readFull(r, tail, size-int64(len(tail)), name); err != nil {
		return nil, err
	}
	end := tail[len(tail)-4:]
	switch {
	case bytes.Equal(end, magicEncrypted):
		return nil, invalid("the Parquet footer is encrypted, which nscale does not read")
	case !bytes.Equal(end, magic):
		return nil, invalid("not a Parquet file: no PAR1 magic at the end (truncated, or another format)")
	}
	if int64(len(tail)) == size && !bytes.Equal(tail[:4], magic) {
		return nil, invalid("not a Parquet file: no PAR1 magic at the start")
	}
	flen := int64(binary.LittleEndian.Uint32(tail[len(tail)-8:]))
	if flen == 0 || flen+int64(2*len(magic)+4) > size {
		return nil, invalid("corrupt Parquet file: footer length %d is impossible in a file of %d bytes", flen, size)
	}
	if flen > maxFooter {
		return nil, invalid("the Parquet footer is %d bytes, more than the limit of %d", flen, maxFooter)
	}
	var footer []byte
	if have := int64(len(tail)) - 8; flen <= have {
		footer = tail[have-flen : have]
	} else {
		footer = make([]byte, flen)
		copy(footer[flen-have:], tail[:have])
		if err := readFull(r, footer[:flen-have], size-8-flen, name); err != nil {
			return nil, err
		}
	}
	if err := checkThriftStruct(footer); err != nil {
		return nil, invalid("corrupt Parquet footer: %v", err)
	}
	md, err := metadata.NewFileMetaData(footer, nil)
	if err != nil {
		return nil, invalid("corrupt Parquet footer: %v", err)
	}
	if md.IsSetEncryptionAlgorithm() {
		return nil, invalid("the Parquet file has encrypted columns, which nscale does not read")
	}
	md.SetSourceFileSize(size)
	if stored := md.KeyValueMetadata().FindValue(arrowSchemaKey); stored != nil {
		if err := checkArrowSchema(*stored); err != nil {
			return nil, invalid("corrupt %s metadata in the Parquet footer: %v", arrowSchemaKey, err)
		}
	}
	as, err := pqarrow.FromParquet(md.Schema, &pqarrow.ArrowReadProperties{}, md.KeyValueMetadata())
	if err != nil {
		return nil, invalid("unsupported Parquet schema: %v", err)
	}
	cols, err := FromArrow(as)
	if err != nil {
		return nil, apierr.New(apierr.InvalidArgument, "%s: %s", name, apierr.PublicMessage(err))
	}
	f = &Footer{
		Schema: as, Columns: cols, NumRows: md.GetNumRows(), CreatedBy: md.GetCreatedBy(),
		FileSize: size, FooterBytes: flen,
	}
	if f.NumRows < 0 {
		return nil, invalid("corrupt Parquet footer: negative row count")
	}
	dataEnd := size - 8 - flen
	nleaves := md.Schema.NumColumns()
	for i := range md.NumRowGroups() {
		rg := md.RowGroup(i)
		if rg.NumColumns() != nleaves {
			return nil, invalid("corrupt Parquet footer: row group %d has %d columns, the schema %d", i, rg.NumColumns(), nleaves)
		}
		g := RowGroup{NumRows: rg.NumRows(), UncompressedBytes: rg.TotalByteSize(), Offset: -1}
		if g.NumRows < 0 {
			return nil, invalid("corrupt Parquet footer: row group %d has a negative row count", i)
		}
		var last int64
		for j := range nleaves {
			cc, err := rg.ColumnChunk(j)
			if err != nil {
				return nil, invalid("corrupt Parquet footer: row group %d column %d: %v", i, j, err)
			}
			cs, err := columnStats(cc, md.Schema.Column(j))
			if err != nil {
				return nil, invalid("corrupt Parquet footer: row group %d column %d: %v", i, j, err)
			}
			if cs.Offset < 0 || cs.CompressedBytes < 0 || cs.Offset > dataEnd || cs.CompressedBytes > dataEnd-cs.Offset {
				return nil, invalid("corrupt Parquet footer: row group %d column %s spans bytes %d+%d, outside the data of a %d-byte file",
					i, cs.Name, cs.Offset, cs.CompressedBytes, size)
			}
			if g.Offset < 0 || cs.Offset < g.Offset {
				g.Offset = cs.Offset
			}
			last = max(last, cs.Offset+cs.CompressedBytes)
			g.Columns = append(g.Columns, cs)
		}
		if g.Offset < 0 {
			g.Offset = 0
		}
		g.TotalBytes = last - g.Offset
		f.RowGroups = append(f.RowGroups, g)
	}
	return f, nil
}

func columnStats(cc *metadata.ColumnChunkMetaData, descr *pqschema.Column) (ColumnStats, error) {
	cs := ColumnStats{
		Name:              cc.PathInSchema().String(),
		PhysicalType:      cc.Type().String(),
		Compression:       strings.ToUpper(cc.Compression().String()),
		Offset:            cc.DataPageOffset(),
		CompressedBytes:   cc.TotalCompressedSize(),
		UncompressedBytes: cc.TotalUncompressedSize(),
		NumValues:         cc.NumValues(),
	}
	// Some writers set dictionary_page_offset to 0 for "none".
	if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && cc.DictionaryPageOffset() < cs.Offset {
		cs.Offset = cc.DictionaryPageOffset()
	}
	stats, err := cc.Statistics()
	if err != nil {
		return cs, err
	}
	if stats == nil {
		return cs, nil
	}
	if stats.HasNullCount() {
		cs.NullCount, cs.HasNullCount = stats.NullCount(), true
	}
	if !stats.HasMinMax() {
		return cs, nil
	}
	unsigned := descr.SortOrder() == pqschema.SortUNSIGNED
	_, text := descr.LogicalType().(pqschema.StringLogicalType)
	switch s := stats.(type) {
	case *metadata.BooleanStatistics:
		cs.Min, cs.Max = s.Min(), s.Max()
	case *metadata.Int32Statistics:
		if unsigned {
			cs.Min, cs.Max = uint32(s.Min()), uint32(s.Max())
		} else {
			cs.Min, cs.Max = s.Min(), s.Max()
		}
	case *metadata.Int64Statistics:
		if unsigned {
			cs.Min, cs.Max = uint64(s.Min()), uint64(s.Max())
		} else {
			cs.Min, cs.Max = s.Min(), s.Max()
		}
	case *metadata.Float32Statistics:
		cs.Min, cs.Max = s.Min(), s.Max()
	case *metadata.Float64Statistics:
		cs.Min, cs.Max = s.Min(), s.Max()
	case *metadata.Float16Statistics:
		if len(s.Min()) != 2 || len(s.Max()) != 2 {
			return cs, errors.New("float16 statistics are not 2 bytes")
		}
		cs.Min, cs.Max = float16.FromLEBytes(s.Min()).Float32(), float16.FromLEBytes(s.Max()).Float32()
	case *metadata.ByteArrayStatistics:
		if text {
			cs.Min, cs.Max = string(s.Min()), string(s.Max())
		} else {
			cs.Min, cs.Max = bytes.Clone(s.Min()), bytes.Clone(s.Max())
		}
	case *metadata.FixedLenByteArrayStatistics:
		cs.Min, cs.Max = bytes.Clone(s.Min()), bytes.Clone(s.Max())
	}
	return cs, nil
}

// readFull reads exactly len(p) bytes at off.
func readFull(r io.ReaderAt, p []byte, off int64, name string) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return apierr.New(apierr.FailedPrecondition, "%s is shorter than its listed size (changed since it was listed?)", name)
	}
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return err
	}
	return apierr.Wrap(apierr.Unavailable, err, "reading %s", name)
}
