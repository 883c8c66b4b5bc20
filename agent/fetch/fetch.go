// Package fetch reads objects through short-lived pre-signed URLs with HTTP
// range requests. A Reader is an io.ReaderAt over one object: it asks a
// URLSource (the control plane, just in time) for a URL, renews it before it
// expires and again when the store answers 403 (an expired URL answers
// 403 "Request has expired."), and retries network errors, timeouts and 5xx
// answers with backoff, resuming from the last byte received.
//
// Pre-signed URLs are bearer tokens: every error message and log line renders
// them through internal/redact.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/redact"
)

// ErrObjectChanged is wrapped by the error of a read whose object is no
// longer the planned one (another ETag or size).
var ErrObjectChanged = errors.New("fetch: the object changed since the plan")

// URLSource returns a fresh pre-signed GET URL for the object and the instant
// it stops working. The Reader calls it once in NewReader and again whenever
// the URL must be renewed.
type URLSource func(ctx context.Context) (url string, expires time.Time, err error)

// Defaults for Config's zero values.
const (
	DefaultMaxRetries  = 4
	DefaultBackoff     = 100 * time.Millisecond
	MaxBackoff         = 2 * time.Second
	DefaultRenewBefore = 5 * time.Second
)

// Config tunes a Reader. The zero value is usable.
type Config struct {
	// Client sends the requests; nil means a client over a clone of
	// http.DefaultTransport with a 30 s response-header timeout.
	Client *http.Client
	// MaxRetries bounds the retries of one ReadAt after network errors,
	// timeouts, short bodies and 5xx answers (0 means DefaultMaxRetries; a
	// negative value means no retries). Renewals after a 403 are not retries.
	MaxRetries int
	// Backoff is the first delay between retries; it doubles up to MaxBackoff
	// (0 means DefaultBackoff).
	Backoff time.Duration
	// RenewBefore renews the URL before a request when it expires within this
	// (0 means DefaultRenewBefore). It is capped at half the URL's lifetime
	// so that short-lived URLs are not renewed on every request.
	RenewBefore time.Duration
	// ReadAhead, when positive, turns every read smaller than it into a
	// range request of ReadAhead bytes, kept in a few windows that serve
	// the following small reads (pieces of the same column chunks): fewer,
	// larger requests. 0 reads exactly what is asked.
	ReadAhead int
	// ETag, when set, is the object's ETag at planning time (without
	// quotes): every request carries If-Match, and an answer of 412 or with
	// another ETag fails the read with FailedPrecondition, so that an object
	// replaced since the plan (the same size or not) is never read as if it
	// were the planned one.
	ETag string
	// Now is the clock (nil means time.Now).
	Now func() time.Time
	// Logger receives retries and renewals (nil discards them).
	Logger *slog.Logger
}

// Stats counts what a Reader did.
type Stats struct {
	Requests int64 // HTTP requests sent
	Bytes    int64 // body bytes received and kept
	Retries  int64 // retries after network errors, timeouts, short bodies, 5xx
	Renewals int64 // URLs fetched after the first one (proactive or after 403)
}

// Reader is an io.ReaderAt over one object behind pre-signed URLs. It is safe
// for concurrent use.
type Reader struct {
	ctx    context.Context
	src    URLSource
	size   int64
	client *http.Client
	cfg    Config
	log    *slog.Logger

	mu      sync.Mutex // guards the fields below; held while renewing
	url     string
	expires time.Time
	issued  time.Time
	gen     uint64

	requests, bytes, retries, renewals atomic.Int64

	win windows // read-ahead windows (Config.ReadAhead)
}

var defaultClient = func() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: tr}
}()

