package scan

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/mask"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

// Limits of the CSV and JSON scans.
const (
	// ReadAhead is the size of each ranged read of a CSV or JSON object:
	// the ReaderAt issues one HTTP range request per read, so reads are
	// large and strictly sequential.
	ReadAhead = 4 << 20
	// DefaultMaxRecordBytes bounds one CSV record or JSON line; a longer
	// one (an unterminated quote, a file that is not text) is an error
	// instead of a buffer that grows with the object.
	DefaultMaxRecordBytes = 64 << 20
	// maxBatchBytes ends a batch early when its records hold this much
	// text, so a batch of long strings stays bounded (and within Arrow's
	// 32-bit string offsets).
	maxBatchBytes = 64 << 20
)

// Column is a column that a CSV or JSON scan reads: the batches hold it
// under Name with exactly Type, the Arrow type of its catalog type
// (mask.ArrowType), which the enforcer checks.
type Column struct {
	Name string
	Type arrow.DataType
}

// FormatOptionColumns is the task format option that carries the table's
// file columns (partition columns excluded) in file order, as a JSON array
// of {"name": ..., "type": <sqlsubset type string>} objects. CSV and JSON
// files carry no types, so a column that the row filter or a cell filter
// reads, and that is not among the task's columns, takes its type from
// here; a CSV file without a header locates columns by their position
// here.
const FormatOptionColumns = "columns"

// TextOptions are the options common to the CSV and JSON scans.
type TextOptions struct {
	// FileColumns are the table's columns in file order (format option
	// "columns"); nil when the task does not carry them.
	FileColumns []Column
	// BatchSize is the most rows per batch (DefaultBatchSize when <= 0).
	BatchSize int
	// MaxRecordBytes bounds one record or line (DefaultMaxRecordBytes
	// when <= 0).
	MaxRecordBytes int
}

func (o *TextOptions) defaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.MaxRecordBytes <= 0 {
		o.MaxRecordBytes = DefaultMaxRecordBytes
	}
}

// parseFileColumns decodes the "columns" format option.
func parseFileColumns(v string) ([]Column, error) {
	bad := func(format string, args ...any) error {
		return apierr.New(apierr.InvalidArgument, "format option %q: "+format, append([]any{FormatOptionColumns}, args...)...)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(v)))
	dec.DisallowUnknownFields()
	var raw []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := dec.Decode(&raw); err != nil || dec.More() {
		return nil, bad("want a JSON array of {\"name\", \"type\"} objects")
	}
	cols := make([]Column, len(raw))
	seen := make(map[string]bool, len(raw))
	for i, c := range raw {
		if c.Name == "" || seen[c.Name] {
			return nil, bad("column %d: names must be non-empty and distinct", i)
		}
		seen[c.Name] = true
		dt, err := arrowType(c.Type)
		if err != nil {
			return nil, bad("column %q: %s", c.Name, apierr.PublicMessage(err))
		}
		cols[i] = Column{Name: c.Name, Type: dt}
	}
	return cols, nil
}

func arrowType(s string) (arrow.DataType, error) {
	t, err := sqlsubset.ParseType(s)
	if err != nil {
		return nil, err
	}
	return mask.ArrowType(t)
}

