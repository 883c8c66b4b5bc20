package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nscale/nscale/controlplane/apitypes"
	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/internal/apierr"
)

// tokenUsers authenticates "tok-<name>" as user <name>.
type tokenUsers struct{}

func (tokenUsers) Authenticate(_ context.Context, token string) (auth.Principal, error) {
	if name, ok := strings.CutPrefix(token, "tok-"); ok {
		return auth.Principal{User: name}, nil
	}
	return auth.Principal{}, apierr.New(apierr.Unauthenticated, "invalid or expired token")
}

// holdingSQL blocks the statements of users in hold until release is
// closed, and records the context error each one ended with.
type holdingSQL struct {
	hold    map[string]bool
	release chan struct{}
	entered chan string
	mu      sync.Mutex
	ctxErrs []error
}

func (h *holdingSQL) Exec(ctx context.Context, p auth.Principal, sql, _ string) ([]apitypes.SQLResult, error) {
	if h.hold[p.User] {
		h.entered <- p.User
		select {
		case <-h.release:
		case <-ctx.Done():
			h.mu.Lock()
			h.ctxErrs = append(h.ctxErrs, ctx.Err())
			h.mu.Unlock()
			return nil, apierr.New(apierr.Unavailable, "request cancelled")
		}
	}
	return []apitypes.SQLResult{{Statement: sql}}, nil
}

type limitsFixture struct {
	srv *httptest.Server
	sql *holdingSQL
	s   *server
}

func newLimitsFixture(t *testing.T, l Limits, hold ...string) *limitsFixture {
	t.Helper()
	h := &holdingSQL{hold: map[string]bool{}, release: make(chan struct{}), entered: make(chan string, 16)}
	for _, u := range hold {
		h.hold[u] = true
	}
	s := newServer(Config{Auth: tokenUsers{}, SQL: h, Limits: l, Registry: prometheus.NewRegistry(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	mux := http.NewServeMux()
	for _, rt := range s.table() {
		mux.Handle(rt.Method+" "+rt.Path, s.wrap(rt.Path, rt.Public, rt.h))
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &limitsFixture{srv: srv, sql: h, s: s}
}

func (f *limitsFixture) post(t *testing.T, token, body string) (int, http.Header, apitypes.Error) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/sql", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e apitypes.Error
	_ = json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, resp.Header, e
}

const okSQL = `{"sql": "SHOW DATABASES"}`

// hold starts n requests of user that block in the executor.
func (f *limitsFixture) hold(t *testing.T, wg *sync.WaitGroup, user string, n int) {
	t.Helper()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, _, e := f.post(t, "tok-"+user, okSQL); code != 200 {
				t.Errorf("held request of %s: %d %+v", user, code, e)
			}
		}()
		select {
		case <-f.sql.entered:
		case <-time.After(5 * time.Second):
			t.Fatal("held request did not reach the executor")
		}
	}
}

func TestBodyLimit(t *testing.T) {
	f := newLimitsFixture(t, Limits{MaxBodyBytes: 1000})
	code, _, e := f.post(t, "tok-ann", `{"sql": "`+strings.Repeat("x", 1000)+`"}`)
	if code != 400 || e.Code != "INVALID_ARGUMENT" || !strings.Contains(e.Message, "larger than 1000 bytes") {
		t.Errorf("oversize body: %d %+v", code, e)
	}
	if code, _, e := f.post(t, "tok-ann", okSQL); code != 200 {
		t.Errorf("small body: %d %+v", code, e)
	}
}

// One principal at its limit does not stop another.
func TestPerPrincipalConcurrency(t *testing.T) {
	f := newLimitsFixture(t, Limits{MaxConcurrentPerPrincipal: 2}, "ann")
	var wg sync.WaitGroup
	f.hold(t, &wg, "ann", 2)
	code, hdr, e := f.post(t, "tok-ann", okSQL)
	if code != 503 || e.Code != "UNAVAILABLE" || !strings.Contains(e.Message, "api.max_concurrent_requests_per_principal is 2") || hdr.Get("Retry-After") == "" {
		t.Errorf("ann's third request: %d %+v Retry-After=%q", code, e, hdr.Get("Retry-After"))
	}
	if code, _, e := f.post(t, "tok-bob", okSQL); code != 200 {
		t.Errorf("bob while ann is at her limit: %d %+v", code, e)
	}
	if got := testutil.ToFloat64(f.s.metrics.refused.WithLabelValues("per_principal")); got != 1 {
		t.Errorf("refused per principal = %v, want 1", got)
	}
	close(f.sql.release)
	wg.Wait()
	if code, _, e := f.post(t, "tok-ann", okSQL); code != 200 {
		t.Errorf("ann after her requests ended: %d %+v", code, e)
	}
}

// The global limit is checked before authentication: bad tokens count too.
func TestGlobalConcurrency(t *testing.T) {
	f := newLimitsFixture(t, Limits{MaxConcurrent: 3, MaxConcurrentPerPrincipal: 2}, "ann", "bob")
	var wg sync.WaitGroup
	f.hold(t, &wg, "ann", 2)
	f.hold(t, &wg, "bob", 1)
	for _, token := range []string{"tok-cat", "garbage"} {
		code, _, e := f.post(t, token, okSQL)
		if code != 503 || !strings.Contains(e.Message, "api.max_concurrent_requests)") {
			t.Errorf("%s at the global limit: %d %+v", token, code, e)
		}
	}
	close(f.sql.release)
	wg.Wait()
	if code, _, e := f.post(t, "tok-cat", okSQL); code != 200 {
		t.Errorf("after the others ended: %d %+v", code, e)
	}
	if code, _, _ := f.post(t, "garbage", okSQL); code != 401 {
		t.Errorf("a bad token below the limit: %d, want 401", code)
	}
}

// A request's work is cancelled at the request timeout.
func TestRequestTimeout(t *testing.T) {
	f := newLimitsFixture(t, Limits{RequestTimeout: 200 * time.Millisecond}, "ann")
	begin := time.Now()
	code, _, _ := f.post(t, "tok-ann", okSQL)
	<-f.sql.entered
	if took := time.Since(begin); code != 503 || took > 5*time.Second {
		t.Errorf("a request past its timeout: %d after %s", code, took)
	}
	f.sql.mu.Lock()
	defer f.sql.mu.Unlock()
	if len(f.sql.ctxErrs) != 1 || f.sql.ctxErrs[0] != context.DeadlineExceeded {
		t.Errorf("executor saw %v, want its context to expire", f.sql.ctxErrs)
	}
}
