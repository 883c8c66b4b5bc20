package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nscale/nscale/controlplane/apiclient"
	"github.com/nscale/nscale/controlplane/apitypes"
)

// parse parses a subcommand's flags and wants exactly n positional args.
func parse(name string, args []string, n int, usage string, setup func(*flag.FlagSet)) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if setup != nil {
		setup(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, usageError{err}
	}
	if fs.NArg() != n {
		return nil, usageError{fmt.Errorf("usage: nscalectl %s", usage)}
	}
	return fs, nil
}

func emit(out io.Writer, g globals, v any, table func(tw *tabwriter.Writer)) error {
	if g.output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

func esc(s string) string { return url.PathEscape(s) }

func explainCmd(ctx context.Context, c *apiclient.Client, g globals, args []string, out io.Writer) error {
	var user string
	fs, err := parse("explain", args, 1, "explain --user USER DATABASE.TABLE", func(fs *flag.FlagSet) { fs.StringVar(&user, "user", "", "") })
	if err != nil {
		return err
	}
	if user == "" {
		return usageError{fmt.Errorf("--user is required")}
	}
	var ex apitypes.Explain
	if err := c.Do(ctx, http.MethodGet, "/api/v1/explain", url.Values{"user": {user}, "table": {fs.Arg(0)}}, nil, &ex); err != nil {
		return err
	}
	return emit(out, g, ex, func(tw *tabwriter.Writer) { fmt.Fprint(tw, ex.Text) })
}

func tokensCmd(ctx context.Context, c *apiclient.Client, g globals, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usageError{fmt.Errorf("usage: nscalectl tokens create|list|revoke")}
	}
	switch args[0] {
	case "create":
		var user, name string
		var ttl time.Duration
		if _, err := parse("tokens create", args[1:], 0, "tokens create --user USER [--ttl 24h] [--name NAME]", func(fs *flag.FlagSet) {
			fs.StringVar(&user, "user", "", "")
			fs.StringVar(&name, "name", "", "")
			fs.DurationVar(&ttl, "ttl", 24*time.Hour, "")
		}); err != nil {
			return err
		}
		var tok apitypes.Token
		if err := c.Do(ctx, http.MethodPost, "/api/v1/tokens", nil, apitypes.TokenRequest{User: user, Name: name, TTL: ttl.String()}, &tok); err != nil {
			return err
		}
		return emit(out, g, tok, func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "%s\n", tok.Secret)
			fmt.Fprintf(tw, "# token %s for user %s, expires %s; shown once, keep it secret\n", tok.ID, tok.User, tok.ExpiresAt.Format(time.RFC3339))
		})
	case "list":
		var user string
		if _, err := parse("tokens list", args[1:], 0, "tokens list [--user USER]", func(fs *flag.FlagSet) { fs.StringVar(&user, "user", "", "") }); err != nil {
			return err
		}
		q := url.Values{}
		if user != "" {
			q.Set("user", user)
		}
		var list apitypes.TokenList
		if err := c.Do(ctx, http.MethodGet, "/api/v1/tokens", q, nil, &list); err != nil {
			return err
		}
		return emit(out, g, list, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "ID\tUSER\tNAME\tEXPIRES\tREVOKED")
			for _, t := range list.Tokens {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, t.Name, when(t.ExpiresAt), when(t.RevokedAt))
			}
		})
	case "revoke":
		fs, err := parse("tokens revoke", args[1:], 1, "tokens revoke TOKEN_ID", nil)
		if err != nil {
			return err
		}
		var tok apitypes.Token
		if err := c.Do(ctx, http.MethodDelete, "/api/v1/tokens/"+esc(fs.Arg(0)), nil, nil, &tok); err != nil {
			return err
		}
		return emit(out, g, tok, func(tw *tabwriter.Writer) { fmt.Fprintf(tw, "revoked token %s of user %s\n", tok.ID, tok.User) })
	}
	return usageError{fmt.Errorf("unknown tokens subcommand %q: want create, list or revoke", args[0])}
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

