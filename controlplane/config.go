package controlplane

import (
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nscale/nscale/controlplane/agentca"
	"github.com/nscale/nscale/controlplane/auth/oidc"
	"github.com/nscale/nscale/controlplane/enrol/awsiid"
	"github.com/nscale/nscale/controlplane/enrol/k8s"
	"github.com/nscale/nscale/controlplane/storage"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/configfile"
	"github.com/nscale/nscale/internal/logging"
	"github.com/nscale/nscale/internal/tlsfiles"
)

// Config is the control plane's validated configuration. Build it with
// DefaultConfig, then a file (configfile.Load), then flags.
type Config struct {
	API        APIConfig       `yaml:"api"`
	Ops        OpsConfig       `yaml:"ops"`
	Store      StoreConfig     `yaml:"store"`
	LocalFiles LocalFiles      `yaml:"local_files"`
	S3         storage.Config  `yaml:"s3"`
	Catalog    CatalogConfig   `yaml:"catalog"`
	AgentAPI   AgentAPIConfig  `yaml:"agent_api"`
	AgentCA    agentca.Config  `yaml:"agent_ca"`
	Enrolment  EnrolmentConfig `yaml:"enrolment"`
	// OIDC, when set, accepts JWT bearer tokens of one identity provider
	// for end users, beside nscale's own tokens.
	OIDC            *oidc.Config   `yaml:"oidc"`
	Planner         PlannerConfig  `yaml:"planner"`
	Masking         MaskingConfig  `yaml:"masking"`
	ReadOnly        bool           `yaml:"read_only"`
	ShutdownTimeout time.Duration  `yaml:"shutdown_timeout"`
	Log             logging.Config `yaml:"log"`

	// AdminToken is read from API.AdminTokenFile or NSCALE_ADMIN_TOKEN by
	// LoadSecrets, never from the config file itself.
	AdminToken []byte `yaml:"-"`
	// dsnIsSecret marks a DSN read from dsn_file or the environment, where
	// a password is allowed.
	dsnIsSecret bool
}

// APIConfig is the REST admin API listener.
type APIConfig struct {
	Listen         configfile.HostPort `yaml:"listen"`
	AdminTokenFile string              `yaml:"admin_token_file"`
	// MaxBodyBytes bounds every request body.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// RequestTimeout bounds each request's work (its context is cancelled).
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// ReadTimeout bounds reading a whole request, body included; a client
	// that sends slowly holds nothing longer.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// IdleTimeout closes keep-alive connections left idle.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxConcurrentRequests bounds requests in progress (checked before
	// authentication); MaxConcurrentRequestsPerPrincipal bounds one
	// principal's, so that one user cannot exhaust the API.
	MaxConcurrentRequests             int `yaml:"max_concurrent_requests"`
	MaxConcurrentRequestsPerPrincipal int `yaml:"max_concurrent_requests_per_principal"`
	// TLS is the listener's certificate and key (PEM files, reloaded when
	// they change); /blob/ is served over it too.
	TLS tlsfiles.Files `yaml:"tls"`
	// Insecure allows plaintext on an address that is not loopback (behind
	// a TLS-terminating proxy you trust); it is logged at start.
	Insecure bool `yaml:"insecure"`
}

// OpsConfig is the separate listener for /livez, /readyz and /metrics.
type OpsConfig struct {
	Listen configfile.HostPort `yaml:"listen"`
}

// LocalFiles is the embedded default's object store: file:// tables under
// Root, served at /blob/ to holders of a URL signed with the key in KeyFile.
type LocalFiles struct {
	Root    string `yaml:"root"`
	KeyFile string `yaml:"key_file"`
	// URL is the base URL agents use to reach /blob/ (e.g. through a
	// load balancer); empty means http://<api.listen>.
	URL string `yaml:"url"`
}

// AgentAPIConfig is the gRPC listener agents call: enrolment, planning,
// deferred URL signing, task reports, ticket keys and the masking key. It
// is always TLS; every call but Enroll is mTLS with an agent certificate.
type AgentAPIConfig struct {
	Listen configfile.HostPort `yaml:"listen"`
	// URLTTL is the lifetime of each pre-signed URL handed to an agent
	// (further capped by s3.max_url_ttl and the credentials' expiry).
	URLTTL time.Duration `yaml:"url_ttl"`
	// TLS is the listener's certificate and key (reloaded when they
	// change); empty means a certificate from the agent CA for
	// ServerNames.
	TLS tlsfiles.Files `yaml:"tls"`
	// ServerNames are the DNS names and IPs agents dial, for the
	// certificate the agent CA issues (localhost, 127.0.0.1, ::1 and the
	// host name are always in it).
	ServerNames []string `yaml:"server_names"`
	// RevocationRefresh is how often each replica reads the revoked agents.
	RevocationRefresh time.Duration `yaml:"revocation_refresh"`
	// HeartbeatInterval is how often agents report; an agent silent for
	// LostAfter is LOST in `status --detail`.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	LostAfter         time.Duration `yaml:"lost_after"`
}

