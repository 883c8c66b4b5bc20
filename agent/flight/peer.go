package flight

import (
	"context"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/nscale/nscale/agent/peer"
)

func (s *Server) unaryPeer(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := s.checkPeer(ctx); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (s *Server) streamPeer(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := s.checkPeer(ss.Context()); err != nil {
		return err
	}
	return handler(srv, ss)
}

// checkPeer refuses a local caller outside flight.allowed_*: UNAUTHENTICATED
// naming its uid (which the caller knows anyway), counted per uid and
// logged at most once a minute per uid.
func (s *Server) checkPeer(ctx context.Context) error {
	if s.cfg.Peers == nil {
		return nil
	}
	c, err := peer.FromContext(ctx)
	if err == nil && s.cfg.Peers.Allow(c) {
		return nil
	}
	label := "unknown"
	if c.Known {
		label = strconv.FormatUint(uint64(c.UID), 10)
	}
	s.m.peerRefused.WithLabelValues(label).Inc()
	if s.peerLog.allow(label) {
		s.log.Warn("refused a local caller outside the allow-list", "uid", label, "via", c.Via, "pid", c.PID, "allowed", s.cfg.Peers.String())
	}
	return status.Errorf(codes.Unauthenticated, "this agent does not serve %s: it is not in flight.allowed_uids, allowed_users or allowed_groups", c)
}

// callerUID is the uid recorded in task reports, -1 when unknown.
func callerUID(ctx context.Context) int64 {
	if c, err := peer.FromContext(ctx); err == nil && c.Known {
		return int64(c.UID)
	}
	return -1
}

// minuteLimiter lets one event per key through per minute.
type minuteLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (l *minuteLimiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil || len(l.last) > 10_000 {
		l.last = map[string]time.Time{}
	}
	now := time.Now()
	if t, ok := l.last[key]; ok && now.Sub(t) < time.Minute {
		return false
	}
	l.last[key] = now
	return true
}
