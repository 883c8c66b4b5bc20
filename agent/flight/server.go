// Package flight is the agent's Arrow Flight SQL server. It serves end users
// on loopback and the agent's unix socket, and trusts none of them: every
// call is authenticated with the user's nscale token against the control
// plane, statements are planned by the control plane into signed tasks, and
// a DoGet runs only a task whose signature, expiry and principal check out.
package flight

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/nscale/nscale/agent/fetch"
	"github.com/nscale/nscale/agent/peer"
	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/logging"
	"github.com/nscale/nscale/internal/quota"
	"github.com/nscale/nscale/internal/taskplan"
	"github.com/nscale/nscale/internal/version"
)

// Defaults for Config's zero values.
const (
	DefaultMaxStreams      = 16
	DefaultStallTimeout    = 60 * time.Second
	DefaultCallTimeout     = 10 * time.Second
	DefaultReportTimeout   = 5 * time.Second
	DefaultAuthCacheTTL    = 30 * time.Second
	MaxAuthCacheTTL        = 60 * time.Second
	DefaultAuthCacheSize   = 1024
	DefaultShutdownTimeout = 15 * time.Second
)

// maxRecvMsgSize lets a DoGet carry the largest ticket taskplan accepts; the
// gRPC default of 4 MiB would refuse a valid one.
const maxRecvMsgSize = taskplan.MaxTicketBytes + 1<<20

