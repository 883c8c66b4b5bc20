package api

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/health"
)

type fakeStore struct{}

func (fakeStore) Dialect() store.Dialect                              { return store.SQLite }
func (fakeStore) SchemaVersion(context.Context) (int, error)          { return 9, nil }
func (fakeStore) CountAgents(context.Context, time.Time) (int, error) { return 0, nil }

// Component messages name the store and dependencies' errors: only
// administrators see them.
func TestStatusDetailIsForAdmins(t *testing.T) {
	hc := health.New(time.Second)
	hc.Register("store", func(context.Context) health.Result {
		return health.Result{Code: health.Ready, Message: "postgres at db.internal:5432"}
	})
	s := newServer(Config{Auth: auth.Chain{auth.AdminToken{Token: []byte("admin-secret")}, tokenUsers{}}, Store: fakeStore{}, Health: hc,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	h := s.wrap("/api/v1/status", false, s.status)
	get := func(token, query string) (int, string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/api/v1/status"+query, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	if code, body := get("tok-ann", ""); code != 200 || strings.Contains(body, "db.internal") {
		t.Errorf("a user's status: %d %s", code, body)
	}
	if code, body := get("tok-ann", "?detail=true"); code != 403 || !strings.Contains(body, "for administrators") || strings.Contains(body, "db.internal") {
		t.Errorf("a user's status detail: %d %s", code, body)
	}
	if code, body := get("admin-secret", "?detail=true"); code != 200 || !strings.Contains(body, "db.internal") {
		t.Errorf("the admin's status detail: %d %s", code, body)
	}
}
