package flight

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/agentapi/agentapitest"
	"github.com/nscale/nscale/internal/taskplan"
)

// The fake control plane signs real tickets over real Parquet files and
// hands out URLs to an httptest server that serves them with Range
// support. It checks the agent's own credential on every call.

const agentToken = "agent-secret-token"

// users maps end-user tokens to principals.
var users = map[string]string{"alice-token": "alice", "bob-token": "bob"}

// query is what the fake plans for one SQL text.
type query struct {
	header []*agentapi.Column
	tasks  []taskplan.Task // Principal, times and ids are filled when planned
	err    error           // returned instead of a plan
	// noTotals ends the stream without totals (a truncated plan).
	noTotals bool
	// validity overrides the tickets' window, relative to now.
	issuedAt, expiresAt time.Duration
}

type fakeCP struct {
	*agentapitest.Keys
	t *testing.T

	mu      sync.Mutex
	queries map[string]query
	catalog map[string]*agentapi.CatalogResponse // by principal
	signErr error
	plans   []*agentapi.PlanRequest
	reports chan *agentapi.ReportTaskRequest

	authCalls, signCalls atomic.Int64
	blobHits             atomic.Int64

	blobURL string
	dir     string
	// block, when set, holds the blob request for that path until closed;
	// entered is signalled first.
	block   map[string]chan struct{}
	entered chan string
}

func newFakeCP(t *testing.T) *fakeCP {
	t.Helper()
	f := &fakeCP{Keys: agentapitest.NewKeys(t, agentToken), t: t, queries: map[string]query{}, catalog: map[string]*agentapi.CatalogResponse{},
		reports: make(chan *agentapi.ReportTaskRequest, 100), dir: t.TempDir(),
		block: map[string]chan struct{}{}, entered: make(chan string, 10)}
	blobs := httptest.NewServer(http.HandlerFunc(f.serveBlob))
	t.Cleanup(blobs.Close)
	f.blobURL = blobs.URL
	return f
}

// addFile stores data as path under the blob server.
func (f *fakeCP) addFile(path string, data []byte) taskplan.Object {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, path), data, 0o600); err != nil {
		f.t.Fatal(err)
	}
	return taskplan.Object{Path: path, Size: int64(len(data))}
}

func (f *fakeCP) serveBlob(w http.ResponseWriter, r *http.Request) {
	f.blobHits.Add(1)
	if r.URL.Query().Get("X-Nscale-Signature") != "ok" {
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/")
	f.mu.Lock()
	block := f.block[name]
	f.mu.Unlock()
	if block != nil {
		f.entered <- name
		select {
		case <-block:
		case <-r.Context().Done():
			return
		}
	}
	file, err := os.Open(filepath.Join(f.dir, filepath.Base(name)))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer file.Close()
	http.ServeContent(w, r, name, time.Time{}, file)
}

func (f *fakeCP) setQuery(sql string, q query) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries[sql] = q
}

func principalOf(token string) (string, error) {
	p, ok := users[token]
	if !ok {
		return "", status.Error(codes.Unauthenticated, "invalid or expired token")
	}
	return p, nil
}

func (f *fakeCP) Authenticate(ctx context.Context, req *agentapi.AuthenticateRequest) (*agentapi.AuthenticateResponse, error) {
	if err := f.CheckAgent(ctx); err != nil {
		return nil, err
	}
	f.authCalls.Add(1)
	p, err := principalOf(req.GetUserToken())
	if err != nil {
		return nil, err
	}
	return &agentapi.AuthenticateResponse{Principal: p}, nil
}