// Config is everything a Server needs; New fills zero values with defaults.
type Config struct {
	// ControlPlane is the control plane's agent API, already carrying the
	// agent's own credential on every call.
	ControlPlane agentapi.AgentClient
	// Keys verifies tickets and holds the masking key.
	Keys *Keys
	// Fetch tunes object reads through pre-signed URLs.
	Fetch fetch.Config
	// Allocator allocates every Arrow buffer (default memory.DefaultAllocator).
	Allocator memory.Allocator
	Logger    *slog.Logger
	// Registerer receives the nscale_agent_* metrics (nil: not registered).
	Registerer prometheus.Registerer
	// MaxStreams bounds concurrent DoGet streams of tasks (default 16).
	MaxStreams int
	// MaxStreamsPerUser bounds one principal's concurrent DoGet streams
	// (default half of MaxStreams, at least 1), so that one user cannot
	// take every slot.
	MaxStreamsPerUser int
	// StallTimeout cuts a stream whose client takes no data for this long
	// while the agent has data to send (default 60 s).
	StallTimeout time.Duration
	// Budget, when set, is the allocator's memory budget: a new stream
	// waits while the memory in use is at the budget.
	Budget *Budget
	// AdmitWait bounds each wait of a new stream: for a slot of its
	// user's quota, a global slot, the memory budget (default 30 s).
	AdmitWait time.Duration
	// Peers is the allow-list of local callers (uids, users, groups); nil
	// serves every local user.
	Peers *peer.Policy
	// AgentID is this agent's enrolled id: a ticket bound to another is
	// refused. Nil refuses every bound ticket.
	AgentID func() string
	// CallTimeout bounds each unary control-plane call, and the wait for
	// each message of a Plan stream (default 10 s).
	CallTimeout time.Duration
	// ReportTimeout bounds ReportTask after a stream ends (default 5 s).
	ReportTimeout time.Duration
	// AuthCacheTTL is how long a token's principal is reused without asking
	// the control plane again (default 30 s, at most 60 s).
	AuthCacheTTL time.Duration
	// AuthCacheSize bounds the tokens cached (default 1024).
	AuthCacheSize int
	// ShutdownTimeout bounds the graceful stop of Run (default 15 s).
	ShutdownTimeout time.Duration
	// PageSize is the Plan page size asked for (0: the control plane's).
	PageSize int32
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Server serves Flight SQL. Create it with New and serve with Run.
type Server struct {
	flightsql.BaseServer

	cfg     Config
	peerLog minuteLimiter
	used    usedTickets
	cp      agentapi.AgentClient
	keys    *Keys
	mem     memory.Allocator
	log     *slog.Logger
	m       *metrics
	auth    *authCache
	streams chan struct{} // a slot per concurrent DoGet of a task
	users   *quota.PerKey // streams per principal
	reports sync.WaitGroup
	grpc    *grpc.Server
}

// New checks cfg and builds the gRPC server; nothing listens until Run.
func New(cfg Config) (*Server, error) {
	if cfg.ControlPlane == nil || cfg.Keys == nil {
		return nil, errors.New("flight: ControlPlane and Keys are required")
	}
	if cfg.Allocator == nil {
		cfg.Allocator = memory.DefaultAllocator
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AdmitWait <= 0 {
		cfg.AdmitWait = 30 * time.Second
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	if cfg.MaxStreamsPerUser <= 0 {
		cfg.MaxStreamsPerUser = max(1, cfg.MaxStreams/2)
	}
	if cfg.MaxStreamsPerUser > cfg.MaxStreams {
		return nil, errors.New("flight: MaxStreamsPerUser must not exceed MaxStreams")
	}
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = DefaultStallTimeout
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.ReportTimeout <= 0 {
		cfg.ReportTimeout = DefaultReportTimeout
	}
	if cfg.AuthCacheTTL <= 0 {
		cfg.AuthCacheTTL = DefaultAuthCacheTTL
	}
	if cfg.AuthCacheTTL > MaxAuthCacheTTL {
		return nil, errors.New("flight: AuthCacheTTL must be at most 60s: a revoked token must stop working soon")
	}
	if cfg.AuthCacheSize <= 0 {
		cfg.AuthCacheSize = DefaultAuthCacheSize
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{
		cfg:     cfg,
		cp:      cfg.ControlPlane,
		keys:    cfg.Keys,
		mem:     cfg.Allocator,
		log:     cfg.Logger.With(logging.KeyComponent, "flight"),
		m:       newMetrics(cfg.Registerer),
		auth:    newAuthCache(cfg.AuthCacheTTL, cfg.AuthCacheSize, cfg.Now),
		streams: make(chan struct{}, cfg.MaxStreams),
		users:   quota.NewQueue(cfg.MaxStreamsPerUser, waitingPerSlot*cfg.MaxStreamsPerUser),
	}
	// BaseServer allocates lazily without a lock when Alloc is nil.
	s.Alloc = s.mem
	if err := s.registerSQLInfo(); err != nil {
		return nil, err
	}
	s.grpc = grpc.NewServer(
		grpc.MaxRecvMsgSize(maxRecvMsgSize),
		// Each connection records its caller's uid (SO_PEERCRED, sock_diag).
		grpc.Creds(peer.Credentials{}),
		// Stop then also waits for the handlers it cancelled, so that every
		// task report is queued before Run waits for the reports.
		grpc.WaitForHandlers(true),
		// Streams get a context the agent can cancel (see streamCtl).
		grpc.InTapHandle(tapStream),
		// Errors first (outermost) so that auth failures are mapped too.
		// The local caller is checked before its token: a user outside
		// the allow-list learns nothing, not even whether a token is good.
		grpc.ChainUnaryInterceptor(s.unaryErrors, s.unaryPeer, s.unaryAuth),
		grpc.ChainStreamInterceptor(s.streamEnd, s.streamErrors, s.streamPeer, s.streamAuth),
	)
	flight.RegisterFlightServiceServer(s.grpc, flightsql.NewFlightServerWithAllocator(s, s.mem))
	return s, nil
}

// Run serves on every listener until ctx is cancelled, then stops
// gracefully: running streams get ShutdownTimeout to finish before they
// are cut, and pending task reports are waited for within the same bound.
// Run closes the listeners.
func (s *Server) Run(ctx context.Context, lns ...net.Listener) error {
	if len(lns) == 0 {
		return errors.New("flight: no listener")
	}
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		s.log.Info("listening", "server", "flight", "addr", ln.Addr().String())
		go func(ln net.Listener) { errc <- s.grpc.Serve(ln) }(ln)
	}
	var serveErr error
	select {
	case serveErr = <-errc:
		// A listener failed on its own: stop the others too.
	case <-ctx.Done():
	}
	deadline := time.NewTimer(s.cfg.ShutdownTimeout)
	defer deadline.Stop()
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-deadline.C:
		s.log.Warn("flight streams still running at the shutdown timeout; cutting them")
		s.grpc.Stop()
		<-stopped
	}
	reported := make(chan struct{})
	go func() { s.reports.Wait(); close(reported) }()
	select {
	case <-reported:
	case <-deadline.C:
		s.log.Warn("task reports still pending at the shutdown timeout")
	}
	if serveErr != nil && !errors.Is(serveErr, grpc.ErrServerStopped) {
		return serveErr
	}
	return nil
}

// registerSQLInfo answers GetSqlInfo: a read-only SQL server without
// transactions, substrait or cancellation.
func (s *Server) registerSQLInfo() error {
	infos := []struct {
		id  flightsql.SqlInfo
		val any
	}{
		{flightsql.SqlInfoFlightSqlServerName, "nscale"},
		{flightsql.SqlInfoFlightSqlServerVersion, version.String()},
		{flightsql.SqlInfoFlightSqlServerArrowVersion, arrow.PkgVersion},
		{flightsql.SqlInfoFlightSqlServerReadOnly, true},
		{flightsql.SqlInfoFlightSqlServerSql, true},
		{flightsql.SqlInfoFlightSqlServerSubstrait, false},
		{flightsql.SqlInfoFlightSqlServerTransaction, int32(flightsql.SqlTransactionNone)},
		{flightsql.SqlInfoFlightSqlServerCancel, false},
		{flightsql.SqlInfoFlightSqlServerBulkIngestion, false},
		{flightsql.SqlInfoTransactionsSupported, false},
		{flightsql.SqlInfoDDLCatalog, false},
		{flightsql.SqlInfoDDLSchema, false},
		{flightsql.SqlInfoDDLTable, false},
		{flightsql.SqlInfoIdentifierQuoteChar, `"`},
		{flightsql.SqlInfoSearchStringEscape, `\`},
		{flightsql.SqlInfoAllTablesAreASelectable, true},
		{flightsql.SqlInfoCatalogTerm, "catalog"},
		{flightsql.SqlInfoSchemaTerm, "database"},
	}
	for _, i := range infos {
		if err := s.RegisterSqlInfo(i.id, i.val); err != nil {
			return err
		}
	}
	return nil
}

// relay turns a control-plane error into the caller-facing *apierr.Error
// with the control plane's code and message unchanged.
func relay(err error) error { return apierr.FromGRPC(err) }
