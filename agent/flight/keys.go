package flight

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/logging"
	"github.com/nscale/nscale/internal/mask"
	"github.com/nscale/nscale/internal/taskplan"
)

// Defaults for KeysConfig's zero values.
const (
	DefaultKeySkew         = 30 * time.Second
	DefaultKeyRefresh      = 5 * time.Minute
	DefaultKeyMinRefresh   = 10 * time.Second
	DefaultKeyRetryBackoff = 500 * time.Millisecond
	maxKeyRetryBackoff     = 30 * time.Second
)

// errNotReady answers requests that need keys before the first fetch.
var errNotReady = apierr.New(apierr.Unavailable, "agent is starting: ticket, sealing and masking keys not yet received from the control plane")

// KeysConfig configures Keys.
type KeysConfig struct {
	Client agentapi.AgentClient
	// CallTimeout bounds each control-plane call (default 10 s).
	CallTimeout time.Duration
	// Skew is the clock difference allowed on a ticket's validity window
	// (default 30 s, at most taskplan.MaxClockSkew).
	Skew time.Duration
	// Refresh is the period of the background refetch that picks up
	// rotated and revoked keys (default 5 min).
	Refresh time.Duration
	// MinRefresh rate-limits the refetch triggered by a ticket with an
	// unknown key id or one no sealing key opens, so that forged tickets
	// cannot hammer the control plane (default 10 s).
	MinRefresh time.Duration
	// RetryBackoff is the first delay between start-up attempts; it doubles
	// up to 30 s (default 500 ms).
	RetryBackoff time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
}

// Keys holds what the agent needs from the control plane before it can
// serve a task: the keys that open sealed tickets, the public keys that
// verify them and the masking key. None is ever logged.
type Keys struct {
	cfg      KeysConfig
	log      *slog.Logger
	verifier *taskplan.Verifier
	maskKey  atomic.Pointer[mask.Key]
	sealer   atomic.Pointer[taskplan.Sealer]
	ready    chan struct{}
	once     sync.Once
	fetches  *prometheus.CounterVec

	mu           sync.Mutex // serialises refreshes
	lastOnDemand time.Time
}

// NewKeys returns a Keys that has fetched nothing yet; Run fetches.
func NewKeys(cfg KeysConfig) (*Keys, error) {
	if cfg.Client == nil {
		return nil, apierr.New(apierr.InvalidArgument, "keys: control-plane client is required")
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.Skew == 0 {
		cfg.Skew = DefaultKeySkew
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultKeyRefresh
	}
	if cfg.MinRefresh <= 0 {
		cfg.MinRefresh = DefaultKeyMinRefresh
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = DefaultKeyRetryBackoff
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v, err := taskplan.NewVerifier(nil, cfg.Skew)
	if err != nil {
		return nil, err
	}
	k := &Keys{cfg: cfg, log: log.With(logging.KeyComponent, "keys"), verifier: v, ready: make(chan struct{}),
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nscale_agent_key_fetches_total",
			Help: "Fetches of the ticket-verifying and masking keys from the control plane, by result (ok, error).",
		}, []string{"result"})}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(k.fetches)
	}
	return k, nil
}

// Ready is closed once every kind of key has been fetched.
func (k *Keys) Ready() <-chan struct{} { return k.ready }

// IsReady reports whether Ready is closed.
func (k *Keys) IsReady() bool {
	select {
	case <-k.ready:
		return true
	default:
		return false
	}
}

// Run fetches the keys until the control plane answers (the agent is not
// ready before), then refetches them every Refresh. It returns nil when ctx
// is cancelled; a failing refetch keeps the keys it has.
func (k *Keys) Run(ctx context.Context) error {
	backoff := k.cfg.RetryBackoff
	for {
		err := k.fetchAll(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		k.log.Warn("waiting for the control plane to hand out keys", logging.KeyError, err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxKeyRetryBackoff)
	}
	k.once.Do(func() { close(k.ready) })
	k.log.Info("keys received", "key_ids", k.verifier.KeyIDs())
	t := time.NewTicker(k.cfg.Refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := k.fetchAll(ctx); err != nil && ctx.Err() == nil {
				k.log.Warn("refreshing keys failed; keeping the current ones", logging.KeyError, err)
			}
		}
	}
}

// MaskingKey returns the key keyed masks use.
func (k *Keys) MaskingKey() (mask.Key, error) {
	p := k.maskKey.Load()
	if p == nil {
		return nil, errNotReady
	}
	return *p, nil
}

// Verify opens a sealed ticket and checks it for principal (see
// taskplan.Verifier.Verify). Only sealed tickets are accepted: the control
// plane seals every ticket it issues. A ticket no sealing key opens, or
// signed with a key id the agent does not know, triggers one rate-limited
// refetch of the keys, so that a key rotated in on the control plane is
// picked up without a restart.
func (k *Keys) Verify(ctx context.Context, sealed []byte, principal string) (taskplan.Task, error) {
	if !k.IsReady() {
		return taskplan.Task{}, errNotReady
	}
	ticket, err := k.sealer.Load().Open(sealed)
	if err != nil && taskplan.IsSealed(sealed) && k.refresh(ctx, func() bool { return false }) {
		ticket, err = k.sealer.Load().Open(sealed)
	}
	if err != nil {
		return taskplan.Task{}, err
	}
	t, err := k.verifier.Verify(ticket, k.cfg.Now(), principal)
	if err == nil || !apierr.Is(err, apierr.PermissionDenied) {
		return t, err
	}
	kid, ok := ticketKeyID(ticket)
	if !ok || k.known(kid) {
		return t, err
	}
	if k.refresh(ctx, func() bool { return k.known(kid) }) && k.known(kid) {
		return k.verifier.Verify(ticket, k.cfg.Now(), principal)
	}
	return t, err
}

