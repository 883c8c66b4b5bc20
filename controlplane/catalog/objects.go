package catalog

import (
	"context"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nscale/nscale/controlplane/discovery"
	"github.com/nscale/nscale/controlplane/schema"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/apierr"
)

// ObjectStore is the control plane's Objects: S3 through its own client,
// local files under the local root.
type ObjectStore struct {
	S3        *s3.Client // nil when no s3 section is configured
	LocalRoot string
}

// List implements Objects.
func (o *ObjectStore) List(ctx context.Context, location, format string, partitions []store.Column) ([]store.File, error) {
	opts := discovery.Options{Suffixes: discovery.Suffixes(format), LocalRoot: o.LocalRoot}
	if o.S3 != nil {
		opts.S3 = o.S3
	}
	for _, p := range partitions {
		opts.Partitions = append(opts.Partitions, discovery.PartitionColumn{Name: p.Name, Type: p.Type})
	}
	var files []store.File
	err := discovery.Walk(ctx, location, opts, func(obj discovery.Object) error {
		files = append(files, store.File{Path: obj.Path, Size: obj.Size, ETag: obj.ETag, Modified: obj.Modified, Partition: obj.Partition})
		return nil
	})
	return files, err
}

// inferSample bounds how many files CREATE TABLE reads to infer columns:
// evenly spread over the listing, first and last included, so a mismatch
// between old and new files shows without reading 100,000 footers.
const inferSample = 16

// Infer implements Objects: Parquet footers (ranged reads), or a CSV/JSON
// sample, merged across a spread of files.
func (o *ObjectStore) Infer(ctx context.Context, location, format string, options map[string]string, files []store.File) ([]store.Column, error) {
	loc, err := discovery.ParseLocation(location)
	if err != nil {
		return nil, err
	}
	var per []schema.FileColumns
	for _, f := range spread(files, inferSample) {
		cols, err := o.inferFile(ctx, loc, format, options, f)
		if err != nil {
			return nil, err
		}
		per = append(per, schema.FileColumns{Path: loc.URI(f.Path), Columns: cols})
	}
	merged, err := schema.Merge(per)
	if err != nil {
		return nil, err
	}
	out := make([]store.Column, len(merged))
	for i, c := range merged {
		out[i] = store.Column{Name: c.Name, Type: c.Type.String(), Nullable: c.Nullable}
	}
	return out, nil
}

func (o *ObjectStore) inferFile(ctx context.Context, loc discovery.Location, format string, options map[string]string, f store.File) ([]schema.Column, error) {
	var client schema.S3API
	if o.S3 != nil {
		client = o.S3
	}
	file, err := schema.Open(ctx, loc, discovery.Object{Path: f.Path, Size: f.Size, ETag: f.ETag}, client, o.LocalRoot)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	name := loc.URI(f.Path)
	switch format {
	case "parquet":
		footer, err := schema.ReadFooter(file, file.Size, name, schema.FooterOptions{})
		if err != nil {
			return nil, err
		}
		return footer.Columns, nil
	case "csv":
		opts := schema.CSVOptions{Header: true, Delimiter: ',', Quote: '"'}
		if v, ok := options["header"]; ok {
			opts.Header, _ = strconv.ParseBool(v) // validated when written
		}
		if v := options["delimiter"]; v != "" {
			opts.Delimiter = v[0]
		}
		if v := options["quote"]; v != "" {
			opts.Quote = v[0]
		}
		return schema.InferCSV(file.Section(), name, opts)
	case "json":
		return schema.InferJSON(file.Section(), name, schema.JSONOptions{})
	}
	return nil, apierr.New(apierr.InvalidArgument, "format %q: want parquet, csv or json", format)
}

// spread picks at most n files evenly, always the first and the last.
func spread(files []store.File, n int) []store.File {
	if len(files) <= n {
		return files
	}
	out := make([]store.File, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, files[i*(len(files)-1)/(n-1)])
	}
	return out
}

// RowGroups reads the footer of the Parquet file f of the table at
// location (one ranged read of its tail) and returns its row groups, for
// the planner to split a large file into tasks.
func (o *ObjectStore) RowGroups(ctx context.Context, location string, f store.File) ([]schema.RowGroup, error) {
	loc, err := discovery.ParseLocation(location)
	if err != nil {
		return nil, err
	}
	var client schema.S3API
	if o.S3 != nil {
		client = o.S3
	}
	file, err := schema.Open(ctx, loc, discovery.Object{Path: f.Path, Size: f.Size, ETag: f.ETag}, client, o.LocalRoot)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	footer, err := schema.ReadFooter(file, file.Size, loc.URI(f.Path), schema.FooterOptions{})
	if err != nil {
		return nil, err
	}
	return footer.RowGroups, nil
}
