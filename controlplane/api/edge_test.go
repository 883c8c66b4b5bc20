package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nscale/nscale/controlplane/apitypes"
	"github.com/nscale/nscale/internal/apierr"
)

// An internal error is logged once at the edge with the request id, and the
// caller sees neither its text nor any secret inside it.
func TestInternalErrorEdge(t *testing.T) {
	var logs bytes.Buffer
	s := newServer(Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	cause := errors.New("dial postgres://admin:hunter2@10.0.0.5:5432/nscale: connection refused")
	for name, err := range map[string]error{
		"plain":    cause,
		"internal": apierr.Wrap(apierr.Internal, cause, "loading grants"),
	} {
		t.Run(name, func(t *testing.T) {
			logs.Reset()
			h := s.wrap("/x", true, func(http.ResponseWriter, *http.Request) error { return err })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
			if rec.Code != 500 {
				t.Fatalf("status %d", rec.Code)
			}
			body := rec.Body.String()
			var e apitypes.Error
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(body, "hunter2") || strings.Contains(body, "10.0.0.5") || strings.Contains(body, "goroutine") {
				t.Errorf("body leaks internals: %s", body)
			}
			if e.Code != "INTERNAL" || e.RequestID == "" || !strings.Contains(e.Message, e.RequestID) {
				t.Errorf("error body = %+v", e)
			}
			if n := strings.Count(logs.String(), e.RequestID); n != 1 {
				t.Errorf("request id appears %d times in the log, want once:\n%s", n, logs.String())
			}
			if !strings.Contains(logs.String(), "connection refused") {
				t.Errorf("the log must keep the cause for the operator:\n%s", logs.String())
			}
		})
	}
}
