package flight

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/nscale/nscale/agent/peer"
	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/parquettest"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

const queryAll = "SELECT id, email, country AS c FROM db.t WHERE score > 0.5"

type row struct {
	id             int64
	email, country string
	score          float64
}

var (
	rowsA = []row{{1, "a@x.com", "DE", 0.9}, {2, "b@y.org", "FR", 0.9}, {3, "c@z.de", "DE", 0.1}, {4, "d.e@w.io", "DE", 0.8}}
	rowsB = []row{{5, "e@v.com", "US", 0.9}, {6, "f@u.net", "DE", 0.7}, {7, "g@t.com", "DE", 0.2}, {8, "h@s.com", "DE", 0.6}}
	// Policy: country = 'DE', email masked; the user's WHERE score > 0.5
	// on a filter-only column.
	wantRows = []string{"1|xxxx@x.com|DE", "4|xxxx@w.io|DE", "6|xxxx@u.net|DE", "8|xxxx@s.com|DE"}
)

// wantSchema is what both FlightInfo and DoGet must announce.
var wantSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "c", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

var header = []*agentapi.Column{
	{Name: "id", Type: "int64"},
	{Name: "email", Type: "string", MaskJson: `{"func":"email_domain"}`},
	{Name: "c", Type: "string"},
}

func parquetFile(t *testing.T, rows []row) []byte {
	t.Helper()
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.Int64Builder).Append(r.id)
		b.Field(1).(*array.StringBuilder).Append(r.email)
		b.Field(2).(*array.StringBuilder).Append(r.country)
		b.Field(3).(*array.Float64Builder).Append(r.score)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return parquettest.FileWith(t, parquet.NewWriterProperties(parquet.WithAllocator(mem)), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem)), rec)
}

// tableTask is the policy-enforcing task over objs.
func tableTask(objs ...taskplan.Object) taskplan.Task {
	return taskplan.Task{
		Table:    "db.t",
		Format:   "parquet",
		Location: "file:///lake/db/t/",
		Objects:  objs,
		Columns: []taskplan.Column{
			{Name: "id", Type: "int64"},
			{Name: "email", Type: "string", Mask: &sqlsubset.Mask{Func: "email_domain"}},
			{Name: "country", As: "c", Type: "string"},
			{Name: "score", Type: "float64", FilterOnly: true},
		},
		RowFilter: sqlsubset.Tree{Expr: &sqlsubset.Compare{Op: sqlsubset.Eq,
			Left: &sqlsubset.Column{Name: "country"}, Right: sqlsubset.StringLiteral("DE")}},
		Predicate: sqlsubset.Tree{Expr: &sqlsubset.Compare{Op: sqlsubset.Gt,
			Left: &sqlsubset.Column{Name: "score"}, Right: sqlsubset.Float64Literal(0.5)}},
		PolicyVersion: 7,
	}
}

// agentCreds adds the agent's bearer token to every call, as the daemon does.
type agentCreds struct{}

func (agentCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + agentToken}, nil
}
func (agentCreds) RequireTransportSecurity() bool { return false }

type env struct {
	cp    *fakeCP
	srv   *Server
	keys  *Keys
	reg   *prometheus.Registry
	mem   *memory.CheckedAllocator
	addr  string
	sock  string
	objs  []taskplan.Object
	cpCli agentapi.AgentClient
	// stop cancels the server and returns Run's error; cleanup calls it too.
	stop func() error
}

