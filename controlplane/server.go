// Package controlplane is the privileged side of nscale: catalog, policy,
// planning and the admin API, over one SQL store.
package controlplane

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/nscale/nscale/controlplane/agentca"
	"github.com/nscale/nscale/controlplane/agentrpc"
	"github.com/nscale/nscale/controlplane/api"
	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/auth/oidc"
	"github.com/nscale/nscale/controlplane/catalog"
	"github.com/nscale/nscale/controlplane/enrol"
	"github.com/nscale/nscale/controlplane/enrol/awsiid"
	"github.com/nscale/nscale/controlplane/enrol/jointoken"
	"github.com/nscale/nscale/controlplane/enrol/k8s"
	"github.com/nscale/nscale/controlplane/planner"
	"github.com/nscale/nscale/controlplane/storage"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/configfile"
	"github.com/nscale/nscale/internal/health"
	"github.com/nscale/nscale/internal/httpserver"
	"github.com/nscale/nscale/internal/metrics"
	"github.com/nscale/nscale/internal/run"
	"github.com/nscale/nscale/internal/tlsfiles"
	"github.com/nscale/nscale/internal/version"
	"github.com/nscale/nscale/presign"
)

// Server is one control-plane replica.
type Server struct {
	cfg    Config
	log    *slog.Logger
	reg    *prometheus.Registry
	health *health.Checker

	// ready is closed once the listeners are bound; tests and main read
	// the bound addresses after it.
	ready     chan struct{}
	apiAddr   net.Addr
	opsAddr   net.Addr
	agentAddr net.Addr
	started   time.Time
}

// New validates cfg and returns a Server; nothing is opened until Run.
func New(cfg Config, log *slog.Logger, reg *prometheus.Registry) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, log: log, reg: reg, health: health.New(2 * time.Second), ready: make(chan struct{})}, nil
}

// Ready is closed when the listeners are bound.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// APIAddr and OpsAddr are the bound addresses, valid after Ready.
func (s *Server) APIAddr() net.Addr { return s.apiAddr }
func (s *Server) OpsAddr() net.Addr { return s.opsAddr }

// AgentAddr is the bound agent API (gRPC) address, valid after Ready.
func (s *Server) AgentAddr() net.Addr { return s.agentAddr }

