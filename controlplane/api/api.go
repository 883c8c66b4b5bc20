// Package api is the control plane's REST admin API.
package api

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/catalog"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/health"
)

// Store is what the API needs of the store.
type Store interface {
	Dialect() store.Dialect
	SchemaVersion(ctx context.Context) (int, error)
	CountAgents(ctx context.Context, seenSince time.Time) (int, error)
}

// Config wires the API to the rest of the control plane.
type Config struct {
	Auth     auth.Authenticator
	SQL      SQLExecutor
	Catalog  *catalog.Service
	Store    Store
	Health   *health.Checker
	Version  string
	Started  time.Time
	ReadOnly bool
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// AgentLostAfter is how long an agent may be silent before it is LOST
	// (0: DefaultAgentLostAfter).
	AgentLostAfter time.Duration
	// Limits bound bodies, time and concurrency (zero values: defaults).
	Limits Limits
}

// Route is one documented endpoint; the OpenAPI test compares this list
// with the document.
type Route struct {
	Method, Path string
	Public       bool // no bearer token needed
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type route struct {
	Route
	h handlerFunc
}

type server struct {
	cfg     Config
	metrics *apiMetrics
	gate    *gate
}

//go:embed openapi.json
var openapiJSON []byte

// table is the one list of endpoints: New mounts it and Routes reports it.
func (s *server) table() []route {
	return []route{
		{Route{Method: "GET", Path: "/api/v1/openapi.json", Public: true}, s.openapi},
		{Route{Method: "GET", Path: "/api/v1/status"}, s.status},
		{Route{Method: "POST", Path: "/api/v1/sql"}, s.sql},
		{Route{Method: "GET", Path: "/api/v1/explain"}, s.explain},
		{Route{Method: "POST", Path: "/api/v1/tokens"}, s.createToken},
		{Route{Method: "GET", Path: "/api/v1/tokens"}, s.listTokens},
		{Route{Method: "DELETE", Path: "/api/v1/tokens/{id}"}, s.revokeToken},
		{Route{Method: "POST", Path: "/api/v1/principals"}, s.createPrincipal},
		{Route{Method: "GET", Path: "/api/v1/principals"}, s.listPrincipals},
		{Route{Method: "GET", Path: "/api/v1/principals/{kind}/{name}"}, s.getPrincipal},
		{Route{Method: "DELETE", Path: "/api/v1/principals/{kind}/{name}"}, s.deletePrincipal},
		{Route{Method: "PUT", Path: "/api/v1/users/{user}/attributes/{key}"}, s.setAttribute},
		{Route{Method: "DELETE", Path: "/api/v1/users/{user}/attributes/{key}"}, s.deleteAttribute},
		{Route{Method: "PUT", Path: "/api/v1/groups/{group}/members/{kind}/{member}"}, s.addMember},
		{Route{Method: "DELETE", Path: "/api/v1/groups/{group}/members/{kind}/{member}"}, s.removeMember},
		{Route{Method: "GET", Path: "/api/v1/audit"}, s.listAudit},
		{Route{Method: "GET", Path: "/api/v1/databases"}, s.listDatabases},
		{Route{Method: "GET", Path: "/api/v1/databases/{db}/tables"}, s.listTables},
		{Route{Method: "GET", Path: "/api/v1/databases/{db}/tables/{table}"}, s.getTable},
		{Route{Method: "GET", Path: "/api/v1/grants"}, s.listGrants},
		{Route{Method: "GET", Path: "/api/v1/policies"}, s.listPolicies},
		{Route{Method: "GET", Path: "/api/v1/databases/{db}/tables/{table}/policy"}, s.tablePolicy},
		{Route{Method: "GET", Path: "/api/v1/unmasks"}, s.listUnmasks},
		{Route{Method: "POST", Path: "/api/v1/join-tokens"}, s.createJoinToken},
		{Route{Method: "GET", Path: "/api/v1/join-tokens"}, s.listJoinTokens},
		{Route{Method: "DELETE", Path: "/api/v1/join-tokens/{id}"}, s.revokeJoinToken},
		{Route{Method: "GET", Path: "/api/v1/agents"}, s.listAgents},
		{Route{Method: "DELETE", Path: "/api/v1/agents/{id}"}, s.revokeAgent},
	}
}

// Routes lists the documented endpoints.
func Routes() []Route {
	var out []Route
	for _, rt := range (&server{}).table() {
		out = append(out, rt.Route)
	}
	return out
}

func newServer(cfg Config) *server {
	cfg.Limits = cfg.Limits.withDefaults()
	if cfg.AgentLostAfter <= 0 {
		cfg.AgentLostAfter = DefaultAgentLostAfter
	}
	return &server{cfg: cfg, metrics: newMetrics(cfg.Registry), gate: newGate(cfg.Limits)}
}

// New returns the API handler.
func New(cfg Config) http.Handler {
	s := newServer(cfg)
	mux := http.NewServeMux()
	for _, rt := range s.table() {
		mux.Handle(rt.Method+" "+rt.Path, s.wrap(rt.Path, rt.Public, rt.h))
	}
	// Unknown paths answer with the same JSON error shape as the rest, and
	// only after authentication so they reveal nothing to strangers.
	mux.Handle("/", s.wrap("other", false, func(w http.ResponseWriter, r *http.Request) error {
		return apierr.New(apierr.NotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
	}))
	return mux
}

func (s *server) openapi(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openapiJSON)
	return err
}
