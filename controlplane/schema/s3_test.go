package schema

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/discovery"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/s3test"
)

func TestReadFooterS3(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "lake")
	const rows, rowGroup = 40000, 4000
	big := writeParquet(t, rows, rowGroup, true)
	small := writeParquet(t, 50, 50, true)
	srv.PutObject(t, "lake", "t/dt=2024-05-06/big.parquet", big)
	srv.PutObject(t, "lake", "t/dt=2024-05-07/small.parquet", small)
	srv.PutObject(t, "lake", "t/dt=2024-05-07/_SUCCESS", nil)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	loc, err := discovery.ParseLocation("s3://lake/t/")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := discovery.List(ctx, loc.String(), discovery.Options{
		Partitions: []discovery.PartitionColumn{{Name: "dt", Type: "date32"}},
		S3:         srv.Client,
		Suffixes:   discovery.Suffixes("parquet"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 {
		t.Fatalf("listed %+v", objs)
	}
	var files []FileColumns
	for _, obj := range objs {
		f, err := Open(ctx, loc, obj, srv.Client, "")
		if err != nil {
			t.Fatal(err)
		}
		r := f.ReaderAt.(*S3ReaderAt)
		ft, err := ReadFooter(f, f.Size, f.Name, FooterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes, footer %d bytes, fetched %d bytes in %d request(s)", f.Name, f.Size, ft.FooterBytes, r.BytesRead(), r.Requests())
		if got := strings.Join(columnStrings(ft.Columns), "\n"); got != strings.Join(allTypesColumns, "\n") {
			t.Errorf("%s columns:\n%s", f.Name, got)
		}
		if r.Requests() != 1 || r.BytesRead() > DefaultPrefetch {
			t.Errorf("%s: %d requests, %d bytes", f.Name, r.Requests(), r.BytesRead())
		}
		if obj.Path == "dt=2024-05-06/big.parquet" {
			if f.Size < 2<<20 || r.BytesRead()*20 > f.Size {
				t.Errorf("big file: fetched %d of %d bytes", r.BytesRead(), f.Size)
			}
			checkAllTypesFooter(t, ft, rows, rowGroup, f.Size)
		}
		files = append(files, FileColumns{Path: f.Name, Columns: ft.Columns})
		f.Close()
	}
	if _, err := Merge(files); err != nil {
		t.Errorf("merge: %v", err)
	}

	// A small prefetch: two ranged reads, footer-sized.
	bigObj := objs[0]
	r := NewS3ReaderAt(ctx, srv.Client, "lake", loc.Key(bigObj.Path), bigObj.Size, bigObj.ETag)
	ft, err := ReadFooter(r, r.Size(), loc.URI(bigObj.Path), FooterOptions{Prefetch: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if ft.FooterBytes+8 <= 4096 || r.Requests() != 2 || r.BytesRead() != ft.FooterBytes+8 {
		t.Errorf("prefetch 4096: %d requests, %d bytes, footer %d", r.Requests(), r.BytesRead(), ft.FooterBytes)
	}

	// Size and ETag from HeadObject.
	size, etag, err := StatS3(ctx, srv.Client, "lake", "t/dt=2024-05-07/small.parquet")
	if err != nil || size != int64(len(small)) || etag != objs[1].ETag {
		t.Errorf("StatS3 = %d %q %v, want %d %q", size, etag, err, len(small), objs[1].ETag)
	}
}

func TestS3ReaderAtErrors(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "lake")
	data := writeParquet(t, 10, 10, true)
	srv.PutObject(t, "lake", "t/a.parquet", data)
	ctx := context.Background()
	size, etag, err := StatS3(ctx, srv.Client, "lake", "t/a.parquet")
	if err != nil {
		t.Fatal(err)
	}

	_, _, err = StatS3(ctx, srv.Client, "lake", "t/missing.parquet")
	if !apierr.Is(err, apierr.NotFound) || !strings.Contains(apierr.PublicMessage(err), "s3://lake/t/missing.parquet") {
		t.Errorf("stat missing: %v", err)
	}
	r := NewS3ReaderAt(ctx, srv.Client, "lake", "t/missing.parquet", 100, "")
	if _, err := ReadFooter(r, 100, "s3://lake/t/missing.parquet", FooterOptions{}); !apierr.Is(err, apierr.NotFound) {
		t.Errorf("read missing: %v", err)
	}
	r = NewS3ReaderAt(ctx, srv.Client, "no-such-bucket", "t/a.parquet", 100, "")
	if _, err := ReadFooter(r, 100, "s3://no-such-bucket/t/a.parquet", FooterOptions{}); !apierr.Is(err, apierr.NotFound) {
		t.Errorf("read from a missing bucket: %v", err)
	}

	// The object is replaced after it was listed: If-Match fails.
	srv.PutObject(t, "lake", "t/a.parquet", append([]byte("PAR1"), data[4:]...))
	srv.PutObject(t, "lake", "t/a.parquet", writeParquet(t, 11, 11, true))
	r = NewS3ReaderAt(ctx, srv.Client, "lake", "t/a.parquet", size, etag)
	if _, err := ReadFooter(r, size, "s3://lake/t/a.parquet", FooterOptions{}); !apierr.Is(err, apierr.FailedPrecondition) {
		t.Errorf("changed object: %v", err)
	}

	// A listed size beyond the object's end.
	_, etag, _ = StatS3(ctx, srv.Client, "lake", "t/a.parquet")
	r = NewS3ReaderAt(ctx, srv.Client, "lake", "t/a.parquet", size+1000, etag)
	if _, err := ReadFooter(r, size+1000, "s3://lake/t/a.parquet", FooterOptions{}); !apierr.Is(err, apierr.FailedPrecondition) {
		t.Errorf("size past the end: %v", err)
	}
}