// EnrolmentConfig enables the enrolment methods besides join tokens
// (always on: an operator creates them).
type EnrolmentConfig struct {
	Kubernetes *k8s.Config    `yaml:"kubernetes"`
	AWSIID     *awsiid.Config `yaml:"aws_iid"`
}

// PlannerConfig tunes planning and ticket signing.
type PlannerConfig struct {
	// SigningKeyFile is the Ed25519 key that signs tickets, created on
	// first start if missing. Every replica must share it.
	SigningKeyFile string `yaml:"signing_key_file"`
	// RetiredKeyFiles still verify tickets (during a key rotation) but
	// sign nothing.
	RetiredKeyFiles []string `yaml:"retired_key_files"`
	// SealingKeyFile is the AES-256-GCM key (32 bytes, hex) that seals
	// every ticket, created on first start if missing. Every replica must
	// share it; agents fetch it over their authenticated channel.
	SealingKeyFile string `yaml:"sealing_key_file"`
	// RetiredSealingKeyFiles still open tickets (during a rotation) but
	// seal nothing.
	RetiredSealingKeyFiles []string `yaml:"retired_sealing_key_files"`
	// TaskTTL is how long a ticket stays valid.
	TaskTTL time.Duration `yaml:"task_ttl"`
	// TargetTaskBytes is how much data one task should read.
	TargetTaskBytes int64 `yaml:"target_task_bytes"`
	// BindTicketsToAgent makes a ticket usable only on the agent that
	// planned it; SingleUseTickets makes it usable once there.
	BindTicketsToAgent bool `yaml:"bind_tickets_to_agent"`
	SingleUseTickets   bool `yaml:"single_use_tickets"`
}

// MaskingConfig holds the key of keyed masks (hash, tokenize).
type MaskingConfig struct {
	// KeyFile holds 32 random bytes (hex), created on first start if
	// missing. Every replica must share it; changing it changes every
	// hashed and tokenized value.
	KeyFile string `yaml:"key_file"`
}

// CatalogConfig tunes the catalog.
type CatalogConfig struct {
	// FileListTTL is how long a table's cached file listing is trusted
	// before it is listed again; 0 keeps it until REFRESH TABLE.
	FileListTTL time.Duration `yaml:"file_list_ttl"`
}

// StoreConfig selects the catalog store.
type StoreConfig struct {
	Dialect        string        `yaml:"dialect"`
	DSN            string        `yaml:"dsn"`
	DSNFile        string        `yaml:"dsn_file"`
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	MaxOpenConns   int           `yaml:"max_open_conns"`
}

// Environment variables that may carry secrets.
const (
	EnvAdminToken = "NSCALE_ADMIN_TOKEN"
	EnvStoreDSN   = "NSCALE_STORE_DSN"
)

// DefaultConfig is the embedded default: SQLite under ./data, loopback only.
func DefaultConfig() Config {
	return Config{
		API: APIConfig{Listen: "127.0.0.1:7080", AdminTokenFile: "./data/admin.token",
			MaxBodyBytes: 1 << 20, RequestTimeout: 60 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
			MaxConcurrentRequests: 64, MaxConcurrentRequestsPerPrincipal: 8},
		Ops:        OpsConfig{Listen: "127.0.0.1:7090"},
		Store:      StoreConfig{Dialect: string(store.SQLite), ConnectTimeout: 5 * time.Second, MaxOpenConns: 10},
		LocalFiles: LocalFiles{Root: "./data/files", KeyFile: "./data/blob.key"},
		S3:         storage.DefaultConfig(),
		Catalog:    CatalogConfig{FileListTTL: time.Hour},
		AgentAPI: AgentAPIConfig{Listen: "127.0.0.1:7081", URLTTL: 5 * time.Minute, ServerNames: []string{},
			RevocationRefresh: 10 * time.Second, HeartbeatInterval: 15 * time.Second, LostAfter: time.Minute},
		AgentCA: agentca.Config{KeyFile: "./data/agent-ca.key", CertFile: "./data/agent-ca.crt", PreviousCertFiles: []string{},
			TrustDomain: agentca.DefaultTrustDomain, CertTTL: agentca.DefaultCertTTL},
		Planner: PlannerConfig{SigningKeyFile: "./data/signing.key", RetiredKeyFiles: []string{},
			SealingKeyFile: "./data/sealing.key", RetiredSealingKeyFiles: []string{},
			TaskTTL: 10 * time.Minute, TargetTaskBytes: 128 << 20, BindTicketsToAgent: true, SingleUseTickets: true},
		Masking:         MaskingConfig{KeyFile: "./data/masking.key"},
		ShutdownTimeout: 15 * time.Second,
		Log:             logging.Config{Level: "info", Format: "json"},
	}
}

