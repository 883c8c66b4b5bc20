package flight

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/apierr/apierrtest"
	"github.com/nscale/nscale/internal/taskplan"
)

func TestStatementQuery(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.client(t)
	ctx := as(t, "alice-token")

	info, err := cl.Execute(ctx, queryAll)
	if err != nil {
		t.Fatal(err)
	}
	if info.TotalRecords != -1 || info.TotalBytes != -1 {
		t.Errorf("totals = %d records, %d bytes; want -1, -1", info.TotalRecords, info.TotalBytes)
	}
	if len(info.Endpoint) != 2 {
		t.Fatalf("endpoints = %d, want one per task (2)", len(info.Endpoint))
	}
	schema := infoSchema(t, info)
	if !schema.Equal(wantSchema) {
		t.Fatalf("FlightInfo schema\n%s\nwant\n%s", schema, wantSchema)
	}
	// readAll checks that every DoGet announces exactly the FlightInfo schema.
	if got := readAll(t, ctx, cl, info, schema); !reflect.DeepEqual(got, wantRows) {
		t.Errorf("rows = %q, want %q", got, wantRows)
	}

	// Each task is reported, with what it did.
	var rows int64
	for range 2 {
		select {
		case r := <-e.cp.reports:
			if r.GetErrorCode() != "" {
				t.Errorf("report error = %s %q, want none", r.GetErrorCode(), r.GetErrorMessage())
			}
			if r.GetStats().GetObjects() != 1 || r.GetStats().GetRowsRead() != 4 || r.GetStats().GetBytesRead() == 0 {
				t.Errorf("report stats = %v", r.GetStats())
			}
			rows += r.GetStats().GetRowsReturned()
		case <-time.After(5 * time.Second):
			t.Fatal("task not reported")
		}
	}
	if rows != int64(len(wantRows)) {
		t.Errorf("reported rows returned = %d, want %d", rows, len(wantRows))
	}
	if got := e.cp.signCalls.Load(); got != 2 {
		t.Errorf("SignURLs calls = %d, want one per object (2)", got)
	}
	if got := testutil.ToFloat64(e.srv.m.tasks.WithLabelValues("OK")); got != 2 {
		t.Errorf("tasks{OK} = %v, want 2", got)
	}
	if got := testutil.ToFloat64(e.srv.m.rowsReturned); got != float64(len(wantRows)) {
		t.Errorf("rows_returned = %v, want %d", got, len(wantRows))
	}
	if got := testutil.ToFloat64(e.srv.m.plans.WithLabelValues("OK")); got != 1 {
		t.Errorf("plans{OK} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(e.srv.m.activeStreams); got != 0 {
		t.Errorf("active streams = %v after the streams ended", got)
	}
}

func TestAuthIsCached(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.client(t)
	for range 3 {
		if _, err := cl.Execute(as(t, "alice-token"), queryAll); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.cp.authCalls.Load(); got != 1 {
		t.Errorf("Authenticate calls = %d for three calls with one token; want 1 (cached)", got)
	}
}

func TestBasicAuthHandshake(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.client(t)
	for _, user := range []string{"alice", ""} {
		ctx, err := cl.Client.AuthenticateBasicToken(context.Background(), user, "alice-token")
		if err != nil {
			t.Fatalf("handshake as %q: %v", user, err)
		}
		md, _ := metadata.FromOutgoingContext(ctx)
		if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer alice-token" {
			t.Fatalf("handshake answered authorization %q, want the bearer token", got)
		}
		info, err := cl.Execute(ctx, queryAll)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, ctx, cl, info, wantSchema); !reflect.DeepEqual(got, wantRows) {
			t.Errorf("rows = %q", got)
		}
	}

	_, err := cl.Client.AuthenticateBasicToken(context.Background(), "bob", "alice-token")
	apierrtest.Status(t, "", err, codes.Unauthenticated, "does not match")
	_, err = cl.Client.AuthenticateBasicToken(context.Background(), "alice", "wrong-token")
	apierrtest.Status(t, "", err, codes.Unauthenticated, "invalid or expired token")

	// Basic auth is also accepted on a plain call (some drivers send it
	// every time).
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:alice-token"))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", basic)
	if _, err := cl.Execute(ctx, queryAll); err != nil {
		t.Errorf("basic auth on a call: %v", err)
	}
}

func TestCredentialRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.client(t)
	cases := []struct {
		name string
		ctx  context.Context
		msg  string
	}{
		{"none", context.Background(), "missing credential"},
		{"wrong token", as(t, "mallory-token"), "invalid or expired token"},
		{"empty bearer", metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "), "missing credential"},
		{"other scheme", metadata.AppendToOutgoingContext(context.Background(), "authorization", "Digest abc"), "unsupported authorization scheme"},
		{"bad basic", metadata.AppendToOutgoingContext(context.Background(), "authorization", "Basic !!!"), "malformed basic auth"},
		{"two tokens", metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer alice-token", "authorization", "Bearer bob-token"), "more than one credential"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cl.Execute(tc.ctx, queryAll)
			apierrtest.Status(t, "", err, codes.Unauthenticated, tc.msg)
			_, err = cl.GetCatalogs(tc.ctx)
			apierrtest.Status(t, "", err, codes.Unauthenticated, "")
		})
	}
	// A DoGet is refused before the ticket is even looked at.
	_, err := readEndpoint(context.Background(), cl, &flight.Ticket{Ticket: []byte("x")}, nil)
	apierrtest.Status(t, "", err, codes.Unauthenticated, "missing credential")
}

// statementTicket wraps a raw signed ticket as a Flight SQL ticket.
func statementTicket(t *testing.T, raw []byte) *flight.Ticket {
	t.Helper()
	b, err := flightsql.CreateStatementQueryTicket(raw)
	if err != nil {
		t.Fatal(err)
	}
	return &flight.Ticket{Ticket: b}
}

// rawTicket extracts the sealed ticket from an endpoint.
func rawTicket(t *testing.T, ep *flight.FlightEndpoint) []byte {
	t.Helper()
	q, err := flightsql.GetStatementQueryTicket(ep.GetTicket())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(q.GetStatementHandle()), "nss1.") {
		t.Fatalf("statement handle is not a sealed ticket: %.20q", q.GetStatementHandle())
	}
	return q.GetStatementHandle()
}

