// Package enrol is the agent's side of enrolment: it proves where the
// agent runs (a join token, a Kubernetes projected service-account token,
// the EC2 instance identity document), gets a short-lived client
// certificate from the control plane's agent CA, renews it at two thirds
// of its lifetime, reports heartbeats, and owns the mTLS connection every
// other control-plane call goes through. The private key never leaves the
// agent (and its state directory).
package enrol

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/nscale/nscale/internal/agentapi"
)

// Methods of Config.Method, as the control plane names them.
const (
	JoinToken  = "join_token"
	Kubernetes = "kubernetes"
	AWSIID     = "aws_iid"
)

// Config is control_plane.enrolment in the agent's configuration.
type Config struct {
	// Method is join_token, kubernetes or aws_iid.
	Method string `yaml:"method"`
	// JoinTokenFile holds a join token (nscalectl agents join-token create).
	JoinTokenFile string `yaml:"join_token_file"`
	// KubernetesTokenFile is the projected service-account token with the
	// control plane's audience (the kubelet refreshes it).
	KubernetesTokenFile string `yaml:"kubernetes_token_file"`
	// IMDSURL is the EC2 instance metadata service.
	IMDSURL string `yaml:"imds_url"`
	// StateDir keeps the key and certificate across restarts (mode 0700,
	// files 0600), so a restart within the certificate's life needs no new
	// evidence; empty keeps them in memory only.
	StateDir string `yaml:"state_dir"`
	// NodeName is the node the agent says it runs on (Kubernetes checks
	// it against the pod); empty is the host name.
	NodeName string `yaml:"node_name"`
}

// Validate checks the method and its evidence source.
func (c Config) Validate() error {
	switch c.Method {
	case JoinToken:
		if c.JoinTokenFile == "" {
			return errors.New("control_plane.enrolment.join_token_file is required for method join_token")
		}
	case Kubernetes:
		if c.KubernetesTokenFile == "" {
			return errors.New("control_plane.enrolment.kubernetes_token_file is required for method kubernetes")
		}
	case AWSIID:
		if c.IMDSURL == "" {
			return errors.New("control_plane.enrolment.imds_url is required for method aws_iid")
		}
	default:
		return fmt.Errorf("control_plane.enrolment.method %q: want join_token, kubernetes or aws_iid", c.Method)
	}
	return nil
}

