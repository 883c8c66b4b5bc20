// Package enforce applies a task's policy to Arrow record batches on the
// agent, in an order that is the security contract:
//
//  1. RowFilter is evaluated on the STORED (unmasked) values; only rows where
//     it is TRUE are kept (FALSE and NULL drop the row).
//  2. Each column's CellFilter is evaluated on the STORED values; where it is
//     not TRUE the column's cell becomes NULL.
//  3. Masks are applied (internal/mask) to the kept rows.
//  4. Predicate, the user's WHERE, is evaluated on the OUTPUT values, that is
//     after masks and cell filters, so a WHERE can never probe a hidden value;
//     only rows where it is TRUE are kept. It may reference task columns only;
//     FilterOnly columns are masked like the others and dropped afterwards.
//  5. Limit caps the rows returned across all calls of Apply.
//
// Expressions follow SQL three-valued logic (Kleene AND/OR/NOT; a comparison
// with NULL is NULL). Supported: comparisons of bool, integers, unsigned
// integers, floats, decimal128, string, binary, date32 and timestamp values
// with each other where the subset allows it, with the subset's one ordering
// (sqlsubset.CompareLiterals: numbers with numbers, a float on either side
// compared as float64 and NaN greatest, other numeric mixes exactly; text
// and binary byte-wise; instants with instants, dates and wall-clock
// timestamps with each other); IN, BETWEEN, LIKE/ILIKE with the subset's
// one matcher (sqlsubset.CompileLike), IS [NOT] NULL, IS [NOT] TRUE/FALSE,
// and CAST between numeric types (rounding half away from zero; out of range
// is an error) or to string. Nested column paths, function calls and any other
// cast are refused by New: the enforcer fails closed, it never serves data it
// cannot filter. A column type it cannot evaluate is an error from Apply.
package enforce

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/mask"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

type column struct {
	name  string   // stored name; expressions use it
	out   string   // output name
	only  bool     // filter-only: used by the predicate, not returned
	field []string // output only this field path of the struct
	konst *int64   // a constant column: nothing is read
	typ   arrow.DataType
	mask  *sqlsubset.Mask
	cell  *compiled // nil = always visible
}

// Enforcer applies one task's row filter, cell filters, masks, predicate and
// limit to record batches. It is not safe for concurrent use.
type Enforcer struct {
	mem       memory.Allocator
	key       mask.Key
	cols      []column
	schema    *arrow.Schema // output: task columns minus filter-only ones, by output name
	inner     *arrow.Schema // every task column by stored name, for the predicate
	outIdx    []int         // indices into inner of the output columns
	rowFilter *compiled
	predicate *compiled
	predCols  map[string]bool // columns the predicate reads
	deferred  bool            // some masks wait until after the predicate
	limit     int64           // 0 = none
	returned  int64
}

// New checks that every expression and mask of task can be evaluated and
// returns an Enforcer for it. Anything unsupported is an error (fail closed).
func New(task taskplan.Task, key mask.Key, mem memory.Allocator) (*Enforcer, error) {
	if mem == nil {
		return nil, fmt.Errorf("enforce: nil allocator")
	}
	if len(task.Columns) == 0 {
		return nil, fmt.Errorf("enforce: task has no columns")
	}
	if task.Limit < 0 {
		return nil, fmt.Errorf("enforce: negative limit")
	}
	e := &Enforcer{mem: mem, key: key, limit: task.Limit}
	fields := make([]arrow.Field, 0, len(task.Columns))
	var outFields []arrow.Field
	names := map[string]bool{}
	seen := map[string]bool{}
	for _, c := range task.Columns {
		key := strings.Join(append([]string{c.Name}, c.Field...), "\x00")
		if seen[key] {
			return nil, fmt.Errorf("enforce: duplicate column %q", c.Name)
		}
		seen[key] = true
		names[c.Name] = true
		st, err := sqlsubset.ParseType(c.Type)
		if err != nil {
			return nil, fmt.Errorf("enforce: column %q: %w", c.Name, err)
		}
		dt, err := mask.ArrowType(st)
		if err != nil {
			return nil, fmt.Errorf("enforce: column %q: %w", c.Name, err)
		}
		col := column{name: c.Name, out: c.OutputName(), only: c.FilterOnly, typ: dt, konst: c.Const}
		if c.Mask != nil {
			m := *c.Mask
			if err := mask.Check(m, dt); err != nil {
				return nil, fmt.Errorf("enforce: column %q: %w", c.Name, err)
			}
			col.mask = &m
		}
		if c.CellFilter.Expr != nil {
			if col.cell, err = compileFilter(c.CellFilter.Expr); err != nil {
				return nil, fmt.Errorf("enforce: cell filter of %q: %w", c.Name, err)
			}
		}
		outType := arrow.DataType(dt)
		if len(c.Field) > 0 {
			ft, err := taskplan.FieldType(st, c.Field)
			if err != nil {
				return nil, fmt.Errorf("enforce: column %q: %w", c.Name, err)
			}
			if outType, err = mask.ArrowType(ft); err != nil {
				return nil, fmt.Errorf("enforce: column %q: %w", c.Name, err)
			}
			col.field = c.Field
		}
		if !c.FilterOnly {
			e.outIdx = append(e.outIdx, len(e.cols))
			outFields = append(outFields, arrow.Field{Name: col.out, Type: outType, Nullable: true})
		}
		e.cols = append(e.cols, col)
		fields = append(fields, arrow.Field{Name: c.Name, Type: dt, Nullable: true})
	}
	if len(outFields) == 0 {
		return nil, fmt.Errorf("enforce: task has no output column")
	}
	e.inner = arrow.NewSchema(fields, nil)
	e.schema = arrow.NewSchema(outFields, nil)
	var err error
	if task.RowFilter.Expr != nil {
		if e.rowFilter, err = compileFilter(task.RowFilter.Expr); err != nil {
			return nil, fmt.Errorf("enforce: row filter: %w", err)
		}
	}
	if task.Predicate.Expr != nil {
		if e.predicate, err = compile(task.Predicate.Expr); err != nil {
			return nil, fmt.Errorf("enforce: predicate: %w", err)
		}
		e.predCols = map[string]bool{}
		for _, n := range sqlsubset.Columns(task.Predicate.Expr) {
			e.predCols[n] = true
			if !names[n] {
				return nil, fmt.Errorf("enforce: predicate references %q, which is not a task column", n)
			}
		}
	}
	for _, c := range e.cols {
		e.deferred = e.deferred || c.mask != nil && e.maskLater(c)
	}
	return e, nil
}

