//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/nscale/nscale/internal/taskplan"
)

// attackTTL is the tickets' lifetime on the attack stack; the agent allows
// 30 s of clock skew on top (agent/flight.DefaultKeySkew).
const (
	attackTTL  = 2 * time.Second
	agentSkew  = 30 * time.Second
	annQuery   = "SELECT id, card, country FROM e2e.people"
	junkDDL    = "CREATE EXTERNAL TABLE e2e.junk (id bigint, email string, card string, country string, amount decimal(10,2)) STORED AS PARQUET LOCATION 's3://lake/e2e/junk/';\n"
	goneDDL    = "CREATE EXTERNAL TABLE e2e.gone (id bigint, email string, card string, country string, amount decimal(10,2)) STORED AS PARQUET LOCATION 's3://lake/e2e/gone/';\n"
	badObject  = "a-corrupt.parquet"
	goneObject = "part-1.parquet"
)

// flightClient is arrow-go's Flight SQL client on the agent's port, so that
// a test can hold FlightInfo tickets and change them before DoGet.
func (s *stack) flightClient(t *testing.T) *flightsql.Client {
	t.Helper()
	cl, err := flightsql.NewClient(s.flight, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

func bearer(ctx context.Context, token string) context.Context {
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// execute plans sql for token and returns the tickets (sealed, nss1).
func execute(ctx context.Context, cl *flightsql.Client, token, sql string) ([][]byte, error) {
	info, err := cl.Execute(bearer(ctx, token), sql)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, ep := range info.Endpoint {
		var a anypb.Any
		if err := proto.Unmarshal(ep.Ticket.Ticket, &a); err != nil {
			return nil, err
		}
		var q pb.TicketStatementQuery
		if err := a.UnmarshalTo(&q); err != nil {
			return nil, err
		}
		out = append(out, q.StatementHandle)
	}
	return out, nil
}

// doGet reads a raw ticket (wrapped as Flight SQL does) and counts rows.
func doGet(ctx context.Context, cl *flightsql.Client, token string, raw []byte) (int64, error) {
	tkt, err := flightsql.CreateStatementQueryTicket(raw)
	if err != nil {
		return 0, err
	}
	rdr, err := cl.DoGet(bearer(ctx, token), &flight.Ticket{Ticket: tkt})
	if err != nil {
		return 0, err
	}
	defer rdr.Release()
	var n int64
	for rdr.Next() {
		n += rdr.RecordBatch().NumRows()
	}
	if err := rdr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return n, err
	}
	return n, nil
}

// wantStatus checks a gRPC error's code and message; contains, when set,
// is checked with strings.Contains instead of equality.
func wantStatus(t *testing.T, what string, err error, code codes.Code, msg string, contains bool) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s %q", what, code, msg)
	}
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("%s: %v is not a gRPC status, want %s %q", what, err, code, msg)
	}
	t.Logf("%s: %s %q", what, st.Code(), st.Message())
	if st.Code() != code || (!contains && st.Message() != msg) || (contains && !strings.Contains(st.Message(), msg)) {
		t.Fatalf("%s: got %s %q, want %s %q", what, st.Code(), st.Message(), code, msg)
	}
}

// ticket is a split nst1 ticket: nst1.<key id>.<payload>.<signature>.
type ticket struct {
	kid          string
	payload, sig []byte
}

var b64 = base64.RawURLEncoding.Strict()

// signature matches a SigV4 signature or credential left in a message.
var signature = regexp.MustCompile(`(?i)X-Amz-(Signature|Credential)=[^R&\s]`)

func parseTicket(t *testing.T, raw []byte) ticket {
	t.Helper()
	parts := strings.Split(string(raw), ".")
	if len(parts) != 4 || parts[0] != "nst1" {
		t.Fatalf("not an nst1 ticket: %.40q", raw)
	}
	p, err1 := b64.DecodeString(parts[2])
	s, err2 := b64.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		t.Fatalf("ticket parts: %v %v", err1, err2)
	}
	return ticket{kid: parts[1], payload: p, sig: s}
}

