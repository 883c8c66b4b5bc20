package agent

import (
	"errors"
	"fmt"
	"time"

	"github.com/nscale/nscale/internal/configfile"
	"github.com/nscale/nscale/internal/logging"
)

// Config is the agent's validated configuration.
type Config struct {
	// AllowRoot lets the agent run as root (flag --allow-root only). The
	// agent needs no privileges; root would widen what a bug could reach.
	AllowRoot       bool           `yaml:"-"`
	Ops             OpsConfig      `yaml:"ops"`
	ShutdownTimeout time.Duration  `yaml:"shutdown_timeout"`
	Log             logging.Config `yaml:"log"`
}

// OpsConfig is the listener for /livez, /readyz and /metrics.
type OpsConfig struct {
	Listen configfile.HostPort `yaml:"listen"`
}

// DefaultConfig binds loopback only.
func DefaultConfig() Config {
	return Config{
		Ops:             OpsConfig{Listen: "127.0.0.1:7444"},
		ShutdownTimeout: 15 * time.Second,
		Log:             logging.Config{Level: "info", Format: "json"},
	}
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
	return errors.Join(errs...)
}