// NewReader fetches the first URL from src and returns a Reader over an
// object of size bytes. ctx bounds every later ReadAt (use ReadAtContext for
// a per-call context).
func NewReader(ctx context.Context, src URLSource, size int64, cfg Config) (*Reader, error) {
	if src == nil {
		return nil, apierr.New(apierr.InvalidArgument, "fetch: nil URL source")
	}
	if size < 0 {
		return nil, apierr.New(apierr.InvalidArgument, "fetch: negative object size %d", size)
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = DefaultMaxRetries
	} else if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.RenewBefore <= 0 {
		cfg.RenewBefore = DefaultRenewBefore
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Reader{ctx: ctx, src: src, size: size, client: cfg.Client, cfg: cfg, log: cfg.Logger}
	if r.client == nil {
		r.client = defaultClient
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.mu.Lock()
	err := r.fetchURLLocked(ctx)
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Size returns the object's size.
func (r *Reader) Size() int64 { return r.size }

// Stats returns the counters so far.
func (r *Reader) Stats() Stats {
	return Stats{
		Requests: r.requests.Load(),
		Bytes:    r.bytes.Load(),
		Retries:  r.retries.Load(),
		Renewals: r.renewals.Load(),
	}
}

// ReadAt reads len(p) bytes at off with the context given to NewReader.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	return r.ReadAtContext(r.ctx, p, off)
}

// ReadAtContext implements io.ReaderAt semantics under ctx: it fills p
// unless the object ends first, in which case it returns the bytes up to the
// end and io.EOF.
func (r *Reader) ReadAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, apierr.New(apierr.InvalidArgument, "fetch: negative offset %d", off)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := len(p)
	if rest := r.size - off; int64(want) > rest {
		want = int(rest)
	}
	var n int
	var err error
	if want < r.cfg.ReadAhead {
		n, err = r.readAhead(ctx, p[:want], off)
	} else {
		n, err = r.readRange(ctx, p[:want], off)
	}
	if err != nil {
		return n, err
	}
	if want < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// current returns the URL to use, renewing it first when it expires soon.
func (r *Reader) current(ctx context.Context) (string, uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	before := r.cfg.RenewBefore
	if half := r.expires.Sub(r.issued) / 2; half < before {
		before = half
	}
	if r.expires.Sub(r.cfg.Now()) < before {
		old := r.url
		if err := r.fetchURLLocked(ctx); err != nil {
			return "", 0, err
		}
		r.renewals.Add(1)
		r.log.DebugContext(ctx, "fetch: renewed pre-signed URL before expiry", "url", redact.URL(old), "expires", r.expires)
	}
	return r.url, r.gen, nil
}

// renew replaces the URL of generation gen after a 403; when another caller
// has already replaced it, it uses that one.
func (r *Reader) renew(ctx context.Context, gen uint64) (string, uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gen == gen {
		old := r.url
		if err := r.fetchURLLocked(ctx); err != nil {
			return "", 0, err
		}
		r.renewals.Add(1)
		r.log.InfoContext(ctx, "fetch: renewed pre-signed URL after 403", "url", redact.URL(old), "expires", r.expires)
	}
	return r.url, r.gen, nil
}

func (r *Reader) fetchURLLocked(ctx context.Context) error {
	u, exp, err := r.src(ctx)
	if err != nil {
		name := "object"
		if r.url != "" {
			name = redact.URL(r.url)
		}
		if apierr.CodeOf(err) == apierr.Internal {
			return apierr.Wrap(apierr.Unavailable, safeErr(err), "fetch %s: get pre-signed URL", name)
		}
		return fmt.Errorf("fetch %s: get pre-signed URL: %w", name, safeErr(err))
	}
	if _, perr := url.Parse(u); perr != nil || u == "" {
		return apierr.New(apierr.Internal, "fetch: URL source returned an unusable URL %s", redact.URL(u))
	}
	r.url, r.expires, r.issued = u, exp, r.cfg.Now()
	r.gen++
	return nil
}

// attempt outcome classes.
type outcome int

const (
	done      outcome = iota
	retryable         // network error, timeout, short body, 5xx, 429
	forbidden         // 403
	fatal             // anything else
)

func (r *Reader) readRange(ctx context.Context, p []byte, off int64) (int, error) {
	pos := 0
	retries := 0
	backoff := r.cfg.Backoff
	renewedFor403 := false
	u, gen, err := r.current(ctx)
	if err != nil {
		return 0, err
	}
	for {
		n, oc, aerr := r.attempt(ctx, u, p[pos:], off+int64(pos), len(p) == int(r.size) && off == 0 && pos == 0)
		pos += n
		if n > 0 {
			renewedFor403 = false
		}
		switch oc {
		case done:
			return pos, nil
		case fatal:
			return pos, aerr
		case forbidden:
			if renewedFor403 {
				return pos, apierr.Wrap(apierr.PermissionDenied, aerr, "fetch %s: access denied after renewing the URL", redact.URL(u))
			}
			renewedFor403 = true
			if u, gen, err = r.renew(ctx, gen); err != nil {
				return pos, err
			}
			continue
		case retryable:
			if ctx.Err() != nil {
				return pos, apierr.Wrap(apierr.Unavailable, ctx.Err(), "fetch %s", redact.URL(u))
			}
			if retries >= r.cfg.MaxRetries {
				return pos, apierr.Wrap(apierr.Unavailable, aerr, "fetch %s: bytes %d-%d: giving up after %d retries",
					redact.URL(u), off+int64(pos), off+int64(len(p))-1, retries)
			}
			retries++
			r.retries.Add(1)
			r.log.WarnContext(ctx, "fetch: retrying", "url", redact.URL(u), "offset", off+int64(pos),
				"retry", retries, "backoff", backoff, "err", aerr.Error())
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return pos, apierr.Wrap(apierr.Unavailable, ctx.Err(), "fetch %s", redact.URL(u))
			case <-t.C:
			}
			backoff = min(backoff*2, MaxBackoff)
		}
		if u, gen, err = r.current(ctx); err != nil {
			return pos, err
		}
	}
}

// attempt sends one GET for len(p) bytes at off and fills p from the body.
// It returns the bytes received even when the body ends early.
func (r *Reader) attempt(ctx context.Context, u string, p []byte, off int64, whole bool) (int, outcome, error) {
	name := redact.URL(u)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, fatal, apierr.Wrap(apierr.Internal, safeErr(err), "fetch %s: build request", name)
	}
	end := off + int64(len(p)) - 1
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, end))
	if r.cfg.ETag != "" {
		req.Header.Set("If-Match", `"`+r.cfg.ETag+`"`)
	}
	r.requests.Add(1)
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, retryable, fmt.Errorf("fetch %s: %w", name, safeErr(err))
	}
	defer resp.Body.Close()
	if r.cfg.ETag != "" {
		if resp.StatusCode == http.StatusPreconditionFailed {
			return 0, fatal, apierr.Wrap(apierr.FailedPrecondition, ErrObjectChanged, "fetch %s: the object changed since the plan (its ETag is no longer the planned one); plan the query again", name)
		}
		if got := resp.Header.Get("ETag"); got != "" && (resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusPartialContent) &&
			strings.Trim(strings.TrimPrefix(got, "W/"), `"`) != r.cfg.ETag {
			return 0, fatal, apierr.Wrap(apierr.FailedPrecondition, ErrObjectChanged, "fetch %s: the object changed since the plan (ETag %s, planned %s); plan the query again",
				name, redact.String(got), redact.String(strconv.Quote(r.cfg.ETag)))
		}
	}

	switch {
	case resp.StatusCode == http.StatusPartialContent:
		first, last, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || first != off || last != end {
			return 0, fatal, apierr.New(apierr.Internal, "fetch %s: asked for bytes %d-%d, got Content-Range %q",
				name, off, end, redact.String(resp.Header.Get("Content-Range")))
		}
		if total >= 0 && total != r.size {
			return 0, fatal, apierr.Wrap(apierr.FailedPrecondition, ErrObjectChanged, "fetch %s: object is %d bytes, the plan says %d (changed since the plan?)",
				name, total, r.size)
		}
	case resp.StatusCode == http.StatusOK && whole:
		if resp.ContentLength >= 0 && resp.ContentLength != r.size {
			return 0, fatal, apierr.Wrap(apierr.FailedPrecondition, ErrObjectChanged, "fetch %s: object is %d bytes, the plan says %d (changed since the plan?)",
				name, resp.ContentLength, r.size)
		}
	case resp.StatusCode == http.StatusForbidden:
		return 0, forbidden, apierr.New(apierr.PermissionDenied, "fetch %s: HTTP 403%s", name, storeMessage(resp.Body))
	case resp.StatusCode == http.StatusNotFound:
		return 0, fatal, apierr.New(apierr.NotFound, "fetch %s: HTTP 404%s (object deleted since the plan?)", name, storeMessage(resp.Body))
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return 0, fatal, apierr.New(apierr.InvalidArgument, "fetch %s: HTTP 416: bytes %d-%d are past the end of the object%s",
			name, off, end, storeMessage(resp.Body))
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return 0, retryable, fmt.Errorf("fetch %s: HTTP %d%s", name, resp.StatusCode, storeMessage(resp.Body))
	default:
		return 0, fatal, apierr.New(apierr.Internal, "fetch %s: bytes %d-%d: unexpected HTTP %d%s",
			name, off, end, resp.StatusCode, storeMessage(resp.Body))
	}

	n, err := io.ReadFull(resp.Body, p)
	r.bytes.Add(int64(n))
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return n, retryable, fmt.Errorf("fetch %s: short body after %d of %d bytes: %w", name, n, len(p), safeErr(err))
	}
	return n, done, nil
}

