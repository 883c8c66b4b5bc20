//go:build integration

package integration

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"google.golang.org/grpc/metadata"

	"github.com/nscale/nscale/agent/enforce"
	"github.com/nscale/nscale/agent/fetch"
	"github.com/nscale/nscale/agent/scan"
	"github.com/nscale/nscale/integration/jsharness"
	"github.com/nscale/nscale/internal/mask"
	"github.com/nscale/nscale/internal/taskplan"
	"github.com/nscale/nscale/presign"
)

// The scan benchmark's table bench.tx: 10M rows of 8 columns (int64,
// decimal, strings, timestamp, bool, float64) in 5 snappy Parquet files of
// 2M rows, row groups of 500k rows. NSCALE_BENCH_SCAN_ROWS makes it
// smaller (a multiple of 5 x 100k) for a quick try; the cache key holds the
// row count.
const (
	scanDataVersion = "scan-v1"
	scanFiles       = 5
	scanRowGroup    = 500_000
	// scanQuery projects 3 of the 8 columns, keeps ~10% of the rows
	// (score is uniform in [0,1)), and bob's grant masks card with
	// show_last(4). %s is the literal 0.1, spelled as a decimal (0.1) or
	// as a float (1e-1): the same rows, but agent/enforce compares a
	// float column with a decimal literal through math/big for every row.
	scanQuery = "SELECT id, amount, card FROM bench.tx WHERE score < %s"
	scanDDL   = `CREATE DATABASE bench;
CREATE EXTERNAL TABLE bench.tx (id bigint, customer_id bigint, amount decimal(18,2), card string, country string,
  ts timestamptz, flag boolean, score double) STORED AS PARQUET LOCATION 's3://lake/bench/tx/';
GRANT SELECT ON TABLE bench.tx TO USER bob;
ALTER TABLE bench.tx ALTER COLUMN card SET MASK show_last(4) FOR USER bob;
`
)

var scanSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "amount", Type: &arrow.Decimal128Type{Precision: 18, Scale: 2}, Nullable: true},
	{Name: "card", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
}, nil)

func scanRows(tb testing.TB) int {
	tb.Helper()
	n := 10_000_000
	if v := os.Getenv("NSCALE_BENCH_SCAN_ROWS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 || n%(scanFiles*100_000) != 0 {
			tb.Fatalf("NSCALE_BENCH_SCAN_ROWS=%q: want a positive multiple of %d", v, scanFiles*100_000)
		}
	}
	return n
}

// scanData returns the cache directory of the scan table's files,
// generating them on first use.
func scanData(tb testing.TB) string {
	tb.Helper()
	rows := scanRows(tb)
	return cachedData(tb, fmt.Sprintf("%s-%d", scanDataVersion, rows), func(dir string) error {
		per := rows / scanFiles
		errs := make([]error, scanFiles)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 2)
		for i := range scanFiles {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				errs[i] = writeScanFile(filepath.Join(dir, fmt.Sprintf("part-%02d.parquet", i)), int64(i*per), per, uint64(i))
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	})
}

var scanCountries = []string{"DE", "FR", "ES", "US", "JP", "BR", "IE", "IN"}

// writeScanFile writes rows n rows with ids from first, deterministic for seed.
func writeScanFile(path string, first int64, n int, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(scanRowGroup), parquet.WithDictionaryDefault(false),
		parquet.WithDictionaryFor("country", true), parquet.WithCreatedBy("nscale bench"))
	w, err := pqarrow.NewFileWriter(scanSchema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 0x5ca1ab1e))
	b := array.NewRecordBuilder(memory.DefaultAllocator, scanSchema)
	defer b.Release()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	card := make([]byte, 16)
	for done := 0; done < n; {
		k := min(scanRowGroup, n-done)
		for j := range k {
			id := first + int64(done+j)
			b.Field(0).(*array.Int64Builder).Append(id)
			b.Field(1).(*array.Int64Builder).Append(rng.Int64N(1_000_000))
			b.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(rng.Int64N(100_000_000) - 10_000_000))
			for c := range card {
				card[c] = byte('0' + rng.IntN(10))
			}
			b.Field(3).(*array.StringBuilder).Append(string(card))
			b.Field(4).(*array.StringBuilder).Append(scanCountries[rng.IntN(len(scanCountries))])
			b.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(base + rng.Int64N(365*24*3600*1_000_000)))
			b.Field(6).(*array.BooleanBuilder).Append(rng.IntN(2) == 0)
			b.Field(7).(*array.Float64Builder).Append(rng.Float64())
		}
		rec := b.NewRecordBatch()
		err := w.Write(rec)
		rec.Release()
		if err != nil {
			return err
		}
		done += k
	}
	return w.Close() // closes f too
}

