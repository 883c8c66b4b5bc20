//go:build integration

package integration

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The RSS benchmark's table bench.big: rssFiles files of 2M rows each of
// the scan benchmark's schema (~91 MB of snappy Parquet per file), 56 files
// = 5.1 GB by default. NSCALE_BENCH_RSS_FILES sets the number of files; when
// the cache's filesystem lacks room for them (plus 2 GB to spare) the
// benchmark uses as many as fit, at least 5, and says so in its log.
const (
	rssDataVersion  = "rss-v1"
	rssDefaultFiles = 56
	rssRowsPerFile  = 2_000_000
	rssFileBytes    = 91 << 20 // about; only for the disk check
	rssParallel     = 2        // concurrent DoGet streams, as a 2-core Spark executor would read
	rssSampleEvery  = 100 * time.Millisecond
	rssDDL          = `CREATE DATABASE bench;
CREATE EXTERNAL TABLE bench.big (id bigint, customer_id bigint, amount decimal(18,2), card string, country string,
  ts timestamptz, flag boolean, score double) STORED AS PARQUET LOCATION 's3://lake/bench/big/';
GRANT SELECT ON TABLE bench.big TO USER bob;
`
)

func rssFileCount(tb testing.TB) int {
	tb.Helper()
	n := rssDefaultFiles
	if v := os.Getenv("NSCALE_BENCH_RSS_FILES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			tb.Fatalf("NSCALE_BENCH_RSS_FILES=%q: want a positive number of files", v)
		}
	}
	key := filepath.Join(benchCacheDir(), fmt.Sprintf("%s-%d", rssDataVersion, n))
	if _, err := os.Stat(filepath.Join(key, "COMPLETE")); err == nil {
		return n // already generated
	}
	dir := benchCacheDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		tb.Fatal(err)
	}
	free := int64(fs.Bavail) * int64(fs.Bsize)
	if fit := int((free - 2<<30) / rssFileBytes); fit < n {
		if fit < 5 {
			tb.Fatalf("%s has %d MB free: not enough for even 5 files of ~91 MB", dir, free>>20)
		}
		tb.Logf("NOTE: %s has %d MB free, not enough for %d files: using %d files (%.1f GB) instead", dir, free>>20, n, fit, float64(fit)*rssFileBytes/1e9)
		n = fit
	}
	return n
}

// vmRSS reads a process's VmRSS and VmHWM (peak) from /proc, in bytes.
func vmRSS(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %q", k, v)
		}
		if k == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	return rss, hwm, sc.Err()
}

// BenchmarkAgentRSS streams a ~5 GB table through the agent with an arrow-go
// Flight SQL client that discards every batch and samples the agent
// process's VmRSS every 100 ms. peak_rss_MB is the highest sample (target
// <= 200 MB); vm_hwm_MB the kernel's own peak for the process, start-up
// included. Each sub-benchmark starts its own stack: one DoGet stream at a
// time, rssParallel at a time, and rssParallel with the agent's Go heap
// limited by GOMEMLIMIT (an operator setting, no code change).
func BenchmarkAgentRSS(b *testing.B) {
	n := rssFileCount(b)
	dir := cachedData(b, fmt.Sprintf("%s-%d", rssDataVersion, n), func(dir string) error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 2)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				errs[i] = writeScanFile(filepath.Join(dir, fmt.Sprintf("part-%03d.parquet", i)), int64(i)*rssRowsPerFile, rssRowsPerFile, 1000+uint64(i))
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
	files := dataFiles(b, dir)
	var parquetBytes int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			b.Fatal(err)
		}
		parquetBytes += fi.Size()
	}
	for _, c := range []struct {
		streams int
		env     []string
	}{
		{1, nil},
		{rssParallel, nil},
		{rssParallel, []string{"GOMEMLIMIT=150MiB"}},
	} {
		name := fmt.Sprintf("streams=%d", c.streams)
		for _, e := range c.env {
			name += "," + e
		}
		b.Run(name, func(b *testing.B) { benchAgentRSS(b, files, parquetBytes, c.streams, c.env) })
	}
}

// benchAgentRSS streams the files through a fresh stack's agent, with the
// agent's environment extended by env.
func benchAgentRSS(b *testing.B, files []string, parquetBytes int64, streams int, env []string) {
	s := startBenchStack(b, env...)
	for _, f := range files {
		s.putFile(b, "lake", "bench/big/"+filepath.Base(f), f)
	}
	s.admin(b, rssDDL)
	token := s.token(b, "bob")
	cl := s.flightClient(b)
	pid := s.agent.cmd.Process.Pid
	idle, _, err := vmRSS(pid)
	if err != nil {
		b.Fatal(err)
	}

	var peak atomic.Int64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		tick := time.NewTicker(rssSampleEvery)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if rss, _, err := vmRSS(pid); err == nil && rss > peak.Load() {
					peak.Store(rss)
				}
			}
		}
	}()

	var rows, arrowBytes int64
	var elapsed time.Duration
	b.ResetTimer()
	for range b.N {
		begin := time.Now()
		st, err := streamQuery(context.Background(), cl, token, "SELECT * FROM bench.big", streams, nil)
		elapsed += time.Since(begin)
		if err != nil {
			b.Fatal(err)
		}
		if want := int64(len(files)) * rssRowsPerFile; st.Rows != want {
			b.Fatalf("streamed %d rows, want %d", st.Rows, want)
		}
		rows += st.Rows
		arrowBytes += st.Bytes
		b.Logf("%d endpoints, %d batches, %d rows, %.2f GB of Arrow, %.2f GB of Parquet in %s",
			st.Endpoints, st.Batches, st.Rows, float64(st.Bytes)/1e9, float64(parquetBytes)/1e9, time.Since(begin).Round(time.Millisecond))
	}
	b.StopTimer()
	close(stop)
	sampler.Wait()
	_, hwm, err := vmRSS(pid)
	if err != nil {
		b.Fatal(err)
	}
	mb := func(v int64) float64 { return float64(v) / (1 << 20) }
	b.ReportMetric(mb(peak.Load()), "peak_rss_MB")
	b.ReportMetric(mb(hwm), "vm_hwm_MB")
	b.ReportMetric(mb(idle), "idle_rss_MB")
	b.ReportMetric(float64(parquetBytes)/1e9, "parquet_GB")
	b.ReportMetric(float64(arrowBytes)/float64(b.N)/1e9, "arrow_GB")
	b.ReportMetric(float64(parquetBytes)*float64(b.N)/1e6/elapsed.Seconds(), "parquet_MB/s")
	b.ReportMetric(float64(arrowBytes)/1e6/elapsed.Seconds(), "arrow_MB/s")
	b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
}
