// Package planner turns a user's SELECT into signed read tasks for agents.
//
// Plan parses the query (statement.ParseQuery), evaluates the user's
// effective policy on the table (catalog.Service.ReadPolicy; no grant and an
// unknown table are the same PermissionDenied: deny by default, and no
// probing for hidden tables), checks the
// select list and the WHERE clause against the columns the user may see,
// prunes the table's files, groups the rest into tasks and signs each task
// (taskplan.Signer) for the user.
//
// # Security rules
//
//   - Projection: SELECT * is exactly the visible columns, in table order.
//     A column the user may not see and a column the table does not have
//     give the same error, PermissionDenied "column X is not available in
//     db.t", so that a query cannot probe which columns exist.
//   - The WHERE clause may reference visible columns only (same error) and
//     must type-check against their types. The agent evaluates it after the
//     masks (Task.Predicate), so it compares masked values; the policy row
//     filter goes to Task.RowFilter and is evaluated on stored values; each
//     column carries its Mask and CellFilter.
//   - A WHERE on a visible column that is not selected reads it as a
//     filter-only task column, with its mask and cell filter: the agent
//     filters on the value the user would see and does not return it.
//   - Pruning: a file is skipped only when it provably holds no row the
//     agent would return. The policy row filter is evaluated against the
//     file's partition values (it sees stored values, like the agent); the
//     user's WHERE only over partition columns that are neither masked nor
//     cell-filtered for the user: pruning on a masked column would reveal
//     the hidden values through which files are read. Anything that cannot
//     be evaluated keeps the file. A WHERE or row filter that is constant
//     FALSE or NULL (Spark's WHERE 1=0 probe), and LIMIT 0, give no task but
//     still the output schema.
//
// # Tasks
//
// Kept files are grouped, in listing order, into tasks of about
// Config.TargetTaskBytes; a file larger than the target is a task of its
// own, or, for a Parquet file, tasks of its row groups of about the target
// (its footer is read once and cached by path, size and ETag). A query with LIMIT
// is one task over the first 10,000 kept files, since every task carries
// the limit and the agent stops as soon as it is reached. Every task
// carries the policy version and hash, and expires Config.TaskTTL after it
// is issued.
//
// Tasks name objects by path relative to the table location, with size and
// ETag; they carry no URLs. Signing is deferred: the agent asks the control
// plane for pre-signed URLs just in time, authenticated as the agent, so no
// URL ever sits where user code can read it.
package planner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/nscale/nscale/controlplane/catalog"
	"github.com/nscale/nscale/controlplane/discovery"
	"github.com/nscale/nscale/controlplane/policy"
	"github.com/nscale/nscale/controlplane/schema"
	"github.com/nscale/nscale/controlplane/statement"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

// Defaults of Config.
const (
	DefaultTaskTTL         = 10 * time.Minute
	DefaultTargetTaskBytes = 128 << 20
)

// maxObjectsPerTask bounds a task's objects so that a table of many tiny
// files does not make tickets of megabytes.
const maxObjectsPerTask = 1000

// maxLimitObjects bounds the one task of a LIMIT query (about 1 MiB of
// ticket, under gRPC's default 4 MiB message size with room to spare).
const maxLimitObjects = 10_000

