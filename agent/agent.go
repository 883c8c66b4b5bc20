// Package agent is the unprivileged side of nscale that runs on every compute
// node. It never imports the control plane.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nscale/nscale/internal/health"
	"github.com/nscale/nscale/internal/httpserver"
	"github.com/nscale/nscale/internal/metrics"
	"github.com/nscale/nscale/internal/run"
	"github.com/nscale/nscale/internal/version"
)

// Agent is one node's agent.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	reg     *prometheus.Registry
	health  *health.Checker
	ready   chan struct{}
	opsAddr net.Addr
}

// ErrRoot is returned by New when the agent would run as root without
// --allow-root.
var ErrRoot = errors.New("refusing to run as root: the agent needs no privileges; run it as its own user or pass --allow-root")

// New validates cfg; nothing is opened until Run.
func New(cfg Config, log *slog.Logger, reg *prometheus.Registry) (*Agent, error) {
	return newAgent(cfg, log, reg, os.Geteuid)
}

func newAgent(cfg Config, log *slog.Logger, reg *prometheus.Registry, euid func() int) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if euid() == 0 && !cfg.AllowRoot {
		return nil, ErrRoot
	}
	return &Agent{cfg: cfg, log: log, reg: reg, health: health.New(cfg.ShutdownTimeout), ready: make(chan struct{})}, nil
}

// Ready is closed when the listeners are bound.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// OpsAddr is the bound ops address, valid after Ready.
func (a *Agent) OpsAddr() net.Addr { return a.opsAddr }

// Run serves until ctx is cancelled.
func (a *Agent) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", string(a.cfg.Ops.Listen))
	if err != nil {
		return fmt.Errorf("ops.listen %s: %w", a.cfg.Ops.Listen, err)
	}
	a.opsAddr = ln.Addr()
	a.health.Register("agent", func(context.Context) health.Result {
		return health.Result{Code: health.Ready, Message: "running " + version.String()}
	})
	close(a.ready)
	a.log.Info("agent starting", "version", version.String(), "ops", a.opsAddr.String())
	err = run.Group(ctx, a.cfg.ShutdownTimeout,
		run.Task{Name: "ops", Run: (&httpserver.Server{Name: "ops", Listener: ln,
			Handler: a.health.OpsHandler(metrics.Handler(a.reg)), Logger: a.log, ShutdownTimeout: a.cfg.ShutdownTimeout}).Run},
	)
	if err == nil {
		a.log.Info("agent stopped")
	}
	return err
}
