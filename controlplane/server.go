// Package controlplane is the privileged side of nscale: catalog, policy,
// planning and the admin API, over one SQL store.
package controlplane

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nscale/nscale/controlplane/api"
	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/catalog"
	"github.com/nscale/nscale/controlplane/storage"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/health"
	"github.com/nscale/nscale/internal/httpserver"
	"github.com/nscale/nscale/internal/metrics"
	"github.com/nscale/nscale/internal/run"
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
	ready   chan struct{}
	apiAddr net.Addr
	opsAddr net.Addr
	started time.Time
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

// Run opens the store, serves the API and ops listeners, and returns nil when
// ctx is cancelled and everything has shut down.
func (s *Server) Run(ctx context.Context) error {
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

	apiLn, err := net.Listen("tcp", string(s.cfg.API.Listen))
	if err != nil {
		return fmt.Errorf("api.listen %s: %w", s.cfg.API.Listen, err)
	}
	opsLn, err := net.Listen("tcp", string(s.cfg.Ops.Listen))
	if err != nil {
		apiLn.Close()
		return fmt.Errorf("ops.listen %s: %w", s.cfg.Ops.Listen, err)
	}
	s.apiAddr, s.opsAddr = apiLn.Addr(), opsLn.Addr()
	s.health.Register("api", func(context.Context) health.Result {
		return health.Result{Code: health.Ready, Message: "serving on " + s.apiAddr.String()}
	})

	objects := &catalog.ObjectStore{LocalRoot: s.cfg.LocalFiles.Root}
	st3, err := storage.New(ctx, s.cfg.S3)
	if err != nil {
		apiLn.Close()
		opsLn.Close()
		return err
	}
	objects.S3 = st3.S3()
	cat := catalog.New(catalog.Config{Store: st, Objects: objects, LocalRoot: s.cfg.LocalFiles.Root, FileListTTL: s.cfg.Catalog.FileListTTL,
		Logger: s.log.With("component", "catalog")})
	var apiHandler http.Handler = api.New(api.Config{
		Auth:     auth.Chain{auth.AdminToken{Token: token}, auth.UserTokens{Store: cat}},
		SQL:      cat,
		Catalog:  cat,
		Store:    st,
		Health:   s.health,
		Version:  version.String(),
		Started:  s.started,
		ReadOnly: s.cfg.ReadOnly,
		Logger:   s.log.With("component", "api"),
		Registry: s.reg,
	})
	if s.cfg.LocalFiles.Root != "" {
		blob, err := s.blobServer()
		if err != nil {
			apiLn.Close()
			opsLn.Close()
			return err
		}
		mux := http.NewServeMux()
		// Signed URLs are their own authentication: no admin token here.
		mux.Handle("GET "+presign.BlobPrefix, blob)
		mux.Handle("HEAD "+presign.BlobPrefix, blob)
		mux.Handle("/", apiHandler)
		apiHandler = mux
	}
	opsHandler := s.health.OpsHandler(metrics.Handler(s.reg))
	close(s.ready)
	s.log.Info("control plane starting", "version", version.String(), "store", string(st.Dialect()),
		"api", s.apiAddr.String(), "ops", s.opsAddr.String(), "read_only", s.cfg.ReadOnly)

	err = run.Group(ctx, s.cfg.ShutdownTimeout,
		run.Task{Name: "api", Run: (&httpserver.Server{Name: "api", Listener: apiLn, Handler: apiHandler, Logger: s.log, ShutdownTimeout: s.cfg.ShutdownTimeout}).Run},
		run.Task{Name: "ops", Run: (&httpserver.Server{Name: "ops", Listener: opsLn, Handler: opsHandler, Logger: s.log, ShutdownTimeout: s.cfg.ShutdownTimeout}).Run},
	)
	if err == nil {
		s.log.Info("control plane stopped")
	}
	return err
}

// blobServer serves local_files.root to holders of URLs signed with the
// shared key.
func (s *Server) blobServer() (http.Handler, error) {
	lf := s.cfg.LocalFiles
	if err := os.MkdirAll(lf.Root, 0o750); err != nil {
		return nil, fmt.Errorf("local_files.root: %w", err)
	}
	key, err := presign.LoadOrCreateKeyFile(lf.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("local_files.key_file: %w", err)
	}
	return presign.FileServer(lf.Root, key, time.Now), nil
}

// adminToken returns the configured token, creating the token file with a
// random token on first start so the embedded default needs no setup.
func (s *Server) adminToken() ([]byte, error) {
	if len(s.cfg.AdminToken) > 0 {
		return s.cfg.AdminToken, nil
	}
	path := s.cfg.API.AdminTokenFile
	if path == "" {
		return nil, fmt.Errorf("no admin token: set api.admin_token_file or %s", EnvAdminToken)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		tok := hex.EncodeToString(raw)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("api.admin_token_file: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("api.admin_token_file: %w", err)
		}
		_, werr := f.WriteString(tok + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, fmt.Errorf("api.admin_token_file: %w", werr)
		}
		s.log.Warn("created a new admin token file; keep it secret", "file", path)
		return []byte(tok), nil
	}
	if err != nil {
		return nil, fmt.Errorf("api.admin_token_file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < 16 {
		return nil, fmt.Errorf("api.admin_token_file %s: token is shorter than 16 characters", path)
	}
	return []byte(tok), nil
}