func (k ticket) encode() []byte {
	return []byte("nst1." + k.kid + "." + b64.EncodeToString(k.payload) + "." + b64.EncodeToString(k.sig))
}

// tamper opens a sealed ticket with the sealing key (as only a holder of
// the key could), changes one top-level field of the signed payload in
// place, keeps the signature, seals it again, and checks that the new
// payload is valid JSON differing from the original in that field and no
// other.
func tamper(t *testing.T, sl *taskplan.Sealer, sealed []byte, field string, edit func(old json.RawMessage) json.RawMessage) []byte {
	t.Helper()
	raw, err := sl.Open(sealed)
	if err != nil {
		t.Fatal(err)
	}
	k := parseTicket(t, raw)
	var before map[string]json.RawMessage
	if err := json.Unmarshal(k.payload, &before); err != nil {
		t.Fatal(err)
	}
	old, ok := before[field]
	if !ok {
		t.Fatalf("payload has no field %s: %s", field, k.payload)
	}
	repl := edit(old)
	from := append([]byte(`"`+field+`":`), old...)
	if bytes.Count(k.payload, from) != 1 {
		t.Fatalf("field %s is not unique in the payload", field)
	}
	k.payload = bytes.Replace(k.payload, from, append([]byte(`"`+field+`":`), repl...), 1)
	var after map[string]json.RawMessage
	if err := json.Unmarshal(k.payload, &after); err != nil {
		t.Fatalf("tampered payload is not JSON: %v", err)
	}
	for name, v := range before {
		if same := bytes.Equal(v, after[name]); same == (name == field) {
			t.Fatalf("field %s: before %s, after %s (tampering %s)", name, v, after[name], field)
		}
	}
	resealed, err := sl.Seal(k.encode())
	if err != nil {
		t.Fatal(err)
	}
	return resealed
}

