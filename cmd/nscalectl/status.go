package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/nscale/nscale/controlplane/apiclient"
)

func statusCmd(ctx context.Context, c *apiclient.Client, g globals, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	detail := fs.Bool("detail", false, "")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	st, err := c.Status(ctx, *detail)
	if err != nil {
		return err
	}
	if g.output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	rows := [][2]string{
		{"SERVICE", st.Service},
		{"VERSION", st.Version},
		{"STATE", st.Code},
		{"STORE", fmt.Sprintf("%s (schema version %d)", st.StoreDialect, st.SchemaVersion)},
		{"UPTIME", (time.Duration(st.UptimeSeconds * float64(time.Second))).Round(time.Second).String()},
		{"READ-ONLY", strconv.FormatBool(st.ReadOnly)},
		{"AGENTS", strconv.Itoa(st.AgentCount)},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	if *detail {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "COMPONENT\tSTATE\tELAPSED\tCHECKED\tMESSAGE")
		for _, c := range st.Components {
			fmt.Fprintf(tw, "%s\t%s\t%.1fms\t%s\t%s\n", c.Name, c.Code, c.ElapsedMS, c.Timestamp.Format(time.RFC3339), c.Message)
		}
		if len(st.Agents) > 0 {
			fmt.Fprintln(tw)
			agentTable(tw, st.Agents)
		}
	}
	return tw.Flush()
}
