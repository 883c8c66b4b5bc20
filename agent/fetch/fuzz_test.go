package fetch

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// responder answers every request with one fuzzed response, without a
// network, so the fuzzer explores the reader's response handling quickly.
type responder struct {
	status int
	header string // Content-Range
	body   []byte
	calls  int
}

func (r *responder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.calls++
	h := http.Header{}
	if r.header != "" {
		h.Set("Content-Range", r.header)
	}
	return &http.Response{StatusCode: r.status, Header: h, Body: io.NopCloser(bytes.NewReader(r.body)),
		ContentLength: int64(len(r.body)), Request: req}, nil
}

const fuzzURL = "https://store.example/b/k?X-Amz-Signature=0123456789abcdef0123456789abcdef&X-Amz-Credential=AKIAFUZZ"

// FuzzResponse feeds the range reader arbitrary status codes, Content-Range
// headers and bodies. It must never panic, never loop, return exactly the
// requested bytes when it reports success, accept a success only when the
// store answered the exact range, and never put the URL's signature or
// anything but an S3 error's Code and Message into an error.
func FuzzResponse(f *testing.F) {
	f.Add(206, "bytes 10-19/100", []byte("0123456789"), int64(10), 10, int64(100))
	f.Add(206, "bytes 10-19/*", []byte("0123456789"), int64(10), 10, int64(100))
	f.Add(206, "bytes 10-19/99", []byte("0123456789"), int64(10), 10, int64(100))
	f.Add(206, "bytes 0-9/100", []byte("0123456789"), int64(10), 10, int64(100))
	f.Add(206, "bytes 10-19/100", []byte("01234"), int64(10), 10, int64(100))
	f.Add(200, "", []byte("0123456789"), int64(0), 10, int64(10))
	f.Add(403, "", []byte("<Error><Code>AccessDenied</Code><Message>Request has expired.</Message><CanonicalRequest>SECRET-CANON</CanonicalRequest></Error>"), int64(0), 4, int64(10))
	f.Add(404, "", []byte("<Error><Code>NoSuchKey</Code></Error>"), int64(0), 4, int64(10))
	f.Add(416, "", []byte{}, int64(90), 20, int64(100))
	f.Add(503, "", []byte("slow down"), int64(0), 4, int64(10))
	f.Add(206, "bytes -5-3/10", []byte("abcd"), int64(0), 4, int64(10))
	f.Add(206, "bytes 9223372036854775807-9223372036854775807/9223372036854775807", []byte("a"), int64(0), 1, int64(10))
	f.Add(302, "", []byte(fuzzURL), int64(0), 1, int64(10))
	f.Fuzz(func(t *testing.T, status int, contentRange string, body []byte, off int64, n int, size int64) {
		if n <= 0 || n > 1<<16 || size < 0 || off < 0 || off > size || int64(n) > size-off || status < 100 || status > 999 {
			t.Skip()
		}
		rt := &responder{status: status, header: contentRange, body: body}
		src := func(context.Context) (string, time.Time, error) { return fuzzURL, time.Now().Add(time.Hour), nil }
		r, err := NewReader(context.Background(), src, size, Config{Client: &http.Client{Transport: rt}, MaxRetries: 1, Backoff: time.Microsecond})
		if err != nil {
			t.Fatal(err)
		}
		p := make([]byte, n)
		got, err := r.ReadAt(p, off)
		if rt.calls > 16 {
			t.Fatalf("%d requests for one read", rt.calls)
		}
		if err == nil {
			if got != n {
				t.Fatalf("success with %d of %d bytes", got, n)
			}
			whole := off == 0 && int64(n) == size
			exact := status == 206 && strings.HasPrefix(contentRange, fmt.Sprintf("bytes %d-%d/", off, off+int64(n)-1))
			if !exact && !(status == 200 && whole) {
				t.Fatalf("accepted HTTP %d %q for bytes %d-%d", status, contentRange, off, off+int64(n)-1)
			}
			if !bytes.Equal(p, body[:n]) {
				t.Fatal("returned bytes differ from the body")
			}
			return
		}
		msg := err.Error()
		for _, secret := range []string{"0123456789abcdef0123456789abcdef", "SECRET-CANON"} {
			if strings.Contains(msg, secret) {
				t.Fatalf("error leaks %q: %s", secret, msg)
			}
		}
	})
}