// open unseals a ticket of the fake control plane, to tamper with what the
// seal protects.
func (f *fakeCP) open(t *testing.T, sealed []byte) []byte {
	t.Helper()
	raw, err := f.Sealer.Open(sealed)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// seal seals raw as the fake control plane does.
func (f *fakeCP) seal(t *testing.T, raw []byte) []byte {
	t.Helper()
	sealed, err := f.Sealer.Seal(raw)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

func TestTicketChecks(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.client(t)
	alice := as(t, "alice-token")

	info, err := cl.Execute(alice, queryAll)
	if err != nil {
		t.Fatal(err)
	}
	good := rawTicket(t, info.Endpoint[0])
	signed := e.cp.open(t, good)

	// Tamper with the signature inside the seal (as someone holding the
	// sealing key could): change one character in its middle so the
	// base64 stays canonical and only the signature check can catch it.
	tampered := append([]byte(nil), signed...)
	i := strings.LastIndexByte(string(tampered), '.') + 10
	if tampered[i] == 'A' {
		tampered[i] = 'B'
	} else {
		tampered[i] = 'A'
	}
	if string(tampered) == string(signed) {
		t.Fatal("tampering changed nothing")
	}
	tampered = e.cp.seal(t, tampered)
	// Tamper with the seal itself.
	badSeal := append([]byte(nil), good...)
	// Swap one base64 character for another valid one, so the seal still
	// decodes and only the AEAD check can refuse it (a flipped bit can make
	// a character that is not base64 at all: a malformed ticket instead).
	if badSeal[len(badSeal)-5] == 'A' {
		badSeal[len(badSeal)-5] = 'B'
	} else {
		badSeal[len(badSeal)-5] = 'A'
	}
	// A sealed ticket of a key the control plane never had.
	otherKey, err := taskplan.NewSealer([]byte(strings.Repeat("k", taskplan.SealKeySize)))
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := otherKey.Seal(signed)
	if err != nil {
		t.Fatal(err)
	}

	bobInfo, err := cl.Execute(as(t, "bob-token"), queryAll)
	if err != nil {
		t.Fatal(err)
	}
	bobs := rawTicket(t, bobInfo.Endpoint[0])

	e.cp.setQuery("expired", query{header: header, tasks: []taskplan.Task{tableTask(e.objs[0])},
		issuedAt: -2 * time.Hour, expiresAt: -time.Hour})
	expInfo, err := cl.Execute(alice, "expired")
	if err != nil {
		t.Fatal(err)
	}
	expired := rawTicket(t, expInfo.Endpoint[0])

	cases := []struct {
		name   string
		ticket []byte
		code   codes.Code
		msg    string
	}{
		{"tampered", tampered, codes.PermissionDenied, "ticket signature invalid"},
		{"tampered seal", badSeal, codes.PermissionDenied, "sealed ticket invalid"},
		{"sealed with another key", foreign, codes.PermissionDenied, "sealed ticket invalid"},
		{"signed but not sealed", signed, codes.InvalidArgument, "not a sealed nscale ticket"},
		{"another principal's", bobs, codes.PermissionDenied, "ticket issued to another principal"},
		{"expired", expired, codes.Unauthenticated, "ticket expired"},
		{"not a ticket", []byte("SELECT 1"), codes.InvalidArgument, "malformed ticket"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readEndpoint(alice, cl, statementTicket(t, tc.ticket), nil)
			apierrtest.Status(t, "", err, tc.code, tc.msg)
		})
	}
	if n := e.cp.blobHits.Load(); n != 0 {
		t.Errorf("refused tickets read %d objects; want none", n)
	}
	if n := e.cp.signCalls.Load(); n != 0 {
		t.Errorf("refused tickets asked for %d URLs; want none", n)
	}
	// The genuine ticket still works.
	if rows, err := readEndpoint(alice, cl, statementTicket(t, good), wantSchema); err != nil || len(rows) == 0 {
		t.Errorf("genuine ticket: %d rows, %v", len(rows), err)
	}
}

func TestRotatedKeyIsFetched(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.client(t)
	alice := as(t, "alice-token")
	before := e.cp.KeyCalls.Load()

	// The control plane rotates to a key the agent has not seen.
	id, priv, err := taskplan.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cp.Signer.AddKey(id, priv); err != nil {
		t.Fatal(err)
	}
	if err := e.cp.Signer.SetCurrent(id); err != nil {
		t.Fatal(err)
	}
	info, err := cl.Execute(alice, queryAll)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, alice, cl, info, wantSchema); !reflect.DeepEqual(got, wantRows) {
		t.Errorf("rows with a rotated key = %q", got)
	}
	if got := e.cp.KeyCalls.Load() - before; got != 1 {
		t.Errorf("PublicKeys calls = %d, want exactly one refresh", got)
	}

	// A ticket naming a key nobody has does not make the agent ask again
	// right away (rate limit).
	forged := e.cp.seal(t, append([]byte("nst1.unknownkey."), e.cp.open(t, rawTicket(t, info.Endpoint[0]))[len("nst1.")+len(id)+1:]...))
	_, err = readEndpoint(alice, cl, statementTicket(t, forged), nil)
	apierrtest.Status(t, "", err, codes.PermissionDenied, "ticket signature invalid")
	if got := e.cp.KeyCalls.Load() - before; got != 1 {
		t.Errorf("PublicKeys calls = %d after a forged key id; want no new refresh within the rate limit", got)
	}
}

func TestNotReadyBeforeKeys(t *testing.T) {
	e := newEnv(t, envOptions{noKeys: true})
	cl := e.client(t)
	alice := as(t, "alice-token")
	info, err := cl.Execute(alice, queryAll)
	if err != nil {
		t.Fatal(err)
	}
	_, err = readEndpoint(alice, cl, info.Endpoint[0].Ticket, nil)
	apierrtest.Status(t, "", err, codes.Unavailable, "not yet received")
}

