// Package scan reads the objects of a read task as Arrow record batches of
// the columns the task needs, with their catalog types.
//
//   - Parquet reads only the footer, the columns and the row groups it
//     needs, with ranged reads.
//   - CSV and JSON (newline-delimited) read the object front to back in
//     large sequential reads (ReadAhead), decompressing gzip, with the
//     dialect of the control plane's schema inference, and convert each
//     value to its column's type (the files carry none: see TextColumns
//     and FormatOptionColumns). A bad value is an InvalidArgument naming
//     the line and column, never the value.
package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

// DefaultBatchSize is the number of rows per batch when Parquet is given a
// batch size of zero or less.
const DefaultBatchSize = 64 << 10

// Columns returns the stored columns a task needs: its output columns, then
// every column its RowFilter and its columns' CellFilters reference, without
// duplicates, in that stable order. The Predicate adds nothing: it is
// evaluated on output columns.
func Columns(task taskplan.Task) []string {
	var out []string
	seen := make(map[string]bool)
	add := func(names ...string) {
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	for _, c := range task.Columns {
		if c.Const == nil { // a constant column reads nothing
			add(c.Name)
		}
	}
	if task.RowFilter.Expr != nil {
		add(sqlsubset.Columns(task.RowFilter.Expr)...)
	}
	for _, c := range task.Columns {
		if c.CellFilter.Expr != nil {
			add(sqlsubset.Columns(c.CellFilter.Expr)...)
		}
	}
	return out
}

// readBufferSize is how much of a column chunk one range read fetches.
const readBufferSize = 1 << 20

// Parquet reads the Parquet object of size bytes behind r, which is read
// with ranged reads only (ReadAt), and calls fn with each record batch. A
// batch holds exactly columns, the top-level column names, in that order
// (a struct column brings all its fields); only the row groups listed in
// rowGroups are read (nil or empty = all). A batch is released when fn
// returns: fn retains it if it keeps it. An error from fn stops the scan and
// is returned unchanged.
//
// Errors: a column missing from the file, a duplicate column or a row group
// out of range is InvalidArgument naming it; a file that is not valid
// Parquet is InvalidArgument "corrupt Parquet" (never a panic); an error of
// r is returned wrapped; ctx's error when ctx is cancelled.
func Parquet(ctx context.Context, r io.ReaderAt, size int64, columns []string, rowGroups []int, batchSize int, mem memory.Allocator, fn func(arrow.RecordBatch) error) error {
	return ParquetPruned(ctx, r, size, columns, rowGroups, batchSize, nil, mem, fn)
}

// ParquetPruned is Parquet that also skips the row groups prune excludes by
// their footer statistics (nil prunes nothing); a skipped row group is
// never fetched.
func ParquetPruned(ctx context.Context, r io.ReaderAt, size int64, columns []string, rowGroups []int, batchSize int, prune *Prune, mem memory.Allocator, fn func(arrow.RecordBatch) error) error {
	if size < 0 {
		return apierr.New(apierr.InvalidArgument, "negative object size %d", size)
	}
	if batchSize <= 0 {
		batchSize = DefaultBatchSize
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	src := &readerAt{r: r}
	s := &scanner{src: src, prune: prune}
	err := s.run(ctx, io.NewSectionReader(src, 0, size), columns, rowGroups, batchSize, mem, fn)
	return s.classify(ctx, err)
}

// readerAt remembers the first error of the underlying ReaderAt other than
// end of file, so that a fetch failure is not reported as corrupt Parquet.
type readerAt struct {
	r   io.ReaderAt
	mu  sync.Mutex
	err error
}

func (r *readerAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.r.ReadAt(p, off)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		r.mu.Lock()
		if r.err == nil {
			r.err = err
		}
		r.mu.Unlock()
	}
	return n, err
}

func (r *readerAt) readErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// errCorrupt marks an error of arrow-go about the file's contents.
type errCorrupt struct{ cause error }

func (e errCorrupt) Error() string { return e.cause.Error() }
func (e errCorrupt) Unwrap() error { return e.cause }

type scanner struct {
	src   *readerAt
	prune *Prune
}

// arrowCall runs f, turning its error or panic into errCorrupt.
func arrowCall(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errCorrupt{fmt.Errorf("panic: %v", p)}
		}
	}()
	if err := f(); err != nil {
		return errCorrupt{err}
	}
	return nil
}

