package agentrpc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nscale/nscale/controlplane/agentrpc"
	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/catalog"
	"github.com/nscale/nscale/controlplane/planner"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/taskplan"
)

// planBench is a control plane's agent API on loopback gRPC over SQLite,
// with a table sales.tx whose file list is written straight into the store.
type planBench struct {
	client agentapi.AgentClient
	token  string // bob's
	sql    string
}

// planOptions vary newPlanBench.
type planOptions struct {
	targetTaskBytes int64            // the planner's (0: its default)
	now             func() time.Time // the agent API's clock (nil: time.Now)
}

// newPlanBench lists nFiles files for sales.tx: 100 per dt= partition,
// 16–112 KiB each, so that a task groups the maximum of 1,000 files (a table
// of many small files, the case where paging matters). bob's grant has a
// row filter on a stored column (evaluated against every file's partition
// values for pruning, pruning none) and a mask.
func newPlanBench(b testing.TB, nFiles int, o planOptions) *planBench {
	b.Helper()
	root := b.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "tx"), 0o755); err != nil {
		b.Fatal(err)
	}
	st := storetest.Open(b, store.SQLite)
	cat := catalog.New(catalog.Config{Store: st, Objects: &catalog.ObjectStore{LocalRoot: root}, LocalRoot: root,
		Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	admin := auth.Principal{Bootstrap: true}
	loc := "file://" + root + "/tx/"
	if _, err := cat.Exec(ctx, admin, `
		CREATE DATABASE sales;
		CREATE EXTERNAL TABLE sales.tx (id bigint, email string, country string, amount decimal(12,2))
			PARTITIONED BY (dt date) STORED AS PARQUET LOCATION '`+loc+`';
		GRANT SELECT ON TABLE sales.tx TO USER bob WHERE country = 'DE';
		ALTER TABLE sales.tx ALTER COLUMN email SET MASK email_domain FOR USER bob;
	`, "req"); err != nil {
		b.Fatal(err)
	}
	tbl, err := st.GetTable(ctx, "sales", "tx")
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	files := make([]store.File, nFiles)
	day := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	mod := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := range files {
		dt := day.AddDate(0, 0, i/100).Format(time.DateOnly)
		files[i] = store.File{
			Path:      fmt.Sprintf("%sdt=%s/part-%05d-0f3c2a1b-9d8e-4c7b-a6f5-e4d3c2b1a098.c000.snappy.parquet", loc, dt, i%100),
			Size:      16<<10 + rng.Int64N(96<<10),
			ETag:      fmt.Sprintf("%032x", rng.Uint64()),
			Modified:  mod,
			Partition: map[string]string{"dt": dt},
		}
	}
	ref := store.TableRef{ID: tbl.ID, Database: "sales", Name: "tx"}
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.ReplaceFiles(ctx, ref, files, time.Time{}) }); err != nil {
		b.Fatal(err)
	}
	bob, _, err := cat.CreateToken(ctx, admin, "bob", "bench", time.Hour, "req")
	if err != nil {
		b.Fatal(err)
	}
	id, priv, err := taskplan.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	signer, err := taskplan.NewSigner(id, priv)
	if err != nil {
		b.Fatal(err)
	}
	pl := planner.New(planner.Config{Catalog: cat, Store: st, Signer: signer, TargetTaskBytes: o.targetTaskBytes})
	ca := newCA(b, nil)
	svc, err := agentrpc.New(agentrpc.Config{
		CA: ca, Attestors: attestors(cat), Users: auth.UserTokens{Store: cat},
		Planner: pl, Catalog: cat, Signer: signer, MaskingKey: bytes.Repeat([]byte{9}, 32), Registry: prometheus.NewRegistry(), Now: o.now,
	})
	if err != nil {
		b.Fatal(err)
	}
	addr := serve(b, svc, ca)
	cert, _ := enrolWith(b, dial(b, addr, ca, nil), cat, "bench")
	client := dial(b, addr, ca, &cert)
	return &planBench{client: client, token: bob, sql: "SELECT id, email, amount FROM sales.tx"}
}

// planTiming is one Plan stream as the agent sees it.
type planTiming struct {
	firstPage, whole time.Duration
	tasks, pages     int
	pageSizes        []int
	totals           *agentapi.PlanTotals
}

