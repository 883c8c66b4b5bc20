//go:build integration

package integration

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// agentGauge reads one unlabelled metric of the agent.
func agentGauge(t *testing.T, ops, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + ops + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("agent metrics have no %s", name)
	return 0
}

// TestClientsThatStopReading: on the real agent, clients with the smallest
// gRPC window that open a stream of a large table, read nothing and go
// away leave no Arrow memory behind (nscale_agent_arrow_bytes_in_use
// returns to its idle value; it used to stay a batch higher each time),
// and another user reads meanwhile.
func TestClientsThatStopReading(t *testing.T) {
	s := startStack(t, stackOptions{})
	s.s3.PutObject(t, "lake", "big/part-0.parquet", manyRowGroups(t, 8, 40_000))
	s.admin(t, `CREATE DATABASE big;
		CREATE EXTERNAL TABLE big.t STORED AS PARQUET LOCATION 's3://lake/big/';
		GRANT SELECT ON TABLE big.t TO USER ann, USER bob`)
	ann, bob := s.token(t, "ann"), s.token(t, "bob")
	const gauge = "nscale_agent_arrow_bytes_in_use"
	idle := agentGauge(t, s.agentOps, gauge)
	for round := range 3 {
		cl, err := flightsql.NewClient(s.flight, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		info, err := cl.Execute(bearer(ctx, ann), "SELECT id, pad FROM big.t")
		if err != nil {
			t.Fatal(err)
		}
		rdr, err := cl.DoGet(bearer(ctx, ann), info.Endpoint[0].Ticket) // the schema, then nothing
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, fmt.Sprintf("round %d: the stream holds batches", round), func() bool { return agentGauge(t, s.agentOps, gauge) > idle+1<<20 })
		time.Sleep(300 * time.Millisecond) // the send is blocked on the client's window
		rdr.Release()
		cancel()
		cl.Close()
		waitFor(t, fmt.Sprintf("round %d: Arrow memory back to idle (%v)", round, idle), func() bool { return agentGauge(t, s.agentOps, gauge) == idle })
	}
	// Another user reads the whole table.
	var rows int64
	if _, err := queryGo(context.Background(), s.flight, bob, "SELECT id FROM big.t", func(rec arrow.RecordBatch) error {
		rows += rec.NumRows()
		return nil
	}); err != nil || rows != 8*40_000 {
		t.Fatalf("bob read %d rows, %v", rows, err)
	}
}

// waitFor polls cond every 50 ms for up to 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitUntil(t, what, 15*time.Second, cond)
}

// waitUntil polls cond every 50 ms for up to d.
func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