func (s *scanner) classify(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var c errCorrupt
	if !errors.As(err, &c) {
		return err
	}
	if rerr := s.src.readErr(); rerr != nil {
		return fmt.Errorf("scan: reading Parquet object: %w", rerr)
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return apierr.Wrap(apierr.InvalidArgument, c.cause, "corrupt Parquet")
}

func (s *scanner) run(ctx context.Context, sr *io.SectionReader, columns []string, rowGroups []int, batchSize int, mem memory.Allocator, fn func(arrow.RecordBatch) error) error {
	var pf *file.Reader
	if err := arrowCall(func() (err error) {
		// Column chunks are read through a buffer rather than whole: a
		// chunk of a 128 MiB row group would otherwise sit in memory for
		// each column of each stream. More, smaller range requests buy
		// the agent's memory bound.
		props := parquet.NewReaderProperties(mem)
		props.BufferedStreamEnabled = true
		props.BufferSize = readBufferSize
		pf, err = file.NewParquetReader(sr, file.WithReadProps(props))
		return err
	}); err != nil {
		return err
	}
	defer pf.Close()

	nrg := pf.NumRowGroups()
	for _, rg := range rowGroups {
		if rg < 0 || rg >= nrg {
			return apierr.New(apierr.InvalidArgument, "row group %d out of range: the Parquet file has %d", rg, nrg)
		}
	}
	if len(rowGroups) == 0 {
		rowGroups = nil
	}

	var fr *pqarrow.FileReader
	if err := arrowCall(func() (err error) {
		fr, err = pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(batchSize), Parallel: false}, mem)
		return err
	}); err != nil {
		return err
	}

	// Map each requested top-level name to its leaf columns.
	top := make(map[string]*pqarrow.SchemaField, len(fr.Manifest.Fields))
	dup := make(map[string]bool)
	for i := range fr.Manifest.Fields {
		f := &fr.Manifest.Fields[i]
		if _, ok := top[f.Field.Name]; ok {
			dup[f.Field.Name] = true
		}
		top[f.Field.Name] = f
	}
	var leaves []int
	requested := make(map[string]bool, len(columns))
	for _, name := range columns {
		if requested[name] {
			return apierr.New(apierr.InvalidArgument, "column %q requested twice", name)
		}
		requested[name] = true
		f, ok := top[name]
		if !ok {
			return apierr.New(apierr.InvalidArgument, "column %q not found in Parquet file", name)
		}
		if dup[name] {
			return apierr.New(apierr.InvalidArgument, "column %q is ambiguous: the Parquet file has several", name)
		}
		n := len(leaves)
		leaves = appendLeaves(leaves, f)
		if len(leaves) == n {
			return apierr.New(apierr.InvalidArgument, "column %q has no stored values in the Parquet file", name)
		}
	}

	if s.prune != nil {
		rowGroups = s.prune.keep(pf, fr.Manifest, rowGroups)
		if len(rowGroups) == 0 {
			return nil
		}
	}
	if len(columns) == 0 {
		return s.countOnly(ctx, pf, rowGroups, batchSize, fn)
	}

	var rr pqarrow.RecordReader
	if err := arrowCall(func() (err error) {
		rr, err = fr.GetRecordReader(ctx, leaves, rowGroups)
		return err
	}); err != nil {
		return err
	}
	defer rr.Release()

	// The reader returns columns in file order; put them in requested order.
	in := rr.Schema()
	perm := make([]int, len(columns))
	fields := make([]arrow.Field, len(columns))
	for i, name := range columns {
		idx := in.FieldIndices(name)
		if len(idx) != 1 {
			return apierr.New(apierr.Internal, "scan: column %q not in the record reader's schema", name)
		}
		perm[i] = idx[0]
		fields[i] = in.Field(idx[0])
	}
	md := in.Metadata()
	out := arrow.NewSchema(fields, &md)

	cols := make([]arrow.Array, len(columns))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var rec arrow.RecordBatch
		var more bool
		if err := arrowCall(func() error {
			more = rr.Next()
			if !more {
				return rr.Err()
			}
			rec = rr.RecordBatch()
			return nil
		}); err != nil {
			return err
		}
		if !more {
			return nil
		}
		for i, p := range perm {
			cols[i] = rec.Column(p)
		}
		batch := array.NewRecordBatch(out, cols, rec.NumRows())
		err := fn(batch)
		batch.Release()
		if err != nil {
			return err
		}
	}
}

// countOnly serves a scan of no columns (SELECT count(*)): batches without
// columns whose row counts come from the footer.
func (s *scanner) countOnly(ctx context.Context, pf *file.Reader, rowGroups []int, batchSize int, fn func(arrow.RecordBatch) error) error {
	if rowGroups == nil {
		rowGroups = make([]int, pf.NumRowGroups())
		for i := range rowGroups {
			rowGroups[i] = i
		}
	}
	empty := arrow.NewSchema(nil, nil)
	for _, rg := range rowGroups {
		var n int64
		if err := arrowCall(func() error {
			n = pf.MetaData().RowGroup(rg).NumRows()
			return nil
		}); err != nil {
			return err
		}
		for n > 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			k := min(n, int64(batchSize))
			batch := array.NewRecordBatch(empty, nil, k)
			err := fn(batch)
			batch.Release()
			if err != nil {
				return err
			}
			n -= k
		}
	}
	return nil
}

func appendLeaves(dst []int, f *pqarrow.SchemaField) []int {
	if f.IsLeaf() {
		return append(dst, f.ColIndex)
	}
	for i := range f.Children {
		dst = appendLeaves(dst, &f.Children[i])
	}
	return dst
}