func TestPreparedStatement(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.client(t)
	alice := as(t, "alice-token")

	stmt, err := cl.Prepare(alice, queryAll)
	if err != nil {
		t.Fatal(err)
	}
	if !stmt.DatasetSchema().Equal(wantSchema) {
		t.Errorf("dataset schema = %s", stmt.DatasetSchema())
	}
	e.cp.mu.Lock()
	last := e.cp.plans[len(e.cp.plans)-1]
	e.cp.mu.Unlock()
	if !last.GetSchemaOnly() || last.GetSql() != queryAll || last.GetUserToken() != "alice-token" {
		t.Errorf("prepare planned %+v; want a schema-only plan of the SQL with the user's token", last)
	}
	if sr, err := stmt.GetSchema(alice); err != nil {
		t.Error(err)
	} else if s, err := flight.DeserializeSchema(sr.GetSchema(), nil); err != nil || !s.Equal(wantSchema) {
		t.Errorf("GetSchema = %v, %v", s, err)
	}
	info, err := stmt.Execute(alice)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, alice, cl, info, infoSchema(t, info)); !reflect.DeepEqual(got, wantRows) {
		t.Errorf("rows = %q", got)
	}
	if err := stmt.Close(alice); err != nil {
		t.Errorf("close: %v", err)
	}

	// The handle is worth nothing without a credential that may run it.
	_, err = flightsql.NewPreparedStatement(cl, []byte(queryAll)).Execute(as(t, "mallory-token"))
	apierrtest.Status(t, "", err, codes.Unauthenticated, "")

	// Parameters are refused.
	stmt2, err := cl.Prepare(alice, queryAll)
	if err != nil {
		t.Fatal(err)
	}
	params := paramBatch(t)
	defer params.Release()
	stmt2.SetParameters(params)
	_, err = stmt2.Execute(alice)
	apierrtest.Status(t, "", err, codes.InvalidArgument, "parameters are not supported")

	// Schema of a statement without a prepared handle.
	sr, err := cl.GetExecuteSchema(alice, queryAll)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := flight.DeserializeSchema(sr.GetSchema(), nil); err != nil || !s.Equal(wantSchema) {
		t.Errorf("GetExecuteSchema = %v, %v", s, err)
	}
}

func TestUnsupportedCommands(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.client(t)
	alice := as(t, "alice-token")
	_, err := cl.ExecuteUpdate(alice, "DELETE FROM db.t")
	apierrtest.Status(t, "", err, codes.InvalidArgument, "read-only")
	_, err = cl.BeginTransaction(alice)
	apierrtest.Status(t, "", err, codes.Unimplemented, "")
}

func TestZeroTaskPlan(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.client(t)
	alice := as(t, "alice-token")
	// Spark's schema probe: SELECT * FROM t WHERE 1=0.
	e.cp.setQuery("probe", query{header: header})
	info, err := cl.Execute(alice, "probe")
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Endpoint) != 0 {
		t.Errorf("endpoints = %d, want none", len(info.Endpoint))
	}
	if s := infoSchema(t, info); !s.Equal(wantSchema) {
		t.Errorf("schema = %s", s)
	}
}