func (f *fakeCP) Plan(req *agentapi.PlanRequest, stream grpc.ServerStreamingServer[agentapi.PlanPage]) error {
	if err := f.CheckAgent(stream.Context()); err != nil {
		return err
	}
	principal, err := principalOf(req.GetUserToken())
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.plans = append(f.plans, req)
	q, ok := f.queries[req.GetSql()]
	f.mu.Unlock()
	if !ok {
		return status.Errorf(codes.InvalidArgument, "unknown query %q", req.GetSql())
	}
	if q.err != nil {
		return q.err
	}
	if err := stream.Send(&agentapi.PlanPage{Page: &agentapi.PlanPage_Header{Header: &agentapi.PlanHeader{
		QueryId: "q1", Principal: principal, Table: "db.t", Columns: q.header, PolicyVersion: 7,
	}}}); err != nil {
		return err
	}
	if req.GetSchemaOnly() {
		return stream.Send(&agentapi.PlanPage{Page: &agentapi.PlanPage_Totals{Totals: &agentapi.PlanTotals{}}})
	}
	now := time.Now()
	issued, expires := now.Add(-time.Second), now.Add(time.Minute)
	if q.expiresAt != 0 {
		issued, expires = now.Add(q.issuedAt), now.Add(q.expiresAt)
	}
	var tickets [][]byte
	for i, task := range q.tasks {
		task.ID = fmt.Sprintf("task-%d", i)
		task.QueryID = "q1"
		task.Principal = principal
		task.IssuedAt, task.ExpiresAt = issued, expires
		tkt, err := f.Signer.Sign(task)
		if err == nil {
			tkt, err = f.Sealer.Seal(tkt)
		}
		if err != nil {
			f.t.Errorf("sign: %v", err)
			return status.Error(codes.Internal, "sign")
		}
		tickets = append(tickets, tkt)
	}
	// One ticket per page, to exercise paging.
	for _, tkt := range tickets {
		if err := stream.Send(&agentapi.PlanPage{Page: &agentapi.PlanPage_Tickets{Tickets: &agentapi.Tickets{Tickets: [][]byte{tkt}}}}); err != nil {
			return err
		}
	}
	if q.noTotals {
		return nil
	}
	return stream.Send(&agentapi.PlanPage{Page: &agentapi.PlanPage_Totals{Totals: &agentapi.PlanTotals{Tasks: int64(len(tickets))}}})
}

// verify checks a ticket the way the real control plane does before it
// signs URLs: signed by it, unexpired, for one of its users.
func (f *fakeCP) verify(sealed []byte) (taskplan.Task, error) {
	ticket, err := f.Sealer.Open(sealed)
	if err != nil {
		return taskplan.Task{}, err
	}
	v, err := taskplan.NewVerifier(f.Signer.PublicKeys(), time.Minute)
	if err != nil {
		return taskplan.Task{}, err
	}
	for _, p := range users {
		if t, err := v.Verify(ticket, time.Now(), p); err == nil {
			return t, nil
		}
	}
	return taskplan.Task{}, fmt.Errorf("ticket invalid")
}

func (f *fakeCP) SignURLs(ctx context.Context, req *agentapi.SignURLsRequest) (*agentapi.SignURLsResponse, error) {
	if err := f.CheckAgent(ctx); err != nil {
		return nil, err
	}
	f.signCalls.Add(1)
	f.mu.Lock()
	signErr := f.signErr
	f.mu.Unlock()
	if signErr != nil {
		return nil, signErr
	}
	t, err := f.verify(req.GetTicket())
	if err != nil {
		return nil, status.Error(codes.PermissionDenied, "ticket invalid")
	}
	resp := &agentapi.SignURLsResponse{}
	for _, p := range req.GetPaths() {
		found := false
		for _, o := range t.Objects {
			found = found || o.Path == p
		}
		if !found {
			return nil, status.Errorf(codes.PermissionDenied, "object %s is not part of the task", p)
		}
		resp.Urls = append(resp.Urls, &agentapi.SignedURL{
			Path:      p,
			Url:       f.blobURL + "/" + p + "?X-Nscale-Signature=ok",
			ExpiresAt: timestamppb.New(time.Now().Add(time.Minute)),
		})
	}
	return resp, nil
}

func (f *fakeCP) ReportTask(ctx context.Context, req *agentapi.ReportTaskRequest) (*agentapi.ReportTaskResponse, error) {
	if err := f.CheckAgent(ctx); err != nil {
		return nil, err
	}
	f.reports <- req
	return &agentapi.ReportTaskResponse{}, nil
}

func (f *fakeCP) Catalog(ctx context.Context, req *agentapi.CatalogRequest) (*agentapi.CatalogResponse, error) {
	if err := f.CheckAgent(ctx); err != nil {
		return nil, err
	}
	p, err := principalOf(req.GetUserToken())
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.catalog[p]; ok {
		return c, nil
	}
	return &agentapi.CatalogResponse{}, nil
}

// serve starts the fake on a real loopback listener.
func (f *fakeCP) serve(t *testing.T) string { return agentapitest.Serve(t, f) }
