package flight

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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
	for reason, want := range map[string]float64{"other_agent": 1, "replayed": 1} {
		if n := testutil.ToFloat64(e.srv.m.ticketsRefused.WithLabelValues(reason)); n != want {
			t.Errorf("refusals %s = %v, want %v", reason, n, want)
		}
	}
}