//go:embed default-config.yaml
var defaultConfigYAML []byte

// DefaultConfigYAML is the commented default file printed by
// --print-default-config. A test keeps it equal to DefaultConfig.
func DefaultConfigYAML() []byte { return defaultConfigYAML }

// Validate checks what the decoder cannot: combinations and ranges.
func (c *Config) Validate() error {
	var errs []error
	switch store.Dialect(c.Store.Dialect) {
	case store.SQLite, store.Postgres, store.MySQL:
	default:
		errs = append(errs, fmt.Errorf("store.dialect %q: want sqlite, postgres or mysql", c.Store.Dialect))
	}
	if c.Store.DSN != "" && c.Store.DSNFile != "" && !c.dsnIsSecret {
		errs = append(errs, errors.New("store.dsn and store.dsn_file are both set: keep one"))
	}
	if !c.dsnIsSecret && hasPassword(c.Store.DSN) {
		errs = append(errs, fmt.Errorf("store.dsn contains a password: put the DSN in store.dsn_file or %s instead", EnvStoreDSN))
	}
	for _, l := range []struct {
		key      string
		addr     configfile.HostPort
		tls      tlsfiles.Files
		insecure bool
	}{{"api", c.API.Listen, c.API.TLS, c.API.Insecure}, {"agent_api", c.AgentAPI.Listen, c.AgentAPI.TLS, true}} {
		if err := l.tls.Check(l.key + ".tls"); err != nil {
			errs = append(errs, err)
		}
		if !l.tls.Enabled() && !l.insecure && !configfile.IsLoopback(string(l.addr)) {
			errs = append(errs, fmt.Errorf("%s.listen %s is not a loopback address and %s.tls is not set: tokens would cross the network in the clear; "+
				"set %s.tls.cert_file and %s.tls.key_file, or %s.insecure: true behind a TLS-terminating proxy you trust", l.key, l.addr, l.key, l.key, l.key, l.key))
		}
	}
	if c.API.MaxBodyBytes < 1<<10 {
		errs = append(errs, errors.New("api.max_body_bytes must be at least 1024"))
	}
	for name, d := range map[string]time.Duration{"api.request_timeout": c.API.RequestTimeout, "api.read_timeout": c.API.ReadTimeout, "api.idle_timeout": c.API.IdleTimeout} {
		if d < time.Second {
			errs = append(errs, fmt.Errorf("%s %s must be at least 1s", name, d))
		}
	}
	if c.API.MaxConcurrentRequests < 1 {
		errs = append(errs, errors.New("api.max_concurrent_requests must be at least 1"))
	}
	if c.API.MaxConcurrentRequestsPerPrincipal < 1 || c.API.MaxConcurrentRequestsPerPrincipal > c.API.MaxConcurrentRequests {
		errs = append(errs, fmt.Errorf("api.max_concurrent_requests_per_principal %d must be between 1 and api.max_concurrent_requests (%d)",
			c.API.MaxConcurrentRequestsPerPrincipal, c.API.MaxConcurrentRequests))
	}
	if c.Store.ConnectTimeout <= 0 {
		errs = append(errs, errors.New("store.connect_timeout must be positive"))
	}
	if c.Store.MaxOpenConns < 1 {
		errs = append(errs, errors.New("store.max_open_conns must be at least 1"))
	}
	if c.LocalFiles.Root != "" && c.LocalFiles.KeyFile == "" {
		errs = append(errs, errors.New("local_files.key_file is required when local_files.root is set"))
	}
	if err := c.S3.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.AgentAPI.URLTTL < time.Second || c.AgentAPI.URLTTL > 7*24*time.Hour {
		errs = append(errs, errors.New("agent_api.url_ttl must be between 1s and 168h"))
	}
	if err := c.AgentCA.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.AgentAPI.RevocationRefresh < time.Second || c.AgentAPI.RevocationRefresh > 10*time.Second {
		errs = append(errs, fmt.Errorf("agent_api.revocation_refresh %s must be between 1s and 10s (revocation takes effect within three of it)", c.AgentAPI.RevocationRefresh))
	}
	if c.AgentAPI.HeartbeatInterval < time.Second {
		errs = append(errs, errors.New("agent_api.heartbeat_interval must be at least 1s"))
	}
	if c.AgentAPI.LostAfter < 2*c.AgentAPI.HeartbeatInterval {
		errs = append(errs, fmt.Errorf("agent_api.lost_after %s must be at least twice agent_api.heartbeat_interval", c.AgentAPI.LostAfter))
	}
	for _, n := range c.AgentAPI.ServerNames {
		if n == "" || strings.ContainsAny(n, " /:") && net.ParseIP(n) == nil {
			errs = append(errs, fmt.Errorf("agent_api.server_names: %q is not a DNS name or an IP address", n))
		}
	}
	if k := c.Enrolment.Kubernetes; k != nil {
		if err := k.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("enrolment.kubernetes: %w", err))
		}
	}
	if a := c.Enrolment.AWSIID; a != nil {
		if err := a.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("enrolment.aws_iid: %w", err))
		}
	}
	if o := c.OIDC; o != nil {
		if err := o.WithDefaults().Validate(); err != nil {
			errs = append(errs, fmt.Errorf("oidc: %w", err))
		}
	}
	if c.Planner.SealingKeyFile == "" {
		errs = append(errs, errors.New("planner.sealing_key_file is required"))
	}
	if c.Planner.SigningKeyFile == "" {
		errs = append(errs, errors.New("planner.signing_key_file is required"))
	}
	if c.Planner.TaskTTL < time.Second || c.Planner.TaskTTL > 24*time.Hour {
		errs = append(errs, errors.New("planner.task_ttl must be between 1s and 24h"))
	}
	if c.Planner.TargetTaskBytes < 1<<10 {
		errs = append(errs, errors.New("planner.target_task_bytes must be at least 1024"))
	}
	if c.Masking.KeyFile == "" {
		errs = append(errs, errors.New("masking.key_file is required"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("shutdown_timeout must be positive"))
	}
	listeners := map[configfile.HostPort]string{}
	for name, l := range map[string]configfile.HostPort{"api.listen": c.API.Listen, "ops.listen": c.Ops.Listen, "agent_api.listen": c.AgentAPI.Listen} {
		if other, dup := listeners[l]; dup && !strings.HasSuffix(string(l), ":0") {
			first, second := other, name
			if second < first {
				first, second = second, first
			}
			errs = append(errs, fmt.Errorf("%s and %s are both %s: each listener needs its own address", first, second, l))
		}
		listeners[l] = name
	}
	if c.API.Listen == c.Ops.Listen && !strings.HasSuffix(string(c.API.Listen), ":0") {
		errs = append(errs, fmt.Errorf("api.listen and ops.listen are both %s: the ops listener must be separate", c.API.Listen))
	}
	if err := c.Log.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("log: %w", err))
	}
	return errors.Join(errs...)
}

