package flight

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/nscale/nscale/internal/agentapi/agentapitest"
	"github.com/nscale/nscale/internal/taskplan"
)

// A ticket bound to another agent reads nothing here; a single-use ticket
// reads once, and its replay is refused; both are counted.
func TestTicketBindingAndReplay(t *testing.T) {
	e := newEnv(t, envOptions{agentID: "agent-a"})
	bound := func(agent string, single bool) string {
		task := tableTask(e.objs[0])
		task.Agent, task.SingleUse = agent, single
		sql := "SELECT bound " + agent + " " + map[bool]string{true: "once", false: "many"}[single]
		e.cp.setQuery(sql, query{header: header, tasks: []taskplan.Task{task}})
		return sql
	}
	cl := e.client(t)
	ctx := as(t, "alice-token")
	ticketOf := func(sql string) *flight.Ticket {
		t.Helper()
		info, err := cl.Execute(ctx, sql)
		if err != nil || len(info.Endpoint) != 1 {
			t.Fatalf("Execute %q: %v", sql, err)
		}
		return info.Endpoint[0].Ticket
	}
	doGet := func(tk *flight.Ticket) error {
		_, err := readEndpoint(ctx, cl, tk, nil)
		return err
	}

	err := doGet(ticketOf(bound("agent-b", false)))
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "another agent") {
		t.Fatalf("ticket of another agent: %v", err)
	}
	if err := doGet(ticketOf(bound("agent-a", false))); err != nil {
		t.Fatalf("ticket bound to this agent: %v", err)
	}
	once := ticketOf(bound("agent-a", true))
	if err := doGet(once); err != nil {
		t.Fatalf("first use of a single-use ticket: %v", err)
	}
	err = doGet(once)
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("replayed single-use ticket: %v", err)
	}
	// A ticket of another cluster (its own signing and sealing keys),
	// otherwise valid for alice on this agent: refused.
	other := agentapitest.NewKeys(t, "x")
	task := tableTask(e.objs[0])
	task.ID, task.QueryID, task.Principal, task.Agent = "task-other", "q-other", "alice", "agent-a"
	task.IssuedAt, task.ExpiresAt = time.Now().Add(-time.Second), time.Now().Add(time.Minute)
	signed, err := other.Signer.Sign(task)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := other.Sealer.Seal(signed)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := flightsql.CreateStatementQueryTicket(sealed)
	if err != nil {
		t.Fatal(err)
	}
	err = doGet(&flight.Ticket{Ticket: raw})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "sealed ticket invalid") {
		t.Fatalf("a ticket of another cluster: %v", err)
	}
	for reason, want := range map[string]float64{"other_agent": 1, "replayed": 1} {
		if n := testutil.ToFloat64(e.srv.m.ticketsRefused.WithLabelValues(reason)); n != want {
			t.Errorf("refusals %s = %v, want %v", reason, n, want)
		}
	}
}