func TestControlPlaneErrorsRelayed(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.client(t)
	alice := as(t, "alice-token")

	const denied = "permission denied: no SELECT on db.secret for alice"
	e.cp.setQuery("secret", query{err: status.Error(codes.PermissionDenied, denied)})
	_, err := cl.Execute(alice, "secret")
	apierrtest.Status(t, "", err, codes.PermissionDenied, denied)
	if s, _ := status.FromError(err); s.Message() != denied {
		t.Errorf("message = %q, want the control plane's unchanged", s.Message())
	}
	_, err = cl.GetExecuteSchema(alice, "secret")
	apierrtest.Status(t, "", err, codes.PermissionDenied, denied)

	e.cp.setQuery("internal", query{err: status.Error(codes.Internal, "pq: password authentication failed at 10.0.0.3")})
	_, err = cl.Execute(alice, "internal")
	apierrtest.Status(t, "", err, codes.Internal, "internal error")
	if strings.Contains(err.Error(), "10.0.0.3") {
		t.Errorf("internal details leaked: %v", err)
	}

	// A plan cut short must not look like a smaller result.
	e.cp.setQuery("truncated", query{header: header, tasks: []taskplan.Task{tableTask(e.objs[0])}, noTotals: true})
	_, err = cl.Execute(alice, "truncated")
	apierrtest.Status(t, "", err, codes.Unavailable, "without its totals")

	// An error mid-stream (URL signing refused) reaches the client with its
	// code and message, and is reported.
	info, err := cl.Execute(alice, queryAll)
	if err != nil {
		t.Fatal(err)
	}
	e.cp.mu.Lock()
	e.cp.signErr = status.Error(codes.PermissionDenied, "grant revoked since planning")
	e.cp.mu.Unlock()
	_, err = readEndpoint(alice, cl, info.Endpoint[0].Ticket, nil)
	apierrtest.Status(t, "", err, codes.PermissionDenied, "grant revoked since planning")
	if strings.Contains(err.Error(), "http") {
		t.Errorf("error mentions a URL: %v", err)
	}
	select {
	case r := <-e.cp.reports:
		if r.GetErrorCode() != "PERMISSION_DENIED" || !strings.Contains(r.GetErrorMessage(), "grant revoked") {
			t.Errorf("report = %s %q", r.GetErrorCode(), r.GetErrorMessage())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("failed task not reported")
	}
	if got := testutil.ToFloat64(e.srv.m.tasks.WithLabelValues("PERMISSION_DENIED")); got != 1 {
		t.Errorf("tasks{PERMISSION_DENIED} = %v", got)
	}
}

func TestMaxStreams(t *testing.T) {
	e := newEnv(t, envOptions{maxStreams: 1, admitWait: 200 * time.Millisecond})
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

	var wg sync.WaitGroup
	var firstRows []string
	var firstErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		firstRows, firstErr = readEndpoint(alice, cl, info.Endpoint[0].Ticket, wantSchema)
	}()
	select {
	case <-e.cp.entered: // the first stream holds the only slot
	case <-time.After(5 * time.Second):
		t.Fatal("first stream did not start reading")
	}
	_, err = readEndpoint(alice, cl, info.Endpoint[1].Ticket, nil)
	apierrtest.Status(t, "", err, codes.Unavailable, "too many concurrent streams")
	if got := testutil.ToFloat64(e.srv.m.activeStreams); got != 1 {
		t.Errorf("active streams = %v, want 1", got)
	}
	close(release)
	wg.Wait()
	if firstErr != nil || len(firstRows) != 2 {
		t.Errorf("first stream: %q, %v", firstRows, firstErr)
	}
	// The slot is free again.
	if _, err := readEndpoint(alice, cl, info.Endpoint[1].Ticket, wantSchema); err != nil {
		t.Errorf("after the first stream ended: %v", err)
	}
}

func TestUnixSocket(t *testing.T) {
	e := newEnv(t, envOptions{socket: true})
	fi, err := os.Stat(e.sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode = %v, want a socket with 0660", fi.Mode())
	}
	cl := dial(t, "unix://"+e.sock)
	alice := as(t, "alice-token")
	info, err := cl.Execute(alice, queryAll)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, alice, cl, info, wantSchema); !reflect.DeepEqual(got, wantRows) {
		t.Errorf("rows over the socket = %q", got)
	}
}

func TestListenUnixRefusesNonSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "nsf")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := dir + "/agent.sock"
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ListenUnix(path, 0o660); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Error("ListenUnix touched a regular file")
	}

	// A stale socket (nobody listening) is replaced; a live one is not.
	os.Remove(path)
	ln, err := ListenUnix(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ListenUnix(path, 0o600); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Errorf("second listener on a live socket: err = %v", err)
	}
	ln.(interface{ SetUnlinkOnClose(bool) }).SetUnlinkOnClose(false)
	ln.Close() // leaves a stale socket file behind
	ln2, err := ListenUnix(path, 0o600)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	ln2.Close()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after close: %v", err)
	}
}