// hasPassword spots the two DSN shapes that carry one: URLs
// (postgres://u:p@h/db) and MySQL's u:p@tcp(h)/db.
func hasPassword(dsn string) bool {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			return true
		}
	}
	if at := strings.LastIndex(dsn, "@"); at > 0 && !strings.Contains(dsn, "://") {
		return strings.Contains(dsn[:at], ":")
	}
	return strings.Contains(dsn, "password=")
}

// LoadSecrets reads the admin token and, when configured, the store DSN from
// their files or the environment. The DSN from a file or env may hold a
// password; it is never logged.
func (c *Config) LoadSecrets(getenv func(string) string) error {
	if v := getenv(EnvStoreDSN); v != "" {
		c.Store.DSN, c.dsnIsSecret = v, true
	} else if c.Store.DSNFile != "" {
		b, err := os.ReadFile(c.Store.DSNFile)
		if err != nil {
			return fmt.Errorf("store.dsn_file: %w", err)
		}
		c.Store.DSN, c.dsnIsSecret = strings.TrimSpace(string(b)), true
	}
	if v := getenv(EnvAdminToken); v != "" {
		if len(v) < 16 {
			return fmt.Errorf("%s is shorter than 16 characters", EnvAdminToken)
		}
		c.AdminToken = []byte(v)
	}
	return nil
}
