// Package agentrpc serves the control plane's gRPC API for agents
// (internal/agentapi): user authentication, planning, deferred URL signing,
// task reports, ticket keys, the masking key and the user's catalog view.
//
// Every call but Enroll must come over mTLS with a certificate the
// control plane's agent CA signed for an enrolled, unrevoked agent; calls
// on behalf of a user carry the user's token in the request too, and both
// are checked. The agent is trusted to relay, never
// to decide: the user is authenticated here, policy is evaluated here, and
// URLs are only signed for objects named by a ticket this control plane
// signed and that has not expired.
package agentrpc

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/nscale/nscale/controlplane/agentca"
	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/catalog"
	"github.com/nscale/nscale/controlplane/enrol"
	"github.com/nscale/nscale/controlplane/planner"
	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/mask"
	"github.com/nscale/nscale/internal/taskplan"
	"github.com/nscale/nscale/presign"
)

// Defaults of Config.
const (
	DefaultURLTTL = 5 * time.Minute
	// DefaultRevocationRefresh keeps revocation within 30 s on every replica.
	DefaultRevocationRefresh = 10 * time.Second
	DefaultHeartbeatInterval = 15 * time.Second
	DefaultPageSize          = 256
	MaxPageSize              = 10_000
)

// Config wires a Service. Everything but Logger, Registry, S3, Files and
// Now is required.
type Config struct {
	// CA signs and verifies agent certificates.
	CA *agentca.CA
	// Attestors enrol agents, by method name.
	Attestors map[string]enrol.Attestor
	// RevocationRefresh is how often the revoked agents are read from the
	// store (0: DefaultRevocationRefresh); a copy three times older fails
	// agent calls closed.
	RevocationRefresh time.Duration
	// HeartbeatInterval is what agents are told to keep (0: DefaultHeartbeatInterval).
	HeartbeatInterval time.Duration
	// BindTickets binds every ticket to the agent that asked for the plan;
	// SingleUseTickets marks every ticket single-use.
	BindTickets      bool
	SingleUseTickets bool
	// Users authenticates end users' tokens.
	Users   auth.Authenticator
	Planner *planner.Planner
	Catalog *catalog.Service
	// Signer signs tickets (the planner's); its public keys verify them.
	Signer *taskplan.Signer
	// Sealer opens the sealed tickets agents send back (the planner's);
	// nil accepts unsealed tickets only (tests without sealing).
	Sealer *taskplan.Sealer
	// S3 signs URLs for s3:// locations; nil refuses them.
	S3 presign.Signer
	// Files signs URLs for file:// locations under LocalRoot; nil refuses them.
	Files     presign.Signer
	LocalRoot string
	// URLTTL is the lifetime asked for each URL (signers cap it further);
	// 0 means DefaultURLTTL.
	URLTTL     time.Duration
	MaskingKey mask.Key
	Logger     *slog.Logger
	Registry   prometheus.Registerer
	Now        func() time.Time
}

// Service implements agentapi.AgentServer.
type Service struct {
	agentapi.UnimplementedAgentServer
	cfg        Config
	log        *slog.Logger
	m          *metrics
	now        func() time.Time
	revoked    revocations
	refusalLog logLimiter
}

// New checks cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.CA == nil {
		return nil, apierr.New(apierr.InvalidArgument, "agentrpc: CA is required")
	}
	if cfg.Users == nil || cfg.Planner == nil || cfg.Catalog == nil || cfg.Signer == nil {
		return nil, apierr.New(apierr.InvalidArgument, "agentrpc: Users, Planner, Catalog and Signer are required")
	}
	if len(cfg.MaskingKey) < mask.KeySize {
		return nil, apierr.New(apierr.InvalidArgument, "masking key must be at least %d bytes", mask.KeySize)
	}
	if cfg.URLTTL <= 0 {
		cfg.URLTTL = DefaultURLTTL
	}
	if cfg.RevocationRefresh <= 0 {
		cfg.RevocationRefresh = DefaultRevocationRefresh
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	s := &Service{cfg: cfg, log: cfg.Logger, now: cfg.Now}
	s.revoked.staleAfter = 3 * cfg.RevocationRefresh
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.m = newMetrics(cfg.Registry)
	return s, nil
}

// Register adds the service to srv. Use ServerOptions when building srv.
func (s *Service) Register(srv *grpc.Server) { agentapi.RegisterAgentServer(srv, s) }

// ServerOptions are the interceptors that authenticate the agent on every
// call and map errors to gRPC statuses in one place.
func (s *Service) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			ctx, err := s.checkAgent(ctx, info.FullMethod)
			if err != nil {
				s.m.calls.WithLabelValues(method(info.FullMethod), string(apierr.CodeOf(err))).Inc()
				return nil, apierr.GRPCStatus(err)
			}
			resp, err := h(ctx, req)
			s.finish(info.FullMethod, err)
			return resp, apierr.GRPCStatus(err)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			ctx, err := s.checkAgent(ss.Context(), info.FullMethod)
			if err != nil {
				s.m.calls.WithLabelValues(method(info.FullMethod), string(apierr.CodeOf(err))).Inc()
				return apierr.GRPCStatus(err)
			}
			err = h(srv, &identifiedStream{ServerStream: ss, ctx: ctx})
			s.finish(info.FullMethod, err)
			return apierr.GRPCStatus(err)
		}),
	}
}

// finish counts a call and logs internal errors once, here at the edge.
func (s *Service) finish(full string, err error) {
	code := "OK"
	if cancelled(err) {
		s.m.calls.WithLabelValues(method(full), "CANCELLED").Inc()
		return // the agent went away (its client closed the query); nothing failed here
	}
	if err != nil {
		code = string(apierr.CodeOf(err))
		if apierr.CodeOf(err) == apierr.Internal {
			s.log.Error("agent API call failed", "method", method(full), "error", err)
		}
	}
	s.m.calls.WithLabelValues(method(full), code).Inc()
}

func method(full string) string {
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[i+1:]
	}
	return full
}

// identifiedStream carries the verified agent in its context.
type identifiedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *identifiedStream) Context() context.Context { return s.ctx }

// user authenticates an end user's token. The bootstrap admin token is for
// administration, not a catalog user: it reads no data.
func (s *Service) user(ctx context.Context, token string) (string, error) {
	_, user, err := s.userCtx(ctx, token)
	return user, err
}

// userCtx is user, and ctx with the principal, whose groups (an OIDC
// token's) policy evaluates beside the user's memberships.
func (s *Service) userCtx(ctx context.Context, token string) (context.Context, string, error) {
	if token == "" {
		return ctx, "", apierr.New(apierr.Unauthenticated, "missing user credential")
	}
	p, err := s.cfg.Users.Authenticate(ctx, token)
	if err != nil {
		if apierr.Is(err, apierr.Unauthenticated) {
			if r := auth.StatedReason(err); r != "" {
				return ctx, "", apierr.New(apierr.Unauthenticated, "invalid user credential: %s", strings.TrimPrefix(r, "invalid bearer token: "))
			}
			return ctx, "", apierr.New(apierr.Unauthenticated, "invalid user credential")
		}
		return ctx, "", err
	}
	if p.Bootstrap || p.User == "" {
		return ctx, "", apierr.New(apierr.PermissionDenied, "the bootstrap admin token reads no data; create a user with nscalectl and use its token")
	}
	return auth.WithPrincipal(ctx, p), p.User, nil
}

// cancelled reports an error caused by the caller cancelling the call.
func cancelled(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) {
		return true
	}
	st, ok := status.FromError(err)
	return ok && st.Code() == codes.Canceled
}
