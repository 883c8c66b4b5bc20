package discovery

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// Object is one data file of a table.
type Object struct {
	// Path is relative to the table root, "/"-separated, as stored (not
	// unescaped): "dt=2024-05-06/part-0.parquet".
	Path string
	Size int64
	// ETag is the S3 ETag without quotes. For local files it is a weak
	// validator made of the modification time and the size.
	ETag     string
	Modified time.Time
	// Partition holds the partition values by key, unescaped; a NULL value
	// is NullPartition. Nil for a table without partitions.
	Partition map[string]string
	// Values are the typed partition values in the order of
	// Options.Partitions (a NULL is sqlsubset.NullLiteral()). Nil without
	// declared partition columns.
	Values []*sqlsubset.Literal
	// Compression is what the file name's suffix says: "gzip" (.gz),
	// "bzip2" (.bz2), "zstd" (.zst, .zstd), "snappy" (.snappy),
	// "lz4" (.lz4), "deflate" (.deflate), "xz" (.xz) or "" (none).
	// Parquet compresses inside the file and needs no suffix.
	Compression string
}

// Options control a listing.
type Options struct {
	// Partitions are the table's declared partition columns in order. Every
	// file must sit under exactly these key=value directories, in this
	// order; their values must convert to the column types.
	Partitions []PartitionColumn
	// DiscoverPartitions, for a table without declared partitions, accepts
	// any key=value directories and only checks that every file has the
	// same keys in the same order as the first one (as Spark's partition
	// discovery does). Object.Values stays nil.
	DiscoverPartitions bool
	// Suffixes, when not empty, keeps only files whose name ends in one of
	// them (compared without regard to case), e.g. Suffixes("parquet").
	// Empty keeps every visible file, as Hive does: Hive and Spark write
	// files like 000000_0 or part-00000 without any suffix.
	Suffixes []string
	// S3 is the client for s3:// locations (controlplane/storage builds it
	// with the control plane's credentials, region, endpoint and
	// path-style setting). *s3.Client satisfies it.
	S3 s3.ListObjectsV2APIClient
	// PageSize is the S3 page size (MaxKeys); 0 means the server's default
	// (1000 on AWS).
	PageSize int32
	// LocalRoot, when set, confines file:// locations to this directory
	// (after resolving symbolic links): the control plane's local_files
	// root.
	LocalRoot string
}

// formatSuffixes are the usual file name suffixes of each format.
var formatSuffixes = map[string][]string{
	"parquet": {".parquet", ".parq", ".pq"},
	"csv":     {".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz"},
	"json":    {".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz"},
}

// Suffixes returns the usual file name suffixes of a format ("parquet",
// "csv" or "json"), for Options.Suffixes; nil for another format. CSV and
// JSON include their .gz variants; Parquet compresses inside the file.
func Suffixes(format string) []string {
	return slices.Clone(formatSuffixes[strings.ToLower(format)])
}

var compressionSuffixes = []struct{ suffix, name string }{
	{".gz", "gzip"}, {".gzip", "gzip"}, {".bz2", "bzip2"}, {".zst", "zstd"}, {".zstd", "zstd"},
	{".snappy", "snappy"}, {".lz4", "lz4"}, {".deflate", "deflate"}, {".xz", "xz"},
}

// CompressionOf returns the compression a file name's suffix names, or "".
func CompressionOf(name string) string {
	lower := strings.ToLower(name)
	for _, c := range compressionSuffixes {
		if strings.HasSuffix(lower, c.suffix) {
			return c.name
		}
	}
	return ""
}

// rawFile is what a backend reports for one object.
type rawFile struct {
	rel      string // relative to the table root, "/"-separated
	size     int64
	etag     string
	modified time.Time
}

// lister enumerates every object under a table root, in any order, calling
// fn for each; it stops at fn's first error and returns it unchanged.
type lister interface {
	list(ctx context.Context, fn func(rawFile) error) error
}