// principalCmd handles users and groups.
func principalCmd(kind string) func(context.Context, *apiclient.Client, globals, []string, io.Writer) error {
	return func(ctx context.Context, c *apiclient.Client, g globals, args []string, out io.Writer) error {
		plural := kind + "s"
		if len(args) == 0 {
			return usageError{fmt.Errorf("usage: nscalectl %s create|list|show|delete NAME (see nscalectl help)", plural)}
		}
		done := func(msg string) error {
			return emit(out, g, map[string]string{"result": msg}, func(tw *tabwriter.Writer) { fmt.Fprintln(tw, msg) })
		}
		switch args[0] {
		case "create":
			var comment string
			fs, err := parse(plural+" create", args[1:], 1, plural+" create [--comment TEXT] NAME", func(fs *flag.FlagSet) { fs.StringVar(&comment, "comment", "", "") })
			if err != nil {
				return err
			}
			var p apitypes.Principal
			if err := c.Do(ctx, http.MethodPost, "/api/v1/principals", nil, apitypes.PrincipalRequest{Kind: kind, Name: fs.Arg(0), Comment: comment}, &p); err != nil {
				return err
			}
			return done("created " + kind + " " + p.Name)
		case "list":
			var list apitypes.PrincipalList
			if err := c.Do(ctx, http.MethodGet, "/api/v1/principals", url.Values{"kind": {kind}, "page_size": {"1000"}}, nil, &list); err != nil {
				return err
			}
			return emit(out, g, list, func(tw *tabwriter.Writer) {
				fmt.Fprintln(tw, "NAME\tCOMMENT")
				for _, p := range list.Principals {
					fmt.Fprintf(tw, "%s\t%s\n", p.Name, p.Comment)
				}
			})
		case "show":
			fs, err := parse(plural+" show", args[1:], 1, plural+" show NAME", nil)
			if err != nil {
				return err
			}
			var p apitypes.Principal
			if err := c.Do(ctx, http.MethodGet, "/api/v1/principals/"+kind+"/"+esc(fs.Arg(0)), nil, nil, &p); err != nil {
				return err
			}
			return emit(out, g, p, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "%s\t%s\n", strings.ToUpper(kind), p.Name)
				fmt.Fprintf(tw, "MEMBER OF\t%s\n", strings.Join(p.MemberOf, ", "))
				for k, v := range p.Attributes {
					fmt.Fprintf(tw, "ATTRIBUTE\t%s=%s\n", k, v)
				}
			})
		case "delete":
			fs, err := parse(plural+" delete", args[1:], 1, plural+" delete NAME", nil)
			if err != nil {
				return err
			}
			if err := c.Do(ctx, http.MethodDelete, "/api/v1/principals/"+kind+"/"+esc(fs.Arg(0)), nil, nil, nil); err != nil {
				return err
			}
			return done("deleted " + kind + " " + fs.Arg(0))
		case "set-attribute":
			if kind != "user" {
				break
			}
			fs, err := parse("users set-attribute", args[1:], 2, "users set-attribute USER KEY=VALUE", nil)
			if err != nil {
				return err
			}
			k, v, ok := strings.Cut(fs.Arg(1), "=")
			if !ok || k == "" {
				return usageError{fmt.Errorf("want KEY=VALUE, got %q", fs.Arg(1))}
			}
			if err := c.Do(ctx, http.MethodPut, "/api/v1/users/"+esc(fs.Arg(0))+"/attributes/"+esc(k), nil, apitypes.AttributeRequest{Value: v}, nil); err != nil {
				return err
			}
			return done(fmt.Sprintf("set %s=%s for user %s", k, v, fs.Arg(0)))
		case "delete-attribute":
			if kind != "user" {
				break
			}
			fs, err := parse("users delete-attribute", args[1:], 2, "users delete-attribute USER KEY", nil)
			if err != nil {
				return err
			}
			if err := c.Do(ctx, http.MethodDelete, "/api/v1/users/"+esc(fs.Arg(0))+"/attributes/"+esc(fs.Arg(1)), nil, nil, nil); err != nil {
				return err
			}
			return done(fmt.Sprintf("removed %s from user %s", fs.Arg(1), fs.Arg(0)))
		case "add-member", "remove-member":
			if kind != "group" {
				break
			}
			fs, err := parse("groups "+args[0], args[1:], 2, "groups "+args[0]+" GROUP user:NAME|group:NAME", nil)
			if err != nil {
				return err
			}
			mk, mn, ok := strings.Cut(fs.Arg(1), ":")
			if !ok {
				mk, mn = "user", fs.Arg(1)
			}
			method := http.MethodPut
			if args[0] == "remove-member" {
				method = http.MethodDelete
			}
			if err := c.Do(ctx, method, "/api/v1/groups/"+esc(fs.Arg(0))+"/members/"+esc(mk)+"/"+esc(mn), nil, nil, nil); err != nil {
				return err
			}
			return done(fmt.Sprintf("%s %s %s in group %s", args[0], mk, mn, fs.Arg(0)))
		}
		return usageError{fmt.Errorf("unknown %s subcommand %q", plural, args[0])}
	}
}

func auditCmd(ctx context.Context, c *apiclient.Client, g globals, args []string, out io.Writer) error {
	var limit int
	if _, err := parse("audit", args, 0, "audit [--limit N]", func(fs *flag.FlagSet) { fs.IntVar(&limit, "limit", 50, "") }); err != nil {
		return err
	}
	var list apitypes.AuditList
	if err := c.Do(ctx, http.MethodGet, "/api/v1/audit", url.Values{"page_size": {fmt.Sprint(limit)}}, nil, &list); err != nil {
		return err
	}
	return emit(out, g, list, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tTARGET\tOUTCOME\tPOLICY VERSION")
		for _, e := range list.Events {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d->%d\n", e.Time.Format(time.RFC3339), e.Actor, e.Action, e.Target, e.Outcome, e.PolicyVersionBefore, e.PolicyVersionAfter)
		}
	})
}