type envOptions struct {
	socket       bool
	maxStreams   int
	perUser      int
	admitWait    time.Duration
	stallTimeout time.Duration
	shutdown     time.Duration
	noKeys       bool // never fetch keys: the agent stays not ready
	peers        *peer.Policy
	agentID      string // this agent's enrolled id, for bound tickets
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	cp := newFakeCP(t)
	objA := cp.addFile("part-0.parquet", parquetFile(t, rowsA))
	objB := cp.addFile("part-1.parquet", parquetFile(t, rowsB))
	cp.setQuery(queryAll, query{header: header, tasks: []taskplan.Task{tableTask(objA), tableTask(objB)}})
	cpAddr := cp.serve(t)

	conn, err := grpc.NewClient(cpAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(agentCreds{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	cpCli := agentapi.NewAgentClient(conn)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	reg := prometheus.NewRegistry()
	keys, err := NewKeys(KeysConfig{Client: cpCli, Logger: log, Registerer: reg, RetryBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	srv, err := New(Config{
		ControlPlane:      cpCli,
		Keys:              keys,
		Allocator:         mem,
		Logger:            log,
		Registerer:        reg,
		MaxStreams:        o.maxStreams,
		MaxStreamsPerUser: o.perUser,
		AdmitWait:         o.admitWait,
		StallTimeout:      o.stallTimeout,
		ReportTimeout:     2 * time.Second,
		Peers:             o.peers,
		AgentID:           func() string { return o.agentID },
		ShutdownTimeout:   cmp.Or(o.shutdown, 5*time.Second),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{cp: cp, srv: srv, keys: keys, reg: reg, mem: mem, addr: ln.Addr().String(), objs: []taskplan.Object{objA, objB}, cpCli: cpCli}
	lns := []net.Listener{ln}
	if o.socket {
		dir, err := os.MkdirTemp("", "nsf") // short: unix socket paths are limited to ~108 bytes
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		e.sock = filepath.Join(dir, "agent.sock")
		uln, err := ListenUnix(e.sock, 0o660)
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, uln)
	}

	ctx, cancel := context.WithCancel(context.Background())
	keysDone := make(chan error, 1)
	if o.noKeys {
		keysDone <- nil
	} else {
		go func() { keysDone <- keys.Run(ctx) }()
		select {
		case <-keys.Ready():
		case <-time.After(5 * time.Second):
			t.Fatal("keys not fetched")
		}
	}
	runDone := make(chan error, 1)
	go func() { runDone <- srv.Run(ctx, lns...) }()
	var once sync.Once
	var runErr error
	e.stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-runDone
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := e.stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := <-keysDone; err != nil {
			t.Errorf("keys.Run: %v", err)
		}
		mem.AssertSize(t, 0)
	})
	return e
}

func (e *env) client(t *testing.T) *flightsql.Client {
	t.Helper()
	return dial(t, e.addr)
}

func dial(t *testing.T, addr string) *flightsql.Client {
	t.Helper()
	cl, err := flightsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// as is a context carrying token as a bearer credential.
func as(t *testing.T, token string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// infoSchema decodes a FlightInfo's schema.
func infoSchema(t *testing.T, info *flight.FlightInfo) *arrow.Schema {
	t.Helper()
	if len(info.GetSchema()) == 0 {
		t.Fatal("FlightInfo has no schema")
	}
	s, err := flight.DeserializeSchema(info.GetSchema(), memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// readAll reads every endpoint of info, checks each stream's schema
// against want, and returns the rows rendered "a|b|c", sorted.
func readAll(t *testing.T, ctx context.Context, cl *flightsql.Client, info *flight.FlightInfo, want *arrow.Schema) []string {
	t.Helper()
	var rows []string
	for _, ep := range info.GetEndpoint() {
		if len(ep.GetLocation()) != 0 {
			t.Errorf("endpoint has locations %v; want none (read from the same agent)", ep.GetLocation())
		}
		got, err := readEndpoint(ctx, cl, ep.GetTicket(), want)
		if err != nil {
			t.Fatalf("DoGet: %v", err)
		}
		rows = append(rows, got...)
	}
	sort.Strings(rows)
	return rows
}

var errSchemaMismatch = errors.New("DoGet schema differs from the FlightInfo schema")

func readEndpoint(ctx context.Context, cl *flightsql.Client, tkt *flight.Ticket, want *arrow.Schema) ([]string, error) {
	rdr, err := cl.DoGet(ctx, tkt)
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	if want != nil && !rdr.Schema().Equal(want) {
		return nil, errSchemaMismatch
	}
	var rows []string
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			cells := make([]string, rec.NumCols())
			for j := range cells {
				cells[j] = rec.Column(j).ValueStr(i)
			}
			rows = append(rows, strings.Join(cells, "|"))
		}
	}
	return rows, rdr.Err()
}