// Run opens the store, serves the API and ops listeners, and returns nil when
// ctx is cancelled and everything has shut down.
func (s *Server) Run(ctx context.Context) (err error) {
	// What is opened before serving is closed here if Run fails before
	// the run group owns it (the servers close their listeners then).
	var closers []func()
	defer func() {
		if err != nil {
			for _, c := range closers {
				c()
			}
		}
	}()
	s.started = time.Now()
	token, err := s.adminToken()
	if err != nil {
		return err
	}

	st, err := store.Open(ctx, store.Config{
		Dialect:        store.Dialect(s.cfg.Store.Dialect),
		DSN:            s.cfg.Store.DSN,
		ConnectTimeout: s.cfg.Store.ConnectTimeout,
		MaxOpenConns:   s.cfg.Store.MaxOpenConns,
		ReadOnly:       s.cfg.ReadOnly,
	}, s.log.With("component", "store"))
	if err != nil {
		return err
	}
	defer st.Close()

	s.health.Register("store", func(ctx context.Context) health.Result {
		if err := st.Ping(ctx); err != nil {
			return health.Result{Code: health.NotReady, Message: "store unreachable: " + err.Error()}
		}
		v, err := st.SchemaVersion(ctx)
		if err != nil {
			return health.Result{Code: health.NotReady, Message: "cannot read schema version: " + err.Error()}
		}
		return health.Result{Code: health.Ready, Message: fmt.Sprintf("%s, schema version %d", st.Dialect(), v)}
	})

	signer, err := s.ticketSigner()
	if err != nil {
		return err
	}
	sealer, err := s.ticketSealer()
	if err != nil {
		return err
	}
	maskKey, err := presign.LoadOrCreateKeyFile(s.cfg.Masking.KeyFile)
	if err != nil {
		return fmt.Errorf("masking.key_file: %w", err)
	}

	var lns []net.Listener
	for _, l := range []struct {
		key  string
		addr string
		dst  *net.Addr
	}{{"api.listen", string(s.cfg.API.Listen), &s.apiAddr}, {"ops.listen", string(s.cfg.Ops.Listen), &s.opsAddr},
		{"agent_api.listen", string(s.cfg.AgentAPI.Listen), &s.agentAddr}} {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			return fmt.Errorf("%s %s: %w", l.key, l.addr, err)
		}
		closers = append(closers, func() { ln.Close() })
		lns = append(lns, ln)
		*l.dst = ln.Addr()
	}
	apiLn, opsLn, agentLn := lns[0], lns[1], lns[2]
	apiTLS, err := s.serverTLS("api", s.cfg.API.Listen, s.cfg.API.TLS, s.cfg.API.Insecure)
	if err != nil {
		return err
	}
	if apiTLS != nil {
		apiLn = tls.NewListener(apiLn, apiTLS)
	}
	ca, created, err := agentca.Load(s.cfg.AgentCA, nil)
	if err != nil {
		return err
	}
	if created {
		s.log.Warn("created a new agent CA; every replica must share its key and certificate files, and agents trust its certificate",
			"key_file", s.cfg.AgentCA.KeyFile, "cert_file", s.cfg.AgentCA.CertFile)
	}
	agentTLS, err := s.agentTLS(ca)
	if err != nil {
		return err
	}
	s.health.Register("api", func(context.Context) health.Result {
		return health.Result{Code: health.Ready, Message: "serving on " + s.apiAddr.String()}
	})

	objects := &catalog.ObjectStore{LocalRoot: s.cfg.LocalFiles.Root}
	st3, err := storage.New(ctx, s.cfg.S3)
	if err != nil {
		return err
	}
	objects.S3 = st3.S3()
	cat := catalog.New(catalog.Config{Store: st, Objects: objects, LocalRoot: s.cfg.LocalFiles.Root, FileListTTL: s.cfg.Catalog.FileListTTL,
		Logger: s.log.With("component", "catalog")})
	users := auth.Chain{auth.AdminToken{Token: token}, auth.UserTokens{Store: cat}}
	var extra []run.Task
	if s.cfg.OIDC != nil {
		o, err := oidc.New(*s.cfg.OIDC, oidc.WithLogger(s.log.With("component", "oidc")), oidc.WithRegisterer(s.reg))
		if err != nil {
			return fmt.Errorf("oidc: %w", err)
		}
		users = append(users, o)
		extra = append(extra, run.Task{Name: "oidc", Run: o.Run})
	}
	attestors, err := s.attestors(cat)
	if err != nil {
		return err
	}
	var apiHandler http.Handler = api.New(api.Config{
		Auth:           users,
		SQL:            cat,
		Catalog:        cat,
		Store:          st,
		Health:         s.health,
		Version:        version.String(),
		Started:        s.started,
		ReadOnly:       s.cfg.ReadOnly,
		Logger:         s.log.With("component", "api"),
		Registry:       s.reg,
		AgentLostAfter: s.cfg.AgentAPI.LostAfter,
		Limits: api.Limits{MaxBodyBytes: s.cfg.API.MaxBodyBytes, RequestTimeout: s.cfg.API.RequestTimeout,
			MaxConcurrent: s.cfg.API.MaxConcurrentRequests, MaxConcurrentPerPrincipal: s.cfg.API.MaxConcurrentRequestsPerPrincipal},
	})
	var files presign.Signer
	if s.cfg.LocalFiles.Root != "" {
		blob, key, err := s.blobServer()
		if err != nil {
			return err
		}
		base := s.cfg.LocalFiles.URL
		if base == "" {
			base = "http://" + s.apiAddr.String()
			if apiTLS != nil {
				base = "https://" + s.apiAddr.String()
			}
		}
		fs, err := presign.NewFileSigner(presign.FileConfig{BaseURL: base, Key: key, MaxTTL: s.cfg.AgentAPI.URLTTL})
		if err != nil {
			return fmt.Errorf("local_files.url: %w", err)
		}
		files = fs
		mux := http.NewServeMux()
		// Signed URLs are their own authentication: no admin token here.
		mux.Handle("GET "+presign.BlobPrefix, blob)
		mux.Handle("HEAD "+presign.BlobPrefix, blob)
		mux.Handle("/", apiHandler)
		apiHandler = mux
	}

	pl := planner.New(planner.Config{Catalog: cat, Store: st, Signer: signer, Sealer: sealer, RowGroups: objects,
		TaskTTL: s.cfg.Planner.TaskTTL, TargetTaskBytes: s.cfg.Planner.TargetTaskBytes})
	agents, err := agentrpc.New(agentrpc.Config{
		BindTickets: s.cfg.Planner.BindTicketsToAgent, SingleUseTickets: s.cfg.Planner.SingleUseTickets,
		CA: ca, Attestors: attestors, RevocationRefresh: s.cfg.AgentAPI.RevocationRefresh, HeartbeatInterval: s.cfg.AgentAPI.HeartbeatInterval,
		Users: users, Planner: pl, Catalog: cat, Signer: signer, Sealer: sealer,
		S3: st3.Signer(), Files: files, LocalRoot: s.cfg.LocalFiles.Root, URLTTL: s.cfg.AgentAPI.URLTTL,
		MaskingKey: maskKey, Logger: s.log.With("component", "agentrpc"), Registry: s.reg,
	})
	if err != nil {
		return err
	}
	grpcServer := grpc.NewServer(append(agents.ServerOptions(), grpc.Creds(credentials.NewTLS(agentTLS)))...)
	agents.Register(grpcServer)
	s.health.Register("agent_api", func(context.Context) health.Result {
		return health.Result{Code: health.Ready, Message: "serving on " + s.agentAddr.String()}
	})
	opsHandler := s.health.OpsHandler(metrics.Handler(s.reg))
	close(s.ready)
	s.log.Info("control plane starting", "version", version.String(), "store", string(st.Dialect()),
		"api", s.apiAddr.String(), "ops", s.opsAddr.String(), "agent_api", s.agentAddr.String(), "read_only", s.cfg.ReadOnly,
		"api_tls", apiTLS != nil, "agent_ca", s.cfg.AgentCA.CertFile, "enrolment", agents.Methods())

	tasks := append([]run.Task{
		run.Task{Name: "api", Run: (&httpserver.Server{Name: "api", Listener: apiLn, Handler: apiHandler, Logger: s.log, ShutdownTimeout: s.cfg.ShutdownTimeout,
			ReadTimeout: s.cfg.API.ReadTimeout, IdleTimeout: s.cfg.API.IdleTimeout}).Run},
		run.Task{Name: "ops", Run: (&httpserver.Server{Name: "ops", Listener: opsLn, Handler: opsHandler, Logger: s.log, ShutdownTimeout: s.cfg.ShutdownTimeout}).Run},
		run.Task{Name: "agent_api", Run: serveGRPC(grpcServer, agentLn, s.cfg.ShutdownTimeout)},
		run.Task{Name: "revocations", Run: agents.Run},
	}, extra...)
	err = run.Group(ctx, s.cfg.ShutdownTimeout, tasks...)
	if err == nil {
		s.log.Info("control plane stopped")
	}
	return err
}