// scanEnv is the running stack with bench.tx loaded.
type scanEnv struct {
	s      *benchStack
	files  []string // local copies (the cache)
	token  string   // bob's
	client *flightsql.Client
	key    mask.Key
	signer *presign.S3Signer
}

func setupScan(b *testing.B) *scanEnv {
	b.Helper()
	dir := scanData(b)
	e := &scanEnv{s: startBenchStack(b), files: dataFiles(b, dir)}
	for _, f := range e.files {
		e.s.putFile(b, "lake", "bench/tx/"+filepath.Base(f), f)
	}
	e.s.admin(b, scanDDL)
	e.token = e.s.token(b, "bob")
	e.client = e.s.flightClient(b)
	raw, err := os.ReadFile(filepath.Join(e.s.dir, "data", "masking.key"))
	if err != nil {
		b.Fatal(err)
	}
	if e.key, err = hex.DecodeString(strings.TrimSpace(string(raw))); err != nil {
		b.Fatal(err)
	}
	e.signer, err = presign.NewS3(presign.S3Config{Region: e.s.s3.Region, Endpoint: e.s.s3.Endpoint, PathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(e.s.s3.AccessKey, e.s.s3.SecretKey, "")})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// plannedTasks plans sql through the agent and decodes the tasks of the
// tickets it answers, checking their signatures with the control plane's
// public key: the direct read then runs exactly the tasks the agent runs.
func plannedTasks(tb testing.TB, s *benchStack, cl *flightsql.Client, token, sql string) []taskplan.Task {
	tb.Helper()
	id, priv, err := taskplan.ReadPrivateKeyFile(filepath.Join(s.dir, "data", "signing.key"))
	if err != nil {
		tb.Fatal(err)
	}
	v, err := taskplan.NewVerifier(map[string]ed25519.PublicKey{id: priv.Public().(ed25519.PublicKey)}, 0)
	if err != nil {
		tb.Fatal(err)
	}
	sealKey, err := presign.LoadKeyFile(filepath.Join(s.dir, "data", "sealing.key"))
	if err != nil {
		tb.Fatal(err)
	}
	sl, err := taskplan.NewSealer(sealKey)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
	info, err := cl.Execute(ctx, sql)
	if err != nil {
		tb.Fatal(err)
	}
	var tasks []taskplan.Task
	for _, ep := range info.Endpoint {
		tkt, err := flightsql.GetStatementQueryTicket(ep.Ticket)
		if err != nil {
			tb.Fatal(err)
		}
		raw, err := sl.Open(tkt.GetStatementHandle())
		if err != nil {
			tb.Fatal(err)
		}
		t, err := v.VerifySignature(raw)
		if err != nil {
			tb.Fatal(err)
		}
		tasks = append(tasks, t)
	}
	return tasks
}

// scanSum is an order-independent digest of a query's output, to check
// that the agent, the direct read and DuckDB return the same rows.
type scanSum struct {
	rows, ids int64
	cards     uint64 // sum of FNV-1a of the (masked) card values
}

func (s *scanSum) add(rec arrow.RecordBatch) {
	ids := rec.Column(0).(*array.Int64)
	cards := rec.Column(2).(*array.String)
	var sum int64
	var cs uint64
	for i := 0; i < ids.Len(); i++ {
		sum += ids.Value(i)
		h := fnv.New64a()
		h.Write([]byte(cards.Value(i)))
		cs += h.Sum64()
	}
	atomic.AddInt64(&s.rows, rec.NumRows())
	atomic.AddInt64(&s.ids, sum)
	atomic.AddUint64(&s.cards, cs)
}

// agentScan runs sql through the agent: plan (GetFlightInfo) and every
// endpoint's DoGet, parallel streams at a time.
func (e *scanEnv) agentScan(ctx context.Context, sql string, parallel int, sum *scanSum) (streamStats, error) {
	var each func(arrow.RecordBatch)
	if sum != nil {
		each = sum.add
	}
	return streamQuery(ctx, e.client, e.token, sql, parallel, each)
}

// directScan runs the same tasks in this process, parallel at a time, the
// way the agent runs one: agent/fetch over pre-signed URLs (signed here,
// for the same versitygw), agent/scan (pqarrow) for the task's columns,
// agent/enforce for its predicate and mask. What it leaves out is exactly
// what the agent adds: the plan round trip to the control plane, ticket
// verification, URL signing over gRPC, Arrow IPC encoding, gRPC on
// loopback, decoding in the client, and a second process.
func (e *scanEnv) directScan(ctx context.Context, tasks []taskplan.Task, parallel int, sum *scanSum) (int64, error) {
	var rows atomic.Int64
	var mu sync.Mutex
	var firstErr error
	work := make(chan taskplan.Task)
	var wg sync.WaitGroup
	for range max(parallel, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				if err := e.directTask(ctx, t, &rows, sum); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, t := range tasks {
		work <- t
	}
	close(work)
	wg.Wait()
	return rows.Load(), firstErr
}

func (e *scanEnv) directTask(ctx context.Context, t taskplan.Task, rows *atomic.Int64, sum *scanSum) error {
	mem := memory.DefaultAllocator
	enf, err := enforce.New(t, e.key, mem)
	if err != nil {
		return err
	}
	bucket, prefix, ok := strings.Cut(strings.TrimPrefix(t.Location, "s3://"), "/")
	if !ok {
		return fmt.Errorf("location %s", t.Location)
	}
	cols := scan.Columns(t)
	for _, obj := range t.Objects {
		src := func(ctx context.Context) (string, time.Time, error) {
			u, err := e.signer.SignGet(ctx, presign.Object{Bucket: bucket, Key: prefix + obj.Path}, 5*time.Minute)
			return u.URL, u.Expires, err
		}
		r, err := fetch.NewReader(ctx, src, obj.Size, fetch.Config{})
		if err != nil {
			return err
		}
		err = scan.Parquet(ctx, r, obj.Size, cols, obj.RowGroups, 0, mem, func(rec arrow.RecordBatch) error {
			out, err := enf.Apply(rec)
			if err != nil {
				return err
			}
			rows.Add(out.NumRows())
			if sum != nil && out.NumRows() > 0 {
				sum.add(out)
			}
			out.Release()
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// duckScan runs the equivalent SQL in DuckDB over the local copies,
// materializing the result in a temporary table (so that every output
// value is computed) and returning its row count and sum of ids. The mask
// is docs/masks.md's show_last written as a DuckDB macro.
func (e *scanEnv) duckScan(ctx context.Context) (rows, ids int64, err error) {
	src := "read_parquet(" + jsharness.SQLString(filepath.Join(filepath.Dir(e.files[0]), "*.parquet")) + ")"
	sql := `CREATE MACRO show_last(s, n) AS CASE WHEN length(s) <= n THEN s ELSE repeat('x', length(s) - n) || right(s, n) END;
CREATE TEMP TABLE r AS SELECT id, amount, show_last(card, 4) AS card FROM ` + src + ` WHERE score < 0.1;
SELECT CAST(count(*) AS BIGINT) AS n, CAST(sum(id) AS BIGINT) AS s FROM r`
	res, err := jsharness.DuckDB(ctx, sql)
	if err != nil {
		return 0, 0, err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 2 {
		return 0, 0, fmt.Errorf("DuckDB answered %v", res.Rows)
	}
	n, err1 := strconv.ParseInt(fmt.Sprint(res.Rows[0][0]), 10, 64)
	s, err2 := strconv.ParseInt(fmt.Sprint(res.Rows[0][1]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("DuckDB answered %v", res.Rows)
	}
	return n, s, nil
}

// BenchmarkScan measures the agent end to end against a direct in-process
// read of the same objects doing the same work (see directScan), and
// DuckDB over local copies as a reference. Each iteration runs agent,
// direct, direct, agent (ABBA, so that drift in the machine's load hits
// both sides alike); agent_vs_direct is the agent's rows/s over the direct
// read's (target >= 0.8). Sub-benchmarks: the literal's spelling (see
// scanQuery) and the number of concurrent DoGet streams (the direct read
// runs as many tasks at a time).
func BenchmarkScan(b *testing.B) {
	e := setupScan(b)
	ctx := context.Background()
	total := int64(scanRows(b))
	var want scanSum
	for _, lit := range []struct{ name, sql string }{{"decimal", "0.1"}, {"float", "1e-1"}} {
		sql := fmt.Sprintf(scanQuery, lit.sql)
		tasks := plannedTasks(b, e.s, e.client, e.token, sql)

		// Warm-up and check: the agent and the direct read return the
		// same rows (count, sum of ids, digest of the masked cards).
		var viaAgent, viaDirect scanSum
		st, err := e.agentScan(ctx, sql, 2, &viaAgent)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.directScan(ctx, tasks, 2, &viaDirect); err != nil {
			b.Fatal(err)
		}
		if viaAgent != viaDirect || viaAgent.rows == 0 || want.rows != 0 && viaAgent != want {
			b.Fatalf("%s: agent returned %+v, the direct read %+v (first query: %+v)", sql, viaAgent, viaDirect, want)
		}
		want = viaAgent
		b.Logf("%s: %d rows in %d files, %d tasks (endpoints), %d rows returned (%.1f%%), %d batches",
			sql, total, len(e.files), len(tasks), viaAgent.rows, 100*float64(viaAgent.rows)/float64(total), st.Batches)

		for _, parallel := range []int{1, 2} {
			b.Run(fmt.Sprintf("literal=%s/streams=%d", lit.name, parallel), func(b *testing.B) {
				var agentTime, directTime time.Duration
				runAgent := func() {
					begin := time.Now()
					st, err := e.agentScan(ctx, sql, parallel, nil)
					agentTime += time.Since(begin)
					if err != nil {
						b.Fatal(err)
					}
					if st.Rows != want.rows {
						b.Fatalf("agent returned %d rows, want %d", st.Rows, want.rows)
					}
				}
				runDirect := func() {
					begin := time.Now()
					n, err := e.directScan(ctx, tasks, parallel, nil)
					directTime += time.Since(begin)
					if err != nil {
						b.Fatal(err)
					}
					if n != want.rows {
						b.Fatalf("direct read returned %d rows, want %d", n, want.rows)
					}
				}
				for range b.N {
					runAgent()
					runDirect()
					runDirect()
					runAgent()
				}
				scanned := float64(2 * b.N * int(total))
				b.ReportMetric(scanned/agentTime.Seconds(), "agent_rows/s")
				b.ReportMetric(scanned/directTime.Seconds(), "direct_rows/s")
				b.ReportMetric(directTime.Seconds()/agentTime.Seconds(), "agent_vs_direct")
				b.ReportMetric(agentTime.Seconds()/float64(2*b.N), "agent_s")
				b.ReportMetric(directTime.Seconds()/float64(2*b.N), "direct_s")
			})
		}
	}

	b.Run("duckdb", func(b *testing.B) {
		jsharness.Require(b)
		if _, err := jsharness.DuckDB(ctx, "SELECT 1 AS one"); err != nil { // warm node's file cache
			b.Fatal(err)
		}
		var startup, query time.Duration
		for range b.N {
			begin := time.Now()
			if _, err := jsharness.DuckDB(ctx, "SELECT 1 AS one"); err != nil {
				b.Fatal(err)
			}
			startup += time.Since(begin)
			begin = time.Now()
			n, ids, err := e.duckScan(ctx)
			query += time.Since(begin)
			if err != nil {
				b.Fatal(err)
			}
			if n != want.rows || ids != want.ids {
				b.Fatalf("DuckDB returned %d rows (ids sum %d), the agent %d (%d)", n, ids, want.rows, want.ids)
			}
		}
		b.ReportMetric(float64(b.N)*float64(total)/query.Seconds(), "duckdb_rows/s")
		b.ReportMetric(query.Seconds()/float64(b.N), "duckdb_s")
		b.ReportMetric(startup.Seconds()/float64(b.N), "node_startup_s")
	})
}
