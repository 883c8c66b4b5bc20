package planner

import (
	"context"
	"strings"
	"time"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

// location is the table's location with the trailing slash objects are
// relative to.
func (r *request) location() string {
	if strings.HasSuffix(r.table.Location, "/") {
		return r.table.Location
	}
	return r.table.Location + "/"
}

// baseTask is what every task of the plan shares.
func (r *request) baseTask(queryID string, now time.Time, ttl time.Duration) (taskplan.Task, error) {
	base := taskplan.Task{
		QueryID:       queryID,
		Principal:     r.user,
		Groups:        r.groups,
		Table:         r.tableName,
		Format:        r.table.Format,
		FormatOptions: r.table.FormatOptions,
		Location:      r.location(),
		Columns:       r.taskCols,
		RowFilter:     sqlsubset.Tree{Expr: r.eff.Filter},
		Predicate:     sqlsubset.Tree{Expr: r.pred},
		PolicyVersion: r.eff.PolicyVersion,
		PolicyHash:    r.eff.RulesHash,
		IssuedAt:      now,
		ExpiresAt:     now.Add(ttl),
	}
	if r.q.Limit != nil {
		base.Limit = *r.q.Limit
	}
	if r.table.Format == "csv" || r.table.Format == "json" {
		// Text files carry no types, and a headerless CSV only positions:
		// the agent reads the table's file columns, in order, from here.
		opts, err := fileColumnsOption(r.table)
		if err != nil {
			return taskplan.Task{}, err
		}
		base.FormatOptions = opts
	}
	for _, c := range r.table.PartitionColumns() {
		if base.PartitionColumns == nil {
			base.PartitionColumns = map[string]string{}
		}
		t, err := sqlsubset.ParseType(c.Type)
		if err != nil {
			return taskplan.Task{}, apierr.Wrap(apierr.Internal, err, "partition column %s of %s", c.Name, r.tableName)
		}
		base.PartitionColumns[c.Name] = t.String()
	}
	return base, nil
}

// partitionTypes lists the table's partition columns with their types,
// in order, for the partition values of each object.
func (r *request) partitionTypes() []partitionColumn {
	var pcols []partitionColumn
	for _, c := range r.table.PartitionColumns() {
		if t, err := sqlsubset.ParseType(c.Type); err == nil { // baseTask refused a bad one
			pcols = append(pcols, partitionColumn{name: c.Name, typ: t})
		}
	}
	return pcols
}

// pruning is what file pruning evaluates: the row filter sees every
// partition column's stored value; the user's predicate only unmasked,
// unfiltered, visible partition columns.
type pruning struct {
	partCols  map[string]sqlsubset.Type
	userPart  map[string]bool
	rowFilter sqlsubset.Expr // coerced for pruning only; the task gets eff.Filter as is
	pred      sqlsubset.Expr
}

func (r *request) pruning() pruning {
	pr := pruning{partCols: map[string]sqlsubset.Type{}, userPart: map[string]bool{}, rowFilter: r.eff.Filter, pred: r.pred}
	for _, c := range r.table.PartitionColumns() {
		t, err := sqlsubset.ParseType(c.Type)
		if err != nil || !prunable(t) {
			continue
		}
		pr.partCols[c.Name] = t
		if v, ok := r.visible[c.Name]; ok && v.Mask == nil && v.CellFilter == nil {
			pr.userPart[c.Name] = true
		}
	}
	if pr.rowFilter != nil {
		full := sqlsubset.Schema{}
		for _, c := range r.table.Columns {
			if t, err := sqlsubset.ParseType(c.Type); err == nil {
				full[c.Name] = t
			}
		}
		if coerced, err := sqlsubset.Coerce(pr.rowFilter, full); err == nil {
			pr.rowFilter = coerced
		}
	}
	return pr
}

func (pr pruning) prunes(f store.File) bool {
	return prune(f, pr.partCols, pr.userPart, pr.rowFilter, pr.pred)
}

// grouper gathers objects into tasks of about the target size and hands
// each task out signed and sealed.
type grouper struct {
	p      *Planner
	base   taskplan.Task
	plan   *Plan
	ticket func([]byte) error
	group  []taskplan.Object
	bytes  int64
}

// flush signs the gathered objects as one task.
func (g *grouper) flush() error {
	if len(g.group) == 0 {
		return nil
	}
	t := g.base
	t.ID = newID()
	t.Objects = g.group
	signed, err := g.p.signer.Sign(t)
	if err != nil {
		return apierr.Wrap(apierr.Internal, err, "signing a task of %s failed", t.Table)
	}
	if g.p.sealer != nil {
		if signed, err = g.p.sealer.Seal(signed); err != nil {
			return apierr.Wrap(apierr.Internal, err, "sealing a task of %s failed", t.Table)
		}
	}
	g.plan.Tasks++
	g.group, g.bytes = nil, 0
	return g.ticket(signed)
}

// emit lists the table's files page by page, prunes them, and groups the
// rest into signed tasks.
func (p *Planner) emit(ctx context.Context, r *request, base taskplan.Task, plan *Plan, ticket func([]byte) error) error {
	g := &grouper{p: p, base: base, plan: plan, ticket: ticket}
	pr := r.pruning()
	pcols := r.partitionTypes()
	loc := base.Location
	page := store.Page{PageSize: store.MaxPageSize}
	for {
		files, next, err := p.cat.Files(ctx, r.db, r.name, page)
		if err != nil {
			return err
		}
		for _, f := range files {
			plan.Files++
			if !r.part.keeps(f.Path) {
				continue // another part's file: neither read nor pruned
			}
			if pr.prunes(f) {
				plan.PrunedFiles++
				continue
			}
			if err := p.place(ctx, r, g, f, loc, pcols); err != nil {
				return err
			}
		}
		if next == "" {
			break
		}
		page.PageToken = next
	}
	return g.flush()
}

// place puts file f into the current task, a new one, or (a Parquet file
// larger than the target) tasks of its own row groups.
func (p *Planner) place(ctx context.Context, r *request, g *grouper, f store.File, loc string, pcols []partitionColumn) error {
	rel, err := relPath(f.Path, loc)
	if err != nil {
		return apierr.New(apierr.Internal, "file %s of %s: %v", f.Path, r.tableName, err)
	}
	if r.q.Limit != nil {
		// LIMIT n is one task: every task carries the limit, so two tasks
		// could return 2n rows. The agent reads the objects in order and
		// stops at n without opening the rest.
		if len(g.group) >= maxLimitObjects {
			g.plan.LimitTruncated = true
			return nil
		}
	} else if len(g.group) > 0 && (g.bytes+f.Size > p.target || len(g.group) >= maxObjectsPerTask) {
		if err := g.flush(); err != nil {
			return err
		}
	}
	pv, err := partitionValues(f, pcols, r.tableName)
	if err != nil {
		return err
	}
	obj := taskplan.Object{Path: rel, Size: f.Size, ETag: f.ETag, Partition: pv}
	if r.q.Limit == nil && r.table.Format == "parquet" && f.Size > p.target && p.rowGroups != nil {
		if parts := p.splitFile(ctx, loc, f, obj); len(parts) > 1 {
			if err := g.flush(); err != nil {
				return err
			}
			for _, o := range parts {
				g.group = []taskplan.Object{o}
				if err := g.flush(); err != nil {
					return err
				}
			}
			return nil
		}
	}
	g.group = append(g.group, obj)
	g.bytes += f.Size
	return nil
}