func databasesCmd(ctx context.Context, c *apiclient.Client, g globals, args []string, out io.Writer) error {
	if _, err := parse("databases", args, 0, "databases", nil); err != nil {
		return err
	}
	var list apitypes.DatabaseList
	if err := c.Do(ctx, http.MethodGet, "/api/v1/databases", url.Values{"page_size": {"1000"}}, nil, &list); err != nil {
		return err
	}
	return emit(out, g, list, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "DATABASE\tCOMMENT")
		for _, d := range list.Databases {
			fmt.Fprintf(tw, "%s\t%s\n", d.Name, d.Comment)
		}
	})
}

func tablesCmd(ctx context.Context, c *apiclient.Client, g globals, args []string, out io.Writer) error {
	fs, err := parse("tables", args, 1, "tables DATABASE", nil)
	if err != nil {
		return err
	}
	var list apitypes.TableList
	if err := c.Do(ctx, http.MethodGet, "/api/v1/databases/"+esc(fs.Arg(0))+"/tables", url.Values{"page_size": {"1000"}}, nil, &list); err != nil {
		return err
	}
	return emit(out, g, list, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "TABLE\tFORMAT\tCOLUMNS\tLOCATION")
		for _, t := range list.Tables {
			fmt.Fprintf(tw, "%s.%s\t%s\t%d\t%s\n", t.Database, t.Name, t.Format, len(t.Columns), t.Location)
		}
	})
}

func grantsCmd(ctx context.Context, c *apiclient.Client, g globals, args []string, out io.Writer) error {
	var table string
	if _, err := parse("grants", args, 0, "grants [--table DB.TABLE]", func(fs *flag.FlagSet) { fs.StringVar(&table, "table", "", "") }); err != nil {
		return err
	}
	q := url.Values{"page_size": {"1000"}}
	if table != "" {
		db, t, ok := strings.Cut(table, ".")
		if !ok {
			return usageError{fmt.Errorf("--table %q: want DATABASE.TABLE", table)}
		}
		q.Set("database", db)
		q.Set("table", t)
	}
	var list apitypes.GrantList
	if err := c.Do(ctx, http.MethodGet, "/api/v1/grants", q, nil, &list); err != nil {
		return err
	}
	return emit(out, g, list, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "ID\tPRINCIPAL\tPRIVILEGE\tON\tCOLUMNS\tFILTER")
		for _, gr := range list.Grants {
			cols := strings.Join(gr.Columns, ",")
			if cols == "" {
				cols = "*"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", gr.ID, gr.Principal, gr.Privilege, gr.On, cols, gr.Filter)
		}
	})
}

func policiesCmd(ctx context.Context, c *apiclient.Client, g globals, args []string, out io.Writer) error {
	if _, err := parse("policies", args, 0, "policies", nil); err != nil {
		return err
	}
	var list apitypes.PolicyList
	if err := c.Do(ctx, http.MethodGet, "/api/v1/policies", url.Values{"page_size": {"1000"}}, nil, &list); err != nil {
		return err
	}
	return emit(out, g, list, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "NAME\tKIND\tON\tMASK\tUNLESS UNMASK\tFILTER")
		for _, p := range list.Policies {
			on := "tag " + p.TagPattern
			if p.Table != "" {
				on = p.Table
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.Kind, on, p.Mask, p.UnlessUnmask, p.Filter)
		}
	})
}

func masksCmd(ctx context.Context, c *apiclient.Client, g globals, args []string, out io.Writer) error {
	fs, err := parse("masks", args, 1, "masks DATABASE.TABLE", nil)
	if err != nil {
		return err
	}
	db, t, ok := strings.Cut(fs.Arg(0), ".")
	if !ok {
		return usageError{fmt.Errorf("want DATABASE.TABLE, got %q", fs.Arg(0))}
	}
	var tp apitypes.TablePolicy
	if err := c.Do(ctx, http.MethodGet, "/api/v1/databases/"+esc(db)+"/tables/"+esc(t)+"/policy", nil, nil, &tp); err != nil {
		return err
	}
	return emit(out, g, tp, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "COLUMN\tMASK\tFOR")
		for _, m := range tp.Masks {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", m.Column, m.Mask, m.Principal)
		}
		for col, tags := range tp.Tags {
			fmt.Fprintf(tw, "%s\ttags: %s\t\n", col, strings.Join(tags, ", "))
		}
	})
}

func unmasksCmd(ctx context.Context, c *apiclient.Client, g globals, args []string, out io.Writer) error {
	if _, err := parse("unmasks", args, 0, "unmasks", nil); err != nil {
		return err
	}
	var list apitypes.UnmaskList
	if err := c.Do(ctx, http.MethodGet, "/api/v1/unmasks", url.Values{"page_size": {"1000"}}, nil, &list); err != nil {
		return err
	}
	return emit(out, g, list, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "PRINCIPAL\tCOLUMN\tTAG")
		for _, u := range list.Unmasks {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Principal, u.Column, u.Tag)
		}
	})
}
