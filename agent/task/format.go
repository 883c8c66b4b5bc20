package task

import (
	"context"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/agent/scan"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/taskplan"
)

// objectScan scans one object for the named stored columns (partition
// columns aside) into fn.
type objectScan func(ctx context.Context, r io.ReaderAt, obj taskplan.Object, columns []string, fn func(arrow.RecordBatch) error) error

// scanner returns the scan of t's format. Everything a scan could refuse
// up front (options, column types, byte ranges) is checked here, before
// any object is fetched.
func scanner(t taskplan.Task, columns []string, mem memory.Allocator) (objectScan, error) {
	switch t.Format {
	case "parquet":
		prune := scan.NewPrune(t)
		return func(ctx context.Context, r io.ReaderAt, obj taskplan.Object, columns []string, fn func(arrow.RecordBatch) error) error {
			return scan.ParquetPruned(ctx, r, obj.Size, columns, obj.RowGroups, 0, prune, mem, fn)
		}, nil
	case "csv", "json":
	default:
		return nil, apierr.New(apierr.FailedPrecondition, "format %s is not supported by this agent", t.Format)
	}
	// A CSV or JSON object is read whole: a byte range would need the
	// record boundaries found first, and reading more than the range would
	// serve rows twice.
	for _, obj := range t.Objects {
		if len(obj.Ranges) > 0 {
			return nil, apierr.New(apierr.FailedPrecondition, "object %s: byte ranges of %s objects are not supported by this agent", obj.Path, t.Format)
		}
	}
	var textOpts scan.TextOptions
	var csvOpts scan.CSVOptions
	if t.Format == "csv" {
		o, err := scan.ParseCSVOptions(t.FormatOptions)
		if err != nil {
			return nil, err
		}
		csvOpts, textOpts = o, o.TextOptions
	} else {
		o, err := scan.ParseJSONOptions(t.FormatOptions)
		if err != nil {
			return nil, err
		}
		textOpts = o.TextOptions
	}
	var stored []string
	for _, n := range columns {
		if _, ok := t.PartitionColumns[n]; !ok {
			stored = append(stored, n)
		}
	}
	typed, err := scan.TextColumns(t, stored, textOpts.FileColumns)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]scan.Column, len(typed))
	for _, c := range typed {
		if _, nested := c.Type.(arrow.NestedType); nested && t.Format == "csv" {
			return nil, apierr.New(apierr.FailedPrecondition, "column %s is %s, which CSV cannot hold", c.Name, c.Type)
		}
		byName[c.Name] = c
	}
	return func(ctx context.Context, r io.ReaderAt, obj taskplan.Object, names []string, fn func(arrow.RecordBatch) error) error {
		cols := make([]scan.Column, len(names))
		for i, n := range names {
			c, ok := byName[n]
			if !ok {
				return apierr.New(apierr.Internal, "task: column %s has no type", n)
			}
			cols[i] = c
		}
		if t.Format == "csv" {
			return scan.CSV(ctx, r, obj.Size, cols, csvOpts, mem, fn)
		}
		return scan.JSON(ctx, r, obj.Size, cols, scan.JSONOptions{TextOptions: textOpts}, mem, fn)
	}, nil
}