// serverTLS is the TLS configuration of a listener with a certificate,
// nil for a plaintext one (loopback, or the operator's explicit insecure,
// which is logged: tokens cross that connection in the clear).
func (s *Server) serverTLS(key string, addr configfile.HostPort, files tlsfiles.Files, insecure bool) (*tls.Config, error) {
	if !files.Enabled() {
		if !configfile.IsLoopback(string(addr)) {
			s.log.Warn(key+" serves plaintext on an address that is not loopback ("+key+".insecure): bearer tokens cross it in the clear",
				"addr", string(addr))
		}
		return nil, nil
	}
	r, err := tlsfiles.NewReloader(files, s.log.With("component", key))
	if err != nil {
		return nil, fmt.Errorf("%s.tls: %w", key, err)
	}
	return tlsfiles.ServerConfig(r), nil
}

// blobServer serves local_files.root to holders of URLs signed with the
// shared key, which it returns for the signer.
func (s *Server) blobServer() (http.Handler, []byte, error) {
	lf := s.cfg.LocalFiles
	if err := os.MkdirAll(lf.Root, 0o750); err != nil {
		return nil, nil, fmt.Errorf("local_files.root: %w", err)
	}
	key, err := presign.LoadOrCreateKeyFile(lf.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("local_files.key_file: %w", err)
	}
	return presign.FileServer(lf.Root, key, time.Now), key, nil
}

