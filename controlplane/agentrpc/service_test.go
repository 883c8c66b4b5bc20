package agentrpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nscale/nscale/controlplane/agentca"
	"github.com/nscale/nscale/controlplane/agentrpc"
	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/catalog"
	"github.com/nscale/nscale/controlplane/enrol"
	"github.com/nscale/nscale/controlplane/planner"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/apierr/apierrtest"
	"github.com/nscale/nscale/internal/taskplan"
	"github.com/nscale/nscale/presign"
)

var adminP = auth.Principal{Bootstrap: true}

type env struct {
	dbPath     string               // the SQLite store's file
	blobRoot   string               // local_files.root
	client     agentapi.AgentClient // an enrolled agent's
	anon       agentapi.AgentClient // TLS without a client certificate
	ca         *agentca.CA
	svc        *agentrpc.Service
	pl         *planner.Planner
	files      presign.Signer
	addr       string
	cat        *catalog.Service
	signer     *taskplan.Signer
	carol      string // carol's user token
	admin      string // the bootstrap admin token
	maskingKey []byte
	blob       *httptest.Server
	now        *time.Time
	caNow      *time.Time
}

var fileBodies = map[string]string{
	"dt=2024-01-01/part-0.parquet": "first file",
	"dt=2024-01-02/part-0.parquet": "second file",
	"dt=2024-01-02/part-1.parquet": "third file",
	"dt=2024-01-03/part-0.parquet": "fourth file",
}

