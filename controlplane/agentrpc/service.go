// Package agentrpc serves the control plane's gRPC API for agents
// (internal/agentapi): user authentication, planning, deferred URL signing,
// task reports, ticket keys, the masking key and the user's catalog view.
//
// Every call must carry the agent credential ("authorization: Bearer
// <agent token>"); calls on behalf of a user carry the user's token in the
// request too, and both are checked. The agent is trusted to relay, never
// to decide: the user is authenticated here, policy is evaluated here, and
// URLs are only signed for objects named by a ticket this control plane
// signed and that has not expired.
package agentrpc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/catalog"
	"github.com/nscale/nscale/controlplane/planner"
	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/mask"
	"github.com/nscale/nscale/internal/taskplan"
	"github.com/nscale/nscale/presign"
)

// Defaults of Config.
const (
	DefaultURLTTL   = 5 * time.Minute
	DefaultPageSize = 256
	MaxPageSize     = 10_000
)

// Config wires a Service. Everything but Logger, Registry, S3, Files and
// Now is required.
type Config struct {
	// AgentToken is the shared agent credential.
	AgentToken []byte
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
	cfg      Config
	tokenSum [sha256.Size]byte
	log      *slog.Logger
	m        *metrics
	now      func() time.Time
}

// New checks cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if len(cfg.AgentToken) < 16 {
		return nil, apierr.New(apierr.InvalidArgument, "agent token must be at least 16 characters")
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
	s := &Service{cfg: cfg, tokenSum: sha256.Sum256(cfg.AgentToken), log: cfg.Logger, now: cfg.Now}
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
			if err := s.checkAgent(ctx); err != nil {
				s.m.calls.WithLabelValues(method(info.FullMethod), string(apierr.CodeOf(err))).Inc()
				return nil, apierr.GRPCStatus(err)
			}
			resp, err := h(ctx, req)
			s.finish(info.FullMethod, err)
			return resp, apierr.GRPCStatus(err)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := s.checkAgent(ss.Context()); err != nil {
				s.m.calls.WithLabelValues(method(info.FullMethod), string(apierr.CodeOf(err))).Inc()
				return apierr.GRPCStatus(err)
			}
			err := h(srv, ss)
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

// checkAgent compares the bearer token with the agent token in constant
// time (over hashes, so the length is hidden too).
func (s *Service) checkAgent(ctx context.Context) error {
	tok := bearer(ctx)
	if tok == "" {
		return apierr.New(apierr.Unauthenticated, "missing agent credential: send authorization: Bearer <agent token>")
	}
	sum := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) != 1 {
		return apierr.New(apierr.Unauthenticated, "invalid agent credential")
	}
	return nil
}

func bearer(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
			return strings.TrimSpace(v[7:])
		}
	}
	return ""
}

// user authenticates an end user's token. The bootstrap admin token is for
// administration, not a catalog user: it reads no data.
func (s *Service) user(ctx context.Context, token string) (string, error) {
	if token == "" {
		return "", apierr.New(apierr.Unauthenticated, "missing user credential")
	}
	p, err := s.cfg.Users.Authenticate(ctx, token)
	if err != nil {
		if apierr.Is(err, apierr.Unauthenticated) {
			return "", apierr.New(apierr.Unauthenticated, "invalid user credential")
		}
		return "", err
	}
	if p.Bootstrap || p.User == "" {
		return "", apierr.New(apierr.PermissionDenied, "the bootstrap admin token reads no data; create a user with nscalectl and use its token")
	}
	return p.User, nil
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
