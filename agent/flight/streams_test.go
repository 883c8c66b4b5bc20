package flight

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/apierr/apierrtest"
	"github.com/nscale/nscale/internal/taskplan"
)

const queryBig = "SELECT id, email, country AS c FROM db.big"

// addBigTable plans queryBig over one file of n rows that all pass the
// policy, several batches of a few MB each: far more than a gRPC window.
func addBigTable(t *testing.T, e *env, n int) {
	t.Helper()
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{int64(i), fmt.Sprintf("user%07d@%s.example.com", i, strings.Repeat("d", 40)), "DE", 0.9}
	}
	obj := e.cp.addFile("big.parquet", parquetFile(t, rows))
	task := tableTask(obj)
	task.Table = "db.big"
	e.cp.setQuery(queryBig, query{header: header, tasks: []taskplan.Task{task}})
}

// lazyClient reads nothing it is not made to: a 64 KiB window (the least
// gRPC allows, and no dynamic window) so that the agent's sends block as a
// real client that stopped reading makes them block.
func lazyClient(t *testing.T, addr string) *flightsql.Client {
	t.Helper()
	cl, err := flightsql.NewClient(addr, nil, nil,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// eventually polls cond every 10 ms for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// One user holding their quota of streams does not lock another out; the
// user's next stream waits for one of their own to end, up to the admit
// wait.
func TestUserStreamQuota(t *testing.T) {
	e := newEnv(t, envOptions{maxStreams: 4, perUser: 2, admitWait: 300 * time.Millisecond})
	objC := e.cp.addFile("part-2.parquet", parquetFile(t, rowsA))
	e.cp.setQuery("SELECT id FROM db.other", query{header: header, tasks: []taskplan.Task{tableTask(objC)}})
	cl := e.client(t)
	alice, bob := as(t, "alice-token"), as(t, "bob-token")
	info, err := cl.Execute(alice, queryAll)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	e.cp.mu.Lock()
	e.cp.block["part-0.parquet"] = release
	e.cp.block["part-1.parquet"] = release
	e.cp.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = readEndpoint(alice, cl, info.Endpoint[i].Ticket, wantSchema)
		}()
	}
	for range 2 {
		select {
		case <-e.cp.entered:
		case <-time.After(5 * time.Second):
			t.Fatal("alice's streams did not start reading")
		}
	}
	// Alice is at her quota although global slots are free: her third
	// stream waits, then gives up.
	begin := time.Now()
	_, err = readEndpoint(alice, cl, info.Endpoint[0].Ticket, nil)
	if waited := time.Since(begin); waited < 250*time.Millisecond {
		t.Errorf("the stream over the quota was refused after %s; want it to wait the admit wait (300ms)", waited)
	}
	apierrtest.Status(t, "", err, codes.Unavailable, "too many concurrent streams for this user")
	if got := testutil.ToFloat64(e.srv.m.streamsRefused.WithLabelValues("user_quota")); got != 1 {
		t.Errorf("refused for the user quota = %v, want 1", got)
	}
	// Bob reads.
	binfo, err := cl.Execute(bob, "SELECT id FROM db.other")
	if err != nil {
		t.Fatal(err)
	}
	if rows, err := readEndpoint(bob, cl, binfo.Endpoint[0].Ticket, wantSchema); err != nil || len(rows) != 2 {
		t.Errorf("bob while alice holds her quota: %q, %v", rows, err)
	}
	// A third stream that waits gets the slot when one of hers ends.
	third := make(chan error, 1)
	go func() {
		wctx, cancel := context.WithTimeout(as(t, "alice-token"), 20*time.Second)
		defer cancel()
		_, err := readEndpoint(wctx, cl, info.Endpoint[0].Ticket, wantSchema)
		third <- err
	}()
	e.cp.mu.Lock()
	delete(e.cp.block, "part-0.parquet") // later reads of the files do not wait
	delete(e.cp.block, "part-1.parquet")
	e.cp.mu.Unlock()
	close(release)
	wg.Wait()
	if err := <-third; err != nil {
		t.Errorf("the waiting stream: %v", err)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("alice's stream %d: %v", i, err)
		}
	}
	// Her slots are back.
	if _, err := readEndpoint(alice, cl, info.Endpoint[0].Ticket, wantSchema); err != nil {
		t.Errorf("alice after her streams ended: %v", err)
	}
}

func TestUserQuotaBounds(t *testing.T) {
	// A quota above the global limit is a configuration mistake.
	_, err := New(Config{ControlPlane: agentapi.NewAgentClient(nil), Keys: &Keys{}, MaxStreams: 2, MaxStreamsPerUser: 3})
	if err == nil || !strings.Contains(err.Error(), "MaxStreamsPerUser") {
		t.Errorf("per-user quota above the limit: %v", err)
	}
}

