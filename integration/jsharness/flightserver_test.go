//go:build integration

package jsharness

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// flightServer is a minimal Flight SQL server standing in for nscale's
// agent: a few fixed tables, a bearer token on every call, and the result
// schema in FlightInfo (the Rust client refuses a FlightInfo without one).
// The arrow-go SQLite example server would need no new dependency but sends
// no schema in FlightInfo, so the Rust client cannot read from it.
type flightServer struct {
	flightsql.BaseServer
	mem   memory.Allocator
	token string

	mu   sync.Mutex
	seen []string // requests, in order, for asserting what the client sent
}

// Statements the server knows; anything else is InvalidArgument.
const (
	qAllTypes   = "SELECT * FROM alltypes"
	qExtras     = "SELECT * FROM extras"
	qEmpty      = "SELECT * FROM empty"
	qMidStream  = "SELECT * FROM fails_midway"
	qNoSchema   = "SELECT * FROM no_schema"
	qDict       = "SELECT * FROM dict"
	denyMessage = "permission denied: column card_number is masked for role analyst (policy 42)"
	qDenied     = "SELECT card_number FROM customers"
)

func startFlightServer(t *testing.T, mem memory.Allocator, token string) (*flightServer, int) {
	t.Helper()
	fs := &flightServer{mem: mem, token: token}
	srv := flight.NewServerWithMiddleware(nil,
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := fs.authorize(ctx); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := fs.authorize(ss.Context()); err != nil {
				return err
			}
			return h(srv, ss)
		}))
	srv.RegisterFlightService(flightsql.NewFlightServerWithAllocator(fs, mem))
	if err := srv.Init("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve() }()
	t.Cleanup(srv.Shutdown)
	return fs, srv.Addr().(*net.TCPAddr).Port
}

func (s *flightServer) authorize(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	if id := md.Get("x-request-id"); len(id) == 1 {
		s.note("x-request-id " + id[0])
	}
	if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer "+s.token {
		s.note("unauthenticated")
		return status.Error(codes.Unauthenticated, "invalid bearer token")
	}
	return nil
}

func (s *flightServer) note(what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, what)
}

func (s *flightServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

func (s *flightServer) schemaOf(query string) (*arrow.Schema, error) {
	switch query {
	case qAllTypes, qEmpty, qMidStream, qNoSchema:
		return allTypesSchema, nil
	case qExtras:
		return extrasSchema, nil
	case qDict:
		return dictSchema, nil
	case qDenied:
		return nil, status.Error(codes.PermissionDenied, denyMessage)
	}
	return nil, status.Errorf(codes.InvalidArgument, "unknown statement %q", query)
}

func (s *flightServer) info(desc *flight.FlightDescriptor, ticket []byte, schema *arrow.Schema) *flight.FlightInfo {
	info := &flight.FlightInfo{
		Endpoint:         []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: ticket}}},
		FlightDescriptor: desc,
		TotalRecords:     -1,
		TotalBytes:       -1,
	}
	if schema != nil {
		info.Schema = flight.SerializeSchema(schema, s.mem)
	}
	return info
}

// The Rust client always prepares: CreatePreparedStatement, then
// GetFlightInfo and DoGet on the prepared statement; the handle is the query.
func (s *flightServer) CreatePreparedStatement(_ context.Context, req flightsql.ActionCreatePreparedStatementRequest) (flightsql.ActionCreatePreparedStatementResult, error) {
	s.note("prepare " + req.GetQuery())
	schema, err := s.schemaOf(req.GetQuery())
	if err != nil {
		return flightsql.ActionCreatePreparedStatementResult{}, err
	}
	return flightsql.ActionCreatePreparedStatementResult{Handle: []byte(req.GetQuery()), DatasetSchema: schema}, nil
}

func (s *flightServer) ClosePreparedStatement(context.Context, flightsql.ActionClosePreparedStatementRequest) error {
	s.note("close")
	return nil
}

func (s *flightServer) GetFlightInfoPreparedStatement(_ context.Context, cmd flightsql.PreparedStatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	query := string(cmd.GetPreparedStatementHandle())
	schema, err := s.schemaOf(query)
	if err != nil {
		return nil, err
	}
	if query == qNoSchema {
		schema = nil
	}
	return s.info(desc, desc.Cmd, schema), nil
}

func (s *flightServer) DoGetPreparedStatement(_ context.Context, cmd flightsql.PreparedStatementQuery) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	query := string(cmd.GetPreparedStatementHandle())
	schema, err := s.schemaOf(query)
	if err != nil {
		return nil, nil, err
	}
	var recs []arrow.RecordBatch
	switch query {
	case qAllTypes, qNoSchema:
		recs = allTypes(s.mem)
	case qExtras:
		recs = []arrow.RecordBatch{extras(s.mem)}
	case qDict:
		recs = []arrow.RecordBatch{dict(s.mem)}
	case qMidStream:
		recs = allTypes(s.mem)
		recs[1].Release()
		recs = recs[:1]
	}
	ch := make(chan flight.StreamChunk, len(recs)+1)
	for _, r := range recs {
		ch <- flight.StreamChunk{Data: r}
	}
	if query == qMidStream {
		ch <- flight.StreamChunk{Err: status.Error(codes.Unavailable, "object store went away after the first batch")}
	}
	close(ch)
	return schema, ch, nil
}

func (s *flightServer) GetFlightInfoCatalogs(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.info(desc, desc.Cmd, schema_ref.Catalogs), nil
}

func (s *flightServer) DoGetCatalogs(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.strings(schema_ref.Catalogs, [][]*string{{ptr("nscale")}})
}

func (s *flightServer) GetFlightInfoSchemas(_ context.Context, cmd flightsql.GetDBSchemas, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	s.note("schemas catalog=" + deref(cmd.GetCatalog()) + " pattern=" + deref(cmd.GetDBSchemaFilterPattern()))
	return s.info(desc, desc.Cmd, schema_ref.DBSchemas), nil
}

func (s *flightServer) DoGetDBSchemas(context.Context, flightsql.GetDBSchemas) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.strings(schema_ref.DBSchemas, [][]*string{{ptr("nscale"), ptr("hr")}, {nil, ptr("sales")}})
}

func (s *flightServer) GetFlightInfoTables(_ context.Context, cmd flightsql.GetTables, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	s.note("tables pattern=" + deref(cmd.GetTableNameFilterPattern()))
	if cmd.GetIncludeSchema() {
		return nil, status.Error(codes.Unimplemented, "include_schema is not supported")
	}
	return s.info(desc, desc.Cmd, schema_ref.Tables), nil
}

func (s *flightServer) DoGetTables(context.Context, flightsql.GetTables) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.strings(schema_ref.Tables, [][]*string{{ptr("nscale"), ptr("sales"), ptr("customers"), ptr("TABLE")}})
}

// strings answers a metadata call whose columns are all strings.
func (s *flightServer) strings(schema *arrow.Schema, rows [][]*string) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(s.mem, schema)
	defer b.Release()
	for _, row := range rows {
		for c, v := range row {
			if v == nil {
				b.Field(c).AppendNull()
			} else {
				b.Field(c).(*array.StringBuilder).Append(*v)
			}
		}
	}
	ch := make(chan flight.StreamChunk, 1)
	ch <- flight.StreamChunk{Data: b.NewRecordBatch()}
	close(ch)
	return schema, ch, nil
}

func ptr(s string) *string { return &s }

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
