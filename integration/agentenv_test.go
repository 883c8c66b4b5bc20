//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/nscale/nscale/internal/parquettest"
)

// manyRowGroups is a Parquet file of n row groups of rows rows each
// (id int64, pad string), large enough that a slow reader holds the scan
// back through Flight's flow control.
func manyRowGroups(t *testing.T, n, rows int) []byte {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "pad", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	pad := strings.Repeat("p", 40)
	var groups []arrow.RecordBatch
	for g := 0; g < n; g++ {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := 0; i < rows; i++ {
			b.Field(0).(*array.Int64Builder).Append(int64(g*rows + i))
			b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("%s%08d", pad, g*rows+i))
		}
		rec := b.NewRecordBatch()
		defer rec.Release()
		groups = append(groups, rec)
		b.Release()
	}
	return parquettest.FileWith(t, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(int64(rows)),
		parquet.WithDictionaryDefault(false)), pqarrow.DefaultWriterProps(), groups...)
}

// The agent reads S3 with no cloud credential: its environment is bare and
// holds none, and a scan slower than the 2-second URL lifetime completes by
// renewing its URLs through the control plane, continuing where it was.
func TestAgentNeedsNoCredentialAndRenewsURLs(t *testing.T) {
	const groups, rows = 40, 20000
	s := startStack(t, stackOptions{cpConfig: "agent_api:\n  url_ttl: 2s\n"})
	s.s3.PutObject(t, "lake", "slow/t/part-0.parquet", manyRowGroups(t, groups, rows))
	s.admin(t, `CREATE DATABASE slow;
		CREATE EXTERNAL TABLE slow.t STORED AS PARQUET LOCATION 's3://lake/slow/t/';
		GRANT SELECT ON TABLE slow.t TO USER rita;`)
	token := s.token(t, "rita")

	// Nothing in the agent's environment is a credential, and the store's
	// secret is nowhere in it.
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", s.agent.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range strings.Split(string(environ), "\x00") {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") || strings.Contains(name, "SECRET") || strings.Contains(name, "CREDENTIAL") {
			t.Errorf("the agent's environment holds %s", name)
		}
	}
	if bytes.Contains(environ, []byte(s.s3.SecretKey)) || bytes.Contains(environ, []byte(s.s3.AccessKey)) {
		t.Error("the agent's environment holds the store's keys")
	}

	// A slow client: one batch every 400 ms keeps the scan running for
	// several URL lifetimes.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := flightsql.NewClient("passthrough:///"+s.flight, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	info, err := cl.Execute(ctx, "SELECT id, pad FROM slow.t")
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	var n, sum int64
	for _, ep := range info.Endpoint {
		rdr, err := cl.DoGet(ctx, ep.Ticket)
		if err != nil {
			t.Fatal(err)
		}
		for rdr.Next() {
			rec := rdr.RecordBatch()
			ids := rec.Column(0).(*array.Int64)
			for i := 0; i < ids.Len(); i++ {
				sum += ids.Value(i)
			}
			n += rec.NumRows()
			time.Sleep(400 * time.Millisecond)
		}
		if err := rdr.Err(); err != nil {
			t.Fatalf("scan failed after %s: %v", time.Since(began), err)
		}
		rdr.Release()
	}
	total := int64(groups * rows)
	if n != total || sum != total*(total-1)/2 {
		t.Fatalf("read %d rows (id sum %d), want %d rows, each id once", n, sum, total)
	}
	if took := time.Since(began); took < 4*time.Second {
		t.Fatalf("the scan took %s; it must outlive two URL lifetimes to test renewal", took)
	}

	// The control plane recorded the renewals the agent reported.
	var renewals float64
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && renewals == 0 {
		out, _, _ := s.ctl(t, s.adminFile, "-o", "json", "audit", "--limit", "20")
		var list struct {
			Events []struct {
				Action string          `json:"action"`
				Detail json.RawMessage `json:"detail"`
			} `json:"events"`
		}
		_ = json.Unmarshal([]byte(out), &list)
		for _, e := range list.Events {
			var d map[string]any
			if e.Action == "task.read" && json.Unmarshal(e.Detail, &d) == nil {
				if r, _ := d["url_renewals"].(float64); r > renewals {
					renewals = r
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if renewals < 1 {
		t.Fatalf("no URL renewal recorded for a scan longer than the URL lifetime")
	}
}
