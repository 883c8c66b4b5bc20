package schema

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nscale/nscale/controlplane/discovery"
	"github.com/nscale/nscale/internal/apierr"
)

// rangeIgnoringS3 answers every GetObject with the whole object, as a store
// that ignores Range would.
type rangeIgnoringS3 struct{ data []byte }

func (f rangeIgnoringS3) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(f.data))}, nil
}

func (f rangeIgnoringS3) HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	return &s3.HeadObjectOutput{}, nil
}

func TestS3ReaderAtRangeIgnored(t *testing.T) {
	data := writeParquet(t, 5, 5, false)
	r := NewS3ReaderAt(context.Background(), rangeIgnoringS3{data}, "b", "k", int64(len(data)), "")
	_, err := ReadFooter(r, int64(len(data)), "s3://b/k", FooterOptions{Prefetch: 16})
	if !apierr.Is(err, apierr.Unavailable) {
		t.Errorf("range ignored: %v", err)
	}
	if n, err := r.ReadAt(make([]byte, 4), int64(len(data))); n != 0 || err != io.EOF {
		t.Errorf("ReadAt at the end = %d, %v", n, err)
	}
}

func TestOpenLocalTable(t *testing.T) {
	dir := t.TempDir()
	data := writeParquet(t, 5, 5, true)
	if err := os.MkdirAll(filepath.Join(dir, "dt=2024-05-06"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dt=2024-05-06", "a.parquet"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	loc, _ := discovery.ParseLocation("file://" + dir)
	objs, err := discovery.List(context.Background(), loc.String(), discovery.Options{
		Partitions: []discovery.PartitionColumn{{Name: "dt", Type: "date32"}},
	})
	if err != nil || len(objs) != 1 {
		t.Fatalf("list: %v %v", objs, err)
	}
	f, err := Open(context.Background(), loc, objs[0], nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Name != loc.String()+"dt=2024-05-06/a.parquet" {
		t.Errorf("name = %q", f.Name)
	}
	if _, err := ReadFooter(f, f.Size, f.Name, FooterOptions{}); err != nil {
		t.Error(err)
	}
	stale := objs[0]
	stale.Size++
	if _, err := Open(context.Background(), loc, stale, nil, dir); !apierr.Is(err, apierr.FailedPrecondition) {
		t.Errorf("changed size: %v", err)
	}
	s3loc, _ := discovery.ParseLocation("s3://bucket/t/")
	if _, err := Open(context.Background(), s3loc, objs[0], nil, dir); !apierr.Is(err, apierr.FailedPrecondition) {
		t.Errorf("s3 without client: %v", err)
	}
	// CSV through the same File.
	csvPath := filepath.Join(dir, "a.csv")
	os.WriteFile(csvPath, []byte("a,b\n1,x\n"), 0o644)
	cf, err := OpenLocal(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer cf.Close()
	cols, err := InferCSV(cf.Section(), cf.Name, CSVOptions{Header: true})
	if err != nil || len(cols) != 2 || cols[0].Type.String() != "int64" {
		t.Errorf("csv via File: %v %v", cols, err)
	}
}

// TestOpenConfinedToLocalRoot: footer and sample reads go through an os.Root
// at local_files.root, like /blob/: a listed file that has become a symlink
// to a file outside the root (swapped after the listing) is refused, and so
// is a table outside the root.
func TestOpenConfinedToLocalRoot(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "files")
	table := filepath.Join(root, "t")
	if err := os.MkdirAll(table, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(base, "secret.parquet")
	data := writeParquet(t, 5, 5, true)
	for _, p := range []string{secret, filepath.Join(table, "a.parquet")} {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	loc, _ := discovery.ParseLocation("file://" + table)
	obj := discovery.Object{Path: "a.parquet", Size: int64(len(data))}
	f, err := Open(context.Background(), loc, obj, nil, root)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Swapped for a symlink out of the root after the listing.
	if err := os.Remove(filepath.Join(table, "a.parquet")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(table, "a.parquet")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), loc, obj, nil, root); !apierr.Is(err, apierr.PermissionDenied) {
		t.Fatalf("symlink out of the root: %v, want PermissionDenied", err)
	}
	outside, _ := discovery.ParseLocation("file://" + base)
	if _, err := Open(context.Background(), outside, discovery.Object{Path: "secret.parquet", Size: int64(len(data))}, nil, root); !apierr.Is(err, apierr.PermissionDenied) {
		t.Fatalf("a table outside the root: %v, want PermissionDenied", err)
	}
}
