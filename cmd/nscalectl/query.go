package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/nscale/nscale/controlplane/apiclient"
	"github.com/nscale/nscale/internal/apierr"
)

// queryCmd reads through the node's agent with Arrow Flight SQL, the way
// Spark or ADBC would, and prints the rows: a quick check of what a user
// sees on this node.
func queryCmd(ctx context.Context, _ *apiclient.Client, g globals, args []string, out io.Writer) error {
	agent := os.Getenv("NSCALE_AGENT")
	if agent == "" {
		agent = "127.0.0.1:7443"
	}
	maxRows := 0
	fs, err := parse("query", args, 1, "query [--agent HOST:PORT|unix:PATH] [--max-rows N] SQL", func(fs *flag.FlagSet) {
		fs.StringVar(&agent, "agent", agent, "")
		fs.IntVar(&maxRows, "max-rows", 0, "")
	})
	if err != nil {
		return err
	}
	if g.token == "" {
		return usageError{errors.New("a user token is required: --token-file FILE or NSCALE_TOKEN")}
	}
	target := agent
	if !strings.HasPrefix(target, "unix:") {
		target = "passthrough:///" + target
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	cl, err := flightsql.NewClient(target, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+g.token)
	info, err := cl.Execute(ctx, fs.Arg(0))
	if err != nil {
		return flightError(err)
	}
	schema, err := flight.DeserializeSchema(info.Schema, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("the agent's result schema: %w", err)
	}
	var rows [][]string
	for _, ep := range info.Endpoint {
		rdr, err := cl.DoGet(ctx, ep.Ticket)
		if err != nil {
			return flightError(err)
		}
		for rdr.Next() {
			rows = appendRows(rows, rdr.RecordBatch())
		}
		err = rdr.Err()
		rdr.Release()
		if err != nil {
			return flightError(err)
		}
	}
	total := len(rows)
	if maxRows > 0 && len(rows) > maxRows {
		rows = rows[:maxRows]
	}
	names := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		names[i] = f.Name
	}
	if g.output == "json" {
		objs := make([]map[string]*string, len(rows))
		for i, r := range rows {
			objs[i] = map[string]*string{}
			for j, v := range r {
				if v != nullCell {
					v := v
					objs[i][names[j]] = &v
				} else {
					objs[i][names[j]] = nil
				}
			}
		}
		return emit(out, g, objs, nil)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(names, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if total > len(rows) {
		_, err = fmt.Fprintf(out, "(%d rows, first %d shown)\n", total, len(rows))
	} else {
		_, err = fmt.Fprintf(out, "(%d rows)\n", total)
	}
	return err
}

const nullCell = "NULL"

func appendRows(rows [][]string, rec arrow.RecordBatch) [][]string {
	for r := 0; r < int(rec.NumRows()); r++ {
		row := make([]string, rec.NumCols())
		for c := range row {
			col := rec.Column(c)
			switch a := col.(type) {
			case *array.Null:
				row[c] = nullCell
			case *array.Decimal128:
				if a.IsNull(r) {
					row[c] = nullCell
				} else {
					// Keep the scale: 1259.90, not 1259.9.
					row[c] = a.Value(r).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
				}
			default:
				if col.IsNull(r) {
					row[c] = nullCell
				} else {
					row[c] = col.ValueStr(r)
				}
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// flightError keeps the agent's code and message on one line.
func flightError(err error) error {
	if s, ok := status.FromError(err); ok {
		return fmt.Errorf("%s: %s", apierr.FromGRPCCode(s.Code()), s.Message())
	}
	return err
}