func TestMetadata(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.client(t)
	alice := as(t, "alice-token")
	e.cp.mu.Lock()
	e.cp.catalog["alice"] = &agentapi.CatalogResponse{
		Databases: []string{"sales", "db", "d_b", "dxb"},
		Tables: []*agentapi.CatalogTable{
			{Database: "db", Name: "t", Columns: header},
			{Database: "sales", Name: "tx", Columns: []*agentapi.Column{{Name: "amount", Type: "decimal(10,2)"}}},
			{Database: "d_b", Name: "t_1", Columns: []*agentapi.Column{{Name: "x", Type: "int32"}}},
		},
	}
	e.cp.mu.Unlock()

	read := func(info *flight.FlightInfo, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return readAll(t, alice, cl, info, infoSchema(t, info))
	}
	if got := read(cl.GetCatalogs(alice)); !reflect.DeepEqual(got, []string{"nscale"}) {
		t.Errorf("catalogs = %q", got)
	}
	if got := read(cl.GetDBSchemas(alice, &flightsql.GetDBSchemasOpts{})); !reflect.DeepEqual(got, []string{"nscale|d_b", "nscale|db", "nscale|dxb", "nscale|sales"}) {
		t.Errorf("schemas = %q", got)
	}
	pat := "d_b"
	if got := read(cl.GetDBSchemas(alice, &flightsql.GetDBSchemasOpts{DbSchemaFilterPattern: &pat})); !reflect.DeepEqual(got, []string{"nscale|d_b", "nscale|dxb"}) {
		t.Errorf("schemas like d_b = %q (_ matches one character)", got)
	}
	esc := `d\_b`
	if got := read(cl.GetDBSchemas(alice, &flightsql.GetDBSchemasOpts{DbSchemaFilterPattern: &esc})); !reflect.DeepEqual(got, []string{"nscale|d_b"}) {
		t.Errorf(`schemas like d\_b = %q`, got)
	}
	// A lone trailing backslash escapes nothing: refused, as in SQL.
	lone := `d\`
	info, err := cl.GetDBSchemas(alice, &flightsql.GetDBSchemasOpts{DbSchemaFilterPattern: &lone})
	if err != nil {
		t.Fatal(err)
	}
	_, err = readEndpoint(alice, cl, info.GetEndpoint()[0].GetTicket(), infoSchema(t, info))
	apierrtest.Status(t, `schemas like d\`, err, codes.InvalidArgument, "lone backslash")
	other := "spark_catalog"
	if got := read(cl.GetDBSchemas(alice, &flightsql.GetDBSchemasOpts{Catalog: &other})); len(got) != 0 {
		t.Errorf("schemas of another catalog = %q", got)
	}
	tpat := "t%"
	if got := read(cl.GetTables(alice, &flightsql.GetTablesOpts{TableNameFilterPattern: &tpat})); !reflect.DeepEqual(got, []string{"nscale|d_b|t_1|TABLE", "nscale|db|t|TABLE", "nscale|sales|tx|TABLE"}) {
		t.Errorf("tables = %q", got)
	}
	if got := read(cl.GetTables(alice, &flightsql.GetTablesOpts{TableTypes: []string{"VIEW"}})); len(got) != 0 {
		t.Errorf("views = %q", got)
	}

	// With schemas: the table's schema uses the same mapping as queries.
	exact, db := "t", "db"
	info, err = cl.GetTables(alice, &flightsql.GetTablesOpts{DbSchemaFilterPattern: &db, TableNameFilterPattern: &exact, IncludeSchema: true})
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := cl.DoGet(alice, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			n++
			s, err := flight.DeserializeSchema(rec.Column(4).(interface{ Value(int) []byte }).Value(i), nil)
			if err != nil || !s.Equal(wantSchema) {
				t.Errorf("table schema = %v, %v; want %s", s, err, wantSchema)
			}
		}
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	rdr.Release()
	if n != 1 {
		t.Errorf("tables with schema = %d rows, want 1", n)
	}

	if got := read(cl.GetTableTypes(alice)); !reflect.DeepEqual(got, []string{"TABLE"}) {
		t.Errorf("table types = %q", got)
	}
	if got := read(cl.GetPrimaryKeys(alice, flightsql.TableRef{Table: "t"})); len(got) != 0 {
		t.Errorf("primary keys = %q", got)
	}

	// Bob sees nothing: the control plane filters per user.
	bob := as(t, "bob-token")
	info, err = cl.GetTables(bob, &flightsql.GetTablesOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, bob, cl, info, nil); len(got) != 0 {
		t.Errorf("bob's tables = %q", got)
	}
}

func TestSqlInfo(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.client(t)
	alice := as(t, "alice-token")
	info, err := cl.GetSqlInfo(alice, []flightsql.SqlInfo{flightsql.SqlInfoFlightSqlServerName, flightsql.SqlInfoFlightSqlServerReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, alice, cl, info, nil)
	// Rows render as "<id>|<union tag and value>".
	want := map[string]string{"0": "nscale", "3": "true"}
	if len(got) != 2 {
		t.Fatalf("sql info rows = %q", got)
	}
	for _, r := range got {
		id, val, _ := strings.Cut(r, "|")
		if !strings.Contains(val, want[id]) {
			t.Errorf("sql info %s = %s, want %s", id, val, want[id])
		}
	}
}

// paramBatch is one row of one parameter.
func paramBatch(t *testing.T) arrow.RecordBatch {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "p", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(1)
	return b.NewRecordBatch()
}

func TestShutdownCutsStuckStreams(t *testing.T) {
	e := newEnv(t, envOptions{shutdown: 300 * time.Millisecond})
	cl := e.client(t)
	alice := as(t, "alice-token")
	info, err := cl.Execute(alice, queryAll)
	if err != nil {
		t.Fatal(err)
	}
	e.cp.mu.Lock()
	e.cp.block["part-0.parquet"] = make(chan struct{}) // never released
	e.cp.mu.Unlock()
	streamErr := make(chan error, 1)
	go func() {
		_, err := readEndpoint(alice, cl, info.Endpoint[0].Ticket, nil)
		streamErr <- err
	}()
	<-e.cp.entered

	begin := time.Now()
	if err := e.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if took := time.Since(begin); took > 3*time.Second {
		t.Errorf("stop took %s with a 300ms shutdown timeout", took)
	}
	if err := <-streamErr; err == nil {
		t.Error("the cut stream ended without an error")
	}
	// Run waited for the task's report.
	select {
	case r := <-e.cp.reports:
		if r.GetErrorCode() != "UNAVAILABLE" || !strings.Contains(r.GetErrorMessage(), "cancelled") {
			t.Errorf("report = %s %q", r.GetErrorCode(), r.GetErrorMessage())
		}
	default:
		t.Error("the cut task was not reported before Run returned")
	}
}

// A sealing key rotated in on the control plane is fetched when a ticket
// sealed with it arrives; a key dropped from the control plane's list no
// longer opens tickets after the next fetch.
func TestRotatedSealingKeyIsFetched(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.client(t)
	alice := as(t, "alice-token")
	oldInfo, err := cl.Execute(alice, queryAll)
	if err != nil {
		t.Fatal(err)
	}
	old := e.cp.Sealer.Keys()[0]
	fresh := []byte(strings.Repeat("n", taskplan.SealKeySize))
	if err := e.cp.Sealer.SetKeys([][]byte{fresh, old}); err != nil {
		t.Fatal(err)
	}
	info, err := cl.Execute(alice, queryAll)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, alice, cl, info, wantSchema); !reflect.DeepEqual(got, wantRows) {
		t.Errorf("rows with a rotated sealing key = %q", got)
	}
	// In the overlap, a ticket sealed with the old key still reads.
	if got := readAll(t, alice, cl, oldInfo, wantSchema); !reflect.DeepEqual(got, wantRows) {
		t.Errorf("rows of a ticket sealed before the rotation = %q", got)
	}
	// The old key retires: the control plane refuses its tickets at once
	// (it opens every ticket an agent sends back), and the agent itself
	// once it refetches.
	if err := e.cp.Sealer.SetKeys([][]byte{fresh}); err != nil {
		t.Fatal(err)
	}
	_, err = readEndpoint(alice, cl, oldInfo.Endpoint[0].Ticket, nil)
	apierrtest.Status(t, "", err, codes.PermissionDenied, "ticket invalid")
	if err := e.keys.fetchAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	signs := e.cp.signCalls.Load()
	_, err = readEndpoint(alice, cl, oldInfo.Endpoint[0].Ticket, nil)
	apierrtest.Status(t, "", err, codes.PermissionDenied, "sealed ticket invalid")
	if n := e.cp.signCalls.Load() - signs; n != 0 {
		t.Errorf("the agent asked for %d URLs for a ticket of a retired key", n)
	}
}
