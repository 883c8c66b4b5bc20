//go:build integration

package jsharness

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

const testToken = "t0ken-for-the-test"

func flightTest(t *testing.T) (*flightServer, FlightRequest, context.Context) {
	t.Helper()
	Require(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) }) // runs last: after the server stops
	fs, port := startFlightServer(t, mem, testToken)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return fs, FlightRequest{Host: "127.0.0.1", Port: port, Token: testToken}, ctx
}

func scriptError(t *testing.T, err error) *ScriptError {
	t.Helper()
	var se *ScriptError
	if !errors.As(err, &se) || se.Code != 1 || strings.Contains(se.Message, "\n") {
		t.Fatalf("error = %#v, want the script to exit 1 with one line", err)
	}
	return se
}

func TestRustClientReadsEveryType(t *testing.T) {
	fs, req, ctx := flightTest(t)
	req.SQL, req.Headers = qAllTypes, map[string]string{"x-request-id": "r-17"}
	got, err := FlightSQL(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(allTypesWant, got); d != "" {
		t.Error(d)
	}

	req.SQL = qExtras
	got, err = FlightSQL(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(extrasWant, got); d != "" {
		t.Error(d)
	}
	if r := fs.requests(); !slices.Contains(r, "prepare "+qAllTypes) || !slices.Contains(r, "x-request-id r-17") || slices.Contains(r, "unauthenticated") {
		t.Errorf("server saw %q", r)
	}
}

func TestRustClientEmptyResultKeepsColumns(t *testing.T) {
	_, req, ctx := flightTest(t)
	req.SQL = qEmpty
	got, err := FlightSQL(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(Result{Columns: allTypesWant.Columns, Rows: [][]any{}}, got); d != "" {
		t.Error(d)
	}
}

// The client must send the token as a bearer token; a wrong or missing one
// fails with the server's status, code and message intact.
func TestRustClientSendsBearerToken(t *testing.T) {
	fs, req, ctx := flightTest(t)
	for _, token := range []string{"wrong", ""} {
		req.Token, req.SQL = token, qAllTypes
		_, err := FlightSQL(ctx, req)
		se := scriptError(t, err)
		if want := "rpc error: code = Unauthenticated desc = invalid bearer token"; se.Message != want {
			t.Errorf("token %q: message %q, want %q", token, se.Message, want)
		}
	}
	if r := fs.requests(); len(r) != 2 || r[0] != "unauthenticated" || r[1] != "unauthenticated" {
		t.Errorf("server saw %q, want two refusals and nothing else", r)
	}
}

func TestRustClientKeepsServerErrors(t *testing.T) {
	_, req, ctx := flightTest(t)
	for sql, want := range map[string]string{
		qDenied:              "rpc error: code = PermissionDenied desc = " + denyMessage,
		"SELECT 1 FROM nope": `rpc error: code = InvalidArgument desc = unknown statement "SELECT 1 FROM nope"`,
		qMidStream:           "rpc error: code = Unavailable desc = object store went away after the first batch",
	} {
		req.SQL = sql
		_, err := FlightSQL(ctx, req)
		if se := scriptError(t, err); se.Message != want {
			t.Errorf("%s: message %q, want %q", sql, se.Message, want)
		}
	}

	// Without the status proxy the client's own message is all there is.
	req.SQL, req.Direct = qDenied, true
	_, err := FlightSQL(ctx, req)
	if se := scriptError(t, err); se.Message != "flight sql client: failed to prepare statement" {
		t.Errorf("direct: message %q", se.Message)
	}
}

func TestRustClientServerDown(t *testing.T) {
	Require(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = FlightSQL(ctx, FlightRequest{Host: "127.0.0.1", Port: port, Token: testToken, SQL: qAllTypes})
	if se := scriptError(t, err); !strings.HasPrefix(se.Message, "rpc error: code = Unavailable desc = ") || !strings.Contains(se.Message, "ECONNREFUSED") {
		t.Errorf("message %q", se.Message)
	}
}

func TestRustClientNeedsSchemaInFlightInfo(t *testing.T) {
	_, req, ctx := flightTest(t)
	req.SQL = qNoSchema
	_, err := FlightSQL(ctx, req)
	if se := scriptError(t, err); !strings.HasPrefix(se.Message, "flight sql client: ") {
		t.Errorf("message %q", se.Message)
	}
}

// A limitation of the client, pinned so that a change shows: it writes the
// result as an Arrow IPC file starting with an empty batch built from the
// FlightInfo schema, and the IPC file format allows no dictionary
// replacement, so any dictionary-encoded column fails the whole query.
func TestRustClientCannotReadDictionaries(t *testing.T) {
	_, req, ctx := flightTest(t)
	req.SQL = qDict
	_, err := FlightSQL(ctx, req)
	if se := scriptError(t, err); se.Message != "flight sql client: failed to convert to buffer" {
		t.Errorf("message %q", se.Message)
	}
}

func TestRustClientMetadataCalls(t *testing.T) {
	fs, req, ctx := flightTest(t)

	req.Op = "getCatalogs"
	got, err := FlightSQL(ctx, req)
	want := Result{Columns: []Column{{"catalog_name", "string"}}, Rows: [][]any{{"nscale"}}}
	if err != nil || Diff(want, got) != "" {
		t.Errorf("getCatalogs: %v %s", err, Diff(want, got))
	}

	req.Op, req.Catalog, req.DBSchemaFilterPattern = "getDbSchemas", ptr("nscale"), ptr("s%")
	got, err = FlightSQL(ctx, req)
	want = Result{
		Columns: []Column{{"catalog_name", "string"}, {"db_schema_name", "string"}},
		Rows:    [][]any{{"nscale", "hr"}, {nil, "sales"}},
	}
	if err != nil || Diff(want, got) != "" {
		t.Errorf("getDbSchemas: %v %s", err, Diff(want, got))
	}

	req.Op, req.Catalog, req.DBSchemaFilterPattern, req.TableNameFilterPattern = "getTables", nil, nil, ptr("cust%")
	got, err = FlightSQL(ctx, req)
	want = Result{
		Columns: []Column{{"catalog_name", "string"}, {"db_schema_name", "string"}, {"table_name", "string"}, {"table_type", "string"}},
		Rows:    [][]any{{"nscale", "sales", "customers", "TABLE"}},
	}
	if err != nil || Diff(want, got) != "" {
		t.Errorf("getTables: %v %s", err, Diff(want, got))
	}

	req.IncludeSchema = true
	_, err = FlightSQL(ctx, req)
	if se := scriptError(t, err); se.Message != "rpc error: code = Unimplemented desc = include_schema is not supported" {
		t.Errorf("getTables with schema: %q", se.Message)
	}

	r := fs.requests()
	for _, w := range []string{"schemas catalog=nscale pattern=s%", "tables pattern=cust%"} {
		if !slices.Contains(r, w) {
			t.Errorf("server saw %q, want %q among them", r, w)
		}
	}
}
