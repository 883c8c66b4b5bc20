package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/nscale/nscale/controlplane/apiclient"
	"github.com/nscale/nscale/controlplane/apitypes"
)

// sqlCmd runs DDL/DCL given as arguments, with -f FILE, or on stdin (-f -).
func sqlCmd(ctx context.Context, c *apiclient.Client, g globals, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("sql", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("f", "", "")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	text := strings.Join(fs.Args(), " ")
	switch {
	case *file != "" && text != "":
		return usageError{fmt.Errorf("give statements as arguments or with -f, not both")}
	case *file == "-":
		b, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
		if err != nil {
			return err
		}
		text = string(b)
	case *file != "":
		b, err := os.ReadFile(*file)
		if err != nil {
			return usageError{err}
		}
		text = string(b)
	}
	if strings.TrimSpace(text) == "" {
		return usageError{fmt.Errorf("no statement: nscalectl sql 'CREATE DATABASE sales' (or -f FILE)")}
	}
	results, err := c.SQL(ctx, text)
	if err != nil {
		return err
	}
	if g.output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(apitypes.SQLResponse{Results: results})
	}
	for i, r := range results {
		if i > 0 {
			fmt.Fprintln(out)
		}
		if err := printResult(out, r); err != nil {
			return err
		}
	}
	return nil
}

func printResult(out io.Writer, r apitypes.SQLResult) error {
	if len(r.Columns) == 0 {
		_, err := fmt.Fprintln(out, r.Message)
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(r.Columns, "\t")))
	for _, row := range r.Rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if r.Message != "" {
		fmt.Fprintln(tw, r.Message)
	}
	return tw.Flush()
}