// serveGRPC serves srv on ln until ctx is cancelled, then stops it
// gracefully within timeout and abruptly after.
func serveGRPC(srv *grpc.Server, ln net.Listener, timeout time.Duration) func(context.Context) error {
	return func(ctx context.Context) error {
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		select {
		case err := <-errc:
			return fmt.Errorf("agent API: %w", err)
		case <-ctx.Done():
		}
		done := make(chan struct{})
		go func() { srv.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(timeout):
			srv.Stop()
		}
		return nil
	}
}

// adminToken returns the configured token, creating the token file with a
// random token on first start so the embedded default needs no setup.
func (s *Server) adminToken() ([]byte, error) {
	if len(s.cfg.AdminToken) > 0 {
		return s.cfg.AdminToken, nil
	}
	if s.cfg.API.AdminTokenFile == "" {
		return nil, fmt.Errorf("no admin token: set api.admin_token_file or %s", EnvAdminToken)
	}
	tok, created, err := loadOrCreateToken(s.cfg.API.AdminTokenFile, "api.admin_token_file")
	if created {
		s.log.Warn("created a new admin token file; keep it secret", "file", s.cfg.API.AdminTokenFile)
	}
	return tok, err
}

// agentTLS serves the agent API with the operator's certificate files
// when set, else with a certificate of the agent CA for
// agent_api.server_names and the loopback names.
func (s *Server) agentTLS(ca *agentca.CA) (*tls.Config, error) {
	if s.cfg.AgentAPI.TLS.Enabled() {
		r, err := tlsfiles.NewReloader(s.cfg.AgentAPI.TLS, s.log.With("component", "agent_api"))
		if err != nil {
			return nil, fmt.Errorf("agent_api.tls: %w", err)
		}
		return agentrpc.ServerTLS(r.GetCertificate), nil
	}
	names := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" {
		names = append(names, h)
	}
	if host, _, err := net.SplitHostPort(string(s.cfg.AgentAPI.Listen)); err == nil && host != "" {
		if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
			names = append(names, host)
		}
	}
	ca.SetServerNames(append(names, s.cfg.AgentAPI.ServerNames...))
	return agentrpc.ServerTLS(ca.GetCertificate), nil
}

// attestors are the enabled enrolment methods: join tokens always, the
// Kubernetes and EC2 ones when configured.
func (s *Server) attestors(cat *catalog.Service) (map[string]enrol.Attestor, error) {
	out := map[string]enrol.Attestor{enrol.JoinToken: jointoken.Attestor{Store: cat}}
	if c := s.cfg.Enrolment.Kubernetes; c != nil {
		a, err := k8s.Open(*c)
		if err != nil {
			return nil, fmt.Errorf("enrolment.kubernetes: %w", err)
		}
		out[enrol.Kubernetes] = a
	}
	if c := s.cfg.Enrolment.AWSIID; c != nil {
		a, err := awsiid.New(*c, nil)
		if err != nil {
			return nil, fmt.Errorf("enrolment.aws_iid: %w", err)
		}
		out[enrol.AWSIID] = a
	}
	return out, nil
}
