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
	"github.com/nscale/nscale/controlplane/schema"
	"github.com/nscale/nscale/controlplane/store"
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
	// Agent binds every ticket to the agent (enrolled id) that asks for
	// the plan; empty binds none.
	Agent string
	// SingleUse marks every ticket single-use (planner.single_use_tickets).
	SingleUse bool
}

// Stream plans sql for user without holding the tickets: header is called
// once with the plan's query id, schema and policy version before any
// ticket, then ticket once per signed task as files are read from the
// listing, page by page, so memory stays bounded for tables of 100,000+
// files. header may be nil. The returned Plan has the totals and no
// Tickets. An error from header or ticket stops planning and is returned.
//
// The phases are in stream.go: resolve (query, policy, table), project
// (the columns), predicate (the user's WHERE), then, unless nothing can
// match, the base task, and the file listing grouped into signed tasks.
func (p *Planner) Stream(ctx context.Context, user, sql string, opts Options, header func(*Plan) error, ticket func([]byte) error) (*Plan, error) {
	r, err := p.resolve(ctx, user, sql)
	if err != nil {
		return nil, err
	}
	if err := r.project(); err != nil {
		return nil, err
	}
	if err := r.predicate(); err != nil {
		return nil, err
	}
	plan := &Plan{QueryID: newID(), Table: r.tableName, SQL: sql, Schema: r.schema, PolicyVersion: r.eff.PolicyVersion}
	if header != nil {
		if err := header(plan); err != nil {
			return nil, err
		}
	}
	// Constant FALSE/NULL filters and LIMIT 0 read nothing.
	if opts.SchemaOnly || r.q.Limit != nil && *r.q.Limit == 0 || isFalse(eval(r.pred, nil)) || isFalse(eval(r.eff.Filter, nil)) {
		return plan, nil
	}
	base, err := r.baseTask(plan.QueryID, p.now(), p.ttl)
	base.Agent, base.SingleUse = opts.Agent, opts.SingleUse
	if err != nil {
		return nil, err
	}
	if err := p.emit(ctx, r, base, plan, ticket); err != nil {
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
