package discovery

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/s3test"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// countingClient counts ListObjectsV2 calls (pages).
type countingClient struct {
	s3.ListObjectsV2APIClient
	pages atomic.Int32
}

func (c *countingClient) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	c.pages.Add(1)
	return c.ListObjectsV2APIClient.ListObjectsV2(ctx, in, opts...)
}

// putAll uploads keys (content: the key) with at most 16 requests in flight.
func putAll(t *testing.T, srv *s3test.Server, bucket string, keys []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var (
		wg    sync.WaitGroup
		sem   = make(chan struct{}, 16)
		mu    sync.Mutex
		first error
	)
	for _, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := srv.Client.PutObject(ctx, &s3.PutObjectInput{
				Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader([]byte(k)),
			})
			if err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("put %q: %w", k, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

func TestListS3(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "lake")
	const perHour, hours = 100, 12 // 1,200 data files: more than one page
	var keys []string
	for h := range hours {
		dir := fmt.Sprintf("tbl/dt=2024-05-06/hr=%02d/", h)
		for i := range perHour {
			keys = append(keys, fmt.Sprintf("%spart-%05d.parquet", dir, i))
		}
		keys = append(keys, dir+"_SUCCESS", dir+".part-00000.parquet.crc", dir+"_committed_1")
	}
	keys = append(keys,
		"tbl/_temporary/0/_temporary/attempt_1/dt=x/part-0.parquet",
		"tbl/.hive-staging_1/dt=2024-05-06/hr=1/x",
		"tbl/dt=2024-05-06/hr=00_$folder$",
		"tbl-other/dt=2024-05-06/hr=1/outside.parquet", // shares the prefix "tbl" but not "tbl/"
		"other/x.parquet",
	)
	putAll(t, srv, "lake", keys)
	// Unicode, escaped and NULL partition values, and a directory marker.
	srv.PutObject(t, "lake", "tbl/dt=2024-05-07/hr=23/données-ü-日本.parquet", []byte("x"))
	srv.PutObject(t, "lake", "tbl/dt=__HIVE_DEFAULT_PARTITION__/hr=01/null.parquet", []byte("xy"))

	client := &countingClient{ListObjectsV2APIClient: srv.Client}
	ctx := context.Background()
	start := time.Now()
	objs, err := List(ctx, "s3://lake/tbl/", Options{Partitions: dtHr, S3: client})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("listed %d objects in %d pages in %v", len(objs), client.pages.Load(), time.Since(start))
	if want := hours*perHour + 2; len(objs) != want {
		t.Fatalf("listed %d objects, want %d", len(objs), want)
	}
	if client.pages.Load() < 2 {
		t.Errorf("listing took %d page(s): pagination did not happen", client.pages.Load())
	}
	seen := map[string]bool{}
	for _, o := range objs {
		if seen[o.Path] {
			t.Errorf("duplicate %s", o.Path)
		}
		seen[o.Path] = true
		if strings.Contains(o.Path, "_") && !strings.Contains(o.Path, "HIVE_DEFAULT") || strings.HasSuffix(o.Path, ".crc") {
			t.Errorf("hidden file listed: %s", o.Path)
		}
		if o.ETag == "" || strings.Contains(o.ETag, `"`) || o.Modified.IsZero() || o.Size <= 0 {
			t.Errorf("%s: bad metadata %+v", o.Path, o)
		}
		if len(o.Values) != 2 {
			t.Errorf("%s: values %v", o.Path, o.Values)
		}
	}
	for _, k := range keys[:perHour] {
		if !seen[strings.TrimPrefix(k, "tbl/")] {
			t.Errorf("missing %s", k)
		}
	}
	uni := objs[len(objs)-2]
	if uni.Path != "dt=2024-05-07/hr=23/données-ü-日本.parquet" || !uni.Values[1].Equal(sqlsubset.Int64Literal(23)) || uni.Size != 1 {
		t.Errorf("unicode object = %+v", uni)
	}
	null := objs[len(objs)-1]
	if null.Values[0].Type.ID != sqlsubset.Null || null.Size != 2 {
		t.Errorf("null partition object = %+v", null)
	}

	// Small pages, and Walk streaming: same set.
	client.pages.Store(0)
	n := 0
	err = Walk(ctx, "s3://lake/tbl", Options{Partitions: dtHr, S3: client, PageSize: 250}, func(o Object) error {
		if !seen[o.Path] {
			t.Errorf("Walk found %s that List did not", o.Path)
		}
		n++
		return nil
	})
	if err != nil || n != len(objs) || client.pages.Load() < 5 {
		t.Errorf("Walk: %v, %d objects in %d pages", err, n, client.pages.Load())
	}

	// A whole bucket as a table, and a suffix filter.
	srv.CreateBucket(t, "flat")
	srv.PutObject(t, "flat", "a.csv", []byte("1"))
	srv.PutObject(t, "flat", "b.json", []byte("1"))
	srv.PutObject(t, "flat", "_SUCCESS", nil)
	srv.PutObject(t, "flat", "dir/", nil)
	srv.PutObject(t, "flat", "dir/c.CSV", []byte("1"))
	objs, err = List(ctx, "s3://flat", Options{S3: srv.Client, Suffixes: Suffixes("csv")})
	if err != nil || len(objs) != 2 || objs[0].Path != "a.csv" || objs[1].Path != "dir/c.CSV" {
		t.Errorf("flat bucket: %v %+v", err, objs)
	}
	// An empty prefix is an empty table.
	objs, err = List(ctx, "s3://flat/nothing/", Options{S3: srv.Client})
	if err != nil || len(objs) != 0 {
		t.Errorf("empty prefix: %v %v", err, objs)
	}
}

func TestListS3PartitionErrors(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "lake")
	srv.PutObject(t, "lake", "t1/dt=2024-05-06/hr=1/ok.parquet", []byte("x"))
	srv.PutObject(t, "lake", "t1/dt=2024-05-06/bad.parquet", []byte("x"))
	srv.PutObject(t, "lake", "t2/dt=2024-02-30/hr=1/x.parquet", []byte("x"))
	ctx := context.Background()
	_, err := List(ctx, "s3://lake/t1/", Options{Partitions: dtHr, S3: srv.Client})
	if !apierr.Is(err, apierr.InvalidArgument) || !strings.Contains(apierr.PublicMessage(err), "s3://lake/t1/dt=2024-05-06/bad.parquet") ||
		!strings.Contains(err.Error(), "missing hr") {
		t.Errorf("missing key on S3: %v", err)
	}
	_, err = List(ctx, "s3://lake/t2/", Options{Partitions: dtHr, S3: srv.Client})
	if msg := apierr.PublicMessage(err); !apierr.Is(err, apierr.InvalidArgument) ||
		!strings.Contains(msg, "s3://lake/t2/dt=2024-02-30/hr=1/x.parquet") || !strings.Contains(msg, "dt (date32)") || !strings.Contains(msg, `"2024-02-30"`) {
		t.Errorf("bad date on S3: %v", err)
	}
}