// OutputSchema is the schema of every batch Apply returns: the task's output
// columns (not the filter-only ones) in order, by output name, with their
// catalog types, all nullable.
func (e *Enforcer) OutputSchema() *arrow.Schema { return e.schema }

// Done reports whether the limit has been reached; Apply then returns empty batches.
func (e *Enforcer) Done() bool { return e.limit > 0 && e.returned >= e.limit }

func recordGetter(rec arrow.RecordBatch) getCol {
	return func(name string) (arrow.Array, error) {
		idx := rec.Schema().FieldIndices(name)
		if len(idx) != 1 {
			return nil, fmt.Errorf("enforce: batch has %d columns named %q", len(idx), name)
		}
		return rec.Column(idx[0]), nil
	}
}

// Apply enforces the policy on rec, which holds the stored values, and returns
// a new record batch with OutputSchema; the caller releases it. rec is not
// released. Any error means the batch must not be served.
func (e *Enforcer) Apply(rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	n := int(rec.NumRows())
	if e.Done() {
		n = 0
	}
	ctx := compute.WithAllocator(context.Background(), e.mem)
	get := recordGetter(rec)

	// 1. Row filter on stored values.
	var keep []int
	if e.rowFilter != nil && n > 0 {
		v, err := e.rowFilter.evalBool(n, get)
		if err != nil {
			return nil, fmt.Errorf("enforce: row filter: %w", err)
		}
		keep = trueRows(v)
	} else {
		keep = allRows(n)
	}

	cols := make([]arrow.Array, 0, len(e.cols))
	release := func() {
		for _, c := range cols {
			c.Release()
		}
	}
	for _, c := range e.cols {
		if c.konst != nil {
			cols = append(cols, constInt64(e.mem, *c.konst, len(keep)))
			continue
		}
		in, err := get(c.name)
		if err != nil {
			release()
			return nil, err
		}
		if !arrow.TypeEqual(in.DataType(), c.typ) {
			release()
			return nil, fmt.Errorf("enforce: column %q is %s, the task says %s", c.name, in.DataType(), c.typ)
		}
		// 2. Cell filter on stored values (all input rows, then selected).
		var visible []bool
		if c.cell != nil && len(keep) > 0 {
			v, err := c.cell.evalBool(n, get)
			if err != nil {
				release()
				return nil, fmt.Errorf("enforce: cell filter of %q: %w", c.name, err)
			}
			visible = make([]bool, len(keep))
			for j, r := range keep {
				visible[j] = v.valid[r] && v.b[r]
			}
		}
		out, err := take(ctx, e.mem, in, keep, n)
		if err != nil {
			release()
			return nil, err
		}
		if visible != nil {
			nulled, err := nullWhere(e.mem, out, visible)
			out.Release()
			if err != nil {
				release()
				return nil, err
			}
			out = nulled
		}
		// 3. Mask: now the columns the predicate reads, the others after
		// the predicate has dropped its rows (masks are row by row, so the
		// output is the same, for a fraction of the work).
		if c.mask != nil && !e.maskLater(c) {
			masked, err := mask.Apply(e.mem, out, *c.mask, e.key)
			out.Release()
			if err != nil {
				release()
				return nil, fmt.Errorf("enforce: mask of %q: %w", c.name, err)
			}
			out = masked
		}
		cols = append(cols, out)
	}
	res := array.NewRecordBatch(e.inner, cols, int64(len(keep)))
	release()

	// 4. Predicate on output values.
	if e.predicate != nil && res.NumRows() > 0 {
		m := int(res.NumRows())
		v, err := e.predicate.evalBool(m, recordGetter(res))
		if err != nil {
			res.Release()
			return nil, fmt.Errorf("enforce: predicate: %w", err)
		}
		rows := trueRows(v)
		if len(rows) != m {
			filtered, err := takeRecord(ctx, e.mem, res, rows)
			res.Release()
			if err != nil {
				return nil, err
			}
			res = filtered
		}
	}

	if e.deferred {
		masked, err := e.maskRest(res)
		res.Release()
		if err != nil {
			return nil, err
		}
		res = masked
	}

	// Output columns, by output name.
	outCols := make([]arrow.Array, len(e.outIdx))
	for i, j := range e.outIdx {
		if f := e.cols[j].field; len(f) > 0 {
			sub, err := structField(e.mem, res.Column(j), f)
			if err != nil {
				for _, c := range outCols[:i] {
					c.Release()
				}
				res.Release()
				return nil, fmt.Errorf("enforce: column %q: %w", e.cols[j].name, err)
			}
			outCols[i] = sub
			continue
		}
		outCols[i] = res.Column(j)
		outCols[i].Retain()
	}
	out := array.NewRecordBatch(e.schema, outCols, res.NumRows())
	for _, c := range outCols {
		c.Release()
	}
	res.Release()
	res = out

	// 5. Limit.
	if e.limit > 0 {
		left := e.limit - e.returned
		if res.NumRows() > left {
			s := res.NewSlice(0, left)
			res.Release()
			res = s
		}
		e.returned += res.NumRows()
	}
	return res, nil
}