// TextColumns types names, the stored columns a CSV or JSON scan of task
// reads (Columns(task) without the partition columns, which objects
// supply): a task column's type comes from the task, any other column's
// (one only the row filter or a cell filter reads) from fileCols. A column
// whose type neither gives is FailedPrecondition: the agent does not guess
// the type of a value that policy is evaluated on.
func TextColumns(task taskplan.Task, names []string, fileCols []Column) ([]Column, error) {
	typed := make(map[string]arrow.DataType, len(task.Columns)+len(fileCols))
	for _, c := range fileCols {
		typed[c.Name] = c.Type
	}
	for _, c := range task.Columns {
		dt, err := arrowType(c.Type)
		if err != nil {
			return nil, apierr.New(apierr.InvalidArgument, "column %q: %s", c.Name, apierr.PublicMessage(err))
		}
		if ft, ok := typed[c.Name]; ok && !arrow.TypeEqual(ft, dt) {
			return nil, apierr.New(apierr.FailedPrecondition, "column %q is %s in the task but %s in format option %q", c.Name, typeName(dt), typeName(ft), FormatOptionColumns)
		}
		typed[c.Name] = dt
	}
	out := make([]Column, len(names))
	for i, n := range names {
		dt, ok := typed[n]
		if !ok {
			return nil, apierr.New(apierr.FailedPrecondition,
				"column %q is read by a filter but its type is not in the task; a %s scan needs it in format option %q", n, task.Format, FormatOptionColumns)
		}
		out[i] = Column{Name: n, Type: dt}
	}
	return out, nil
}

// checkColumns refuses duplicate names.
func checkColumns(columns []Column) error {
	seen := make(map[string]bool, len(columns))
	for _, c := range columns {
		if seen[c.Name] {
			return apierr.New(apierr.InvalidArgument, "column %q requested twice", c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

// Magic numbers of compressions that are recognised and refused rather
// than read as text.
var refusedMagic = []struct {
	name  string
	magic []byte
}{
	{"zstd", []byte{0x28, 0xb5, 0x2f, 0xfd}},
	{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}},
	{"bzip2", []byte{'B', 'Z', 'h'}}, // followed by a level digit and the block magic 1AY&SY, checked below
}

// openText returns the object's bytes as a stream read with ReadAhead
// ranged reads, decompressing gzip (recognised by its magic bytes, as
// schema inference does), and the stream's size, -1 when compressed.
func openText(r io.ReaderAt, size int64) (io.Reader, int64, error) {
	if size < 0 {
		return nil, 0, apierr.New(apierr.InvalidArgument, "negative object size %d", size)
	}
	src := &readerAt{r: r}
	// A small object gets a small buffer: the agent may scan many.
	br := bufio.NewReaderSize(io.NewSectionReader(src, 0, size), int(min(size, ReadAhead)))
	head, err := br.Peek(10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, 0, readFailure(err)
	}
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			if rerr := src.readErr(); rerr != nil {
				return nil, 0, readFailure(rerr)
			}
			return nil, 0, apierr.New(apierr.InvalidArgument, "corrupt gzip stream")
		}
		// flate reads byte by byte from br; the text reader reads big
		// blocks of decompressed data.
		return &gzipText{zr: zr, src: src}, -1, nil
	}
	for _, m := range refusedMagic {
		if bytes.HasPrefix(head, m.magic) && (m.name != "bzip2" || len(head) == 10 && head[3] >= '1' && head[3] <= '9' && string(head[4:10]) == "1AY&SY") {
			return nil, 0, apierr.New(apierr.FailedPrecondition, "the object is %s-compressed; only gzip is supported", m.name)
		}
	}
	return br, size, nil
}

// gzipText turns gzip format errors into InvalidArgument and leaves the
// ReaderAt's errors to readFailure.
type gzipText struct {
	zr  *gzip.Reader
	src *readerAt
}

func (g *gzipText) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if err != nil && err != io.EOF {
		if rerr := g.src.readErr(); rerr != nil {
			return n, rerr
		}
		return n, apierr.New(apierr.InvalidArgument, "corrupt gzip stream")
	}
	return n, err
}

// readFailure wraps an error of the object's reader, keeping its code.
func readFailure(err error) error {
	var ae *apierr.Error
	if errors.As(err, &ae) && ae.Code == apierr.InvalidArgument {
		return err // a corrupt gzip stream
	}
	return fmt.Errorf("scan: reading object: %w", err)
}

// textInput is the buffered byte stream that the CSV and JSON readers
// consume: they look at its buffer directly instead of calling a method
// per byte.
type textInput struct {
	r        io.Reader
	buf      []byte
	pos, end int
	err      error // sticky: io.EOF or the first read error
}

