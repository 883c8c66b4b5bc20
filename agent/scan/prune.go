package scan

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

// Prune skips Parquet row groups whose footer statistics prove that no row
// passes the task's filters. It only uses what cannot be wrong:
//
//   - conjuncts of the row filter (evaluated on stored values) and of the
//     user's predicate on columns that are neither masked nor cell-filtered
//     (the predicate sees masked values; statistics describe stored ones);
//   - comparisons of a signed integer or date column with a literal of the
//     matching kind (=, <>, <, <=, >, >=, BETWEEN, IN), whose min/max order
//     is the values' order; strings, floats, decimals, timestamps and
//     unsigned integers are never pruned on;
//   - a row group whose column is entirely NULL fails every comparison.
//
// Anything else keeps the row group.
type Prune struct {
	conds []cond
}

type cond struct {
	col string
	e   sqlsubset.Expr // a Compare, Between or In on col
}

// NewPrune extracts the usable conditions of t; nil when there are none.
func NewPrune(t taskplan.Task) *Prune {
	p := &Prune{}
	p.add(t.RowFilter.Expr, nil)
	hidden := map[string]bool{}
	for _, c := range t.Columns {
		if c.Mask != nil || c.CellFilter.Expr != nil {
			hidden[c.Name] = true
		}
	}
	p.add(t.Predicate.Expr, hidden)
	if len(p.conds) == 0 {
		return nil
	}
	return p
}

func (p *Prune) add(e sqlsubset.Expr, hidden map[string]bool) {
	if e == nil {
		return
	}
	if a, ok := e.(*sqlsubset.And); ok {
		for _, x := range a.Args {
			p.add(x, hidden)
		}
		return
	}
	var col *sqlsubset.Column
	switch x := e.(type) {
	case *sqlsubset.Compare:
		col, _ = x.Left.(*sqlsubset.Column)
		if _, lit := x.Right.(*sqlsubset.Literal); !lit {
			col = nil
		}
	case *sqlsubset.Between:
		if !x.Not {
			col, _ = x.Expr.(*sqlsubset.Column)
		}
	case *sqlsubset.In:
		if !x.Not {
			col, _ = x.Expr.(*sqlsubset.Column)
		}
	}
	if col == nil || len(col.Path) > 0 || hidden[col.Name] {
		return
	}
	p.conds = append(p.conds, cond{col: col.Name, e: e})
}

// keep lists the row groups (of candidates, or all when nil) that may hold
// a passing row.
func (p *Prune) keep(pf *file.Reader, manifest *pqarrow.SchemaManifest, candidates []int) []int {
	if candidates == nil {
		candidates = make([]int, pf.NumRowGroups())
		for i := range candidates {
			candidates[i] = i
		}
	}
	leaf := map[string]*pqarrow.SchemaField{}
	for i := range manifest.Fields {
		f := &manifest.Fields[i]
		if f.IsLeaf() {
			if _, dup := leaf[f.Field.Name]; dup {
				leaf[f.Field.Name] = nil // ambiguous: never prune on it
				continue
			}
			leaf[f.Field.Name] = f
		}
	}
	out := candidates[:0:0]
	for _, rg := range candidates {
		md := pf.MetaData().RowGroup(rg)
		if !p.skip(md, leaf) {
			out = append(out, rg)
		}
	}
	return out
}

func (p *Prune) skip(md *metadata.RowGroupMetaData, leaf map[string]*pqarrow.SchemaField) (skip bool) {
	defer func() {
		if recover() != nil { // hostile statistics: keep the row group
			skip = false
		}
	}()
	for _, c := range p.conds {
		f := leaf[c.col]
		if f == nil || !prunableType(f.Field.Type) {
			continue
		}
		chunk, err := md.ColumnChunk(f.ColIndex)
		if err != nil {
			continue
		}
		ok, err := chunk.StatsSet()
		if err != nil || !ok {
			continue
		}
		st, err := chunk.Statistics()
		if err != nil || st == nil {
			continue
		}
		if st.HasNullCount() && st.NullCount() == md.NumRows() && md.NumRows() > 0 {
			return true // comparisons with NULL are never true
		}
		if !st.HasMinMax() {
			continue
		}
		var lo, hi int64
		switch s := st.(type) {
		case *metadata.Int32Statistics:
			lo, hi = int64(s.Min()), int64(s.Max())
		case *metadata.Int64Statistics:
			lo, hi = s.Min(), s.Max()
		default:
			continue
		}
		if lo > hi {
			continue
		}
		if excluded(c.e, f.Field.Type.ID() == arrow.DATE32, lo, hi) {
			return true
		}
	}
	return false
}

// prunableType: signed integers and dates, whose Parquet statistics are
// ordered like their values.
func prunableType(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.DATE32:
		return true
	}
	return false
}

// value is a literal's value as a column of that kind stores it.
func value(e sqlsubset.Expr, date bool) (int64, bool) {
	l, ok := e.(*sqlsubset.Literal)
	if !ok {
		return 0, false
	}
	switch {
	case date && l.Type.ID == sqlsubset.Date32:
		return l.Int, true
	case !date && l.Type.ID == sqlsubset.Int64:
		return l.Int, true
	}
	return 0, false
}

// excluded reports whether every value in [lo, hi] fails e.
func excluded(e sqlsubset.Expr, date bool, lo, hi int64) bool {
	switch x := e.(type) {
	case *sqlsubset.Compare:
		v, ok := value(x.Right, date)
		if !ok {
			return false
		}
		switch x.Op {
		case sqlsubset.Eq:
			return v < lo || v > hi
		case sqlsubset.Ne:
			return lo == hi && lo == v
		case sqlsubset.Lt:
			return lo >= v
		case sqlsubset.Le:
			return lo > v
		case sqlsubset.Gt:
			return hi <= v
		case sqlsubset.Ge:
			return hi < v
		}
	case *sqlsubset.Between:
		a, ok1 := value(x.Low, date)
		b, ok2 := value(x.High, date)
		return ok1 && ok2 && (hi < a || lo > b)
	case *sqlsubset.In:
		for _, item := range x.List {
			v, ok := value(item, date)
			if !ok || (v >= lo && v <= hi) {
				return false
			}
		}
		return len(x.List) > 0
	}
	return false
}