// A client that never reads is cut after the stall timeout: its slot goes
// to others, its memory is released, and the audit says why.
func TestStalledClientIsCut(t *testing.T) {
	e := newEnv(t, envOptions{maxStreams: 1, stallTimeout: 300 * time.Millisecond})
	addBigTable(t, e, 300_000)
	lazy := lazyClient(t, e.addr)
	alice := as(t, "alice-token")
	info, err := lazy.Execute(alice, queryBig)
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := lazy.DoGet(alice, info.Endpoint[0].Ticket) // reads the schema, then nothing
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	eventually(t, "the stalled stream is cut", func() bool { return testutil.ToFloat64(e.srv.m.streamsStalled) == 1 })
	eventually(t, "its slot is free", func() bool { return testutil.ToFloat64(e.srv.m.activeStreams) == 0 })
	select {
	case r := <-e.cp.reports:
		if r.GetErrorCode() != "UNAVAILABLE" || !strings.Contains(r.GetErrorMessage(), "took no data for 300ms") {
			t.Errorf("report = %s %q; want UNAVAILABLE naming the stall", r.GetErrorCode(), r.GetErrorMessage())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the cut task was not reported")
	}
	// Nothing of the stream is held any more, although its client is
	// still connected.
	eventually(t, "the stream's Arrow memory is released", func() bool { return e.mem.CurrentAlloc() == 0 })
	// The only global slot serves another user.
	cl := e.client(t)
	bob := as(t, "bob-token")
	binfo, err := cl.Execute(bob, queryAll)
	if err != nil {
		t.Fatal(err)
	}
	if rows := readAll(t, bob, cl, binfo, wantSchema); len(rows) != 4 {
		t.Errorf("bob after the cut: %d rows, want 4", len(rows))
	}
	// The lazy client, reading again, learns the stream was cut.
	for rdr.Next() {
	}
	if err := rdr.Err(); err == nil {
		t.Error("the cut stream read to its end")
	}
}

// Clients that stop reading and go away leave no Arrow memory behind: the
// batch whose send failed and the one still queued are released.
func TestAbandonedStreamsReleaseMemory(t *testing.T) {
	e := newEnv(t, envOptions{stallTimeout: time.Minute})
	addBigTable(t, e, 300_000)
	for round := range 3 {
		lazy, err := flightsql.NewClient(e.addr, nil, nil,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(as(t, "alice-token"))
		info, err := lazy.Execute(ctx, queryBig)
		if err != nil {
			t.Fatal(err)
		}
		rdr, err := lazy.DoGet(ctx, info.Endpoint[0].Ticket)
		if err != nil {
			t.Fatal(err)
		}
		// The agent fills the window, the queue and the send, then waits.
		eventually(t, "the stream holds batches", func() bool { return e.mem.CurrentAlloc() > 1<<20 })
		time.Sleep(200 * time.Millisecond)
		rdr.Release()
		cancel()
		lazy.Close()
		eventually(t, fmt.Sprintf("round %d: Arrow memory back to idle", round), func() bool { return e.mem.CurrentAlloc() == 0 })
		eventually(t, "the slot is free", func() bool { return testutil.ToFloat64(e.srv.m.activeStreams) == 0 })
	}
	if got := testutil.ToFloat64(e.srv.m.streamsStalled); got != 0 {
		t.Errorf("stalled = %v; these clients left before the stall timeout", got)
	}
}

// A statement longer than the control plane takes is the user's mistake,
// said as such, and the control plane is not asked.
func TestStatementTooLong(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.client(t)
	alice := as(t, "alice-token")
	long := "SELECT id FROM db.t WHERE email = '" + strings.Repeat("x", agentapi.MaxStatementBytes) + "'"
	_, err := cl.Execute(alice, long)
	apierrtest.Status(t, "", err, codes.InvalidArgument, fmt.Sprintf("the statement is %d bytes; at most %d are accepted", len(long), agentapi.MaxStatementBytes))
	_, err = cl.Prepare(alice, long)
	apierrtest.Status(t, "", err, codes.InvalidArgument, "at most 1048576 are accepted")
	if got := testutil.ToFloat64(e.srv.m.plans.WithLabelValues("INVALID_ARGUMENT")); got != 2 {
		t.Errorf("plans refused as INVALID_ARGUMENT = %v, want 2", got)
	}
}

// A user cannot pile up streams waiting for their slots: beyond
// waitingPerSlot per slot the next is refused at once, and the waiting
// ones still get their turn.
func TestUserQueueBounded(t *testing.T) {
	e := newEnv(t, envOptions{maxStreams: 4, perUser: 1, admitWait: 10 * time.Second})
	cl := e.client(t)
	alice := as(t, "alice-token")
	info, err := cl.Execute(alice, queryAll)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	e.cp.mu.Lock()
	e.cp.block["part-0.parquet"] = release
	e.cp.mu.Unlock()
	holder := make(chan error, 1)
	go func() {
		_, err := readEndpoint(alice, cl, info.Endpoint[0].Ticket, wantSchema)
		holder <- err
	}()
	select {
	case <-e.cp.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the first stream did not start")
	}
	waiters := make(chan error, waitingPerSlot)
	for range waitingPerSlot {
		go func() {
			_, err := readEndpoint(alice, cl, info.Endpoint[1].Ticket, wantSchema)
			waiters <- err
		}()
	}
	time.Sleep(500 * time.Millisecond) // they reach the queue
	begin := time.Now()
	_, err = readEndpoint(alice, cl, info.Endpoint[1].Ticket, nil)
	apierrtest.Status(t, "one more", err, codes.Unavailable, "too many streams of this user waiting")
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("the stream beyond the queue waited %s; want a refusal at once", took)
	}
	if got := testutil.ToFloat64(e.srv.m.streamsRefused.WithLabelValues("user_queue")); got != 1 {
		t.Errorf("refused for the queue = %v, want 1", got)
	}
	e.cp.mu.Lock()
	delete(e.cp.block, "part-0.parquet")
	e.cp.mu.Unlock()
	close(release)
	if err := <-holder; err != nil {
		t.Errorf("the first stream: %v", err)
	}
	for range waitingPerSlot {
		if err := <-waiters; err != nil {
			t.Errorf("a waiting stream: %v", err)
		}
	}
}
