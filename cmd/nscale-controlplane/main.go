// Command nscale-controlplane runs one control-plane replica.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/nscale/nscale/controlplane"
	"github.com/nscale/nscale/internal/configfile"
	"github.com/nscale/nscale/internal/logging"
	"github.com/nscale/nscale/internal/metrics"
	"github.com/nscale/nscale/internal/redact"
	"github.com/nscale/nscale/internal/run"
	"github.com/nscale/nscale/internal/version"
)

func main() {
	ctx, stop := run.SignalContext(context.Background(), nil, func() {
		fmt.Fprintln(os.Stderr, "nscale-controlplane: second signal, exiting now")
		os.Exit(1)
	})
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// Main returns the exit status: 0 after a clean stop, 1 when the daemon
// failed, 2 for bad flags or configuration.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	cfg, action, err := loadConfig(args, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "nscale-controlplane: %v\n", err)
		return 2
	}
	switch action {
	case "print-default-config":
		_, _ = stdout.Write(controlplane.DefaultConfigYAML())
		return 0
	case "version":
		fmt.Fprintln(stdout, version.String())
		return 0
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	log, err := logging.New(stderr, cfg.Log, redact.String)
	if err != nil {
		fmt.Fprintf(stderr, "nscale-controlplane: %v\n", err)
		return 2
	}
	srv, err := controlplane.New(cfg, log, metrics.NewRegistry())
	if err != nil {
		fmt.Fprintf(stderr, "nscale-controlplane: invalid configuration: %v\n", err)
		return 2
	}
	if err := srv.Run(ctx); err != nil {
		log.Error("control plane failed", logging.KeyError, err)
		fmt.Fprintf(stderr, "nscale-controlplane: %s\n", redact.String(err.Error()))
		return 1
	}
	return 0
}

const usage = `nscale-controlplane runs one replica of the nscale control plane.

Usage:
  nscale-controlplane [flags]

Configuration is built from defaults, then --config FILE (YAML, strict), then
flags. Secrets come only from files or the environment: NSCALE_ADMIN_TOKEN,
NSCALE_STORE_DSN.

Flags:
  --config FILE              YAML configuration file
  --print-default-config     print the commented default configuration and exit
  --api-listen HOST:PORT     REST admin API listener (api.listen)
  --ops-listen HOST:PORT     /livez /readyz /metrics listener (ops.listen)
  --agent-api-listen HOST:PORT  gRPC API for agents (agent_api.listen)
  --agent-ca-key-file FILE   key of the CA that signs agent certificates (agent_ca.key_file)
  --agent-ca-cert-file FILE  its certificate, the one agents trust (agent_ca.cert_file)
  --api-tls-cert-file FILE   TLS certificate chain of the API and /blob/ (api.tls.cert_file)
  --api-tls-key-file FILE    its key (api.tls.key_file)
  --agent-api-tls-cert-file FILE  TLS certificate chain of the agent API (agent_api.tls.cert_file)
  --agent-api-tls-key-file FILE   its key (agent_api.tls.key_file)
  --admin-token-file FILE    admin bearer token file (api.admin_token_file)
  --store-dialect NAME       sqlite, postgres or mysql (store.dialect)
  --store-dsn DSN            store DSN without password (store.dsn)
  --store-dsn-file FILE      file holding the store DSN (store.dsn_file)
  --read-only                refuse all changes (read_only)
  --shutdown-timeout DUR     graceful shutdown bound (shutdown_timeout)
  --log-level LEVEL          debug, info, warn, error (log.level)
  --log-format FORMAT        json or text (log.format)
  --version                  print the version and exit
`

// loadConfig applies defaults, the file, then the flags that were set, then
// secrets, so a flag always beats the file whatever their order.
func loadConfig(args []string, getenv func(string) string) (controlplane.Config, string, error) {
	cfg := controlplane.DefaultConfig()
	fs := flag.NewFlagSet("nscale-controlplane", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var file string
	var printDefault, showVersion bool
	fs.StringVar(&file, "config", "", "")
	fs.BoolVar(&printDefault, "print-default-config", false, "")
	fs.BoolVar(&showVersion, "version", false, "")

	var overrides []func(*controlplane.Config)
	set := func(name string, apply func(*controlplane.Config, string) error) {
		fs.Func(name, "", func(v string) error {
			var probe controlplane.Config
			if err := apply(&probe, v); err != nil {
				return err
			}
			overrides = append(overrides, func(c *controlplane.Config) { _ = apply(c, v) })
			return nil
		})
	}
	set("api-listen", func(c *controlplane.Config, v string) error {
		c.API.Listen = configfile.HostPort(v)
		return configfile.CheckHostPort(v)
	})
	set("ops-listen", func(c *controlplane.Config, v string) error {
		c.Ops.Listen = configfile.HostPort(v)
		return configfile.CheckHostPort(v)
	})
	set("agent-api-listen", func(c *controlplane.Config, v string) error {
		c.AgentAPI.Listen = configfile.HostPort(v)
		return configfile.CheckHostPort(v)
	})
	set("agent-ca-key-file", func(c *controlplane.Config, v string) error { c.AgentCA.KeyFile = v; return nil })
	set("agent-ca-cert-file", func(c *controlplane.Config, v string) error { c.AgentCA.CertFile = v; return nil })
	set("api-tls-cert-file", func(c *controlplane.Config, v string) error { c.API.TLS.CertFile = v; return nil })
	set("api-tls-key-file", func(c *controlplane.Config, v string) error { c.API.TLS.KeyFile = v; return nil })
	set("agent-api-tls-cert-file", func(c *controlplane.Config, v string) error { c.AgentAPI.TLS.CertFile = v; return nil })
	set("agent-api-tls-key-file", func(c *controlplane.Config, v string) error { c.AgentAPI.TLS.KeyFile = v; return nil })
	set("admin-token-file", func(c *controlplane.Config, v string) error { c.API.AdminTokenFile = v; return nil })
	set("store-dialect", func(c *controlplane.Config, v string) error { c.Store.Dialect = v; return nil })
	set("store-dsn", func(c *controlplane.Config, v string) error { c.Store.DSN = v; return nil })
	set("store-dsn-file", func(c *controlplane.Config, v string) error { c.Store.DSNFile = v; return nil })
	set("log-level", func(c *controlplane.Config, v string) error { c.Log.Level = v; return nil })
	set("log-format", func(c *controlplane.Config, v string) error { c.Log.Format = v; return nil })
	set("shutdown-timeout", func(c *controlplane.Config, v string) error {
		d, err := time.ParseDuration(v)
		c.ShutdownTimeout = d
		return err
	})
	fs.BoolFunc("read-only", "", func(v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return err
		}
		overrides = append(overrides, func(c *controlplane.Config) { c.ReadOnly = b })
		return nil
	})

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, "help", nil
		}
		return cfg, "", err
	}
	if fs.NArg() > 0 {
		return cfg, "", fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	if printDefault {
		return cfg, "print-default-config", nil
	}
	if showVersion {
		return cfg, "version", nil
	}
	if file != "" {
		if err := configfile.Load(file, &cfg); err != nil {
			return cfg, "", err
		}
	}
	for _, o := range overrides {
		o(&cfg)
	}
	if err := cfg.LoadSecrets(getenv); err != nil {
		return cfg, "", err
	}
	return cfg, "", nil
}