// parseContentRange parses "bytes first-last/total" (total may be "*",
// reported as -1).
func parseContentRange(s string) (first, last, total int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	var err error
	if first, err = strconv.ParseInt(a, 10, 64); err != nil {
		return 0, 0, 0, false
	}
	if last, err = strconv.ParseInt(b, 10, 64); err != nil || last < first {
		return 0, 0, 0, false
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
			return 0, 0, 0, false
		}
	}
	return first, last, total, true
}

// storeMessage extracts the S3 error Code and Message from an error body,
// redacted, as ` (Code: Message)`; it never echoes the rest of the body
// (SignatureDoesNotMatch bodies carry the canonical request).
func storeMessage(body io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(body, 8<<10))
	s := string(b)
	code, msg := xmlElem(s, "Code"), xmlElem(s, "Message")
	switch {
	case code != "" && msg != "":
		return " (" + redact.String(code+": "+msg) + ")"
	case code != "":
		return " (" + redact.String(code) + ")"
	case msg != "":
		return " (" + redact.String(msg) + ")"
	}
	return ""
}

func xmlElem(s, name string) string {
	_, after, ok := strings.Cut(s, "<"+name+">")
	if !ok {
		return ""
	}
	v, _, ok := strings.Cut(after, "</"+name+">")
	if !ok || len(v) > 512 {
		return ""
	}
	return strings.TrimSpace(v)
}

// safeErr strips URLs from an error's text while keeping its chain for
// errors.Is and errors.As.
func safeErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redact.URL(ue.URL)
	}
	return redactedError{err}
}

type redactedError struct{ err error }

func (e redactedError) Error() string { return redact.String(e.err.Error()) }
func (e redactedError) Unwrap() error { return e.err }
