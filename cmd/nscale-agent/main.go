// Command nscale-agent runs the nscale agent on a compute node.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nscale/nscale/agent"
	"github.com/nscale/nscale/internal/configfile"
	"github.com/nscale/nscale/internal/logging"
	"github.com/nscale/nscale/internal/metrics"
	"github.com/nscale/nscale/internal/redact"
	"github.com/nscale/nscale/internal/run"
	"github.com/nscale/nscale/internal/version"
)

const usage = `nscale-agent runs the nscale agent on a compute node.

Usage:
  nscale-agent run [flags]     serve on loopback until SIGINT or SIGTERM
  nscale-agent bootstrap [flags]  (root) set up the node: user, dirs, config, systemd
                               unit, enrolment, Spark settings; --ebpf alone installs
                               only the eBPF guard (nscale-agent bootstrap --help)
  nscale-agent version         print the version

Flags of run:
  --config FILE              YAML configuration file (strict)
  --allow-root               run even as root (the agent needs no privileges; avoid)
  --allow-non-loopback       let --flight-listen bind a non-loopback address (avoid)
  --flight-listen HOST:PORT  Flight SQL on TCP, loopback only; "" disables (flight.listen)
  --socket PATH              Flight SQL on a unix socket; "" disables (flight.socket)
  --control-plane HOST:PORT  the control plane's agent API (control_plane.address)
  --control-plane-ca-file FILE  CA bundle verifying the control plane's agent API
                             (control_plane.tls.ca_file; its agent_ca.cert_file)
  --enrolment-method M       join_token, kubernetes or aws_iid (control_plane.enrolment.method)
  --join-token-file FILE     join token to enrol with (control_plane.enrolment.join_token_file)
  --kubernetes-token-file FILE  projected service-account token
                             (control_plane.enrolment.kubernetes_token_file)
  --state-dir DIR            keeps the agent key and certificate across restarts;
                             "" keeps them in memory (control_plane.enrolment.state_dir)
  --node-name NAME           the node this agent runs on (control_plane.enrolment.node_name)
  --ops-listen HOST:PORT     /livez /readyz /metrics listener (ops.listen)
  --shutdown-timeout DUR     graceful shutdown bound (shutdown_timeout)
  --log-level LEVEL          debug, info, warn, error (log.level)
  --log-format FORMAT        json or text (log.format)
`

func main() {
	ctx, stop := run.SignalContext(context.Background(), nil, func() {
		fmt.Fprintln(os.Stderr, "nscale-agent: second signal, exiting now")
		os.Exit(1)
	})
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// Main returns 0 after a clean stop, 1 on failure, 2 for bad usage or config.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return runCmd(ctx, args[1:], stderr, getenv)
	case "bootstrap":
		return bootstrapCmd(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, version.String())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "nscale-agent: unknown command %q (see nscale-agent help)\n", args[0])
	return 2
}

func runCmd(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) int {
	cfg := agent.DefaultConfig()
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("config", "", "")
	allowRoot := fs.Bool("allow-root", false, "")
	allowNonLoopback := fs.Bool("allow-non-loopback", false, "")
	var overrides []func(*agent.Config)
	fs.Func("ops-listen", "", func(v string) error {
		if err := configfile.CheckHostPort(v); err != nil {
			return err
		}
		overrides = append(overrides, func(c *agent.Config) { c.Ops.Listen = configfile.HostPort(v) })
		return nil
	})
	fs.Func("flight-listen", "", func(v string) error {
		if v != "" {
			if err := configfile.CheckHostPort(v); err != nil {
				return err
			}
		}
		overrides = append(overrides, func(c *agent.Config) { c.Flight.Listen = agent.OptionalHostPort(v) })
		return nil
	})
	fs.Func("socket", "", func(v string) error {
		overrides = append(overrides, func(c *agent.Config) { c.Flight.Socket = v })
		return nil
	})
	fs.Func("control-plane", "", func(v string) error {
		if err := configfile.CheckHostPort(v); err != nil {
			return err
		}
		overrides = append(overrides, func(c *agent.Config) { c.ControlPlane.Address = configfile.HostPort(v) })
		return nil
	})
	fs.Func("control-plane-ca-file", "", func(v string) error {
		overrides = append(overrides, func(c *agent.Config) { c.ControlPlane.TLS.CAFile = v })
		return nil
	})
	for flagName, field := range map[string]func(*agent.Config) *string{
		"enrolment-method":      func(c *agent.Config) *string { return &c.ControlPlane.Enrolment.Method },
		"join-token-file":       func(c *agent.Config) *string { return &c.ControlPlane.Enrolment.JoinTokenFile },
		"kubernetes-token-file": func(c *agent.Config) *string { return &c.ControlPlane.Enrolment.KubernetesTokenFile },
		"state-dir":             func(c *agent.Config) *string { return &c.ControlPlane.Enrolment.StateDir },
		"node-name":             func(c *agent.Config) *string { return &c.ControlPlane.Enrolment.NodeName },
	} {
		fs.Func(flagName, "", func(v string) error {
			overrides = append(overrides, func(c *agent.Config) { *field(c) = v })
			return nil
		})
	}
	fs.Func("shutdown-timeout", "", func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		overrides = append(overrides, func(c *agent.Config) { c.ShutdownTimeout = d })
		return nil
	})
	fs.Func("log-level", "", func(v string) error {
		overrides = append(overrides, func(c *agent.Config) { c.Log.Level = v })
		return nil
	})
	fs.Func("log-format", "", func(v string) error {
		overrides = append(overrides, func(c *agent.Config) { c.Log.Format = v })
		return nil
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, usage)
			return 0
		}
		fmt.Fprintf(stderr, "nscale-agent run: %v\n", err)
		return 2
	}
	if *file != "" {
		if err := configfile.Load(*file, &cfg); err != nil {
			fmt.Fprintf(stderr, "nscale-agent: %v\n", err)
			return 2
		}
	}
	for _, o := range overrides {
		o(&cfg)
	}
	cfg.AllowRoot = *allowRoot
	cfg.AllowNonLoopback = *allowNonLoopback
	log, err := logging.New(stderr, cfg.Log, redact.String)
	if err != nil {
		fmt.Fprintf(stderr, "nscale-agent: %v\n", err)
		return 2
	}
	a, err := agent.New(cfg, log, metrics.NewRegistry())
	switch {
	case errors.Is(err, agent.ErrRoot):
		fmt.Fprintf(stderr, "nscale-agent: %v\n", err)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "nscale-agent: invalid configuration: %v\n", err)
		return 2
	}
	if err := a.Run(ctx); err != nil {
		log.Error("agent failed", logging.KeyError, err)
		fmt.Fprintf(stderr, "nscale-agent: %s\n", redact.String(err.Error()))
		return 1
	}
	return 0
}
