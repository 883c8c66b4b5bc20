package flight

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/apierr"
)

// End users authenticate with their nscale token, either on every call
// ("authorization: Bearer <token>") or once with the Flight handshake in
// basic auth ("authorization: Basic base64(user:token)"), as the Flight SQL
// JDBC driver and ADBC do; the handshake answers with the bearer header the
// client then sends. The agent never decides who a token belongs to: the
// control plane's Authenticate does, and its answer is cached briefly.

const authHeader = "authorization"

var (
	errNoCredential = apierr.New(apierr.Unauthenticated,
		"missing credential: send \"authorization: Bearer <nscale token>\" or authenticate with the Flight SQL handshake (basic auth, password = nscale token)")
	errBadScheme      = apierr.New(apierr.Unauthenticated, "unsupported authorization scheme: use Bearer <nscale token> or Basic auth with the token as password")
	errBadBasic       = apierr.New(apierr.Unauthenticated, "malformed basic auth credential: want base64(user:token)")
	errManyTokens     = apierr.New(apierr.Unauthenticated, "more than one credential in the authorization header")
	errUserMismatch   = apierr.New(apierr.Unauthenticated, "the user name does not match the token's principal")
	errNoPrincipal    = apierr.New(apierr.Internal, "control plane authenticated a token without a principal")
	errNoCallerOnCall = apierr.New(apierr.Internal, "flight: call reached a handler unauthenticated")
)

// caller is the authenticated end user of a call.
type caller struct {
	token     string
	principal string
}

type callerKey struct{}

func withCaller(ctx context.Context, c caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// callerOf returns the caller the auth interceptor stored; every handler
// runs behind it, so a missing caller is a wiring bug.
func callerOf(ctx context.Context) (caller, error) {
	c, ok := ctx.Value(callerKey{}).(caller)
	if !ok {
		return caller{}, errNoCallerOnCall
	}
	return c, nil
}

// credential extracts the user name (basic auth only) and token from the
// call's metadata.
func credential(ctx context.Context) (user, token string, err error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(authHeader)
	if len(vals) == 0 {
		return "", "", errNoCredential
	}
	for _, v := range vals[1:] {
		// Some clients repeat the header; differing values are ambiguous.
		if v != vals[0] {
			return "", "", errManyTokens
		}
	}
	scheme, rest, _ := strings.Cut(strings.TrimSpace(vals[0]), " ")
	rest = strings.TrimSpace(rest)
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		token = rest
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			if raw, err = base64.RawStdEncoding.DecodeString(rest); err != nil {
				return "", "", errBadBasic
			}
		}
		var ok bool
		if user, token, ok = strings.Cut(string(raw), ":"); !ok {
			return "", "", errBadBasic
		}
	case scheme == "":
		return "", "", errNoCredential
	default:
		return "", "", errBadScheme
	}
	if token == "" {
		return "", "", errNoCredential
	}
	return user, token, nil
}

// authenticate resolves token to its principal, from the cache or the
// control plane, and refuses a basic-auth user name that names someone else.
func (s *Server) authenticate(ctx context.Context, user, token string) (string, error) {
	principal, ok := s.auth.get(token)
	if !ok {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
		resp, err := s.cp.Authenticate(cctx, &agentapi.AuthenticateRequest{UserToken: token})
		cancel()
		if err != nil {
			return "", relay(err)
		}
		if principal = resp.GetPrincipal(); principal == "" {
			return "", errNoPrincipal
		}
		s.auth.put(token, principal)
	}
	if user != "" && user != principal {
		return "", errUserMismatch
	}
	return principal, nil
}

func (s *Server) callerFrom(ctx context.Context) (caller, error) {
	user, token, err := credential(ctx)
	if err != nil {
		return caller{}, err
	}
	principal, err := s.authenticate(ctx, user, token)
	if err != nil {
		return caller{}, err
	}
	return caller{token: token, principal: principal}, nil
}

func (s *Server) unaryAuth(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	c, err := s.callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	return handler(withCaller(ctx, c), req)
}

func (s *Server) streamAuth(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	c, err := s.callerFrom(ss.Context())
	if err != nil {
		return err
	}
	if strings.HasSuffix(info.FullMethod, "/Handshake") {
		// The handshake's answer is the bearer header clients send from
		// now on; the token is the user's own, nothing new is minted.
		if err := ss.SetHeader(metadata.Pairs(authHeader, "Bearer "+c.token)); err != nil {
			return err
		}
	}
	return handler(srv, &authedStream{ServerStream: ss, ctx: withCaller(ss.Context(), c)})
}

type authedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (a *authedStream) Context() context.Context { return a.ctx }

// authCache maps sha256(token) to a principal for a short TTL. Keying by
// the hash keeps raw tokens out of the agent's heap beyond the call, and
// makes the lookup a map access rather than a comparison of secrets.
type authCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	size    int
	now     func() time.Time
	entries map[[sha256.Size]byte]authEntry
}

type authEntry struct {
	principal string
	expires   time.Time
}

func newAuthCache(ttl time.Duration, size int, now func() time.Time) *authCache {
	return &authCache{ttl: ttl, size: size, now: now, entries: map[[sha256.Size]byte]authEntry{}}
}

func (c *authCache) get(token string) (string, bool) {
	k := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		return "", false
	}
	if !c.now().Before(e.expires) {
		delete(c.entries, k)
		return "", false
	}
	return e.principal, true
}

func (c *authCache) put(token, principal string) {
	k := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.entries) >= c.size {
		for key, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, key)
			}
		}
	}
	for key := range c.entries {
		if len(c.entries) < c.size {
			break
		}
		delete(c.entries, key) // still full: evict arbitrary entries
	}
	c.entries[k] = authEntry{principal: principal, expires: now.Add(c.ttl)}
}