// Config wires a Planner.
type Config struct {
	// Catalog evaluates policy and lists files. Required.
	Catalog *catalog.Service
	// Store reads table definitions (location, format, columns). Required:
	// catalog.Service.GetTable is for administrators, and the planner reads
	// the definition on behalf of the control plane itself.
	Store *store.Store
	// Signer signs tasks. Required.
	Signer *taskplan.Signer
	// Sealer seals every signed ticket, so that the client carrying it
	// cannot read it; nil leaves tickets signed but readable (tests).
	Sealer *taskplan.Sealer
	// TaskTTL is how long a ticket is valid; 0 means DefaultTaskTTL.
	TaskTTL time.Duration
	// TargetTaskBytes is the size of data a task should read; 0 means
	// DefaultTargetTaskBytes.
	TargetTaskBytes int64
	// RowGroups reads a Parquet file's row groups, to split files larger
	// than TargetTaskBytes into tasks of row groups; nil reads every file
	// as one task.
	RowGroups RowGroupReader
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// RowGroupReader reads the row groups of a Parquet file of a table.
type RowGroupReader interface {
	RowGroups(ctx context.Context, location string, f store.File) ([]schema.RowGroup, error)
}

// Planner plans queries. It is safe for concurrent use.
type Planner struct {
	cat    *catalog.Service
	st     *store.Store
	signer *taskplan.Signer
	sealer *taskplan.Sealer
	ttl    time.Duration
	target int64
	now    func() time.Time

	rowGroups RowGroupReader
	footers   *footerCache
}

// New returns a Planner. It panics if Catalog, Store or Signer is nil.
func New(cfg Config) *Planner {
	if cfg.Catalog == nil || cfg.Store == nil || cfg.Signer == nil {
		panic("planner: Config.Catalog, Config.Store and Config.Signer are required")
	}
	p := &Planner{cat: cfg.Catalog, st: cfg.Store, signer: cfg.Signer, sealer: cfg.Sealer, ttl: cfg.TaskTTL, target: cfg.TargetTaskBytes, now: cfg.Now,
		rowGroups: cfg.RowGroups, footers: newFooterCache(4096)}
	if p.ttl <= 0 {
		p.ttl = DefaultTaskTTL
	}
	if p.target <= 0 {
		p.target = DefaultTargetTaskBytes
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p
}

// Plan is the result of planning one query.
type Plan struct {
	QueryID string
	Table   string // "db.table"
	SQL     string // the query as sent
	// Schema lists the output columns in order, named by their alias when
	// the query gives one. Schema[i] is the output of every task's
	// Columns[i] (which is named by the stored column).
	Schema []taskplan.Column
	// Tickets are the signed tasks, one per task (Plan only; Stream hands
	// them out one by one).
	Tickets [][]byte
	Tasks   int
	// Files is the number of files of the table; PrunedFiles how many of
	// them no task reads.
	Files, PrunedFiles int
	PolicyVersion      int64
	// LimitTruncated reports a LIMIT query whose one task holds only the
	// first maxLimitObjects files (it may return fewer rows than the limit
	// if those files hold fewer).
	LimitTruncated bool
}

// Plan plans sql for user and returns every ticket at once. Errors are
// *apierr.Error: InvalidArgument for a query outside the subset or that
// does not type-check, PermissionDenied for a table or column the user may
// not read or that does not exist.
func (p *Planner) Plan(ctx context.Context, user, sql string) (*Plan, error) {
	var tickets [][]byte
	plan, err := p.Stream(ctx, user, sql, Options{}, nil, func(t []byte) error {
		tickets = append(tickets, t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	plan.Tickets = tickets
	return plan, nil
}

// Options change what Stream plans.
type Options struct {
	// SchemaOnly checks the query and returns the schema without listing
	// files or signing tasks (prepared statements, schema probes).
	SchemaOnly bool
}

// Stream plans sql for user without holding the tickets: header is called
// once with the plan's query id, schema and policy version before any
// ticket, then ticket once per signed task as files are read from the
// listing, page by page, so memory stays bounded for tables of 100,000+
// files. header may be nil. The returned Plan has the totals and no
// Tickets. An error from header or ticket stops planning and is returned.
func (p *Planner) Stream(ctx context.Context, user, sql string, opts Options, header func(*Plan) error, ticket func([]byte) error) (*Plan, error) {
	if user == "" {
		return nil, apierr.New(apierr.Unauthenticated, "planning needs a user")
	}
	q, err := statement.ParseQuery(sql)
	if err != nil {
		return nil, err
	}
	where, part, err := takeSplit(q.Where)
	if err != nil {
		return nil, err
	}
	q.Where = where
	db, name := q.Table.Database, q.Table.Table
	tableName := db + "." + name
	eff, err := p.cat.ReadPolicy(ctx, user, db, name)
	if err != nil {
		return nil, err
	}
	table, err := p.st.GetTable(ctx, db, name)
	if err != nil {
		return nil, err
	}

	visible := make(map[string]*policy.EffColumn, len(eff.Columns))
	for i := range eff.Columns {
		visible[eff.Columns[i].Name] = &eff.Columns[i]
	}
	unavailable := func(col string) error {
		return apierr.New(apierr.PermissionDenied, "column %s is not available in %s", col, tableName)
	}

	// Projection: task columns are named by the stored column, the schema
	// by the output name.
	var taskCols, schema []taskplan.Column
	add := func(c *policy.EffColumn, out string) {
		tc := taskplan.Column{Name: c.Name, Type: c.Type.String(), Mask: c.Mask, CellFilter: sqlsubset.Tree{Expr: c.CellFilter}}
		if out != c.Name {
			tc.As = out
		}
		taskCols = append(taskCols, tc)
		tc.Name, tc.As = out, ""
		schema = append(schema, tc)
	}
	projected := map[string]bool{}
	if q.Star {
		for i := range eff.Columns {
			add(&eff.Columns[i], eff.Columns[i].Name)
			projected[eff.Columns[i].Name] = true
		}
	} else {
		outNames := map[string]bool{}
		selected := map[string]bool{}
		for i, sc := range q.Columns {
			if sc.Const != nil {
				// SELECT 1: a column of the constant, nothing read for it.
				out := sc.Name
				if sc.Alias != "" {
					out = sc.Alias
				}
				if outNames[out] {
					return nil, apierr.New(apierr.InvalidArgument, "output column name %s appears twice", out)
				}
				outNames[out] = true
				v := sc.Const.Int
				tc := taskplan.Column{Name: fmt.Sprintf("_nscale_const_%d", i), As: out, Type: "int64", Const: &v}
				taskCols = append(taskCols, tc)
				schema = append(schema, taskplan.Column{Name: out, Type: "int64"})
				continue
			}
			c, ok := visible[sc.Name]
			if !ok {
				return nil, unavailable(sc.Name)
			}
			full := strings.Join(append([]string{sc.Name}, sc.Path...), ".")
			if selected[full] {
				return nil, apierr.New(apierr.InvalidArgument, "column %s is selected twice; selecting a column more than once is not supported yet", full)
			}
			selected[full] = true
			out := sc.Name
			if len(sc.Path) > 0 {
				out = sc.Path[len(sc.Path)-1]
			}
			if sc.Alias != "" {
				out = sc.Alias
			}
			if outNames[out] {
				return nil, apierr.New(apierr.InvalidArgument, "output column name %s appears twice", out)
			}
			outNames[out] = true
			projected[sc.Name] = true
			if len(sc.Path) == 0 {
				add(c, out)
				continue
			}
			// A struct field: the task reads the column (its cell filter
			// and mask apply to the whole struct) and returns the field.
			ft, err := taskplan.FieldType(c.Type, sc.Path)
			if err != nil {
				return nil, apierr.New(apierr.InvalidArgument, "%s: %v", full, err)
			}
			tc := taskplan.Column{Name: c.Name, Type: c.Type.String(), Mask: c.Mask, CellFilter: sqlsubset.Tree{Expr: c.CellFilter}, Field: sc.Path}
			if out != c.Name {
				tc.As = out
			}
			taskCols = append(taskCols, tc)
			schema = append(schema, taskplan.Column{Name: out, Type: ft.String(), Mask: c.Mask})
		}
	}
	if len(taskCols) == 0 {
		return nil, apierr.New(apierr.PermissionDenied, "no column of %s is available to user %s", tableName, user)
	}

	// The user's WHERE: visible columns only, type-checked against their
	// types, evaluated by the agent after the masks.
	var pred sqlsubset.Expr
	if q.Where != nil {
		for _, col := range sqlsubset.Columns(q.Where) {
			c, ok := visible[col]
			if !ok {
				return nil, unavailable(col)
			}
			if !projected[col] {
				// Read for the predicate only, masked and cell-filtered
				// like an output column: the WHERE sees what the user
				// would see.
				projected[col] = true
				taskCols = append(taskCols, taskplan.Column{Name: c.Name, Type: c.Type.String(), Mask: c.Mask,
					CellFilter: sqlsubset.Tree{Expr: c.CellFilter}, FilterOnly: true})
			}
		}
		schemaOf := make(sqlsubset.Schema, len(eff.Columns))
		for _, c := range eff.Columns {
			schemaOf[c.Name] = c.Type
		}
		coerced, err := sqlsubset.Coerce(q.Where, schemaOf)
		if err != nil {
			return nil, err // InvalidArgument, naming the column or subexpression
		}
		pred = sqlsubset.Simplify(coerced)
		if l, ok := pred.(*sqlsubset.Literal); ok && l.Type.ID == sqlsubset.Bool && l.Bool {
			pred = nil
		}
	}

	plan := &Plan{QueryID: newID(), Table: tableName, SQL: sql, Schema: schema, PolicyVersion: eff.PolicyVersion}
	if header != nil {
		if err := header(plan); err != nil {
			return nil, err
		}
	}

	// Constant FALSE/NULL filters and LIMIT 0 read nothing.
	if opts.SchemaOnly || q.Limit != nil && *q.Limit == 0 || isFalse(eval(pred, nil)) || isFalse(eval(eff.Filter, nil)) {
		return plan, nil
	}

	// Pruning environments: the row filter sees every partition column's
	// stored value; the user's predicate only unmasked, unfiltered, visible
	// partition columns.
	partCols := map[string]sqlsubset.Type{}
	userPart := map[string]bool{}
	for _, c := range table.PartitionColumns() {
		t, err := sqlsubset.ParseType(c.Type)
		if err != nil || !prunable(t) {
			continue
		}
		partCols[c.Name] = t
		if v, ok := visible[c.Name]; ok && v.Mask == nil && v.CellFilter == nil {
			userPart[c.Name] = true
		}
	}
	rowFilter := eff.Filter
	if rowFilter != nil {
		full := sqlsubset.Schema{}
		for _, c := range table.Columns {
			if t, err := sqlsubset.ParseType(c.Type); err == nil {
				full[c.Name] = t
			}
		}
		if coerced, err := sqlsubset.Coerce(rowFilter, full); err == nil {
			rowFilter = coerced // for pruning only; the task gets eff.Filter as is
		}
	}

	loc := table.Location
	if !strings.HasSuffix(loc, "/") {
		loc += "/"
	}
	now := p.now()
	base := taskplan.Task{
		QueryID:       plan.QueryID,
		Principal:     user,
		Table:         tableName,
		Format:        table.Format,
		FormatOptions: table.FormatOptions,
		Location:      loc,
		Columns:       taskCols,
		RowFilter:     sqlsubset.Tree{Expr: eff.Filter},
		Predicate:     sqlsubset.Tree{Expr: pred},
		PolicyVersion: eff.PolicyVersion,
		PolicyHash:    eff.RulesHash,
		IssuedAt:      now,
		ExpiresAt:     now.Add(p.ttl),
	}
	if q.Limit != nil {
		base.Limit = *q.Limit
	}
	if table.Format == "csv" || table.Format == "json" {
		// Text files carry no types, and a headerless CSV only positions:
		// the agent reads the table's file columns, in order, from here.
		opts, err := fileColumnsOption(table)
		if err != nil {
			return nil, err
		}
		base.FormatOptions = opts
	}
	var pcols []partitionColumn
	for _, c := range table.PartitionColumns() {
		if base.PartitionColumns == nil {
			base.PartitionColumns = map[string]string{}
		}
		t, err := sqlsubset.ParseType(c.Type)
		if err != nil {
			return nil, apierr.Wrap(apierr.Internal, err, "partition column %s of %s", c.Name, tableName)
		}
		base.PartitionColumns[c.Name] = t.String()
		pcols = append(pcols, partitionColumn{name: c.Name, typ: t})
	}

	var group []taskplan.Object
	var groupBytes int64
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		t := base
		t.ID = newID()
		t.Objects = group
		signed, err := p.signer.Sign(t)
		if err != nil {
			return apierr.Wrap(apierr.Internal, err, "signing a task of %s failed", tableName)
		}
		if p.sealer != nil {
			if signed, err = p.sealer.Seal(signed); err != nil {
				return apierr.Wrap(apierr.Internal, err, "sealing a task of %s failed", tableName)
			}
		}
		plan.Tasks++
		group, groupBytes = nil, 0
		return ticket(signed)
	}

	page := store.Page{PageSize: store.MaxPageSize}
	for {
		files, next, err := p.cat.Files(ctx, db, name, page)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			plan.Files++
			if !part.keeps(f.Path) {
				continue // another part's file: neither read nor pruned
			}
			if prune(f, partCols, userPart, rowFilter, pred) {
				plan.PrunedFiles++
				continue
			}
			rel, err := relPath(f.Path, loc)
			if err != nil {
				return nil, apierr.New(apierr.Internal, "file %s of %s: %v", f.Path, tableName, err)
			}
			if q.Limit != nil {
				// LIMIT n is one task: every task carries the limit, so
				// two tasks could return 2n rows. The agent reads the
				// objects in order and stops at n without opening the rest.
				if len(group) >= maxLimitObjects {
					plan.LimitTruncated = true
					continue
				}
			} else if len(group) > 0 && (groupBytes+f.Size > p.target || len(group) >= maxObjectsPerTask) {
				if err := flush(); err != nil {
					return nil, err
				}
			}
			pv, err := partitionValues(f, pcols, tableName)
			if err != nil {
				return nil, err
			}
			obj := taskplan.Object{Path: rel, Size: f.Size, ETag: f.ETag, Partition: pv}
			if q.Limit == nil && table.Format == "parquet" && f.Size > p.target && p.rowGroups != nil {
				if parts := p.splitFile(ctx, loc, f, obj); len(parts) > 1 {
					if err := flush(); err != nil {
						return nil, err
					}
					for _, o := range parts {
						group = []taskplan.Object{o}
						if err := flush(); err != nil {
							return nil, err
						}
					}
					continue
				}
			}
			group = append(group, obj)
			groupBytes += f.Size
		}
		if next == "" {
			break
		}
		page.PageToken = next
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return plan, nil
}

// prune reports whether file f provably has no row that both the row filter
// and the user's predicate admit.
func prune(f store.File, partCols map[string]sqlsubset.Type, userPart map[string]bool, rowFilter, pred sqlsubset.Expr) bool {
	if len(partCols) == 0 {
		return false
	}
	full := map[string]*sqlsubset.Literal{}
	user := map[string]*sqlsubset.Literal{}
	for name, t := range partCols {
		raw, ok := f.Partition[name]
		if !ok {
			continue
		}
		v, err := discovery.PartitionValue(t, raw)
		if err != nil {
			continue
		}
		full[name] = v
		if userPart[name] {
			user[name] = v
		}
	}
	return isFalse(eval(rowFilter, full)) || isFalse(eval(pred, user))
}

// prunable reports whether values of a partition column of type t compare
// exactly as the agent compares them. Floats are left out: a float32
// column's values are rounded, and a mismatch could prune rows that match.
func prunable(t sqlsubset.Type) bool {
	switch t.ID {
	case sqlsubset.Bool, sqlsubset.Int8, sqlsubset.Int16, sqlsubset.Int32, sqlsubset.Int64,
		sqlsubset.Uint8, sqlsubset.Uint16, sqlsubset.Uint32, sqlsubset.Uint64,
		sqlsubset.Decimal128, sqlsubset.String, sqlsubset.Binary, sqlsubset.Date32, sqlsubset.Timestamp:
		return true
	}
	return false
}

// relPath returns the path of a listed file relative to the table location.
// Listings store relative paths; a full address is accepted only under loc.
// Task.Validate refuses absolute paths and "..", so a task never names an
// object outside the table location.
func relPath(path, loc string) (string, error) {
	if rel, ok := strings.CutPrefix(path, loc); ok && rel != "" {
		return rel, nil
	}
	if path == "" || strings.Contains(path, "://") || strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("not inside the table location")
	}
	return path, nil
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b[:])
}