// TestAttacks tries to read what policy hides: tampered, replayed and
// expired tickets, masked values probed with WHERE, columns and tables
// without a grant, bad credentials, and files that break under the agent.
// Each is refused with its exact gRPC code and message, and audited.
func TestAttacks(t *testing.T) {
	t.Parallel() // with TestEndToEndCorpus: most of this test waits for a ticket to expire
	e := setupE2E(t, stackOptions{cpConfig: "planner:\n  task_ttl: " + attackTTL.String() + "\n"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cl := e.flightClient(t)

	// Tables for the file attacks, each with its own files.
	good := parquetFile(t, 30)
	e.s3.PutObject(t, "lake", "e2e/junk/part-0.parquet", good)
	e.s3.PutObject(t, "lake", "e2e/gone/part-0.parquet", good)
	e.s3.PutObject(t, "lake", "e2e/gone/"+goneObject, good)
	e.admin(t, junkDDL+goneDDL)

	// A ticket to use after it expired: planned now, read last.
	expiring, err := execute(ctx, cl, e.tokens["ann"], annQuery)
	if err != nil || len(expiring) == 0 {
		t.Fatalf("plan: %v (%d tickets)", err, len(expiring))
	}
	planned := time.Now()

	tickets, err := execute(ctx, cl, e.tokens["ann"], annQuery)
	if err != nil || len(tickets) != 1 {
		t.Fatalf("plan: %v (%d tickets, want 1)", err, len(tickets))
	}
	ann := tickets[0]
	sl := e.sealer(t)
	t.Run("the untouched ticket reads", func(t *testing.T) {
		n, err := doGet(ctx, cl, e.tokens["ann"], ann)
		if err != nil || n != 54 {
			t.Fatalf("DoGet: %d rows, %v; want the 54 EU rows", n, err)
		}
	})

	for _, tc := range []struct {
		name, field, as string // as: the user whose token reads the tampered ticket
		edit            func(old json.RawMessage) json.RawMessage
	}{
		{"expiry pushed back", "expires_at", "ann", func(old json.RawMessage) json.RawMessage {
			var s string
			_ = json.Unmarshal(old, &s)
			ts, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				t.Fatal(err)
			}
			return json.RawMessage(`"` + ts.Add(time.Hour).UTC().Format(time.RFC3339Nano) + `"`)
		}},
		{"principal changed to the reader", "principal", "mia", func(json.RawMessage) json.RawMessage { return json.RawMessage(`"mia"`) }},
		{"mask removed from a column", "columns", "ann", func(old json.RawMessage) json.RawMessage {
			m := `,"mask":{"func":"show_last","args":[4]}`
			if !bytes.Contains(old, []byte(m)) {
				t.Fatalf("no show_last mask in %s", old)
			}
			return bytes.Replace(old, []byte(m), nil, 1)
		}},
		{"row filter dropped", "row_filter", "ann", func(old json.RawMessage) json.RawMessage {
			if string(old) == "null" {
				t.Fatal("ann's ticket has no row filter")
			}
			return json.RawMessage("null")
		}},
		{"another table's location", "location", "ann", func(json.RawMessage) json.RawMessage {
			return json.RawMessage(`"s3://lake/e2e/junk/"`)
		}},
	} {
		t.Run("tampered "+tc.name, func(t *testing.T) {
			bad := tamper(t, sl, ann, tc.field, tc.edit)
			n, err := doGet(ctx, cl, e.tokens[tc.as], bad)
			wantStatus(t, "DoGet", err, codes.PermissionDenied, "ticket signature invalid", false)
			if n != 0 {
				t.Fatalf("%d rows served before the refusal", n)
			}
		})
	}
	t.Run("tampered signature", func(t *testing.T) {
		inner, err := sl.Open(ann)
		if err != nil {
			t.Fatal(err)
		}
		k := parseTicket(t, inner)
		k.sig[17] ^= 0x01
		bad, err := sl.Seal(k.encode())
		if err != nil {
			t.Fatal(err)
		}
		_, err = doGet(ctx, cl, e.tokens["ann"], bad)
		wantStatus(t, "DoGet", err, codes.PermissionDenied, "ticket signature invalid", false)
	})
	t.Run("tampered seal", func(t *testing.T) {
		bad := bytes.Clone(ann)
		if i := len(bad) / 2; bad[i] == 'A' {
			bad[i] = 'B'
		} else {
			bad[i] = 'A'
		}
		n, err := doGet(ctx, cl, e.tokens["ann"], bad)
		wantStatus(t, "DoGet", err, codes.PermissionDenied, "sealed ticket invalid", false)
		if n != 0 {
			t.Fatalf("%d rows served", n)
		}
	})
	t.Run("the signed ticket without its seal", func(t *testing.T) {
		inner, err := sl.Open(ann)
		if err != nil {
			t.Fatal(err)
		}
		_, err = doGet(ctx, cl, e.tokens["ann"], inner)
		wantStatus(t, "DoGet", err, codes.InvalidArgument, "malformed ticket: not a sealed nscale ticket", false)
	})
	t.Run("another user's ticket with my credential", func(t *testing.T) {
		n, err := doGet(ctx, cl, e.tokens["mia"], ann)
		wantStatus(t, "DoGet", err, codes.PermissionDenied, "ticket issued to another principal", false)
		if n != 0 {
			t.Fatalf("%d rows served", n)
		}
	})

	t.Run("WHERE cannot learn a masked value", func(t *testing.T) {
		for _, q := range []struct {
			user, sql string
			rows      int
		}{
			{"mia", "SELECT id FROM e2e.people WHERE email = 'user1@mail.example.org'", 0},
			{"mia", "SELECT id FROM e2e.people WHERE email = '" + hashString(e.maskKey, "user1@mail.example.org") + "'", 1},
			{"ann", "SELECT id FROM e2e.people WHERE card = '4392987512252514'", 0},
			{"ann", "SELECT id FROM e2e.people WHERE card LIKE '4392%'", 0},
			{"ann", "SELECT id FROM e2e.people WHERE card = 'xxxxxxxxxxxx2514'", 1},
		} {
			got, err := e.adbcQuery(ctx, e.tokens[q.user], q.sql)
			if err != nil {
				t.Fatalf("%s: %v", q.sql, err)
			}
			if len(got.Rows) != q.rows || (q.rows == 1 && got.Rows[0][0] != "1") {
				t.Fatalf("%s: %v, want %d row(s) (id 1)", q.sql, got.Rows, q.rows)
			}
		}
	})

	planErrors := []struct {
		name, token, sql string
		code             codes.Code
		msg              string
	}{
		{"a column without a grant", e.tokens["cole"], "SELECT id, card FROM e2e.people", codes.PermissionDenied, "column card is not available in e2e.people"},
		{"a column that does not exist", e.tokens["cole"], "SELECT id, nope FROM e2e.people", codes.PermissionDenied, "column nope is not available in e2e.people"},
		{"a WHERE on a column without a grant", e.tokens["cole"], "SELECT id FROM e2e.people WHERE visits > 1", codes.PermissionDenied, "column visits is not available in e2e.people"},
		{"a user with no grant", e.tokens["zed"], "SELECT id FROM e2e.people", codes.PermissionDenied, "user zed has no SELECT grant on e2e.people"},
		{"no token", "", "SELECT id FROM e2e.people", codes.Unauthenticated,
			`missing credential: send "authorization: Bearer <nscale token>" or authenticate with the Flight SQL handshake (basic auth, password = nscale token)`},
		{"an invalid token", "nst_not-a-token", "SELECT id FROM e2e.people", codes.Unauthenticated, "invalid user credential"},
		{"the bootstrap admin token", e.adminToken(t), "SELECT id FROM e2e.people", codes.PermissionDenied,
			"the bootstrap admin token reads no data; create a user with nscalectl and use its token"},
	}
	for _, pe := range planErrors {
		t.Run("refused: "+pe.name, func(t *testing.T) {
			_, err := execute(ctx, cl, pe.token, pe.sql)
			wantStatus(t, "Execute", err, pe.code, pe.msg, false)
			// The other client sees the same status.
			_, err = e.adbcQuery(ctx, pe.token, pe.sql)
			if err == nil || !strings.Contains(err.Error(), pe.msg) {
				t.Fatalf("ADBC: %v, want %q", err, pe.msg)
			}
		})
	}

	t.Run("corrupt Parquet fails its task and the agent serves on", func(t *testing.T) {
		e.s3.PutObject(t, "lake", "e2e/junk/"+badObject, []byte("PAR1 this is not a parquet file at all PAR1"))
		e.admin(t, "REFRESH TABLE e2e.junk")
		tk, err := execute(ctx, cl, e.tokens["ada"], "SELECT id, country FROM e2e.junk")
		if err != nil || len(tk) == 0 {
			t.Fatalf("plan: %v", err)
		}
		var readErr error
		for _, k := range tk {
			if _, err := doGet(ctx, cl, e.tokens["ada"], k); err != nil {
				readErr = err
			}
		}
		wantStatus(t, "DoGet", readErr, codes.InvalidArgument, "not valid data of the table's format", true)
		// The user is told what went wrong, not where: paths hold
		// partition values, and the audit has the object (below).
		if msg := status.Convert(readErr).Message(); strings.Contains(msg, badObject) || strings.Contains(msg, "e2e/junk") {
			t.Fatalf("the error names the object: %s", msg)
		}
		got, err := e.adbcQuery(ctx, e.tokens["ann"], "SELECT id FROM e2e.people WHERE country = 'DE'")
		if err != nil || len(got.Rows) != 12 {
			t.Fatalf("next query: %d rows, %v; want 12", len(got.Rows), err)
		}
	})

	t.Run("object deleted between plan and read", func(t *testing.T) {
		tk, err := execute(ctx, cl, e.tokens["ada"], "SELECT id FROM e2e.gone")
		if err != nil || len(tk) == 0 {
			t.Fatalf("plan: %v", err)
		}
		if _, err := e.s3.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("lake"), Key: aws.String("e2e/gone/" + goneObject)}); err != nil {
			t.Fatal(err)
		}
		var readErr error
		for _, k := range tk {
			if _, err := doGet(ctx, cl, e.tokens["ada"], k); err != nil {
				readErr = err
			}
		}
		wantStatus(t, "DoGet", readErr, codes.NotFound, "deleted after the query was planned", true)
		// The message shows neither where the object was nor how to read it.
		msg := status.Convert(readErr).Message()
		if strings.Contains(msg, e.s3.AccessKey) || signature.MatchString(msg) || strings.Contains(msg, goneObject) ||
			strings.Contains(msg, "e2e/gone") || strings.Contains(msg, "http") {
			t.Fatalf("the error shows a credential, a URL or the object: %s", msg)
		}
	})

	t.Run("expired ticket", func(t *testing.T) {
		if wait := time.Until(planned.Add(attackTTL + agentSkew + time.Second)); wait > 0 {
			time.Sleep(wait)
		}
		n, err := doGet(ctx, cl, e.tokens["ann"], expiring[0])
		wantStatus(t, "DoGet", err, codes.Unauthenticated, "ticket expired", false)
		if n != 0 {
			t.Fatalf("%d rows served", n)
		}
	})

	t.Run("audit", func(t *testing.T) {
		events := e.auditEvents(t, 1000)
		// The refused plans, with the user and the reason.
		for _, want := range []struct{ actor, msg string }{
			{"cole", "column card is not available in e2e.people"},
			{"cole", "column visits is not available in e2e.people"},
			{"zed", "user zed has no SELECT grant on e2e.people"},
		} {
			found := false
			for _, ev := range events {
				d := auditDetail{}
				_ = json.Unmarshal(ev.Detail, &d)
				if ev.Action == "query.plan" && ev.Actor == want.actor && ev.Outcome == "denied" && d.Code == "PERMISSION_DENIED" && d.Message == want.msg {
					found = true
				}
			}
			if !found {
				t.Errorf("no denied query.plan event of %s with %q", want.actor, want.msg)
			}
		}
		// The failed reads, with the reason the agent reported.
		for _, want := range []struct{ target, code, msg string }{
			{"table e2e.junk", "INVALID_ARGUMENT", badObject},
			{"table e2e.gone", "NOT_FOUND", goneObject},
		} {
			found := false
			for _, ev := range events {
				d := auditDetail{}
				_ = json.Unmarshal(ev.Detail, &d)
				if ev.Action == "task.read" && ev.Actor == "ada" && ev.Target == want.target && ev.Outcome == "failed" && d.Code == want.code && strings.Contains(d.Message, want.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("no failed task.read event on %s with %s %q", want.target, want.code, want.msg)
			}
		}
		// The one read of ann's ticket, and nothing from the refused ones.
		reads := 0
		for _, ev := range events {
			if ev.Action != "task.read" || ev.Actor != "ann" {
				continue
			}
			if d := ev.detail(t); d.RowsReturned != nil && *d.RowsReturned == 54 {
				reads++
				if d.Masks["card"] != "show_last(4)" || !strings.Contains(d.RowFilter, "country IN") || ev.Outcome != "ok" {
					t.Errorf("ann's task.read: %s %s", ev.Outcome, ev.Detail)
				}
			}
		}
		if reads != 1 {
			t.Errorf("%d task.read events of ann's 54 rows, want 1 (tampered and replayed tickets read nothing)", reads)
		}
	})
	e.stop(t)
}

// adminToken is the bootstrap admin token's secret.
func (s *stack) adminToken(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(s.adminFile)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
