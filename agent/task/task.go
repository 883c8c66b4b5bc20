// Package task runs one verified task plan on the agent: it fetches each of
// the task's objects through pre-signed URLs, scans them as Parquet, CSV
// or newline-delimited JSON (agent/scan, by the task's format and format
// options), enforces the task's policy and hands the resulting record
// batches to the caller.
package task

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/agent/enforce"
	"github.com/nscale/nscale/agent/fetch"
	"github.com/nscale/nscale/agent/scan"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/mask"
	"github.com/nscale/nscale/internal/taskplan"
)

// URLs returns a fresh pre-signed GET URL for obj and the instant it stops
// working. The agent backs it by the control plane; it is called once per
// object and again whenever the URL must be renewed.
type URLs func(ctx context.Context, obj taskplan.Object) (url string, expires time.Time, err error)

// Stats counts what Run did.
type Stats struct {
	Objects      int64 // objects opened
	RowsRead     int64 // stored rows scanned, before any filter
	RowsReturned int64 // rows handed to emit
	BytesRead    int64 // body bytes fetched
	Renewals     int64 // URL renewals across all objects
}

// errLimit stops a scan once the task's limit is reached.
var errLimit = errors.New("task: limit reached")

// Run executes t, which the caller has verified: each object in order is
// fetched through urls, scanned for the columns t needs, and passed through
// the task's enforcer (row filter, cell filters, masks, predicate, limit).
// emit receives every non-empty batch, with the enforcer's OutputSchema;
// Run releases the batch when emit returns, so emit retains what it keeps.
// An error from emit stops Run and is returned unchanged.
//
// Run stops early, without error, once the limit is reached. The enforcer
// is built before anything is read, so a task it cannot enforce reads
// nothing; so is a format, a format option or a column type that the scan
// cannot honour (FailedPrecondition, see scanner). Errors about an object
// show the user only their code and a fixed message (wrapObject); their
// Error() names the object's path, never its URL.
func Run(ctx context.Context, t taskplan.Task, urls URLs, key mask.Key, fetchCfg fetch.Config, mem memory.Allocator, emit func(arrow.RecordBatch) error) (Stats, error) {
	var st Stats
	if urls == nil || emit == nil {
		return st, apierr.New(apierr.InvalidArgument, "task: urls and emit are required")
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	enf, err := enforce.New(t, key, mem)
	if err != nil {
		return st, err
	}
	columns := scan.Columns(t)
	types, err := catalogTypes(t)
	if err != nil {
		return st, err
	}
	scanObj, err := scanner(t, columns, mem)
	if err != nil {
		return st, err
	}
	for _, obj := range t.Objects {
		if enf.Done() {
			break
		}
		if err := ctx.Err(); err != nil {
			return st, err
		}
		st.Objects++
		fileCols, parts, err := splitColumns(t, obj, columns)
		if err != nil {
			return st, err
		}
		done, err := runObject(ctx, obj, urls, fetchCfg, scanObj, fileCols, parts, types, enf, mem, emit, &st)
		if err != nil {
			return st, err
		}
		if done {
			break
		}
	}
	return st, nil
}

// runObject scans one object into emit; done reports that the limit was
// reached.
func runObject(ctx context.Context, obj taskplan.Object, urls URLs, cfg fetch.Config, scanObj objectScan, columns []string, parts *partitions, types map[string]arrow.DataType,
	enf *enforce.Enforcer, mem memory.Allocator, emit func(arrow.RecordBatch) error, st *Stats) (done bool, err error) {
	src := func(ctx context.Context) (string, time.Time, error) {
		u, exp, err := urls(ctx, obj)
		if err != nil {
			return "", time.Time{}, &signError{err}
		}
		return u, exp, nil
	}
	cfg.ETag = obj.ETag
	r, err := fetch.NewReader(ctx, src, obj.Size, cfg)
	if err != nil {
		return false, wrapObject(err, obj)
	}
	defer func() {
		fs := r.Stats()
		st.BytesRead += fs.Bytes
		st.Renewals += fs.Renewals
	}()

	var emitErr error
	err = scanObj(ctx, r, obj, columns, func(rec arrow.RecordBatch) error {
		st.RowsRead += rec.NumRows()
		if conformed, changed, err := conform(mem, rec, types); err != nil {
			return err
		} else if changed {
			defer conformed.Release()
			rec = conformed
		}
		if len(parts.names) > 0 {
			full, err := parts.add(mem, rec)
			if err != nil {
				return err
			}
			defer full.Release()
			rec = full
		}
		out, err := enf.Apply(rec)
		if err != nil {
			return err
		}
		n := out.NumRows()
		if n > 0 {
			if err := emit(out); err != nil {
				out.Release()
				emitErr = err
				return err
			}
			st.RowsReturned += n
		}
		out.Release()
		if enf.Done() {
			return errLimit
		}
		return nil
	})
	switch {
	case err == nil:
		return false, nil
	case emitErr != nil && errors.Is(err, emitErr):
		return false, emitErr
	case errors.Is(err, errLimit):
		return true, nil
	default:
		return false, wrapObject(err, obj)
	}
}

// wrapObject is what the user sees of a failure to read one of the task's
// objects: its code and a message that names neither the object, nor its
// URL, nor anything read from it (a path holds partition values the user
// may not see, a parse error may quote a cell of a hidden row). The whole
// error, with the object's path, stays in Error() for the task report, and
// so for the audit. A refusal of the control plane to sign (the ticket
// expired, the policy changed) is its own user-facing error and passes
// unchanged.
func wrapObject(err error, obj taskplan.Object) error {
	var se *signError
	if errors.As(err, &se) {
		return se.err
	}
	code := apierr.CodeOf(err)
	return &apierr.Error{Code: code, Message: objectMessage(code, err), Err: detail{fmt.Errorf("object %s: %w", obj.Path, err)}}
}

func objectMessage(code apierr.Code, err error) string {
	switch {
	case errors.Is(err, fetch.ErrObjectChanged):
		return "an object of the table changed after the query was planned; run the query again"
	case code == apierr.NotFound:
		return "an object of the table was deleted after the query was planned; run the query again"
	case code == apierr.InvalidArgument:
		return "an object of the table is not valid data of the table's format; the audit's task.read event has the details"
	case code == apierr.FailedPrecondition:
		return "an object of the table cannot be read by this agent; the audit's task.read event has the details"
	case code == apierr.PermissionDenied, code == apierr.Unauthenticated:
		return "the object store refused to serve an object of the table"
	case code == apierr.Unavailable:
		return "the object store did not answer in time; try again"
	}
	return "reading an object of the table failed"
}

// signError marks an error of the URL source (the control plane's SignURLs).
type signError struct{ err error }

func (e *signError) Error() string { return e.err.Error() }
func (e *signError) Unwrap() error { return e.err }

// detail keeps an error's text for logs and reports and hides its chain
// from apierr.PublicMessage, which would show the messages inside it.
type detail struct{ err error }

func (d detail) Error() string { return d.err.Error() }