func trueRows(v *vec) []int {
	rows := make([]int, 0, len(v.valid))
	for i := range v.valid {
		if v.valid[i] && v.b[i] {
			rows = append(rows, i)
		}
	}
	return rows
}

func allRows(n int) []int {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	return rows
}

// take returns the rows of a at rows (of n); when rows is all of a, a itself retained.
func take(ctx context.Context, mem memory.Allocator, a arrow.Array, rows []int, n int) (arrow.Array, error) {
	if len(rows) == n && n == a.Len() {
		a.Retain()
		return a, nil
	}
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.Reserve(len(rows))
	for _, r := range rows {
		b.UnsafeAppend(int64(r))
	}
	idx := b.NewArray()
	defer idx.Release()
	out, err := compute.TakeArray(ctx, a, idx)
	if err != nil {
		return nil, fmt.Errorf("enforce: take: %w", err)
	}
	return out, nil
}

func takeRecord(ctx context.Context, mem memory.Allocator, rec arrow.RecordBatch, rows []int) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, 0, rec.NumCols())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for i := 0; i < int(rec.NumCols()); i++ {
		c, err := take(ctx, mem, rec.Column(i), rows, -1)
		if err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return array.NewRecordBatch(rec.Schema(), cols, int64(len(rows))), nil
}

// nullWhere returns a copy of a (sharing its value buffers) in which the
// cells where visible is false are NULL.
func nullWhere(mem memory.Allocator, a arrow.Array, visible []bool) (arrow.Array, error) {
	d := a.Data()
	n, off := d.Len(), d.Offset()
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(off + n))))
	bits := buf.Bytes()
	for i := range bits {
		bits[i] = 0
	}
	nulls := 0
	for i := 0; i < n; i++ {
		if visible[i] && a.IsValid(i) {
			bitutil.SetBit(bits, off+i)
		} else {
			nulls++
		}
	}
	bufs := append([]*memory.Buffer{buf}, d.Buffers()[1:]...)
	nd := array.NewData(d.DataType(), n, bufs, d.Children(), nulls, off)
	buf.Release()
	defer nd.Release()
	return array.MakeFromData(nd), nil
}

// constInt64 is n copies of v.
func constInt64(mem memory.Allocator, v int64, n int) arrow.Array {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.Reserve(n)
	for range n {
		b.UnsafeAppend(v)
	}
	return b.NewArray()
}

// maskLater reports a masked column the predicate does not read: it is
// masked after the predicate (maskRest).
func (e *Enforcer) maskLater(c column) bool {
	return e.predicate != nil && !e.predCols[c.name]
}

// maskRest masks the columns maskLater deferred; res is not released.
func (e *Enforcer) maskRest(res arrow.RecordBatch) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, len(e.cols))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for j, c := range e.cols {
		in := res.Column(j)
		if c.mask == nil || !e.maskLater(c) {
			in.Retain()
			cols[j] = in
			continue
		}
		masked, err := mask.Apply(e.mem, in, *c.mask, e.key)
		if err != nil {
			return nil, fmt.Errorf("enforce: mask of %q: %w", c.name, err)
		}
		cols[j] = masked
	}
	return array.NewRecordBatch(e.inner, cols, res.NumRows()), nil
}
