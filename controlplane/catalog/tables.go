package catalog

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nscale/nscale/controlplane/discovery"
	"github.com/nscale/nscale/controlplane/statement"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/apierr"
)

// Objects lists and inspects a table's files. The control plane's
// implementation reads S3 with its own credentials and local files under
// local_files.root.
type Objects interface {
	// List returns the data files under location (hidden files skipped),
	// with Hive partition values checked against the partition columns.
	List(ctx context.Context, location, format string, partitions []store.Column) ([]store.File, error)
	// Infer reads the columns of a table from its files (Parquet footer,
	// CSV or JSON sample), reporting a mismatch between files.
	Infer(ctx context.Context, location, format string, options map[string]string, files []store.File) ([]store.Column, error)
}

// tablePrep is what CREATE and REFRESH TABLE learn from the object store
// before their transaction.
type tablePrep struct {
	table  store.Table
	files  []store.File
	exists bool // CREATE TABLE IF NOT EXISTS found the table: nothing to read
}

// Format options live in TBLPROPERTIES; these keys configure the reader.
var formatOptionKeys = map[string][]string{
	"csv":     {"header", "delimiter", "quote"},
	"json":    {},
	"parquet": {},
}

func (s *Service) prepareCreate(ctx context.Context, st *statement.CreateTable) (*tablePrep, error) {
	if s.objects == nil {
		return nil, apierr.New(apierr.FailedPrecondition, "this control plane has no object store configured; cannot create %s", st.Table)
	}
	if st.IfNotExists {
		if _, err := s.store.GetTable(ctx, st.Table.Database, st.Table.Table); err == nil {
			return &tablePrep{exists: true}, nil
		} else if !apierr.Is(err, apierr.NotFound) {
			return nil, err
		}
	}
	loc, err := s.checkLocation(st.Location)
	if err != nil {
		return nil, err
	}
	t := store.Table{Database: st.Table.Database, Name: st.Table.Table, Location: loc, Format: string(st.Format),
		Comment: st.Comment, Properties: map[string]string{}}
	for _, p := range st.Properties {
		t.Properties[p.Key] = p.Value
	}
	if err := applyFormatOptions(&t); err != nil {
		return nil, err
	}
	var parts []store.Column
	for _, c := range st.PartitionedBy {
		parts = append(parts, store.Column{Name: c.Name, Type: c.Type.String(), Nullable: !c.NotNull, Comment: c.Comment, IsPartition: true})
	}
	files, err := s.objects.List(ctx, loc, t.Format, parts)
	if err != nil {
		return nil, err
	}
	cols := make([]store.Column, 0, len(st.Columns)+len(parts))
	if len(st.Columns) > 0 {
		for _, c := range st.Columns {
			cols = append(cols, store.Column{Name: c.Name, Type: c.Type.String(), Nullable: !c.NotNull, Comment: c.Comment})
		}
	} else {
		if len(files) == 0 {
			return nil, apierr.New(apierr.InvalidArgument, "cannot infer the columns of %s: no data files under %s; declare the columns", st.Table, loc)
		}
		inferred, err := s.objects.Infer(ctx, loc, t.Format, t.FormatOptions, files)
		if err != nil {
			return nil, err
		}
		for _, c := range inferred {
			for _, p := range parts {
				if p.Name == c.Name {
					return nil, apierr.New(apierr.InvalidArgument, "column %s is both in the files of %s and a partition column", c.Name, st.Table)
				}
			}
			c.IsPartition = false
			cols = append(cols, c)
		}
	}
	cols = append(cols, parts...)
	for i := range cols {
		cols[i].Position = i
	}
	t.Columns = cols
	return &tablePrep{table: t, files: files}, nil
}

func (s *Service) prepareRefresh(ctx context.Context, tn statement.TableName) (*tablePrep, error) {
	if s.objects == nil {
		return nil, apierr.New(apierr.FailedPrecondition, "this control plane has no object store configured; cannot refresh %s", tn)
	}
	t, err := s.store.GetTable(ctx, tn.Database, tn.Table)
	if err != nil {
		return nil, err
	}
	var parts []store.Column
	for _, c := range t.Columns {
		if c.IsPartition {
			parts = append(parts, c)
		}
	}
	files, err := s.objects.List(ctx, t.Location, t.Format, parts)
	if err != nil {
		return nil, err
	}
	return &tablePrep{table: t, files: files}, nil
}

func (w *write) createTable(ctx context.Context, tx *store.Tx, st *statement.CreateTable, prep *tablePrep) (string, string, error) {
	target := st.Table.String()
	if prep.exists {
		return "table " + target + " already exists", target, nil
	}
	if st.IfNotExists {
		if _, err := tx.GetTable(ctx, st.Table.Database, st.Table.Table); err == nil {
			return "table " + target + " already exists", target, nil
		} else if !apierr.Is(err, apierr.NotFound) {
			return "", "", err
		}
	}
	t, err := tx.CreateTable(ctx, prep.table)
	if err != nil {
		return "", "", err
	}
	if err := tx.ReplaceFiles(ctx, store.TableRef{ID: t.ID, Database: t.Database, Name: t.Name}, prep.files, w.s.now()); err != nil {
		return "", "", err
	}
	return fmt.Sprintf("created table %s (%d columns, %d files)", target, len(t.Columns), len(prep.files)), target, nil
}

// checkLocation accepts s3://bucket/prefix/ and file:// paths under the
// local root, and returns the location's canonical form (discovery's), the
// one every later step parses the same way: listing, signing and reading
// never decode or re-parse it differently (a "%3F" stays those three
// characters, a "?" is part of a name, not a query).
func (s *Service) checkLocation(loc string) (string, error) {
	l, err := discovery.ParseLocation(loc)
	if err != nil {
		return "", err
	}
	if l.Scheme == discovery.SchemeFile {
		if s.localRoot == "" {
			return "", apierr.New(apierr.FailedPrecondition, "file:// tables are disabled: local_files.root is not set")
		}
		root, err := filepath.Abs(s.localRoot)
		if err != nil {
			return "", apierr.Wrap(apierr.Internal, err, "local_files.root")
		}
		if l.Dir != root && !strings.HasPrefix(l.Dir, root+string(filepath.Separator)) {
			return "", apierr.New(apierr.PermissionDenied, "LOCATION %q is outside local_files.root (%s)", loc, root)
		}
	}
	return l.String(), nil
}

// applyFormatOptions moves the reader options out of the properties and
// validates them.
func applyFormatOptions(t *store.Table) error {
	keys, ok := formatOptionKeys[t.Format]
	if !ok {
		return apierr.New(apierr.InvalidArgument, "format %q: want parquet, csv or json", t.Format)
	}
	if t.FormatOptions == nil {
		t.FormatOptions = map[string]string{}
	}
	for _, k := range keys {
		if v, ok := t.Properties[k]; ok {
			t.FormatOptions[k] = v
		}
	}
	if t.Format != "csv" {
		return nil
	}
	if v, ok := t.FormatOptions["header"]; ok {
		if _, err := strconv.ParseBool(v); err != nil {
			return apierr.New(apierr.InvalidArgument, "TBLPROPERTIES 'header'=%q: want true or false", v)
		}
	}
	for _, k := range []string{"delimiter", "quote"} {
		if v, ok := t.FormatOptions[k]; ok && (len(v) != 1 || v[0] >= 0x80) {
			return apierr.New(apierr.InvalidArgument, "TBLPROPERTIES '%s'=%q: want exactly one ASCII character", k, v)
		}
	}
	return nil
}
