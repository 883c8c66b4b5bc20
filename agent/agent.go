// Package agent is the unprivileged side of nscale that runs on every compute
// node. It never imports the control plane.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/nscale/nscale/agent/enrol"
	"github.com/nscale/nscale/agent/fetch"
	"github.com/nscale/nscale/agent/flight"
	"github.com/nscale/nscale/agent/peer"
	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/health"
	"github.com/nscale/nscale/internal/httpserver"
	"github.com/nscale/nscale/internal/logging"
	"github.com/nscale/nscale/internal/metrics"
	"github.com/nscale/nscale/internal/run"
	"github.com/nscale/nscale/internal/tlsfiles"
	"github.com/nscale/nscale/internal/version"
)

// Agent is one node's agent.
type Agent struct {
	cfg        Config
	log        *slog.Logger
	reg        *prometheus.Registry
	health     *health.Checker
	ready      chan struct{}
	opsAddr    net.Addr
	flightAddr net.Addr
}

// ErrRoot is returned by New when the agent would run as root without
// --allow-root.
var ErrRoot = errors.New("refusing to run as root: the agent needs no privileges; run it as its own user or pass --allow-root")

// New validates cfg; nothing is opened until Run.
func New(cfg Config, log *slog.Logger, reg *prometheus.Registry) (*Agent, error) {
	return newAgent(cfg, log, reg, os.Geteuid)
}

