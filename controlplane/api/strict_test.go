package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nscale/nscale/controlplane/apitypes"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/apierr"
)

// Request bodies are read as strictly as the OpenAPI document describes
// them (found by schemathesis: a null or a missing field was read as "").
func TestDecodeJSONIsStrict(t *testing.T) {
	cases := []struct {
		name, body string
		dst        any
		want       string // "" accepts
	}{
		{"complete", `{"value": "EU"}`, &apitypes.AttributeRequest{}, ""},
		{"empty string", `{"value": ""}`, &apitypes.AttributeRequest{}, ""},
		{"missing field", `{}`, &apitypes.AttributeRequest{}, "field value is required"},
		{"null field", `{"value": null}`, &apitypes.AttributeRequest{}, "field value is null"},
		{"null body", `null`, &apitypes.AttributeRequest{}, "want a JSON object"},
		{"array body", `[]`, &apitypes.AttributeRequest{}, "request body:"},
		{"unknown field", `{"value": "x", "-": 1}`, &apitypes.AttributeRequest{}, `unknown field "-"`},
		{"two values", `{"value": "x"} {}`, &apitypes.AttributeRequest{}, "more than one JSON value"},
		{"wrong type", `{"value": 3}`, &apitypes.AttributeRequest{}, "cannot unmarshal number"},
		{"principal without comment", `{"kind": "group", "name": "eng"}`, &apitypes.PrincipalRequest{}, "field comment is required"},
		{"principal", `{"kind": "group", "name": "eng", "comment": ""}`, &apitypes.PrincipalRequest{}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/api/v1/x", strings.NewReader(tc.body))
			err := decodeJSON(httptest.NewRecorder(), r, tc.dst)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (apierr.CodeOf(err) != apierr.InvalidArgument || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want INVALID_ARGUMENT with %q", err, tc.want)
			}
		})
	}
}

// Query parameters: one value each, and a typed one that is present must
// parse ("page_size=" and "detail=" are not numbers or booleans); a
// principal_kind is checked even without a principal.
func TestQueryParametersAreStrict(t *testing.T) {
	s := newServer(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	reached := func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusTeapot)
		return nil
	}
	handlers := map[string]handlerFunc{
		"page": func(w http.ResponseWriter, r *http.Request) error {
			if _, err := page(r); err != nil {
				return err
			}
			return reached(w, r)
		},
		"detail": func(w http.ResponseWriter, r *http.Request) error {
			if _, err := boolParam(r, "detail"); err != nil {
				return err
			}
			return reached(w, r)
		},
		"principal": func(w http.ResponseWriter, r *http.Request) error {
			if _, err := principalFilter(r.URL.Query()); err != nil {
				return err
			}
			return reached(w, r)
		},
	}
	cases := []struct {
		handler, query string
		want           int
		msg            string
	}{
		{"page", "", http.StatusTeapot, ""},
		{"page", "page_size=10", http.StatusTeapot, ""},
		{"page", "page_size=", 400, `page_size=\"\"`},
		{"page", "page_size=0", 400, "want 1 to 1000"},
		{"page", "page_size=1&page_size=2", 400, "page_size is given 2 times"},
		{"page", "page_size=1&page_size=", 400, "page_size is given 2 times"},
		{"page", "a=%zz", 400, "query string"},
		{"detail", "detail=true", http.StatusTeapot, ""},
		{"detail", "detail=", 400, `detail=\"\"`},
		{"principal", "principal_kind=&principal=", http.StatusTeapot, ""},
		{"principal", "principal_kind=role&principal=analyst", http.StatusTeapot, ""},
		{"principal", "principal_kind=role", http.StatusTeapot, ""},
		{"principal", "principal_kind=rol", 400, `principal_kind=\"rol\"`},
		{"principal", "principal=analyst", 400, "required with principal"},
	}
	for _, tc := range cases {
		t.Run(tc.handler+"?"+tc.query, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.wrap("/x", true, handlers[tc.handler]).ServeHTTP(rec, httptest.NewRequest("GET", "/x?"+tc.query, nil))
			if rec.Code != tc.want || !strings.Contains(rec.Body.String(), tc.msg) {
				t.Fatalf("%d %s, want %d with %q", rec.Code, rec.Body.String(), tc.want, tc.msg)
			}
		})
	}
}

// A table without format options or properties has empty objects, as the
// document says, not null (found by schemathesis).
func TestTableOutHasObjects(t *testing.T) {
	out := tableOut(store.Table{Database: "e2e", Name: "people"})
	if out.FormatOptions == nil || out.Properties == nil || out.Columns == nil {
		t.Fatalf("tableOut gives nil maps or columns: %+v", out)
	}
}