// Options wire an Identity.
type Options struct {
	Config Config
	// Address is the control plane's agent API; TLS verifies it (roots and
	// server name). Certificates are added per connection.
	Address string
	TLS     *tls.Config
	// CallTimeout bounds each enrolment, renewal and heartbeat call.
	CallTimeout time.Duration
	Version     string
	// Listeners and Health are reported with every heartbeat.
	Listeners func() []string
	Health    func() string
	// DialOptions are added to every connection (message sizes).
	DialOptions []grpc.DialOption
	Logger      *slog.Logger
	Registerer  prometheus.Registerer
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Identity is the agent's enrolled identity and its connection.
type Identity struct {
	o        Options
	evidence func(ctx context.Context) ([]byte, error)
	log      *slog.Logger
	m        *metrics
	now      func() time.Time
	conn     switchConn
	wake     chan struct{}

	mu        sync.Mutex
	cert      *tls.Certificate
	agentID   string
	spiffeID  string
	notBefore time.Time // when the certificate was received (or loaded)
	notAfter  time.Time
	heartbeat time.Duration
	lastErr   string

	enrolled     chan struct{}
	enrolledOnce sync.Once
}

// New checks the options; nothing is contacted until Run.
func New(o Options) (*Identity, error) {
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	if o.TLS == nil {
		return nil, errors.New("enrol: the control-plane connection needs TLS (control_plane.tls.ca_file)")
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	id := &Identity{o: o, log: o.Logger.With("component", "enrolment"), m: newMetrics(o.Registerer), now: o.Now,
		heartbeat: 15 * time.Second, wake: make(chan struct{}, 1), enrolled: make(chan struct{})}
	ev, err := evidenceSource(o.Config)
	if err != nil {
		return nil, err
	}
	id.evidence = ev
	if o.Config.StateDir != "" {
		if err := id.loadState(); err != nil {
			id.log.Warn("ignoring the saved agent certificate; enrolling again", "state_dir", o.Config.StateDir, "error", err)
		}
	}
	return id, nil
}

// Conn is the connection for every other control-plane call: mTLS with
// the current certificate, replaced after each renewal. Calls made before
// the first enrolment fail with UNAVAILABLE.
func (id *Identity) Conn() grpc.ClientConnInterface { return &id.conn }

// Ready reports whether the agent holds an unexpired certificate.
func (id *Identity) Ready() (bool, string) {
	id.mu.Lock()
	defer id.mu.Unlock()
	if id.cert == nil {
		if id.lastErr != "" {
			return false, "not enrolled: " + id.lastErr
		}
		return false, "enrolling with the control plane (" + id.o.Config.Method + ")"
	}
	if !id.now().Before(id.notAfter) {
		return false, "the agent certificate expired at " + id.notAfter.UTC().Format(time.RFC3339) + ": " + id.lastErr
	}
	return true, fmt.Sprintf("enrolled as %s (%s), certificate valid until %s", id.agentID, id.spiffeID, id.notAfter.UTC().Format(time.RFC3339))
}

// Enrolled is closed once the agent holds a certificate, saved or new.
func (id *Identity) Enrolled() <-chan struct{} { return id.enrolled }

// EnrolOnce is the node bootstrap's enrolment: it enrols now unless a
// saved certificate is still valid (already is then true), saving the
// key and certificate in the state directory for the agent. A control
// plane that cannot be reached is retried until ctx ends; a refusal
// (a used or wrong token, evidence the control plane rejects) is
// returned at once.
func (id *Identity) EnrolOnce(ctx context.Context) (already bool, err error) {
	if id.current() != nil {
		return true, nil
	}
	backoff := 500 * time.Millisecond
	for {
		err := id.enrol(ctx)
		if err == nil {
			return false, nil
		}
		switch status.Code(err) {
		case codes.Unavailable, codes.DeadlineExceeded:
		default:
			return false, err
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("the control plane at %s could not be reached before the enrolment timeout: %w", id.o.Address, err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// AgentID is the enrolled agent id, "" before enrolment.
func (id *Identity) AgentID() string {
	id.mu.Lock()
	defer id.mu.Unlock()
	return id.agentID
}

// Close closes the connections.
func (id *Identity) Close() { id.conn.close() }

// Run enrols (or uses the saved certificate), then renews at two thirds of
// each certificate's lifetime and sends heartbeats, until ctx ends. A
// control plane that cannot be reached is retried with backoff; the agent
// keeps its certificate meanwhile and serves what it can.
func (id *Identity) Run(ctx context.Context) error {
	defer id.Close()
	if id.current() != nil {
		if err := id.dialWith(id.current()); err != nil {
			return err
		}
	}
	backoff := time.Second
	hb := time.NewTimer(0)
	defer hb.Stop()
	for {
		var wait time.Duration
		if err := id.step(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			id.setErr(err)
			wait = backoff
			backoff = min(2*backoff, 30*time.Second)
		} else {
			backoff = time.Second
			wait = time.Until(id.renewAt())
		}
		t := time.NewTimer(max(wait, 0))
	heartbeats:
		for {
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-id.wake:
				t.Stop()
				break heartbeats
			case <-t.C:
				break heartbeats
			case <-hb.C:
				id.sendHeartbeat(ctx)
				hb.Reset(id.heartbeatEvery())
			}
		}
	}
}

// step enrols when there is no usable certificate and renews when one is
// due; otherwise it does nothing.
func (id *Identity) step(ctx context.Context) error {
	cert := id.current()
	now := id.now()
	switch {
	case cert == nil || !now.Before(id.expiry()):
		return id.enrol(ctx)
	case !now.Before(id.renewAt()):
		err := id.renew(ctx)
		if st, ok := status.FromError(err); ok && st.Code() == codes.Unauthenticated && id.o.Config.Method != JoinToken {
			// Revoked or forgotten by the control plane: evidence that is
			// still valid may enrol again (the control plane decides).
			id.log.Warn("renewal refused; enrolling again", "error", st.Message())
			return id.enrol(ctx)
		}
		return err
	}
	return nil
}

func (id *Identity) current() *tls.Certificate {
	id.mu.Lock()
	defer id.mu.Unlock()
	return id.cert
}

func (id *Identity) expiry() time.Time {
	id.mu.Lock()
	defer id.mu.Unlock()
	return id.notAfter
}

// renewAt is two thirds into the certificate's lifetime.
func (id *Identity) renewAt() time.Time {
	id.mu.Lock()
	defer id.mu.Unlock()
	return id.notBefore.Add(id.notAfter.Sub(id.notBefore) * 2 / 3)
}

func (id *Identity) heartbeatEvery() time.Duration {
	id.mu.Lock()
	defer id.mu.Unlock()
	return id.heartbeat
}

func (id *Identity) setErr(err error) {
	msg := err.Error()
	if st, ok := status.FromError(err); ok {
		msg = st.Code().String() + ": " + st.Message()
	}
	id.mu.Lock()
	id.lastErr = msg
	id.mu.Unlock()
	id.log.Warn("agent enrolment or renewal failed; retrying", "method", id.o.Config.Method, "error", msg)
}

func (id *Identity) enrol(ctx context.Context) error {
	ev, err := id.evidence(ctx)
	if err != nil {
		id.m.enrolments.WithLabelValues("evidence_error").Inc()
		return err
	}
	key, csr, err := newKey()
	if err != nil {
		return err
	}
	// Enrolment goes over its own connection without a client certificate.
	conn, err := grpc.NewClient(id.o.Address, append([]grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(id.o.TLS.Clone()))}, id.o.DialOptions...)...)
	if err != nil {
		return err
	}
	defer conn.Close()
	cctx, cancel := context.WithTimeout(ctx, id.o.CallTimeout)
	defer cancel()
	resp, err := agentapi.NewAgentClient(conn).Enroll(cctx, &agentapi.EnrollRequest{Method: id.o.Config.Method, Evidence: ev, Csr: csr,
		Node: id.o.Config.NodeName, AgentVersion: id.o.Version})
	if err != nil {
		id.m.enrolments.WithLabelValues(status.Code(err).String()).Inc()
		return fmt.Errorf("enrol with the control plane: %w", err)
	}
	id.m.enrolments.WithLabelValues("OK").Inc()
	if err := id.install(resp, key); err != nil {
		return err
	}
	id.log.Info("enrolled with the control plane", "agent_id", resp.GetAgentId(), "spiffe_id", resp.GetSpiffeId(),
		"expires_at", resp.GetExpiresAt().AsTime())
	return nil
}

func (id *Identity) renew(ctx context.Context) error {
	key, csr, err := newKey()
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, id.o.CallTimeout)
	defer cancel()
	resp, err := agentapi.NewAgentClient(&id.conn).Renew(cctx, &agentapi.RenewRequest{Csr: csr})
	if err != nil {
		id.m.renewals.WithLabelValues(status.Code(err).String()).Inc()
		return fmt.Errorf("renew the agent certificate: %w", err)
	}
	id.m.renewals.WithLabelValues("OK").Inc()
	if err := id.install(resp, key); err != nil {
		return err
	}
	id.log.Info("renewed the agent certificate", "agent_id", resp.GetAgentId(), "expires_at", resp.GetExpiresAt().AsTime())
	return nil
}

func (id *Identity) sendHeartbeat(ctx context.Context) {
	if id.current() == nil {
		return
	}
	req := &agentapi.HeartbeatRequest{AgentVersion: id.o.Version, Health: "ok"}
	if id.o.Listeners != nil {
		req.Listeners = id.o.Listeners()
	}
	if id.o.Health != nil {
		req.Health = id.o.Health()
	}
	cctx, cancel := context.WithTimeout(ctx, id.o.CallTimeout)
	defer cancel()
	resp, err := agentapi.NewAgentClient(&id.conn).Heartbeat(cctx, req)
	if err != nil {
		id.m.heartbeats.WithLabelValues(status.Code(err).String()).Inc()
		if ctx.Err() == nil {
			id.log.Debug("heartbeat failed", "error", err)
		}
		if status.Code(err) == codes.Unauthenticated {
			// Revoked or expired: the next step decides what to do.
			select {
			case id.wake <- struct{}{}:
			default:
			}
		}
		return
	}
	id.m.heartbeats.WithLabelValues("OK").Inc()
	if s := resp.GetIntervalSeconds(); s > 0 && s < 3600 {
		id.mu.Lock()
		id.heartbeat = time.Duration(s) * time.Second
		id.mu.Unlock()
	}
}

// switchConn is a client connection that moves to a new *grpc.ClientConn
// after each renewal (a TLS connection keeps the certificate it was opened
// with); the old one is closed once its streams had time to finish.
type switchConn struct {
	cur atomic.Pointer[grpc.ClientConn]
}

var errNotEnrolled = status.Error(codes.Unavailable, "the agent is not enrolled with the control plane yet")

func (c *switchConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	cc := c.cur.Load()
	if cc == nil {
		return errNotEnrolled
	}
	return cc.Invoke(ctx, method, args, reply, opts...)
}

func (c *switchConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	cc := c.cur.Load()
	if cc == nil {
		return nil, errNotEnrolled
	}
	return cc.NewStream(ctx, desc, method, opts...)
}

// drainTime is how long a replaced connection stays open for the streams
// that started on it (a plan, a long SignURLs).
const drainTime = 2 * time.Minute

func (c *switchConn) swap(cc *grpc.ClientConn) {
	if old := c.cur.Swap(cc); old != nil {
		time.AfterFunc(drainTime, func() { old.Close() })
	}
}

func (c *switchConn) close() {
	if old := c.cur.Swap(nil); old != nil {
		old.Close()
	}
}

// dialWith opens the mTLS connection presenting cert and makes it current.
func (id *Identity) dialWith(cert *tls.Certificate) error {
	tc := id.o.TLS.Clone()
	tc.Certificates = []tls.Certificate{*cert}
	cc, err := grpc.NewClient(id.o.Address, append([]grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(tc))}, id.o.DialOptions...)...)
	if err != nil {
		return err
	}
	id.conn.swap(cc)
	return nil
}