func newAgent(cfg Config, log *slog.Logger, reg *prometheus.Registry, euid func() int) (*Agent, error) {
	if euid() == 0 && !cfg.AllowRoot {
		return nil, ErrRoot
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Agent{cfg: cfg, log: log, reg: reg, health: health.New(cfg.ShutdownTimeout), ready: make(chan struct{})}, nil
}

// Ready is closed when the listeners are bound.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// OpsAddr is the bound ops address, valid after Ready.
func (a *Agent) OpsAddr() net.Addr { return a.opsAddr }

// FlightAddr is the bound Flight SQL TCP address, valid after Ready; nil
// when flight.listen is empty.
func (a *Agent) FlightAddr() net.Addr { return a.flightAddr }

// Run serves until ctx is cancelled.
func (a *Agent) Run(ctx context.Context) (err error) {
	var closers []func()
	defer func() {
		if err != nil {
			for _, c := range closers {
				c()
			}
		}
	}()
	opsLn, err := net.Listen("tcp", string(a.cfg.Ops.Listen))
	if err != nil {
		return fmt.Errorf("ops.listen %s: %w", a.cfg.Ops.Listen, err)
	}
	closers = append(closers, func() { opsLn.Close() })
	a.opsAddr = opsLn.Addr()

	var flightLns []net.Listener
	if a.cfg.Flight.Listen != "" {
		ln, err := net.Listen("tcp", string(a.cfg.Flight.Listen))
		if err != nil {
			return fmt.Errorf("flight.listen %s: %w", a.cfg.Flight.Listen, err)
		}
		closers = append(closers, func() { ln.Close() })
		a.flightAddr = ln.Addr()
		flightLns = append(flightLns, ln)
	}
	if path := a.cfg.Flight.Socket; path != "" {
		ln, err := flight.ListenUnix(path, fs.FileMode(a.cfg.Flight.SocketMode))
		if err != nil {
			return fmt.Errorf("flight.socket: %w", err)
		}
		closers = append(closers, func() { ln.Close() })
		flightLns = append(flightLns, ln)
		defer removeSocket(path, a.log)
	}

	tc, err := tlsfiles.ClientConfig(a.cfg.ControlPlane.TLS.CAFile, a.cfg.ControlPlane.TLS.ServerName)
	if err != nil {
		return fmt.Errorf("control_plane.tls.ca_file: %w", err)
	}
	var keysReady func() bool
	node := a.cfg.ControlPlane.Enrolment
	if node.NodeName == "" {
		node.NodeName, _ = os.Hostname()
	}
	ident, err := enrol.New(enrol.Options{
		Config: node, Address: string(a.cfg.ControlPlane.Address), TLS: tc, CallTimeout: a.cfg.ControlPlane.Timeout,
		Version: version.String(), Listeners: func() []string { return a.listeners() },
		Health: func() string {
			if keysReady != nil && keysReady() {
				return "ok"
			}
			return "waiting for ticket and masking keys"
		},
		DialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxControlPlaneMessage))},
		Logger:      a.log, Registerer: a.reg,
	})
	if err != nil {
		return err
	}
	closers = append(closers, ident.Close)
	cp := agentapi.NewAgentClient(ident.Conn())
	blobs, err := blobClient(a.cfg.ControlPlane)
	if err != nil {
		return err
	}
	keys, err := flight.NewKeys(flight.KeysConfig{
		Client:      cp,
		CallTimeout: a.cfg.ControlPlane.Timeout,
		Logger:      a.log,
		Registerer:  a.reg,
	})
	if err != nil {
		return err
	}
	peers, err := peer.NewPolicy(a.cfg.Flight.AllowedUIDs, a.cfg.Flight.AllowedUsers, a.cfg.Flight.AllowedGroups)
	if err != nil {
		return err
	}
	guard, closeGuard := a.openGuard(peers)
	defer closeGuard()
	budget := flight.NewBudget(memory.NewGoAllocator(), a.cfg.Flight.MemoryBudget)
	a.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "nscale_agent_arrow_bytes_in_use",
		Help: "Arrow memory held by running streams (flight.memory_budget bounds admission)."},
		func() float64 { return float64(budget.InUse()) }))
	srv, err := flight.New(flight.Config{
		ControlPlane:      cp,
		Keys:              keys,
		Fetch:             fetch.Config{Logger: a.log, ReadAhead: 1 << 20, Client: blobs},
		Allocator:         budget,
		Budget:            budget,
		Logger:            a.log,
		Registerer:        a.reg,
		MaxStreams:        a.cfg.Flight.MaxStreams,
		MaxStreamsPerUser: a.cfg.Flight.MaxStreamsPerUser,
		StallTimeout:      a.cfg.Flight.StallTimeout,
		AdmitWait:         a.cfg.Flight.AdmitWait,
		Peers:             peers,
		AgentID:           ident.AgentID,
		CallTimeout:       a.cfg.ControlPlane.Timeout,
		// Leave the run group time to see Stop's result before its own
		// shutdown timeout expires.
		ShutdownTimeout: a.cfg.ShutdownTimeout * 4 / 5,
	})
	if err != nil {
		return err
	}

	keysReady = keys.IsReady
	a.health.Register("enrolment", func(context.Context) health.Result {
		if ok, msg := ident.Ready(); !ok {
			return health.Result{Code: health.NotReady, Message: msg}
		}
		_, msg := ident.Ready()
		return health.Result{Code: health.Ready, Message: msg}
	})
	a.health.Register("agent", func(context.Context) health.Result {
		return health.Result{Code: health.Ready, Message: "running " + version.String()}
	})
	cpAddr := string(a.cfg.ControlPlane.Address)
	a.health.Register("control_plane", func(context.Context) health.Result {
		if keys.IsReady() {
			return health.Result{Code: health.Ready, Message: "ticket and masking keys received from " + cpAddr}
		}
		return health.Result{Code: health.NotReady, Message: "waiting for ticket and masking keys from the control plane at " + cpAddr}
	})
	close(a.ready)
	a.log.Info("agent starting", "version", version.String(), "ops", a.opsAddr.String(),
		"flight", addrString(a.flightAddr), "socket", a.cfg.Flight.Socket, "control_plane", cpAddr, "callers", peers.String())
	err = run.Group(ctx, a.cfg.ShutdownTimeout,
		run.Task{Name: "ops", Run: (&httpserver.Server{Name: "ops", Listener: opsLn,
			Handler: a.health.OpsHandler(metrics.Handler(a.reg)), Logger: a.log, ShutdownTimeout: a.cfg.ShutdownTimeout}).Run},
		run.Task{Name: "enrolment", Run: ident.Run},
		run.Task{Name: "keys", Run: keys.Run},
		run.Task{Name: "flight", Run: func(ctx context.Context) error { return srv.Run(ctx, flightLns...) }},
		run.Task{Name: "notify", Run: func(ctx context.Context) error { return a.notifySystemd(ctx, ident) }},
		run.Task{Name: "allowlist", Run: func(ctx context.Context) error { return a.syncAllowList(ctx, peers, guard) }},
	)
	if err == nil {
		a.log.Info("agent stopped")
	}
	return err
}

// listeners are the Flight SQL addresses, for heartbeats.
func (a *Agent) listeners() []string {
	var out []string
	if a.flightAddr != nil {
		out = append(out, a.flightAddr.String())
	}
	if a.cfg.Flight.Socket != "" {
		out = append(out, "unix:"+a.cfg.Flight.Socket)
	}
	return out
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// removeSocket removes the Flight socket if it is still there after
// shutdown (the listener normally unlinks it), and only if it is a socket.
func removeSocket(path string, log *slog.Logger) {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Type() != fs.ModeSocket {
		return
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Warn("could not remove the flight socket", "socket", path, logging.KeyError, err)
	}
}
