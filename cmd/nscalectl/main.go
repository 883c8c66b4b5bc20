// Command nscalectl administers an nscale control plane over its REST API.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nscale/nscale/controlplane/apiclient"
)

const usage = `nscalectl administers an nscale control plane.

Usage:
  nscalectl [global flags] <command> [flags]

Commands:
  status [--detail]   show the control plane's status (and each component's)
  sql STATEMENTS      run DDL/DCL (CREATE EXTERNAL TABLE, GRANT, ...); -f FILE or -f - for stdin
  explain --user U DB.TABLE
                      what U gets from DB.TABLE (columns, masks, row filter) and why
  tokens create --user U [--ttl 24h] [--name N] | list [--user U] | revoke ID
  agents list | revoke ID
                      the agent registry: node, method, version, listeners, last heartbeat, state
  agents join-token create [--ttl 1h] [--uses N] [--comment T] | list | revoke ID
                      one-time (or N-use) tokens that enrol agents; the secret is shown once
  users create|list|show|delete NAME | set-attribute USER K=V | delete-attribute USER K
  groups create|list|show|delete NAME | add-member|remove-member GROUP user:NAME|group:NAME
  databases | tables DB | grants [--table DB.T]
  policies | masks DB.TABLE | unmasks
                      tag and safeguard policies, a table's masks and tags, UNMASK grants
  audit [--limit N]   the audit trail, newest first
  query [--agent HOST:PORT|unix:PATH] [--max-rows N] SQL
                      read through the node's agent (Arrow Flight SQL) as the token's user
                      (env NSCALE_AGENT; default 127.0.0.1:7443)

Global flags:
  --server URL        control plane REST API (env NSCALE_SERVER; default http://127.0.0.1:7080)
  --token-file FILE   file holding the bearer token (env NSCALE_TOKEN_FILE; or the token in NSCALE_TOKEN)
  --ca-file FILE      PEM bundle of the CAs that sign the control plane's certificate, for an
                      https:// --server (env NSCALE_CA_FILE; default: the system roots)
  -o table|json       output format (default table)
  --timeout DURATION  per-request timeout (default 30s)
`

// exit codes: 1 for a failed call, 2 for bad usage.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

type globals struct {
	server, tokenFile, output, caFile string
	timeout                           time.Duration
	token                             string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	g := globals{server: getenv("NSCALE_SERVER"), tokenFile: getenv("NSCALE_TOKEN_FILE"), caFile: getenv("NSCALE_CA_FILE")}
	if g.server == "" {
		g.server = "http://127.0.0.1:7080"
	}
	fs := flag.NewFlagSet("nscalectl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&g.server, "server", g.server, "")
	fs.StringVar(&g.tokenFile, "token-file", g.tokenFile, "")
	fs.StringVar(&g.caFile, "ca-file", g.caFile, "")
	fs.StringVar(&g.output, "o", "table", "")
	fs.DurationVar(&g.timeout, "timeout", 30*time.Second, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "nscalectl: %v\n", err)
		return 2
	}
	if g.output != "table" && g.output != "json" {
		fmt.Fprintf(stderr, "nscalectl: -o %q: want table or json\n", g.output)
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, cmdArgs := rest[0], rest[1:]
	if cmd == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	commands := map[string]func(context.Context, *apiclient.Client, globals, []string, io.Writer) error{
		"status":    statusCmd,
		"sql":       sqlCmd,
		"explain":   explainCmd,
		"tokens":    tokensCmd,
		"agents":    agentsCmd,
		"users":     principalCmd("user"),
		"groups":    principalCmd("group"),
		"audit":     auditCmd,
		"databases": databasesCmd,
		"tables":    tablesCmd,
		"grants":    grantsCmd,
		"policies":  policiesCmd,
		"masks":     masksCmd,
		"unmasks":   unmasksCmd,
		"query":     queryCmd,
	}
	f, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "nscalectl: unknown command %q (try nscalectl help)\n", cmd)
		return 2
	}
	token, err := readToken(g.tokenFile, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "nscalectl: %v\n", err)
		return 2
	}
	g.token = token
	client, err := apiclient.New(g.server, token, g.timeout, g.caFile)
	if err != nil {
		fmt.Fprintf(stderr, "nscalectl: %v\n", err)
		return 2
	}
	if err := f(ctx, client, g, cmdArgs, stdout); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "nscalectl %s: %v\n", cmd, err)
			return 2
		}
		fmt.Fprintf(stderr, "nscalectl %s: %s\n", cmd, oneLine(err.Error()))
		return 1
	}
	return 0
}

type usageError struct{ error }

func readToken(file string, getenv func(string) string) (string, error) {
	if file == "" {
		return getenv("NSCALE_TOKEN"), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--token-file: %v", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("--token-file %s is empty", file)
	}
	return tok, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
