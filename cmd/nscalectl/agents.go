package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"flag"

	"github.com/nscale/nscale/controlplane/apiclient"
	"github.com/nscale/nscale/controlplane/apitypes"
)

// agentsCmd handles the agent registry and join tokens.
func agentsCmd(ctx context.Context, c *apiclient.Client, g globals, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usageError{fmt.Errorf("usage: nscalectl agents list|revoke ID|join-token create|list|revoke")}
	}
	switch args[0] {
	case "list":
		if _, err := parse("agents list", args[1:], 0, "agents list", nil); err != nil {
			return err
		}
		var all []apitypes.Agent
		var list apitypes.AgentList
		for tok := ""; ; tok = list.NextPageToken {
			list = apitypes.AgentList{}
			q := map[string][]string{"page_size": {"1000"}}
			if tok != "" {
				q["page_token"] = []string{tok}
			}
			if err := c.Do(ctx, http.MethodGet, "/api/v1/agents", q, nil, &list); err != nil {
				return err
			}
			all = append(all, list.Agents...)
			if list.NextPageToken == "" {
				break
			}
		}
		return emit(out, g, apitypes.AgentList{Agents: all}, func(tw *tabwriter.Writer) { agentTable(tw, all) })
	case "revoke":
		fs, err := parse("agents revoke", args[1:], 1, "agents revoke AGENT_ID", nil)
		if err != nil {
			return err
		}
		var a apitypes.Agent
		if err := c.Do(ctx, http.MethodDelete, "/api/v1/agents/"+esc(fs.Arg(0)), nil, nil, &a); err != nil {
			return err
		}
		return emit(out, g, a, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "revoked agent %s on node %s; every control-plane replica refuses it within 30 seconds\n", a.ID, a.Node)
		})
	case "join-token":
		return joinTokenCmd(ctx, c, g, args[1:], out)
	}
	return usageError{fmt.Errorf("unknown agents subcommand %q: want list, revoke or join-token", args[0])}
}

func agentTable(tw *tabwriter.Writer, agents []apitypes.Agent) {
	fmt.Fprintln(tw, "ID\tNODE\tMETHOD\tVERSION\tLISTENERS\tLAST HEARTBEAT\tSTATE")
	for _, a := range agents {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, dash(a.Node), a.Method, dash(a.Version), dash(strings.Join(a.Listeners, ",")),
			a.LastHeartbeat.Format(time.RFC3339), a.State)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func joinTokenCmd(ctx context.Context, c *apiclient.Client, g globals, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usageError{fmt.Errorf("usage: nscalectl agents join-token create [--ttl 1h] [--uses N] [--comment TEXT] | list | revoke ID")}
	}
	switch args[0] {
	case "create":
		var ttl time.Duration
		var uses int
		var comment string
		if _, err := parse("agents join-token create", args[1:], 0, "agents join-token create [--ttl 1h] [--uses N] [--comment TEXT]", func(fs *flag.FlagSet) {
			fs.DurationVar(&ttl, "ttl", time.Hour, "")
			fs.IntVar(&uses, "uses", 1, "")
			fs.StringVar(&comment, "comment", "", "")
		}); err != nil {
			return err
		}
		var jt apitypes.JoinToken
		if err := c.Do(ctx, http.MethodPost, "/api/v1/join-tokens", nil, apitypes.JoinTokenRequest{TTL: ttl.String(), Uses: uses, Comment: comment}, &jt); err != nil {
			return err
		}
		return emit(out, g, jt, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "%s\n", jt.Secret)
			fmt.Fprintf(tw, "# join token %s: enrols %d agent(s) until %s; shown once, keep it secret\n", jt.ID, jt.MaxUses, jt.ExpiresAt.Format(time.RFC3339))
		})
	case "list":
		if _, err := parse("agents join-token list", args[1:], 0, "agents join-token list", nil); err != nil {
			return err
		}
		var list apitypes.JoinTokenList
		if err := c.Do(ctx, http.MethodGet, "/api/v1/join-tokens", map[string][]string{"page_size": {"1000"}}, nil, &list); err != nil {
			return err
		}
		return emit(out, g, list, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "ID\tUSES\tEXPIRES\tREVOKED\tCOMMENT")
			for _, t := range list.JoinTokens {
				fmt.Fprintf(tw, "%s\t%d/%d\t%s\t%s\t%s\n", t.ID, t.Uses, t.MaxUses, t.ExpiresAt.Format(time.RFC3339), when(t.RevokedAt), t.Comment)
			}
		})
	case "revoke":
		fs, err := parse("agents join-token revoke", args[1:], 1, "agents join-token revoke ID", nil)
		if err != nil {
			return err
		}
		var jt apitypes.JoinToken
		if err := c.Do(ctx, http.MethodDelete, "/api/v1/join-tokens/"+esc(fs.Arg(0)), nil, nil, &jt); err != nil {
			return err
		}
		return emit(out, g, jt, func(tw *tabwriter.Writer) { fmt.Fprintf(tw, "revoked join token %s\n", jt.ID) })
	}
	return usageError{fmt.Errorf("unknown join-token subcommand %q: want create, list or revoke", args[0])}
}
