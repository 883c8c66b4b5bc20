package fetch

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

// A fake store, for the fast error paths only: the happy paths, expiry and
// 403/404/416 are tested against versitygw.

const fakeSig = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

type fake struct {
	data []byte
	mu   sync.Mutex
	// handle, when set, may answer a request itself (returning true).
	handle func(w http.ResponseWriter, r *http.Request, first, last int64) bool
	ranges []string
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var first, last int64
	if _, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &first, &last); err != nil {
		http.Error(w, "no range", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.ranges = append(f.ranges, r.Header.Get("Range"))
	h := f.handle
	f.mu.Unlock()
	if h != nil && h(w, r, first, last) {
		return
	}
	w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, len(f.data)))
	w.Header().Set("Content-Length", fmt.Sprint(last-first+1))
	w.WriteHeader(http.StatusPartialContent)
	w.Write(f.data[first : last+1])
}

func (f *fake) set(h func(w http.ResponseWriter, r *http.Request, first, last int64) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handle = h
	f.ranges = nil
}

func (f *fake) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ranges...)
}

func fakeSource(ts *httptest.Server) URLSource {
	return func(context.Context) (string, time.Time, error) {
		return ts.URL + "/b/k?X-Amz-Credential=AKIA%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=" + fakeSig,
			time.Now().Add(time.Hour), nil
	}
}

func checkNoSig(t *testing.T, s string) {
	t.Helper()
	if strings.Contains(s, fakeSig) || strings.Contains(s, "AKIA") {
		t.Errorf("secret in text: %s", s)
	}
}