// newTextInput reads r, an object of size bytes or, when compressed, of
// unknown size (-1).
func newTextInput(r io.Reader, size int64) *textInput {
	n := int64(1 << 20)
	if size >= 0 {
		n = max(min(n, size), 16)
	}
	return &textInput{r: r, buf: make([]byte, n)}
}

// fill reads more bytes once the buffer is consumed; false at the end of
// the input or on an error (in.err).
func (in *textInput) fill() bool {
	if in.pos < in.end {
		return true
	}
	if in.err != nil {
		return false
	}
	in.pos, in.end = 0, 0
	for tries := 0; in.end == 0 && in.err == nil; tries++ {
		if tries == 100 {
			in.err = io.ErrNoProgress // as bufio: a reader that never returns data
			break
		}
		in.end, in.err = in.r.Read(in.buf)
	}
	return in.end > 0
}

// readErr is the input's error other than the end of the input.
func (in *textInput) readErr() error {
	if in.err == nil || in.err == io.EOF {
		return nil
	}
	return readFailure(in.err)
}

// batcher collects rows of the requested columns into record batches of
// at most batchSize rows and about maxBatchBytes of text.
type batcher struct {
	ctx       context.Context
	schema    *arrow.Schema
	bld       *array.RecordBuilder
	rows      int
	bytes     int
	batchSize int
	fn        func(arrow.RecordBatch) error
}

func newBatcher(ctx context.Context, columns []Column, batchSize int, mem memory.Allocator, fn func(arrow.RecordBatch) error) *batcher {
	fields := make([]arrow.Field, len(columns))
	for i, c := range columns {
		fields[i] = arrow.Field{Name: c.Name, Type: c.Type, Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	return &batcher{ctx: ctx, schema: schema, bld: array.NewRecordBuilder(mem, schema), batchSize: batchSize, fn: fn}
}

func (b *batcher) release() { b.bld.Release() }

// rowDone counts a row of n bytes of text and emits the batch when full.
func (b *batcher) rowDone(n int) error {
	b.rows++
	b.bytes += n
	if b.rows&4095 == 0 {
		if err := b.ctx.Err(); err != nil {
			return err
		}
	}
	if b.rows >= b.batchSize || b.bytes >= maxBatchBytes {
		return b.flush()
	}
	return nil
}

// flush emits the rows collected so far, if any.
func (b *batcher) flush() error {
	if b.rows == 0 {
		return nil
	}
	if err := b.ctx.Err(); err != nil {
		return err
	}
	var rec arrow.RecordBatch
	if b.schema.NumFields() == 0 {
		rec = array.NewRecordBatch(b.schema, nil, int64(b.rows))
	} else {
		rec = b.bld.NewRecordBatch()
	}
	b.rows, b.bytes = 0, 0
	err := b.fn(rec)
	rec.Release()
	return err
}

// typeName renders a column's type in the catalog's vocabulary
// (sqlsubset type strings) for messages.
func typeName(dt arrow.DataType) string {
	switch t := dt.(type) {
	case *arrow.BooleanType:
		return "bool"
	case *arrow.Decimal128Type:
		return fmt.Sprintf("decimal128(%d,%d)", t.Precision, t.Scale)
	case *arrow.TimestampType:
		if t.TimeZone == "" {
			return fmt.Sprintf("timestamp(%s)", t.Unit)
		}
		return fmt.Sprintf("timestamp(%s,%s)", t.Unit, t.TimeZone)
	case *arrow.StringType:
		return "string"
	case *arrow.BinaryType:
		return "binary"
	case *arrow.ListType:
		return "list<" + typeName(t.Elem()) + ">"
	case *arrow.StructType:
		var b strings.Builder
		b.WriteString("struct<")
		for i, f := range t.Fields() {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(sqlsubset.QuoteIdent(f.Name))
			b.WriteByte(':')
			b.WriteString(typeName(f.Type))
		}
		b.WriteByte('>')
		return b.String()
	}
	return dt.String()
}