// refresh refetches every key unless that happened less than MinRefresh
// ago or done reports that another stream's refresh already brought what
// this one needs; it reports whether it refetched.
func (k *Keys) refresh(ctx context.Context, done func() bool) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if done() {
		return true // another stream refreshed while this one waited
	}
	now := k.cfg.Now()
	if !k.lastOnDemand.IsZero() && now.Sub(k.lastOnDemand) < k.cfg.MinRefresh {
		return false
	}
	k.lastOnDemand = now
	if err := k.fetchLocked(ctx); err != nil {
		k.log.Warn("refreshing keys for a ticket the agent cannot open or verify failed", logging.KeyError, err)
		return false
	}
	return true
}

func (k *Keys) known(kid string) bool {
	for _, id := range k.verifier.KeyIDs() {
		if id == kid {
			return true
		}
	}
	return false
}

func (k *Keys) fetchAll(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fetchLocked(ctx)
}

func (k *Keys) fetchLocked(ctx context.Context) error {
	if err := k.fetchPublicKeys(ctx); err != nil {
		return err
	}
	if err := k.fetchSealingKeys(ctx); err != nil {
		return err
	}
	return k.fetchMaskingKey(ctx)
}

// fetchSealingKeys replaces the keys that open tickets with the control
// plane's list (the one it seals with first, then retired ones in their
// overlap). An answer with a bad key or none changes nothing: the agent
// keeps refusing what it cannot open (fail closed).
func (k *Keys) fetchSealingKeys(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, k.cfg.CallTimeout)
	defer cancel()
	resp, err := k.cfg.Client.SealingKeys(ctx, &agentapi.SealingKeysRequest{})
	if err != nil {
		k.fetches.WithLabelValues("error").Inc()
		return apierr.FromGRPC(err)
	}
	s, err := taskplan.NewSealerFromList(resp.GetKeys())
	if err != nil {
		k.fetches.WithLabelValues("error").Inc()
		return apierr.Wrap(apierr.Internal, err, "control plane sent invalid sealing keys")
	}
	k.sealer.Store(s)
	return nil
}

// fetchPublicKeys replaces the verifier's keys with the control plane's
// list: new keys are added and keys no longer listed (revoked) removed. An
// answer with a bad key or no key at all changes nothing.
func (k *Keys) fetchPublicKeys(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, k.cfg.CallTimeout)
	defer cancel()
	resp, err := k.cfg.Client.PublicKeys(ctx, &agentapi.PublicKeysRequest{})
	if err != nil {
		k.fetches.WithLabelValues("error").Inc()
		return apierr.FromGRPC(err)
	}
	keys := make(map[string]ed25519.PublicKey, len(resp.GetKeys()))
	for _, pk := range resp.GetKeys() {
		if !taskplan.ValidKeyID(pk.GetKeyId()) || len(pk.GetEd25519()) != ed25519.PublicKeySize {
			k.fetches.WithLabelValues("error").Inc()
			return apierr.New(apierr.Internal, "control plane sent an invalid ticket key (id %q)", pk.GetKeyId())
		}
		keys[pk.GetKeyId()] = ed25519.PublicKey(bytes.Clone(pk.GetEd25519()))
	}
	if len(keys) == 0 {
		k.fetches.WithLabelValues("error").Inc()
		return apierr.New(apierr.Unavailable, "control plane published no ticket keys")
	}
	for id, pub := range keys {
		if err := k.verifier.AddKey(id, pub); err != nil {
			return err
		}
	}
	for _, id := range k.verifier.KeyIDs() {
		if _, ok := keys[id]; !ok {
			k.verifier.RemoveKey(id)
		}
	}
	k.fetches.WithLabelValues("ok").Inc()
	return nil
}

func (k *Keys) fetchMaskingKey(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, k.cfg.CallTimeout)
	defer cancel()
	resp, err := k.cfg.Client.MaskingKey(ctx, &agentapi.MaskingKeyRequest{})
	if err != nil {
		k.fetches.WithLabelValues("error").Inc()
		return apierr.FromGRPC(err)
	}
	if len(resp.GetKey()) != mask.KeySize {
		k.fetches.WithLabelValues("error").Inc()
		return apierr.New(apierr.Internal, "control plane sent a masking key of %d bytes, want %d", len(resp.GetKey()), mask.KeySize)
	}
	key := mask.Key(bytes.Clone(resp.GetKey()))
	k.maskKey.Store(&key)
	return nil
}

// ticketKeyID reads the key id of a version 1 ticket without verifying
// anything: "nst1.<key id>.".
func ticketKeyID(ticket []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(ticket, []byte("nst1."))
	if !ok {
		return "", false
	}
	kid, _, ok := bytes.Cut(rest, []byte{'.'})
	if !ok || !taskplan.ValidKeyID(string(kid)) {
		return "", false
	}
	return string(kid), true
}
