//go:build integration

package integration

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
)

// A ticket is useless off the node that planned it: another agent of the
// same control plane refuses it; on its own agent it reads once, and a
// replay is refused.
func TestTicketsBoundToTheirAgent(t *testing.T) {
	s := startStack(t, stackOptions{})
	s.s3.PutObject(t, "lake", "bind/t/part-0.parquet", manyRowGroups(t, 1, 7))
	s.admin(t, `CREATE DATABASE bind;
		CREATE EXTERNAL TABLE bind.t STORED AS PARQUET LOCATION 's3://lake/bind/t/';
		GRANT SELECT ON TABLE bind.t TO USER rita;`)
	token := s.token(t, "rita")
	ctx := context.Background()
	here := s.flightClient(t)
	tickets, err := execute(ctx, here, token, "SELECT id FROM bind.t")
	if err != nil || len(tickets) != 1 {
		t.Fatalf("plan: %v (%d tickets)", err, len(tickets))
	}

	_, elsewhere, _, ops := s.startAllowListAgent(t, "node-other", "")
	cl, err := flightsql.NewClient(elsewhere, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	n, err := doGet(ctx, cl, token, tickets[0])
	wantStatus(t, "DoGet on another node", err, codes.PermissionDenied, "ticket planned by another agent", true)
	if n != 0 {
		t.Fatalf("%d rows served on another node", n)
	}
	if v := metricValue(t, ops, `nscale_agent_tickets_refused_total{reason="other_agent"}`); v != "1" {
		t.Fatalf("other_agent refusals: %q", v)
	}

	if n, err := doGet(ctx, here, token, tickets[0]); err != nil || n != 7 {
		t.Fatalf("DoGet on its own agent: %d rows, %v", n, err)
	}
	n, err = doGet(ctx, here, token, tickets[0])
	wantStatus(t, "a replayed ticket", err, codes.PermissionDenied, "ticket already used", true)
	if n != 0 {
		t.Fatalf("%d rows served on replay", n)
	}
}
