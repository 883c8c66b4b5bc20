package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/nscale/nscale/agent/enrol"
	"github.com/nscale/nscale/internal/configfile"
	"github.com/nscale/nscale/internal/logging"
)

// Config is the agent's validated configuration.
type Config struct {
	// AllowRoot lets the agent run as root (flag --allow-root only). The
	// agent needs no privileges; root would widen what a bug could reach.
	AllowRoot bool `yaml:"-"`
	// AllowNonLoopback lets flight.listen bind a non-loopback address (flag
	// --allow-non-loopback only). The agent serves policy-filtered data to
	// whoever holds a user token; it is meant for processes on its node.
	AllowNonLoopback bool               `yaml:"-"`
	Ops              OpsConfig          `yaml:"ops"`
	Flight           FlightConfig       `yaml:"flight"`
	ControlPlane     ControlPlaneConfig `yaml:"control_plane"`
	EBPF             EBPFConfig         `yaml:"ebpf"`
	ShutdownTimeout  time.Duration      `yaml:"shutdown_timeout"`
	Log              logging.Config     `yaml:"log"`
}

// EBPFConfig is where the node's bootstrap pinned the eBPF connect guard.
type EBPFConfig struct {
	// PinDir holds the guard's pinned maps; the agent keeps the allow-list
	// map equal to flight.allowed_* and exports the counters. Empty, or
	// no guard installed there, runs without it (logged once).
	PinDir string `yaml:"pin_dir"`
}

// OpsConfig is the listener for /livez, /readyz and /metrics.
type OpsConfig struct {
	Listen configfile.HostPort `yaml:"listen"`
}

// FlightConfig is where the agent serves Flight SQL.
type FlightConfig struct {
	// Listen is a loopback host:port; empty disables TCP.
	Listen OptionalHostPort `yaml:"listen"`
	// Socket is a unix socket path; empty disables it.
	Socket string `yaml:"socket"`
	// SocketMode is the socket's permission bits, in octal ("0660").
	SocketMode FileMode `yaml:"socket_mode"`
	// MaxStreams bounds concurrent DoGet streams of tasks.
	MaxStreams int `yaml:"max_streams"`
	// MaxStreamsPerUser bounds one user's concurrent DoGet streams, so
	// that one user cannot take every slot; 0 is half of MaxStreams (at
	// least 1), which keeps a config that only lowers max_streams valid.
	MaxStreamsPerUser int `yaml:"max_streams_per_user"`
	// StallTimeout cuts a stream whose client takes no data for this long.
	StallTimeout time.Duration `yaml:"stall_timeout"`
	// AdmitWait bounds how long a new stream waits for a slot of its
	// user's quota, a global slot and the memory budget.
	AdmitWait time.Duration `yaml:"admit_wait"`
	// MemoryBudget is the Arrow memory (bytes) above which new streams
	// wait for running ones to free memory; 0 disables the wait.
	MemoryBudget int64 `yaml:"memory_budget"`
	// AllowedUIDs, AllowedUsers and AllowedGroups are the local users who
	// may call the agent (the caller's uid from SO_PEERCRED on the socket,
	// sock_diag on loopback TCP); all empty serves every local user.
	AllowedUIDs   []int    `yaml:"allowed_uids"`
	AllowedUsers  []string `yaml:"allowed_users"`
	AllowedGroups []string `yaml:"allowed_groups"`
}

// ControlPlaneConfig is how the agent reaches the control plane: always
// TLS, and mTLS with the certificate enrolment gave it.
type ControlPlaneConfig struct {
	Address configfile.HostPort `yaml:"address"`
	// Timeout bounds each call, and the wait for each message of a plan.
	Timeout time.Duration `yaml:"timeout"`
	// TLS verifies the control plane's agent API, and its /blob/ URLs,
	// against a CA bundle.
	TLS ClientTLS `yaml:"tls"`
	// Enrolment is how the agent proves where it runs.
	Enrolment enrol.Config `yaml:"enrolment"`
}

// ClientTLS is how the agent verifies the control plane.
type ClientTLS struct {
	// CAFile is a PEM bundle of the CAs that sign the control plane's
	// certificate: its agent CA (agent_ca.cert_file), and the operator's
	// CA when agent_api.tls or api.tls use their own certificates.
	CAFile string `yaml:"ca_file"`
	// ServerName is the name to verify when it differs from the host of
	// control_plane.address.
	ServerName string `yaml:"server_name"`
}