// plan runs one Plan stream to its end, discarding the tickets. A stream
// that breaks the contract (header first, then ticket pages, then exactly
// one totals message with the number of tickets sent) is an error.
func (p *planBench) plan() (planTiming, error) {
	ctx := context.Background()
	var t planTiming
	begin := time.Now()
	stream, err := p.client.Plan(ctx, &agentapi.PlanRequest{UserToken: p.token, Sql: p.sql})
	if err != nil {
		return t, err
	}
	header := false
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			t.whole = time.Since(begin)
			if t.pages == 0 {
				t.firstPage = t.whole
			}
			if t.totals == nil || t.totals.GetTasks() != int64(t.tasks) {
				return t, fmt.Errorf("stream ended with totals %v after %d tickets", t.totals, t.tasks)
			}
			return t, nil
		}
		if err != nil {
			return t, err
		}
		switch {
		case msg.GetHeader() != nil:
			if header || t.pages > 0 || t.totals != nil {
				return t, errors.New("header out of order")
			}
			header = true
		case msg.GetTickets() != nil:
			if !header || t.totals != nil || len(msg.GetTickets().GetTickets()) == 0 {
				return t, errors.New("ticket page out of order or empty")
			}
			if t.pages == 0 {
				t.firstPage = time.Since(begin)
			}
			t.pages++
			t.tasks += len(msg.GetTickets().GetTickets())
			t.pageSizes = append(t.pageSizes, len(msg.GetTickets().GetTickets()))
		case msg.GetTotals() != nil:
			if !header || t.totals != nil {
				return t, errors.New("totals out of order or twice")
			}
			t.totals = msg.GetTotals()
		default:
			return t, errors.New("unknown plan message")
		}
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkPlan measures the agent API's Plan stream over loopback gRPC,
// with SQLite, for tables of 1k, 10k and 100k files: p50/p99 of the time
// to the first ticket page and to the end of the stream (totals), over
// b.N plans (use -benchtime Nx with N >= 100 for a meaningful p99). For
// the 100k-file table it also plans once more while sampling the heap
// (runtime.ReadMemStats every 2 ms; client and server share the process)
// and reports its peak growth over the idle heap and what stays after GC.
func BenchmarkPlan(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			p := newPlanBench(b, n, planOptions{})
			warm, err := p.plan()
			if err != nil {
				b.Fatal(err)
			}
			var first, whole []time.Duration
			b.ResetTimer()
			for range b.N {
				t, err := p.plan()
				if err != nil {
					b.Fatal(err)
				}
				first = append(first, t.firstPage)
				whole = append(whole, t.whole)
			}
			b.StopTimer()
			b.ReportMetric(ms(percentile(first, 0.5)), "first_page_p50_ms")
			b.ReportMetric(ms(percentile(first, 0.99)), "first_page_p99_ms")
			b.ReportMetric(ms(percentile(whole, 0.5)), "p50_ms")
			b.ReportMetric(ms(percentile(whole, 0.99)), "p99_ms")
			b.ReportMetric(float64(warm.tasks), "tasks")
			b.ReportMetric(float64(warm.pages), "pages")
			if n == 100_000 {
				peak, retained, alloc := heapDuringPlan(b, p)
				b.ReportMetric(peak, "heap_peak_growth_MB")
				b.ReportMetric(retained, "heap_retained_MB")
				b.ReportMetric(alloc, "alloc_per_plan_MB")
			}
		})
	}
}

// heapDuringPlan plans once while sampling HeapAlloc, and returns the
// peak growth over the heap before the plan, the growth that survives a GC
// after it, and the bytes allocated by the plan, in MB.
func heapDuringPlan(b *testing.B, p *planBench) (peak, retained, alloc float64) {
	b.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var top atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > top.Load() {
					top.Store(m.HeapAlloc)
				}
			}
		}
	}()
	if _, err := p.plan(); err != nil {
		b.Fatal(err)
	}
	close(stop)
	wg.Wait()
	runtime.ReadMemStats(&after)
	alloc = float64(after.TotalAlloc-before.TotalAlloc) / (1 << 20)
	runtime.GC()
	runtime.ReadMemStats(&after)
	mb := func(a, b uint64) float64 { return (float64(a) - float64(b)) / (1 << 20) }
	return mb(top.Load(), before.HeapAlloc), mb(after.HeapAlloc, before.HeapAlloc), alloc
}
