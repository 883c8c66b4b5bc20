package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nscale/nscale/controlplane/api"
	"github.com/nscale/nscale/controlplane/apitypes"
	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/health"
)

const token = "test-admin-token-0123456789"

type fixture struct {
	srv *httptest.Server
	reg *prometheus.Registry
	hc  *health.Checker
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(ctx, store.Config{Dialect: store.SQLite, DSN: filepath.Join(t.TempDir(), "nscale.db"), ConnectTimeout: 5 * time.Second, MaxOpenConns: 4}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hc := health.New(time.Second)
	hc.Register("store", func(ctx context.Context) health.Result {
		if err := st.Ping(ctx); err != nil {
			return health.Result{Code: health.NotReady, Message: err.Error()}
		}
		return health.Result{Code: health.Ready, Message: "ok"}
	})
	reg := prometheus.NewRegistry()
	h := api.New(api.Config{Auth: auth.Chain{auth.AdminToken{Token: []byte(token)}}, Store: st, Health: hc, Version: "v-test",
		Started: time.Now().Add(-time.Minute), Logger: log, Registry: reg})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, reg: reg, hc: hc}
}

func (f *fixture) get(t *testing.T, path, auth string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name, auth string
		want       int
		msg        string
	}{
		{"missing", "", 401, "missing bearer token"},
		{"wrong token", "Bearer wrong-token", 401, "invalid bearer token"},
		{"token prefix", "Bearer " + token[:10], 401, "invalid bearer token"},
		{"token with suffix", "Bearer " + token + "x", 401, "invalid bearer token"},
		{"basic scheme", "Basic " + token, 401, "malformed"},
		{"no scheme", token, 401, "malformed"},
		{"empty bearer", "Bearer ", 401, "malformed"},
		{"right token", "Bearer " + token, 200, ""},
		{"scheme case-insensitive", "bearer " + token, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.get(t, "/api/v1/status", tc.auth)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
			id := resp.Header.Get(apitypes.RequestIDHeader)
			if len(id) < 16 {
				t.Errorf("request id header %q too short", id)
			}
			if tc.want == 200 {
				return
			}
			var e apitypes.Error
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("error body not JSON: %s", body)
			}
			if e.Code != "UNAUTHENTICATED" || !strings.Contains(e.Message, tc.msg) || e.RequestID != id {
				t.Errorf("error = %+v (header id %s)", e, id)
			}
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestStatus(t *testing.T) {
	f := newFixture(t)
	resp, body := f.get(t, "/api/v1/status", "Bearer "+token)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var st apitypes.Status
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	if st.Service != "nscale-controlplane" || st.Version != "v-test" || st.Code != "READY" ||
		st.StoreDialect != "sqlite" || st.SchemaVersion != store.LatestSchemaVersion || st.AgentCount != 0 || st.ReadOnly {
		t.Errorf("status = %+v", st)
	}
	if st.UptimeSeconds < 59 || st.UptimeSeconds > 3600 {
		t.Errorf("uptime %v, want about 60s", st.UptimeSeconds)
	}
	if len(st.Components) != 0 {
		t.Errorf("components without detail: %+v", st.Components)
	}

	_, body = f.get(t, "/api/v1/status?detail=true", "Bearer "+token)
	st = apitypes.Status{}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Components) != 1 || st.Components[0].Name != "store" || st.Components[0].Code != "READY" || st.Components[0].Timestamp.IsZero() {
		t.Errorf("detail components = %+v", st.Components)
	}

	f.hc.Register("planner", func(context.Context) health.Result {
		return health.Result{Code: health.NotReady, Message: "keys missing"}
	})
	_, body = f.get(t, "/api/v1/status?detail=1", "Bearer "+token)
	st = apitypes.Status{}
	_ = json.Unmarshal(body, &st)
	if st.Code != "NOT_READY" || len(st.Components) != 2 {
		t.Errorf("with a failing component: %+v", st)
	}

	resp, body = f.get(t, "/api/v1/status?detail=maybe", "Bearer "+token)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "detail") {
		t.Errorf("bad detail: %d %s", resp.StatusCode, body)
	}
}

func TestUnknownPathIsJSON404OnlyAfterAuth(t *testing.T) {
	f := newFixture(t)
	if resp, _ := f.get(t, "/api/v1/nope", ""); resp.StatusCode != 401 {
		t.Errorf("unauthenticated unknown path: %d, want 401", resp.StatusCode)
	}
	resp, body := f.get(t, "/api/v1/nope", "Bearer "+token)
	var e apitypes.Error
	if resp.StatusCode != 404 || json.Unmarshal(body, &e) != nil || e.Code != "NOT_FOUND" {
		t.Errorf("unknown path: %d %s", resp.StatusCode, body)
	}
}

func TestMetricsCountRequests(t *testing.T) {
	f := newFixture(t)
	f.get(t, "/api/v1/status", "Bearer "+token)
	f.get(t, "/api/v1/status", "")
	f.get(t, "/api/v1/random/path/123", "Bearer "+token)
	if n, err := testutil.GatherAndCount(f.reg, "nscale_controlplane_api_requests_total"); err != nil || n != 3 {
		t.Fatalf("series = %d (%v), want 3 (status 200, status 401, other 404)", n, err)
	}
	mfs, _ := f.reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" && strings.Contains(l.GetValue(), "random") {
					t.Errorf("raw path leaked into a label: %s", l.GetValue())
				}
			}
		}
	}
}

