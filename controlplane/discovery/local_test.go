package discovery

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// writeTree creates files (with their directories) under root; the
// content of each file is its own path.
func writeTree(t *testing.T, root string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func fileLocation(dir string) string { return "file://" + filepath.ToSlash(dir) + "/" }

func paths(objs []Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.Path
	}
	return out
}

var dtHr = []PartitionColumn{{Name: "dt", Type: "date32"}, {Name: "hr", Type: "int64"}}

func TestListLocalPartitioned(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "table")
	outside := filepath.Join(base, "outside")
	writeTree(t, root,
		"dt=2024-05-06/hr=01/part-0.parquet",
		"dt=2024-05-06/hr=01/.part-0.parquet.crc",
		"dt=2024-05-06/hr=01/part-0.parquet.crc",
		"dt=2024-05-06/hr=01/_SUCCESS",
		"dt=2024-05-06/hr=01/_committed_123",
		"dt=2024-05-06/hr=02/part-0.parquet",
		"dt=2024-05-06/hr=02/nested/deeper/part-1.parquet",
		"dt=2024-05-06/hr=02/.hidden-dir/x.parquet",
		"dt=__HIVE_DEFAULT_PARTITION__/hr=03/null-dt.parquet",
		"dt=2024-05-07/hr=23/données-ü-日本.parquet",
		"_temporary/0/_temporary/attempt_1/dt=garbage/part-0.parquet",
		".hive-staging_hive_2024/dt=2024-05-06/hr=1/x",
		"_SUCCESS",
	)
	writeTree(t, outside, "secret.parquet", "dir/secret2.parquet")
	link := func(target, name string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	link(filepath.Join(outside, "secret.parquet"), "dt=2024-05-06/hr=01/escape.parquet") // absolute, outside
	link("../../../outside/secret.parquet", "dt=2024-05-06/hr=01/escape-rel.parquet")    // relative, outside
	link(filepath.Join(outside, "dir"), "dt=2024-05-06/hr=04")                           // directory, outside
	link("../hr=02/part-0.parquet", "dt=2024-05-06/hr=01/inside.parquet")                // file inside the root
	link("../hr=02", "dt=2024-05-06/hr=05")                                              // directory inside: not followed
	link("missing.parquet", "dt=2024-05-06/hr=01/dangling.parquet")

	objs, err := List(context.Background(), fileLocation(root), Options{Partitions: dtHr})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"dt=2024-05-06/hr=01/inside.parquet",
		"dt=2024-05-06/hr=01/part-0.parquet",
		"dt=2024-05-06/hr=02/nested/deeper/part-1.parquet",
		"dt=2024-05-06/hr=02/part-0.parquet",
		"dt=2024-05-07/hr=23/données-ü-日本.parquet",
		"dt=__HIVE_DEFAULT_PARTITION__/hr=03/null-dt.parquet",
	}
	if got := paths(objs); !slices.Equal(got, want) {
		t.Fatalf("paths:\n got %q\nwant %q", got, want)
	}
	for _, o := range objs {
		if o.Size != int64(len(o.Path)) && !strings.HasSuffix(o.Path, "inside.parquet") {
			t.Errorf("%s: size %d", o.Path, o.Size)
		}
		if o.ETag == "" || o.Modified.IsZero() {
			t.Errorf("%s: no ETag or time: %+v", o.Path, o)
		}
		if len(o.Values) != 2 || len(o.Partition) != 2 {
			t.Errorf("%s: partition %v values %v", o.Path, o.Partition, o.Values)
		}
	}
	// The link inside the root reports the target's size under its own path.
	if objs[0].Size != int64(len("dt=2024-05-06/hr=02/part-0.parquet")) {
		t.Errorf("inside.parquet size = %d", objs[0].Size)
	}
	first := objs[1]
	if first.Partition["dt"] != "2024-05-06" || first.Partition["hr"] != "01" {
		t.Errorf("partition = %v", first.Partition)
	}
	if !first.Values[0].Equal(sqlsubset.Date32Literal(19849)) || !first.Values[1].Equal(sqlsubset.Int64Literal(1)) {
		t.Errorf("values = %+v %+v", first.Values[0], first.Values[1])
	}
	null := objs[5]
	if null.Partition["dt"] != NullPartition || null.Values[0].Type.ID != sqlsubset.Null || !null.Values[1].Equal(sqlsubset.Int64Literal(3)) {
		t.Errorf("null partition: %v %+v", null.Partition, null.Values)
	}

	// A walk may stop early with the callback's own error.
	stop := errors.New("enough")
	n := 0
	err = Walk(context.Background(), fileLocation(root), Options{Partitions: dtHr}, func(Object) error {
		n++
		return stop
	})
	if err != stop || n != 1 {
		t.Errorf("Walk with a stopping callback = %v after %d objects", err, n)
	}
}