// The server drops the connection after half the body once; the reader
// retries and asks only for the rest.
func TestRetryResumesAfterShortBody(t *testing.T) {
	f := &fake{data: testData(10000)}
	var dropped atomic.Bool
	f.set(func(w http.ResponseWriter, r *http.Request, first, last int64) bool {
		if dropped.Swap(true) {
			return false
		}
		half := first + (last-first+1)/2
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, len(f.data)))
		w.Header().Set("Content-Length", fmt.Sprint(last-first+1))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(f.data[first:half])
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return true
	})
	ts := httptest.NewServer(f)
	defer ts.Close()
	var logs bytes.Buffer
	r, err := NewReader(context.Background(), fakeSource(ts), int64(len(f.data)), Config{
		Backoff: time.Millisecond,
		Logger:  slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 4000)
	n, err := r.ReadAt(p, 2000)
	if err != nil || n != 4000 || !bytes.Equal(p, f.data[2000:6000]) {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	if want := []string{"bytes=2000-5999", "bytes=4000-5999"}; fmt.Sprint(f.seen()) != fmt.Sprint(want) {
		t.Fatalf("ranges = %v, want %v", f.seen(), want)
	}
	if st := r.Stats(); st.Requests != 2 || st.Retries != 1 || st.Bytes != 4000 || st.Renewals != 0 {
		t.Fatalf("Stats = %+v", st)
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("no retry logged: %s", logs.String())
	}
	checkNoSig(t, logs.String())
}

func TestRetryOn5xx(t *testing.T) {
	f := &fake{data: testData(1000)}
	var failures atomic.Int64
	f.set(func(w http.ResponseWriter, r *http.Request, first, last int64) bool {
		if failures.Add(1) > 2 {
			return false
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "<Error><Code>SlowDown</Code><Message>slow down</Message></Error>")
		return true
	})
	ts := httptest.NewServer(f)
	defer ts.Close()
	r, err := NewReader(context.Background(), fakeSource(ts), 1000, Config{Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 100)
	if n, err := r.ReadAt(p, 900); n != 100 || err != nil || !bytes.Equal(p, f.data[900:]) {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	if st := r.Stats(); st.Requests != 3 || st.Retries != 2 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestMaxRetriesBoundsAttempts(t *testing.T) {
	f := &fake{data: testData(1000)}
	f.set(func(w http.ResponseWriter, r *http.Request, first, last int64) bool {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "<Error><Code>InternalError</Code><Message>boom</Message></Error>")
		return true
	})
	ts := httptest.NewServer(f)
	defer ts.Close()
	for _, c := range []struct{ max, attempts int }{{0, 5}, {2, 3}, {-1, 1}} {
		f.set(f.handle)
		r, err := NewReader(context.Background(), fakeSource(ts), 1000, Config{MaxRetries: c.max, Backoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.ReadAt(make([]byte, 10), 0)
		if err == nil || !apierr.Is(err, apierr.Unavailable) {
			t.Fatalf("MaxRetries %d: err = %v, want Unavailable", c.max, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, "/b/k") || !strings.Contains(msg, "HTTP 500") || !strings.Contains(msg, "InternalError: boom") {
			t.Errorf("error does not name the object and the cause: %s", msg)
		}
		checkNoSig(t, msg)
		if len(f.seen()) != c.attempts || r.Stats().Requests != int64(c.attempts) {
			t.Errorf("MaxRetries %d: %d attempts, want %d", c.max, len(f.seen()), c.attempts)
		}
	}
}

// Network errors (connection refused) are retried too, and their text (which
// net/http builds with the URL) is redacted.
func TestNetworkErrorRedacted(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	src := fakeSource(ts)
	ts.Close()
	r, err := NewReader(context.Background(), src, 1000, Config{MaxRetries: 1, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.ReadAt(make([]byte, 10), 0)
	if err == nil {
		t.Fatal("no error")
	}
	checkNoSig(t, err.Error())
	if !strings.Contains(err.Error(), "REDACTED") {
		t.Errorf("error names no URL: %s", err)
	}
	if st := r.Stats(); st.Requests != 2 || st.Retries != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestBadContentRangeAndProactiveRenewal(t *testing.T) {
	f := &fake{data: testData(1000)}
	ts := httptest.NewServer(f)
	defer ts.Close()
	var calls atomic.Int64
	now := time.Now()
	src := func(ctx context.Context) (string, time.Time, error) {
		calls.Add(1)
		u, _, _ := fakeSource(ts)(ctx)
		return u, now.Add(time.Minute), nil
	}
	clock := now
	r, err := NewReader(context.Background(), src, 1000, Config{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadAt(make([]byte, 10), 0); err != nil || calls.Load() != 1 {
		t.Fatalf("ReadAt: %v, %d source calls", err, calls.Load())
	}
	clock = now.Add(57 * time.Second) // expires within RenewBefore (5 s)
	if _, err := r.ReadAt(make([]byte, 10), 0); err != nil || calls.Load() != 2 || r.Stats().Renewals != 1 {
		t.Fatalf("ReadAt: %v, %d source calls, %+v", err, calls.Load(), r.Stats())
	}

	// A store that ignores the range is an error, not silent corruption.
	f.set(func(w http.ResponseWriter, _ *http.Request, _, _ int64) bool {
		w.Write(f.data)
		return true
	})
	clock = now
	if _, err := r.ReadAt(make([]byte, 10), 5); err == nil || !strings.Contains(err.Error(), "unexpected HTTP 200") {
		t.Fatalf("200 for a partial range: %v", err)
	}
	// ...unless the range is the whole object.
	p := make([]byte, 1000)
	if n, err := r.ReadAt(p, 0); n != 1000 || err != nil || !bytes.Equal(p, f.data) {
		t.Fatalf("200 for the whole object: %d, %v", n, err)
	}
	// An object whose size changed since the plan.
	f.set(func(w http.ResponseWriter, _ *http.Request, first, last int64) bool {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, 2000))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(f.data[first : last+1])
		return true
	})
	if _, err := r.ReadAt(make([]byte, 10), 5); !apierr.Is(err, apierr.FailedPrecondition) {
		t.Fatalf("changed size: %v", err)
	}
}

func TestSourceErrorRedacted(t *testing.T) {
	src := func(context.Context) (string, time.Time, error) {
		return "", time.Time{}, fmt.Errorf("control plane said no for http://x/?X-Amz-Signature=%s", fakeSig)
	}
	_, err := NewReader(context.Background(), src, 10, Config{})
	if err == nil || !apierr.Is(err, apierr.Unavailable) {
		t.Fatalf("err = %v", err)
	}
	checkNoSig(t, err.Error())
	denied := func(context.Context) (string, time.Time, error) {
		return "", time.Time{}, apierr.New(apierr.PermissionDenied, "task expired")
	}
	if _, err := NewReader(context.Background(), denied, 10, Config{}); !apierr.Is(err, apierr.PermissionDenied) {
		t.Fatalf("err = %v, want the source's code", err)
	}
}

// TestETagChecked: a store that ignores If-Match but answers with another
// ETag fails the read; one answering 412 too; the planned ETag reads, and
// the request carried If-Match.
func TestETagChecked(t *testing.T) {
	data := []byte("0123456789")
	for _, c := range []struct {
		name, serve string
		status      int
		ok          bool
	}{
		{"same etag", `"v1"`, 0, true},
		{"weak etag (If-Match compares strongly)", `W/"v1"`, 0, false},
		{"other etag", `"v2"`, 0, false},
		{"412", `"v2"`, http.StatusPreconditionFailed, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ifMatch atomic.Value
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ifMatch.Store(r.Header.Get("If-Match"))
				w.Header().Set("ETag", c.serve)
				if c.status != 0 {
					w.WriteHeader(c.status)
					return
				}
				http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
			}))
			defer srv.Close()
			src := func(context.Context) (string, time.Time, error) {
				return srv.URL + "/o?X-Amz-Signature=abc", time.Now().Add(time.Hour), nil
			}
			r, err := NewReader(context.Background(), src, int64(len(data)), Config{ETag: "v1"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.ReadAt(make([]byte, 4), 2)
			if got := ifMatch.Load(); got != `"v1"` {
				t.Fatalf("If-Match = %v", got)
			}
			if c.ok != (err == nil) || (!c.ok && !apierr.Is(err, apierr.FailedPrecondition)) {
				t.Fatalf("err = %v, want ok=%v or FailedPrecondition", err, c.ok)
			}
		})
	}
}
