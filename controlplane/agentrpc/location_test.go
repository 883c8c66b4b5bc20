package agentrpc_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/apierr/apierrtest"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// TestLocationsWithReservedCharacters: a table whose directory name holds
// URL-reserved characters or percent sequences reads exactly its own
// files. The catalog used to decode "%3F" once and SignURLs to re-parse the
// stored location as a URL ("?" and "#" cut it short, "%XX" decoded twice),
// so the agent was handed another directory's raw rows.
func TestLocationsWithReservedCharacters(t *testing.T) {
	e := newEnv(t)
	root := e.blobRoot
	write := func(dir, body string) {
		p := filepath.Join(root, dir, "part-0.parquet")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The decoys: where a second decoding or a cut at ?/# would lead.
	write("emp", "DECOY emp")
	write("emp?x", "DECOY emp?x")
	write("a/emp", "DECOY a/emp")
	write("a/%2e%2e/emp", "DECOY %2e%2e")
	names := []string{
		"emp%3Fx", "emp%23x", "emp#x", "emp?x=1&y=2", "a/%252e%252e/emp", "emp%2Fx", "emp%x", "emp%",
		"emp x+y", "emp;x", "emp:x@y", "emp[x]", "emp'x", "emp~x!$,()*", "empé€😀", "emp%00x",
	}
	ctx := context.Background()
	if _, err := e.cat.Exec(ctx, adminP, "CREATE DATABASE loc; GRANT ROLE catalog_admin TO USER ada", "req"); err != nil {
		t.Fatal(err)
	}
	ada, _, err := e.cat.CreateToken(ctx, adminP, "ada", "test", time.Hour, "req")
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range names {
		write(name, "OWN "+name)
		table := fmt.Sprintf("loc.t%d", i)
		ddl := "CREATE EXTERNAL TABLE " + table + " (id bigint) STORED AS PARQUET LOCATION " +
			sqlsubset.QuoteString("file://"+filepath.ToSlash(filepath.Join(root, name))+"/")
		if _, err := e.cat.Exec(ctx, adminP, ddl, "req"); err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		_, pages, _, err := e.plan(t, ada, "SELECT id FROM "+table, 0)
		if err != nil || len(pages) != 1 || len(pages[0]) != 1 {
			t.Fatalf("%q: plan %v %v", name, pages, err)
		}
		resp, err := e.client.SignURLs(agentCtx(), &agentapi.SignURLsRequest{Ticket: pages[0][0]})
		if err != nil || len(resp.Urls) != 1 {
			t.Fatalf("%q: SignURLs %v %v", name, resp, err)
		}
		res, err := http.Get(resp.Urls[0].Url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || string(body) != "OWN "+name {
			t.Fatalf("table at %q read %d %q, want its own file", name, res.StatusCode, body)
		}
	}
}

// TestUnsignableObjects: a location the local signer could not serve is
// refused when the table is created, and an object it cannot sign is
// FailedPrecondition naming the object, not an internal error.
func TestUnsignableObjects(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir := filepath.Join(e.blobRoot, `back\slash`)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := e.cat.Exec(ctx, adminP, "CREATE DATABASE loc; CREATE EXTERNAL TABLE loc.b (id bigint) STORED AS PARQUET LOCATION "+
		sqlsubset.QuoteString("file://"+filepath.ToSlash(dir)+"/"), "req")
	if apierr.CodeOf(err) != apierr.InvalidArgument || !strings.Contains(err.Error(), "backslash") {
		t.Fatalf("CREATE at a backslash location: %v, want InvalidArgument naming the backslash", err)
	}
	// A file the signer refuses inside an ordinary table directory.
	p := filepath.Join(e.blobRoot, "tx", "dt=2024-01-09", `odd\name.parquet`)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cat.Exec(ctx, adminP, "REFRESH TABLE sales.tx", "req"); err != nil {
		t.Fatal(err)
	}
	_, pages, _, err := e.plan(t, e.carol, "SELECT id FROM sales.tx WHERE dt = '2024-01-09'", 0)
	if err != nil || len(pages) != 1 {
		t.Fatalf("plan: %v %v", pages, err)
	}
	_, err = e.client.SignURLs(agentCtx(), &agentapi.SignURLsRequest{Ticket: pages[0][0]})
	apierrtest.Code(t, "unsignable object", err, apierr.FailedPrecondition, `odd\name.parquet`)
}