// The OpenAPI document and the handlers must describe the same API.
func TestOpenAPIMatchesHandlers(t *testing.T) {
	f := newFixture(t)
	resp, body := f.get(t, "/api/v1/openapi.json", "")
	if resp.StatusCode != 200 {
		t.Fatalf("openapi.json: %d", resp.StatusCode)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
		Comps   struct {
			Schemas map[string]struct {
				Required   []string                   `json:"required"`
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi version %q", doc.OpenAPI)
	}
	var inDoc, inCode []string
	for path, ops := range doc.Paths {
		for m := range ops {
			inDoc = append(inDoc, strings.ToUpper(m)+" "+path)
		}
	}
	for _, r := range api.Routes() {
		inCode = append(inCode, r.Method+" "+r.Path)
		var op struct {
			Security *[]any `json:"security"`
		}
		_ = json.Unmarshal(doc.Paths[r.Path][strings.ToLower(r.Method)], &op)
		if documentedPublic := op.Security != nil && len(*op.Security) == 0; documentedPublic != r.Public {
			t.Errorf("%s %s: public=%v in code, %v in the document", r.Method, r.Path, r.Public, documentedPublic)
		}
	}
	sort.Strings(inDoc)
	sort.Strings(inCode)
	if !reflect.DeepEqual(inDoc, inCode) {
		t.Errorf("document has %v, handlers have %v", inDoc, inCode)
	}
	goTypes := map[string]reflect.Type{
		"Status":           reflect.TypeOf(apitypes.Status{}),
		"Component":        reflect.TypeOf(apitypes.Component{}),
		"Error":            reflect.TypeOf(apitypes.Error{}),
		"SQLRequest":       reflect.TypeOf(apitypes.SQLRequest{}),
		"SQLResponse":      reflect.TypeOf(apitypes.SQLResponse{}),
		"SQLResult":        reflect.TypeOf(apitypes.SQLResult{}),
		"Explain":          reflect.TypeOf(apitypes.Explain{}),
		"TokenRequest":     reflect.TypeOf(apitypes.TokenRequest{}),
		"Token":            reflect.TypeOf(apitypes.Token{}),
		"TokenList":        reflect.TypeOf(apitypes.TokenList{}),
		"JoinTokenRequest": reflect.TypeOf(apitypes.JoinTokenRequest{}),
		"JoinToken":        reflect.TypeOf(apitypes.JoinToken{}),
		"JoinTokenList":    reflect.TypeOf(apitypes.JoinTokenList{}),
		"Agent":            reflect.TypeOf(apitypes.Agent{}),
		"AgentList":        reflect.TypeOf(apitypes.AgentList{}),
		"Principal":        reflect.TypeOf(apitypes.Principal{}),
		"PrincipalRequest": reflect.TypeOf(apitypes.PrincipalRequest{}),
		"PrincipalList":    reflect.TypeOf(apitypes.PrincipalList{}),
		"AttributeRequest": reflect.TypeOf(apitypes.AttributeRequest{}),
		"AuditEvent":       reflect.TypeOf(apitypes.AuditEvent{}),
		"AuditList":        reflect.TypeOf(apitypes.AuditList{}),
		"Database":         reflect.TypeOf(apitypes.Database{}),
		"DatabaseList":     reflect.TypeOf(apitypes.DatabaseList{}),
		"Column":           reflect.TypeOf(apitypes.Column{}),
		"Table":            reflect.TypeOf(apitypes.Table{}),
		"TableList":        reflect.TypeOf(apitypes.TableList{}),
		"Grant":            reflect.TypeOf(apitypes.Grant{}),
		"GrantList":        reflect.TypeOf(apitypes.GrantList{}),
		"Policy":           reflect.TypeOf(apitypes.Policy{}),
		"PolicyList":       reflect.TypeOf(apitypes.PolicyList{}),
		"Mask":             reflect.TypeOf(apitypes.Mask{}),
		"TablePolicy":      reflect.TypeOf(apitypes.TablePolicy{}),
		"Unmask":           reflect.TypeOf(apitypes.Unmask{}),
		"UnmaskList":       reflect.TypeOf(apitypes.UnmaskList{}),
	}
	for name := range doc.Comps.Schemas {
		if _, ok := goTypes[name]; !ok {
			t.Errorf("schema %s has no Go type in this test; add it so the two cannot drift", name)
		}
	}
	for name, typ := range goTypes {
		schema, ok := doc.Comps.Schemas[name]
		if !ok {
			t.Errorf("schema %s missing", name)
			continue
		}
		var fields []string
		required := map[string]bool{}
		for i := 0; i < typ.NumField(); i++ {
			tag, opts, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			fields = append(fields, tag)
			if !strings.Contains(opts, "omitempty") {
				required[tag] = true
			}
		}
		var props []string
		for p := range schema.Properties {
			props = append(props, p)
		}
		sort.Strings(fields)
		sort.Strings(props)
		if !reflect.DeepEqual(fields, props) {
			t.Errorf("schema %s has %v, Go type has %v", name, props, fields)
		}
		for _, r := range schema.Required {
			if !required[r] {
				t.Errorf("schema %s requires %s, which the Go type may omit", name, r)
			}
		}
		if len(schema.Required) != len(required) {
			t.Errorf("schema %s requires %v; Go type always sends %v", name, schema.Required, required)
		}
	}
}