func TestListS3Errors(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "lake")
	ctx := context.Background()

	_, err := List(ctx, "s3://no-such-bucket/t/", Options{S3: srv.Client})
	if !apierr.Is(err, apierr.NotFound) || !strings.Contains(apierr.PublicMessage(err), "s3://no-such-bucket/t/") {
		t.Errorf("missing bucket: %v", err)
	}

	noRetry := func(o *s3.Options) { o.RetryMaxAttempts = 1 }
	wrongSecret := "wrong/secret+0123456789abcdefABCDEFXYZ"
	bad := s3.New(s3.Options{
		Region: s3test.Region, BaseEndpoint: aws.String(srv.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(srv.AccessKey, wrongSecret, ""),
		HTTPClient:  &http.Client{Timeout: 10 * time.Second},
	}, noRetry)
	_, err = List(ctx, "s3://lake/t/", Options{S3: bad})
	if !apierr.Is(err, apierr.PermissionDenied) || !strings.Contains(apierr.PublicMessage(err), "s3://lake/t/") {
		t.Errorf("wrong secret: %v", err)
	}
	for _, secret := range []string{wrongSecret, srv.SecretKey, srv.AccessKey} {
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("error shows a credential: %v", err)
		}
	}

	down := s3.New(s3.Options{
		Region: s3test.Region, BaseEndpoint: aws.String("http://127.0.0.1:1"), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(srv.AccessKey, srv.SecretKey, ""),
		HTTPClient:  &http.Client{Timeout: 5 * time.Second},
	}, noRetry)
	_, err = List(ctx, "s3://lake/t/", Options{S3: down})
	if !apierr.Is(err, apierr.Unavailable) || !strings.Contains(apierr.PublicMessage(err), "s3://lake/t/") {
		t.Errorf("unreachable store: %v", err)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := List(cancelled, "s3://lake/t/", Options{S3: srv.Client}); !apierr.Is(err, apierr.Unavailable) {
		t.Errorf("cancelled: %v", err)
	}
}