// Walk lists the data files under location and calls fn for each, in the
// backend's order (S3: key order; local: directory order). It never holds
// more than one S3 page. fn's error stops the walk and is returned as it
// is. Errors of the walk itself are *apierr.Error:
//
//	InvalidArgument     bad location or options; a file whose path or
//	                    partition values break the rules (names the file)
//	NotFound            missing bucket or local directory
//	PermissionDenied    the control plane may not list the location
//	Unavailable         the store did not answer, or ctx ended
//
// An S3 prefix without objects is an empty table, not an error.
func Walk(ctx context.Context, location string, opts Options, fn func(Object) error) error {
	loc, err := ParseLocation(location)
	if err != nil {
		return err
	}
	spec, err := compilePartitions(opts.Partitions)
	if err != nil {
		return err
	}
	if opts.DiscoverPartitions && len(spec.names) > 0 {
		return apierr.New(apierr.InvalidArgument, "DiscoverPartitions is for tables without declared partition columns")
	}
	var l lister
	switch loc.Scheme {
	case SchemeS3:
		if opts.S3 == nil {
			return apierr.New(apierr.FailedPrecondition, "no S3 client is configured for %s", loc)
		}
		l = &s3Lister{client: opts.S3, loc: loc, pageSize: opts.PageSize}
	case SchemeFile:
		l = &localLister{loc: loc, confine: opts.LocalRoot}
	}
	w := walker{loc: loc, spec: spec, opts: opts, fn: fn}
	return l.list(ctx, w.visit)
}

// List is Walk collecting the objects, sorted by Path.
func List(ctx context.Context, location string, opts Options) ([]Object, error) {
	var out []Object
	err := Walk(ctx, location, opts, func(o Object) error {
		out = append(out, o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Object) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

type walker struct {
	loc  Location
	spec partitionSpec
	opts Options
	fn   func(Object) error
	// discovered are the keys of the first file (DiscoverPartitions).
	discovered []string
	first      string
}

func (w *walker) visit(f rawFile) error {
	info, hidden, err := ParsePath(f.rel)
	if err != nil {
		return apierr.New(apierr.InvalidArgument, "file %s: %v", w.loc.URI(safeRel(f.rel)), err)
	}
	if hidden || !w.suffixOK(info.Name) {
		return nil
	}
	o := Object{Path: f.rel, Size: f.size, ETag: f.etag, Modified: f.modified, Compression: CompressionOf(info.Name)}
	switch {
	case w.opts.DiscoverPartitions:
		if w.first == "" {
			w.first, w.discovered = f.rel, info.Keys
		} else if !slices.Equal(w.discovered, info.Keys) {
			return apierr.New(apierr.InvalidArgument, "file %s has partition directories (%s) but %s has (%s): conflicting directory layouts",
				w.loc.URI(f.rel), strings.Join(info.Keys, ", "), w.loc.URI(w.first), strings.Join(w.discovered, ", "))
		}
	default:
		if why := keysMismatch(info.Keys, w.spec.names); why != "" {
			return apierr.New(apierr.InvalidArgument, "file %s: %s", w.loc.URI(f.rel), why)
		}
		if len(w.spec.names) > 0 {
			o.Values = make([]*sqlsubset.Literal, len(info.Values))
			for i, raw := range info.Values {
				v, err := PartitionValue(w.spec.types[i], raw)
				if err != nil {
					return apierr.New(apierr.InvalidArgument, "file %s: partition column %s (%s): invalid value %q: %v",
						w.loc.URI(f.rel), w.spec.names[i], w.spec.types[i], raw, err)
				}
				o.Values[i] = v
			}
		}
	}
	if len(info.Keys) > 0 {
		o.Partition = make(map[string]string, len(info.Keys))
		for i, k := range info.Keys {
			o.Partition[k] = info.Values[i]
		}
	}
	return w.fn(o)
}

func (w *walker) suffixOK(name string) bool {
	if len(w.opts.Suffixes) == 0 {
		return true
	}
	lower := strings.ToLower(name)
	for _, s := range w.opts.Suffixes {
		if strings.HasSuffix(lower, strings.ToLower(s)) {
			return true
		}
	}
	return false
}

// safeRel quotes a path that cannot be shown as it is (invalid UTF-8,
// control characters) for an error message.
func safeRel(rel string) string {
	for _, r := range rel {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return fmt.Sprintf("%q", rel)
		}
	}
	return rel
}