func TestListLocalEscapedValues(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root,
		"s=a%2Fb%3Dc%25/n=1/f.csv",
		"s=Zürich/n=2/f.csv.gz",
		"s=100%/n=3/f.json",
		"s=__HIVE_DEFAULT_PARTITION__/n=__HIVE_DEFAULT_PARTITION__/f.bz2",
	)
	objs, err := List(context.Background(), fileLocation(root), Options{
		Partitions: []PartitionColumn{{Name: "s", Type: "string"}, {Name: "n", Type: "int32"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Object{}
	for _, o := range objs {
		got[o.Partition["s"]] = o
	}
	for _, s := range []string{"a/b=c%", "Zürich", "100%", NullPartition} {
		if _, ok := got[s]; !ok {
			t.Errorf("no object with s=%q in %v", s, objs)
		}
	}
	if !got["a/b=c%"].Values[0].Equal(sqlsubset.StringLiteral("a/b=c%")) {
		t.Errorf("escaped value = %+v", got["a/b=c%"].Values[0])
	}
	if c := got["Zürich"].Compression; c != "gzip" {
		t.Errorf("compression of .gz = %q", c)
	}
	if c := got[NullPartition].Compression; c != "bzip2" {
		t.Errorf("compression of .bz2 = %q", c)
	}

	// Suffix filter: only CSV files (with their .gz variants).
	objs, err = List(context.Background(), fileLocation(root), Options{
		Partitions: []PartitionColumn{{Name: "s", Type: "string"}, {Name: "n", Type: "int32"}},
		Suffixes:   Suffixes("csv"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := paths(objs); !slices.Equal(got, []string{"s=Zürich/n=2/f.csv.gz", "s=a%2Fb%3Dc%25/n=1/f.csv"}) {
		t.Errorf("csv files = %q", got)
	}
}

func TestListLocalUnpartitioned(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, "a.parquet", "2024/05/b.parquet", "2024/_tmp/c.parquet", "x/.y/z.parquet")
	objs, err := List(context.Background(), fileLocation(root), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := paths(objs); !slices.Equal(got, []string{"2024/05/b.parquet", "a.parquet"}) {
		t.Errorf("paths = %q", got)
	}
	for _, o := range objs {
		if o.Partition != nil || o.Values != nil {
			t.Errorf("%s: partition %v values %v", o.Path, o.Partition, o.Values)
		}
	}
	empty := t.TempDir()
	objs, err = List(context.Background(), fileLocation(empty), Options{})
	if err != nil || len(objs) != 0 {
		t.Errorf("empty directory: %v, %v", objs, err)
	}
}

func TestListLocalPartitionErrors(t *testing.T) {
	cases := []struct {
		file string
		opts Options
		want []string
	}{
		{"dt=2024-05-06/x.parquet", Options{Partitions: dtHr}, []string{"dt=2024-05-06/x.parquet", "missing hr"}},
		{"x.parquet", Options{Partitions: dtHr}, []string{"/x.parquet", "missing dt, hr"}},
		{"dt=2024-05-06/hr=1/k=2/x.parquet", Options{Partitions: dtHr}, []string{"unexpected k"}},
		{"hr=1/dt=2024-05-06/x.parquet", Options{Partitions: dtHr}, []string{"hr=1/dt=2024-05-06/x.parquet", "wrong order"}},
		{"dt=2024-13-01/hr=1/x.parquet", Options{Partitions: dtHr}, []string{"dt=2024-13-01/hr=1/x.parquet", "partition column dt (date32)", `invalid value "2024-13-01"`}},
		{"dt=2024-05-06/hr=one/x.parquet", Options{Partitions: dtHr}, []string{"partition column hr (int64)", `"one"`}},
		{"dt=2024-05-06/hr=/x.parquet", Options{Partitions: dtHr}, []string{"empty value"}},
		{"sub/dt=2024-05-06/hr=1/x.parquet", Options{Partitions: dtHr}, []string{"below the plain directory"}},
		{"k=1/x.parquet", Options{}, []string{"k=1/x.parquet", "unexpected k"}},
		{"b=true/x", Options{Partitions: []PartitionColumn{{Name: "b", Type: "bool"}, {Name: "t", Type: "timestamp(s)"}}}, []string{"missing t"}},
		{"t=2024-05-06 10%3A00%3A00.5/x", Options{Partitions: []PartitionColumn{{Name: "t", Type: "timestamp(s)"}}}, []string{"partition column t (timestamp(s))", "finer than"}},
	}
	for _, c := range cases {
		root := t.TempDir()
		writeTree(t, root, c.file)
		_, err := List(context.Background(), fileLocation(root), c.opts)
		if !apierr.Is(err, apierr.InvalidArgument) {
			t.Errorf("%s: err = %v, want InvalidArgument", c.file, err)
			continue
		}
		msg := apierr.PublicMessage(err)
		for _, w := range append(c.want, fileLocation(root)) {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: message %q does not contain %q", c.file, msg, w)
			}
		}
	}
}

func TestListLocalTimestampPartition(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, "t=2024-05-06 10%3A00%3A00/x")
	objs, err := List(context.Background(), fileLocation(root), Options{Partitions: []PartitionColumn{{Name: "t", Type: "timestamp(us,UTC)"}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := sqlsubset.TimestampLiteral(1714989600_000000, sqlsubset.Micro, "UTC"); len(objs) != 1 || !objs[0].Values[0].Equal(want) {
		t.Errorf("timestamp partition = %+v", objs)
	}
}

func TestDiscoverPartitions(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, "a=1/b=x/f1", "a=2/b=y/f2")
	objs, err := List(context.Background(), fileLocation(root), Options{DiscoverPartitions: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[1].Partition["b"] != "y" || objs[1].Values != nil {
		t.Errorf("discovered = %+v", objs)
	}
	writeTree(t, root, "b=3/a=z/f3")
	_, err = List(context.Background(), fileLocation(root), Options{DiscoverPartitions: true})
	if !apierr.Is(err, apierr.InvalidArgument) || !strings.Contains(err.Error(), "conflicting directory layouts") {
		t.Errorf("conflicting layouts: %v", err)
	}
	_, err = List(context.Background(), fileLocation(root), Options{DiscoverPartitions: true, Partitions: dtHr})
	if !apierr.Is(err, apierr.InvalidArgument) {
		t.Errorf("DiscoverPartitions with declared partitions: %v", err)
	}
}

func TestListLocalErrors(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	missing := filepath.Join(base, "missing")
	_, err := List(ctx, fileLocation(missing), Options{})
	if !apierr.Is(err, apierr.NotFound) || !strings.Contains(apierr.PublicMessage(err), fileLocation(missing)) {
		t.Errorf("missing directory: %v", err)
	}
	writeTree(t, base, "plain.parquet")
	_, err = List(ctx, fileLocation(filepath.Join(base, "plain.parquet")), Options{})
	if !apierr.Is(err, apierr.InvalidArgument) || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file as location: %v", err)
	}
	_, err = List(ctx, fileLocation(filepath.Join(base, "plain.parquet", "x")), Options{})
	if !apierr.Is(err, apierr.NotFound) {
		t.Errorf("path below a file: %v", err)
	}
	_, err = List(ctx, "s3://bucket/t/", Options{})
	if !apierr.Is(err, apierr.FailedPrecondition) {
		t.Errorf("s3 without client: %v", err)
	}
	for _, cols := range [][]PartitionColumn{
		{{Name: "a", Type: "int"}},
		{{Name: "a", Type: "list<int64>"}},
		{{Name: "", Type: "int64"}},
		{{Name: "a", Type: "int64"}, {Name: "a", Type: "string"}},
	} {
		if _, err := List(ctx, fileLocation(base), Options{Partitions: cols}); !apierr.Is(err, apierr.InvalidArgument) {
			t.Errorf("partition columns %v: %v", cols, err)
		}
	}

	// Confinement to the local files root, also through a symbolic link.
	allowed := filepath.Join(base, "allowed")
	writeTree(t, allowed, "t/a.parquet")
	if err := os.Symlink(base, filepath.Join(allowed, "up")); err != nil {
		t.Fatal(err)
	}
	if _, err := List(ctx, fileLocation(filepath.Join(allowed, "t")), Options{LocalRoot: allowed}); err != nil {
		t.Errorf("inside the local root: %v", err)
	}
	// A relative root (the default ./data/files) confines the same way.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(base); err != nil {
		t.Fatal(err)
	}
	_, relErr := List(ctx, fileLocation(filepath.Join(allowed, "t")), Options{LocalRoot: "./allowed"})
	_, relOut := List(ctx, fileLocation(base), Options{LocalRoot: "./allowed"})
	if err := os.Chdir(wd); err != nil {
		t.Fatal(err)
	}
	if relErr != nil || !apierr.Is(relOut, apierr.PermissionDenied) {
		t.Errorf("relative local root: inside %v, outside %v", relErr, relOut)
	}
	for _, dir := range []string{base, filepath.Join(allowed, "up")} {
		_, err := List(ctx, fileLocation(dir), Options{LocalRoot: allowed})
		if !apierr.Is(err, apierr.PermissionDenied) {
			t.Errorf("outside the local root (%s): %v", dir, err)
		}
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	big := filepath.Join(base, "big")
	for i := range 300 {
		writeTree(t, big, fmt.Sprintf("d%d/f%d", i%10, i))
	}
	if _, err := List(cancelled, fileLocation(big), Options{}); !apierr.Is(err, apierr.Unavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestListLocalPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every directory")
	}
	root := t.TempDir()
	writeTree(t, root, "a/x.parquet")
	if err := os.Chmod(filepath.Join(root, "a"), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(root, "a"), 0o755) })
	_, err := List(context.Background(), fileLocation(root), Options{})
	if !apierr.Is(err, apierr.PermissionDenied) || !strings.Contains(err.Error(), "/a") {
		t.Errorf("unreadable directory: %v", err)
	}
}

func TestListLocalInvalidUTF8Name(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "bad\xffname.parquet"), nil, 0o644); err != nil {
		t.Skip("file system refuses non-UTF-8 names:", err)
	}
	_, err := List(context.Background(), fileLocation(root), Options{})
	if !apierr.Is(err, apierr.InvalidArgument) || !strings.Contains(err.Error(), `bad\xffname.parquet`) {
		t.Errorf("non-UTF-8 name: %v", err)
	}
}