// DefaultConfig binds loopback only.
func DefaultConfig() Config {
	return Config{
		Ops: OpsConfig{Listen: "127.0.0.1:7444"},
		Flight: FlightConfig{
			Listen:       "127.0.0.1:7443",
			Socket:       "/run/nscale/agent.sock",
			SocketMode:   0o660,
			MaxStreams:   16,
			StallTimeout: 60 * time.Second,
			AdmitWait:    30 * time.Second,
			MemoryBudget: 512 << 20,
		},
		ControlPlane: ControlPlaneConfig{
			Address: "127.0.0.1:7081",
			Timeout: 10 * time.Second,
			TLS:     ClientTLS{CAFile: "/etc/nscale/control-plane-ca.crt"},
			Enrolment: enrol.Config{
				Method:              enrol.JoinToken,
				JoinTokenFile:       "/etc/nscale/join-token",
				KubernetesTokenFile: "/var/run/secrets/nscale/token",
				IMDSURL:             "http://169.254.169.254",
				StateDir:            "/var/lib/nscale",
			},
		},
		EBPF:            EBPFConfig{PinDir: "/sys/fs/bpf/nscale"},
		ShutdownTimeout: 15 * time.Second,
		Log:             logging.Config{Level: "info", Format: "json"},
	}
}

// OptionalHostPort is a host:port, or empty to disable a listener.
type OptionalHostPort string

// UnmarshalText validates a non-empty address.
func (a *OptionalHostPort) UnmarshalText(b []byte) error {
	if len(b) > 0 {
		if err := configfile.CheckHostPort(string(b)); err != nil {
			return err
		}
	}
	*a = OptionalHostPort(b)
	return nil
}

// FileMode is a permission mode written in octal, e.g. "0660".
type FileMode fs.FileMode

// UnmarshalText parses an octal mode of permission bits only.
func (m *FileMode) UnmarshalText(b []byte) error {
	v, err := strconv.ParseUint(string(b), 8, 32)
	if err != nil || v&^uint64(fs.ModePerm) != 0 {
		return fmt.Errorf("invalid mode %q: want octal permission bits such as 0660", b)
	}
	*m = FileMode(v)
	return nil
}

// Validate checks ranges and combinations.
func (c *Config) Validate() error {
	var errs []error
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("shutdown_timeout must be positive"))
	}
	if err := c.Log.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("log: %w", err))
	}
	if c.Flight.Listen == "" && c.Flight.Socket == "" {
		errs = append(errs, errors.New("flight.listen and flight.socket are both empty: the agent would serve nothing"))
	}
	if c.Flight.Listen != "" {
		if err := configfile.CheckHostPort(string(c.Flight.Listen)); err != nil {
			errs = append(errs, fmt.Errorf("flight.listen: %w", err))
		} else if !configfile.IsLoopback(string(c.Flight.Listen)) && !c.AllowNonLoopback {
			errs = append(errs, fmt.Errorf("flight.listen %s is not a loopback address: the agent serves data to any process that reaches its port, "+
				"so it must be reachable from this node only; use 127.0.0.1 or [::1], or pass --allow-non-loopback if the address is private to this node", c.Flight.Listen))
		}
	}
	if fs.FileMode(c.Flight.SocketMode)&^fs.ModePerm != 0 {
		errs = append(errs, fmt.Errorf("flight.socket_mode %#o has bits beyond permissions", c.Flight.SocketMode))
	}
	if c.Flight.MemoryBudget < 0 {
		errs = append(errs, errors.New("flight.memory_budget must not be negative"))
	}
	if c.Flight.MaxStreams < 1 {
		errs = append(errs, errors.New("flight.max_streams must be at least 1"))
	}
	if c.Flight.MaxStreamsPerUser < 0 || c.Flight.MaxStreamsPerUser > c.Flight.MaxStreams {
		errs = append(errs, fmt.Errorf("flight.max_streams_per_user %d must be between 0 (half of flight.max_streams) and flight.max_streams (%d)", c.Flight.MaxStreamsPerUser, c.Flight.MaxStreams))
	}
	if c.Flight.AdmitWait < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("flight.admit_wait %s must be at least 100ms", c.Flight.AdmitWait))
	}
	if c.Flight.StallTimeout < time.Second {
		errs = append(errs, fmt.Errorf("flight.stall_timeout %s must be at least 1s: a client pausing briefly must not lose its stream", c.Flight.StallTimeout))
	}
	if c.ControlPlane.Address == "" {
		errs = append(errs, errors.New("control_plane.address is required"))
	}
	if c.ControlPlane.TLS.CAFile == "" {
		errs = append(errs, errors.New("control_plane.tls.ca_file is required: the CA bundle that signs the control plane's agent API certificate (its agent_ca.cert_file by default)"))
	}
	if err := c.ControlPlane.Enrolment.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.ControlPlane.Timeout <= 0 {
		errs = append(errs, errors.New("control_plane.timeout must be positive"))
	}
	return errors.Join(errs...)
}
