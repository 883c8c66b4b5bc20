package fetch

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/s3test"
	"github.com/nscale/nscale/presign"
)

// Tests against a real S3-compatible server: versitygw checks SigV4 query
// signatures and expiry like S3 does.

const bucket = "nscale-fetch"

func startGateway(t *testing.T) *s3test.Server {
	t.Helper()
	srv := s3test.Start(t)
	srv.CreateBucket(t, bucket)
	return srv
}

func testData(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// source returns a URLSource signing bucket/key with secret and ttl, and a
// counter of its calls.
func source(t *testing.T, srv *s3test.Server, secret, key string, ttl time.Duration) (URLSource, *atomic.Int64) {
	t.Helper()
	s, err := presign.NewS3(presign.S3Config{
		Region:      srv.Region,
		Endpoint:    srv.Endpoint,
		PathStyle:   true,
		Credentials: credentials.NewStaticCredentialsProvider(srv.AccessKey, secret, ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	return func(ctx context.Context) (string, time.Time, error) {
		calls.Add(1)
		sg, err := s.SignGet(ctx, presign.Object{Bucket: bucket, Key: key}, ttl)
		if err != nil {
			return "", time.Time{}, err
		}
		return sg.URL, sg.Expires, nil
	}, &calls
}

// shortThenLong signs the first URL for one second and renewals for a
// minute: a renewed one-second URL could expire before its request arrives
// on a loaded machine (the signing time is truncated to the second).
func shortThenLong(t *testing.T, srv *s3test.Server, key string) (URLSource, *atomic.Int64) {
	t.Helper()
	short, calls := source(t, srv, srv.SecretKey, key, time.Second)
	long, _ := source(t, srv, srv.SecretKey, key, time.Minute)
	return func(ctx context.Context) (string, time.Time, error) {
		if calls.Load() == 0 {
			return short(ctx)
		}
		calls.Add(1)
		return long(ctx)
	}, calls
}

func signatureOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	sig := u.Query().Get("X-Amz-Signature")
	if sig == "" {
		t.Fatalf("no signature in URL")
	}
	return sig
}

func assertRedacted(t *testing.T, err error, src URLSource) {
	t.Helper()
	u, _, serr := src(context.Background())
	if serr != nil {
		t.Fatal(serr)
	}
	msg := err.Error()
	if strings.Contains(msg, "X-Amz-Signature="+signatureOf(t, u)[:16]) || !strings.Contains(msg, "X-Amz-Signature=REDACTED") {
		t.Errorf("error text is not redacted (or names no URL): %s", msg)
	}
	// The signature of any URL signed in the same second equals this one
	// only by chance; check no 64-hex run follows X-Amz-Signature=.
	if i := strings.Index(msg, "X-Amz-Signature="); i >= 0 && !strings.HasPrefix(msg[i+len("X-Amz-Signature="):], "REDACTED") {
		t.Errorf("signature value in error text: %s", msg)
	}
	if strings.Contains(msg, s3test.SecretKey) {
		t.Errorf("secret in error text: %s", msg)
	}
}

func TestGatewayRanges(t *testing.T) {
	srv := startGateway(t)
	data := testData(1<<20 + 123)
	srv.PutObject(t, bucket, "t/part-0", data)
	src, _ := source(t, srv, srv.SecretKey, "t/part-0", time.Minute)
	r, err := NewReader(context.Background(), src, int64(len(data)), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Size() != int64(len(data)) {
		t.Fatalf("Size = %d", r.Size())
	}
	for _, c := range []struct{ off, n int }{{0, 1}, {0, 4096}, {1, 100}, {500000, 65536}, {len(data) - 10, 10}, {0, len(data)}} {
		p := make([]byte, c.n)
		n, err := r.ReadAt(p, int64(c.off))
		if err != nil || n != c.n {
			t.Fatalf("ReadAt(%d, %d) = %d, %v", c.n, c.off, n, err)
		}
		if !bytes.Equal(p, data[c.off:c.off+c.n]) {
			t.Fatalf("ReadAt(%d, %d): wrong bytes", c.n, c.off)
		}
	}
	st := r.Stats()
	if st.Requests != 6 || st.Retries != 0 || st.Renewals != 0 {
		t.Errorf("Stats = %+v", st)
	}

	// io.SectionReader works on top (io.ReaderAt contract).
	got, err := io.ReadAll(io.NewSectionReader(r, 1000, 5000))
	if err != nil || !bytes.Equal(got, data[1000:6000]) {
		t.Fatalf("SectionReader: %d bytes, %v", len(got), err)
	}
}

func TestGatewayEOF(t *testing.T) {
	srv := startGateway(t)
	data := testData(10000)
	srv.PutObject(t, bucket, "t/eof", data)
	src, _ := source(t, srv, srv.SecretKey, "t/eof", time.Minute)
	r, err := NewReader(context.Background(), src, int64(len(data)), Config{})
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 100)
	n, err := r.ReadAt(p, 9950)
	if n != 50 || err != io.EOF || !bytes.Equal(p[:n], data[9950:]) {
		t.Fatalf("ReadAt across the end = %d, %v; want 50, io.EOF", n, err)
	}
	n, err = r.ReadAt(p, 9900)
	if n != 100 || err != nil {
		t.Fatalf("ReadAt exactly to the end = %d, %v; want 100, nil", n, err)
	}
	for _, off := range []int64{10000, 20000} {
		if n, err := r.ReadAt(p, off); n != 0 || err != io.EOF {
			t.Fatalf("ReadAt(%d) = %d, %v; want 0, io.EOF", off, n, err)
		}
	}
	if _, err := r.ReadAt(p, -1); !apierr.Is(err, apierr.InvalidArgument) {
		t.Fatalf("negative offset: %v", err)
	}

	// A plan that thinks the object is larger asks for bytes past its end:
	// the store answers 416.
	big, err := NewReader(context.Background(), src, 50000, Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = big.ReadAt(p, 20000)
	if !apierr.Is(err, apierr.InvalidArgument) || !strings.Contains(err.Error(), "416") {
		t.Fatalf("range past the end: %v, want InvalidArgument 416", err)
	}
	assertRedacted(t, err, src)
}

func TestGatewayConcurrent(t *testing.T) {
	srv := startGateway(t)
	data := testData(1 << 20)
	srv.PutObject(t, bucket, "t/conc", data)
	src, _ := source(t, srv, srv.SecretKey, "t/conc", time.Minute)
	r, err := NewReader(context.Background(), src, int64(len(data)), Config{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range 20 {
				off := rng.IntN(len(data))
				n := 1 + rng.IntN(64<<10)
				p := make([]byte, n)
				got, err := r.ReadAt(p, int64(off))
				want := min(n, len(data)-off)
				if got != want || (err != nil && !(err == io.EOF && want < n)) {
					errs <- err
					return
				}
				if !bytes.Equal(p[:got], data[off:off+want]) {
					errs <- errors.New("wrong bytes")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Requests != 160 {
		t.Errorf("Stats = %+v, want 160 requests", st)
	}
}

// The case: URLs live 1 s (the shortest S3 allows), the scan takes
// longer. The reader renews and never fails.
func TestGatewayRenewAfterExpiry(t *testing.T) {
	srv := startGateway(t)
	data := testData(1 << 20)
	srv.PutObject(t, bucket, "t/ttl", data)
	src, calls := shortThenLong(t, srv, "t/ttl")
	r, err := NewReader(context.Background(), src, int64(len(data)), Config{})
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 1000)
	if _, err := r.ReadAt(p, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	n, err := r.ReadAt(p, 5000)
	if err != nil || n != len(p) || !bytes.Equal(p, data[5000:6000]) {
		t.Fatalf("ReadAt after expiry = %d, %v", n, err)
	}
	if st := r.Stats(); st.Renewals < 1 || calls.Load() < 2 {
		t.Fatalf("Stats = %+v, source calls %d; want a renewal", st, calls.Load())
	}
}

// The same with a reader whose clock says the URL is still fresh, so it
// does not renew ahead: the store answers 403 "Request has expired." and the
// reader renews after the 403.
func TestGatewayRenewAfter403(t *testing.T) {
	srv := startGateway(t)
	data := testData(100000)
	srv.PutObject(t, bucket, "t/403", data)
	src, _ := shortThenLong(t, srv, "t/403")
	start := time.Now()
	frozen := func() time.Time { return start } // the reader never sees time pass
	r, err := NewReader(context.Background(), src, int64(len(data)), Config{Now: frozen})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	p := make([]byte, 20000)
	n, err := r.ReadAt(p, 70000)
	if err != nil || n != len(p) || !bytes.Equal(p, data[70000:90000]) {
		t.Fatalf("ReadAt with expired URL = %d, %v", n, err)
	}
	if st := r.Stats(); st.Renewals != 1 || st.Requests != 2 || st.Retries != 0 {
		t.Fatalf("Stats = %+v, want 1 renewal after one 403", st)
	}
}

func TestGatewayWrongSecretFailsClosed(t *testing.T) {
	srv := startGateway(t)
	srv.PutObject(t, bucket, "t/deny", testData(1000))
	src, calls := source(t, srv, "not-the-secret", "t/deny", time.Minute)
	r, err := NewReader(context.Background(), src, 1000, Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.ReadAt(make([]byte, 10), 0)
	if !apierr.Is(err, apierr.PermissionDenied) {
		t.Fatalf("err = %v, want PermissionDenied", err)
	}
	if st := r.Stats(); st.Renewals != 1 || st.Requests != 2 || calls.Load() != 2 {
		t.Fatalf("Stats = %+v, source calls %d; want exactly one renewal", st, calls.Load())
	}
	assertRedacted(t, err, src)
}

func TestGatewayDeletedObject(t *testing.T) {
	srv := startGateway(t)
	srv.PutObject(t, bucket, "t/gone", testData(1000))
	src, _ := source(t, srv, srv.SecretKey, "t/gone", time.Minute)
	r, err := NewReader(context.Background(), src, 1000, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadAt(make([]byte, 10), 0); err != nil {
		t.Fatal(err)
	}
	key := "t/gone"
	b := bucket
	if _, err := srv.Client.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: &b, Key: &key}); err != nil {
		t.Fatal(err)
	}
	_, err = r.ReadAt(make([]byte, 10), 0)
	if !apierr.Is(err, apierr.NotFound) || !strings.Contains(err.Error(), "deleted since the plan") {
		t.Fatalf("err = %v, want NotFound", err)
	}
	assertRedacted(t, err, src)
}

// TestGatewayReplacedObject: an object rewritten with the same size after
// the plan (its ETag changes) fails the read with FailedPrecondition; the
// planned ETag still reads.
func TestGatewayReplacedObject(t *testing.T) {
	srv := startGateway(t)
	data := testData(1000)
	srv.PutObject(t, bucket, "t/replaced", data)
	key, b := "t/replaced", bucket
	head, err := srv.Client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &b, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	etag := strings.Trim(*head.ETag, `"`)
	src, _ := source(t, srv, srv.SecretKey, key, time.Minute)
	r, err := NewReader(context.Background(), src, 1000, Config{ETag: etag})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 10)
	if _, err := r.ReadAt(got, 0); err != nil || !bytes.Equal(got, data[:10]) {
		t.Fatalf("planned object: %v", err)
	}
	other := append([]byte(nil), data...)
	other[0] ^= 0xff
	srv.PutObject(t, bucket, key, other)
	_, err = r.ReadAt(got, 0)
	if !apierr.Is(err, apierr.FailedPrecondition) || !strings.Contains(err.Error(), "changed since the plan") {
		t.Fatalf("err = %v, want FailedPrecondition: changed since the plan", err)
	}
	assertRedacted(t, err, src)
}