func newEnv(t *testing.T) *env {
	t.Helper()
	root := t.TempDir()
	for rel, body := range fileBodies {
		p := filepath.Join(root, "tx", filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stCfg := storetest.Config(t, store.SQLite)
	st := storetest.OpenConfig(t, stCfg)
	cat := catalog.New(catalog.Config{Store: st, Objects: &catalog.ObjectStore{LocalRoot: root}, LocalRoot: root,
		Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	if _, err := cat.Exec(ctx, adminP, `
		CREATE DATABASE sales;
		CREATE EXTERNAL TABLE sales.tx (id bigint, email string, country string)
			PARTITIONED BY (dt date) STORED AS PARQUET LOCATION 'file://`+root+`/tx/';
		GRANT SELECT (id, email, dt) ON TABLE sales.tx TO USER carol;
		ALTER TABLE sales.tx ALTER COLUMN email SET MASK email_domain FOR USER carol;
	`, "req"); err != nil {
		t.Fatal(err)
	}
	carol, _, err := cat.CreateToken(ctx, adminP, "carol", "test", time.Hour, "req")
	if err != nil {
		t.Fatal(err)
	}
	id, priv, err := taskplan.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := taskplan.NewSigner(id, priv)
	if err != nil {
		t.Fatal(err)
	}
	blobKey := bytes.Repeat([]byte{7}, presign.KeySize)
	blob := httptest.NewServer(presign.FileServer(root, blobKey, time.Now))
	t.Cleanup(blob.Close)
	files, err := presign.NewFileSigner(presign.FileConfig{BaseURL: blob.URL, Key: blobKey})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	e := &env{blobRoot: root, dbPath: stCfg.DSN, cat: cat, signer: signer, carol: carol, admin: "bootstrap-admin-token-0123", maskingKey: bytes.Repeat([]byte{9}, 32), blob: blob, now: &now}
	e.pl = planner.New(planner.Config{Catalog: cat, Store: st, Signer: signer, TargetTaskBytes: 1})
	e.files = files
	// The CA has its own clock: tests move e.now to expire tickets.
	caNow := now
	e.caNow = &caNow
	ca := newCA(t, func() time.Time { return *e.caNow })
	svc := newService(t, e, ca)
	e.ca, e.svc = ca, svc
	e.addr = serve(t, svc, ca)
	e.anon = dial(t, e.addr, ca, nil)
	cert, _ := enrolWith(t, e.anon, cat, "node-1")
	e.client = dial(t, e.addr, ca, &cert)
	return e
}

// newService is the agent API of e's control plane with CA ca.
func newService(t *testing.T, e *env, ca *agentca.CA) *agentrpc.Service {
	t.Helper()
	return newServiceWith(t, e, ca, attestors(e.cat))
}

// newServiceWith is newService with other enrolment methods.
func newServiceWith(t *testing.T, e *env, ca *agentca.CA, att map[string]enrol.Attestor) *agentrpc.Service {
	t.Helper()
	svc, err := agentrpc.New(agentrpc.Config{
		CA: ca, Attestors: att, Users: auth.Chain{auth.AdminToken{Token: []byte(e.admin)}, auth.UserTokens{Store: e.cat}},
		Planner: e.pl, Catalog: e.cat, Signer: e.signer, Files: e.files, LocalRoot: e.blobRoot, URLTTL: time.Minute,
		MaskingKey: e.maskingKey, Registry: prometheus.NewRegistry(), Now: func() time.Time { return *e.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// agentCtx is the context of an agent's call: its identity is the
// connection's client certificate.
func agentCtx() context.Context { return context.Background() }

// plan runs Plan and returns the header, the ticket pages and the totals.
func (e *env) plan(t *testing.T, token, sql string, pageSize int32) (*agentapi.PlanHeader, [][][]byte, *agentapi.PlanTotals, error) {
	t.Helper()
	stream, err := e.client.Plan(agentCtx(), &agentapi.PlanRequest{UserToken: token, Sql: sql, PageSize: pageSize})
	if err != nil {
		return nil, nil, nil, err
	}
	var h *agentapi.PlanHeader
	var pages [][][]byte
	var totals *agentapi.PlanTotals
	for {
		p, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return h, pages, totals, nil
		}
		if err != nil {
			return h, pages, totals, err
		}
		switch x := p.Page.(type) {
		case *agentapi.PlanPage_Header:
			if h != nil || pages != nil || totals != nil {
				t.Fatal("header out of order")
			}
			h = x.Header
		case *agentapi.PlanPage_Tickets:
			if h == nil || totals != nil {
				t.Fatal("tickets before the header or after the totals")
			}
			pages = append(pages, x.Tickets.Tickets)
		case *agentapi.PlanPage_Totals:
			totals = x.Totals
		}
	}
}

func TestAgentCredentialRequired(t *testing.T) {
	e := newEnv(t)
	// A certificate from another CA, for the same kind of name.
	otherCA := newCA(t, time.Now)
	other := serve(t, newService(t, e, otherCA), otherCA)
	foreign, _ := enrolWith(t, dial(t, other, otherCA, nil), e.cat, "node-x")
	// An agent that enrolled and was then revoked.
	revokedCert, revokedResp := enrolWith(t, e.anon, e.cat, "node-r")
	if _, err := e.cat.RevokeAgent(context.Background(), adminP, revokedResp.AgentId, "req"); err != nil {
		t.Fatal(err)
	}
	e.svc.RefreshRevocations(context.Background())
	for name, c := range map[string]struct {
		client agentapi.AgentClient
		want   string
	}{
		"no certificate": {e.anon, "no agent certificate"},
		"another CA":     {dial(t, e.addr, e.ca, &foreign), "not signed by this control plane"},
		"revoked agent":  {dial(t, e.addr, e.ca, &revokedCert), "is revoked"},
	} {
		_, err := c.client.PublicKeys(agentCtx(), &agentapi.PublicKeysRequest{})
		apierrtest.Code(t, name, err, apierr.Unauthenticated, c.want)
		_, err = c.client.MaskingKey(agentCtx(), &agentapi.MaskingKeyRequest{})
		apierrtest.Code(t, name+" (masking key)", err, apierr.Unauthenticated, c.want)
		_, err = c.client.SealingKeys(agentCtx(), &agentapi.SealingKeysRequest{})
		apierrtest.Code(t, name+" (sealing keys)", err, apierr.Unauthenticated, c.want)
		_, err = c.client.SignURLs(agentCtx(), &agentapi.SignURLsRequest{})
		apierrtest.Code(t, name+" (sign urls)", err, apierr.Unauthenticated, c.want)
		stream, err := c.client.Plan(agentCtx(), &agentapi.PlanRequest{UserToken: e.carol, Sql: "SELECT id FROM sales.tx"})
		if err == nil {
			_, err = stream.Recv()
		}
		apierrtest.Code(t, name+" (plan)", err, apierr.Unauthenticated, c.want)
	}
	// An expired certificate: the clock moves past its hour.
	*e.caNow = e.caNow.Add(61 * time.Minute)
	_, err := e.client.PublicKeys(agentCtx(), &agentapi.PublicKeysRequest{})
	apierrtest.Code(t, "expired certificate", err, apierr.Unauthenticated, "expired")
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t)
	r, err := e.client.Authenticate(agentCtx(), &agentapi.AuthenticateRequest{UserToken: e.carol})
	if err != nil || r.Principal != "carol" {
		t.Fatalf("Authenticate = %v, %v; want carol", r, err)
	}
	_, err = e.client.Authenticate(agentCtx(), &agentapi.AuthenticateRequest{UserToken: e.carol + "x"})
	apierrtest.Code(t, "bad token", err, apierr.Unauthenticated, "invalid user credential")
	_, err = e.client.Authenticate(agentCtx(), &agentapi.AuthenticateRequest{})
	apierrtest.Code(t, "no token", err, apierr.Unauthenticated, "missing user credential")
	_, err = e.client.Authenticate(agentCtx(), &agentapi.AuthenticateRequest{UserToken: e.admin})
	apierrtest.Code(t, "bootstrap admin", err, apierr.PermissionDenied, "reads no data")
}

func TestPlanStreamsPagesAndAudits(t *testing.T) {
	e := newEnv(t)
	h, pages, totals, err := e.plan(t, e.carol, "SELECT id AS ident, email FROM sales.tx WHERE dt >= '2024-01-02'", 2)
	if err != nil {
		t.Fatal(err)
	}
	if h.Principal != "carol" || h.Table != "sales.tx" || len(h.Columns) != 2 || h.Columns[0].Name != "ident" ||
		h.Columns[0].Type != "int64" || h.Columns[1].MaskJson != `{"func":"email_domain"}` {
		t.Fatalf("header = %v", h)
	}
	if len(pages) != 2 || len(pages[0]) != 2 || len(pages[1]) != 1 {
		t.Fatalf("pages of sizes %d, want [2 1]", len(pages))
	}
	if totals == nil || totals.Tasks != 3 || totals.Files != 4 || totals.PrunedFiles != 1 {
		t.Fatalf("totals = %v, want 3 tasks of 4 files, 1 pruned", totals)
	}
	// The tickets verify with the published keys, for carol.
	keys, err := e.client.PublicKeys(agentCtx(), &agentapi.PublicKeysRequest{})
	if err != nil || len(keys.Keys) != 1 {
		t.Fatalf("PublicKeys = %v, %v", keys, err)
	}
	v, err := taskplan.NewVerifier(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.AddKey(keys.Keys[0].KeyId, keys.Keys[0].Ed25519); err != nil {
		t.Fatal(err)
	}
	task, err := v.Verify(pages[0][0], time.Now(), "carol")
	if err != nil || task.QueryID != h.QueryId {
		t.Fatalf("Verify = %v; query id %q want %q", err, task.QueryID, h.QueryId)
	}

	// A refused plan is relayed with its code and audited.
	_, _, _, err = e.plan(t, e.carol, "SELECT country FROM sales.tx", 0)
	apierrtest.Code(t, "ungranted column", err, apierr.PermissionDenied, "column country is not available in sales.tx")
	_, _, _, err = e.plan(t, e.carol, "SELECT FROM", 0)
	apierrtest.Code(t, "bad SQL", err, apierr.InvalidArgument, "")

	events, _, err := e.cat.ListAudit(context.Background(), adminP, store.Page{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var ok, denied bool
	for _, ev := range events {
		if ev.Action != "query.plan" || ev.Actor != "carol" {
			continue
		}
		ok = ok || ev.Outcome == "ok" && strings.Contains(string(ev.Detail), h.QueryId) && strings.Contains(string(ev.Detail), `"tasks":3`)
		denied = denied || ev.Outcome == "denied" && strings.Contains(string(ev.Detail), "column country") && ev.Target == "table sales.tx"
	}
	if !ok || !denied {
		t.Fatalf("audit lacks the plan (%v) or the refusal (%v): %+v", ok, denied, events)
	}
}

func TestSchemaOnlySignsNothing(t *testing.T) {
	e := newEnv(t)
	stream, err := e.client.Plan(agentCtx(), &agentapi.PlanRequest{UserToken: e.carol, Sql: "SELECT id FROM sales.tx", SchemaOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for {
		p, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch p.Page.(type) {
		case *agentapi.PlanPage_Header:
			kinds = append(kinds, "header")
		case *agentapi.PlanPage_Tickets:
			kinds = append(kinds, "tickets")
		case *agentapi.PlanPage_Totals:
			kinds = append(kinds, "totals")
		}
	}
	if strings.Join(kinds, ",") != "header,totals" {
		t.Fatalf("schema-only stream = %v", kinds)
	}
}

func TestSignURLs(t *testing.T) {
	e := newEnv(t)
	_, pages, _, err := e.plan(t, e.carol, "SELECT id FROM sales.tx WHERE dt = '2024-01-03'", 0)
	if err != nil || len(pages) != 1 || len(pages[0]) != 1 {
		t.Fatalf("plan: %v %v", err, pages)
	}
	ticket := pages[0][0]
	resp, err := e.client.SignURLs(agentCtx(), &agentapi.SignURLsRequest{Ticket: ticket})
	if err != nil || len(resp.Urls) != 1 {
		t.Fatalf("SignURLs = %v, %v", resp, err)
	}
	u := resp.Urls[0]
	if u.Path != "dt=2024-01-03/part-0.parquet" || time.Until(u.ExpiresAt.AsTime()) > time.Minute+time.Second {
		t.Fatalf("signed %v, want the one file for at most url_ttl", u)
	}
	res, err := http.Get(u.Url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "fourth file" {
		t.Fatalf("GET the signed URL: %d %q", res.StatusCode, body)
	}

	// Only objects of the ticket.
	_, err = e.client.SignURLs(agentCtx(), &agentapi.SignURLsRequest{Ticket: ticket, Paths: []string{"dt=2024-01-01/part-0.parquet"}})
	apierrtest.Code(t, "object of another task", err, apierr.PermissionDenied, "not part of this task")
	_, err = e.client.SignURLs(agentCtx(), &agentapi.SignURLsRequest{Ticket: ticket, Paths: []string{"../../etc/passwd"}})
	apierrtest.Code(t, "path escape", err, apierr.PermissionDenied, "not part of this task")
	// A tampered ticket.
	bad := append([]byte(nil), ticket...)
	i := len(bad) - 5
	bad[i] = map[bool]byte{true: 'A', false: 'B'}[bad[i] != 'A']
	_, err = e.client.SignURLs(agentCtx(), &agentapi.SignURLsRequest{Ticket: bad})
	apierrtest.Code(t, "tampered ticket", err, apierr.PermissionDenied, "ticket signature invalid")
	// An expired ticket.
	*e.now = time.Now().Add(time.Hour)
	_, err = e.client.SignURLs(agentCtx(), &agentapi.SignURLsRequest{Ticket: ticket})
	apierrtest.Code(t, "expired ticket", err, apierr.Unauthenticated, "ticket expired")
}

func TestReportTask(t *testing.T) {
	e := newEnv(t)
	_, pages, _, err := e.plan(t, e.carol, "SELECT id, email FROM sales.tx WHERE dt = '2024-01-03'", 0)
	if err != nil {
		t.Fatal(err)
	}
	ticket := pages[0][0]
	stats := &agentapi.TaskStats{Objects: 1, RowsRead: 10, RowsReturned: 7, BytesRead: 11, DurationMs: 12}
	// Reports are accepted after the ticket expired.
	*e.now = time.Now().Add(time.Hour)
	if _, err := e.client.ReportTask(agentCtx(), &agentapi.ReportTaskRequest{Ticket: ticket, Stats: stats}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.ReportTask(agentCtx(), &agentapi.ReportTaskRequest{Ticket: ticket, Stats: stats,
		ErrorCode: "NOT_FOUND", ErrorMessage: "object gone; url https://h/b/k?X-Amz-Signature=abcdef0123456789"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.ReportTask(agentCtx(), &agentapi.ReportTaskRequest{Ticket: ticket, Stats: &agentapi.TaskStats{RowsRead: -1}})
	apierrtest.Code(t, "negative stats", err, apierr.InvalidArgument, "negative")
	_, err = e.client.ReportTask(agentCtx(), &agentapi.ReportTaskRequest{Ticket: ticket, Stats: stats, ErrorCode: "NOPE"})
	apierrtest.Code(t, "unknown code", err, apierr.InvalidArgument, "unknown error code")
	_, err = e.client.ReportTask(agentCtx(), &agentapi.ReportTaskRequest{Ticket: []byte("nst1.x.y.z"), Stats: stats})
	apierrtest.Code(t, "forged ticket", err, apierr.InvalidArgument, "malformed ticket")

	events, _, err := e.cat.ListAudit(context.Background(), adminP, store.Page{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var reads []store.AuditEvent
	for _, ev := range events {
		if ev.Action == "task.read" {
			reads = append(reads, ev)
		}
	}
	if len(reads) != 2 {
		t.Fatalf("task.read events = %d, want 2", len(reads))
	}
	for _, ev := range reads {
		var d map[string]any
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if ev.Actor != "carol" || ev.Target != "table sales.tx" || d["rows_returned"] != float64(7) ||
			d["masks"].(map[string]any)["email"] != "email_domain" {
			t.Fatalf("event %+v detail %v", ev, d)
		}
		if strings.Contains(string(ev.Detail), "abcdef0123456789") {
			t.Fatalf("a URL signature reached the audit trail: %s", ev.Detail)
		}
	}
}

func TestMaskingKeyAndCatalog(t *testing.T) {
	e := newEnv(t)
	k, err := e.client.MaskingKey(agentCtx(), &agentapi.MaskingKeyRequest{})
	if err != nil || !bytes.Equal(k.Key, e.maskingKey) {
		t.Fatalf("MaskingKey = %v", err)
	}
	c, err := e.client.Catalog(agentCtx(), &agentapi.CatalogRequest{UserToken: e.carol})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Databases) != 1 || c.Databases[0] != "sales" || len(c.Tables) != 1 || len(c.Tables[0].Columns) != 3 {
		t.Fatalf("catalog = %v", c)
	}
	var names []string
	for _, col := range c.Tables[0].Columns {
		names = append(names, col.Name+":"+col.Type)
	}
	if strings.Join(names, ",") != "id:int64,email:string,dt:date32" {
		t.Fatalf("carol's columns = %v (country is not granted)", names)
	}
	_, err = e.client.Catalog(agentCtx(), &agentapi.CatalogRequest{UserToken: "nope-nope-nope-nope"})
	apierrtest.Code(t, "bad user token", err, apierr.Unauthenticated, "invalid user credential")
}
