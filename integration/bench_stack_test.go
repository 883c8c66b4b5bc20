//go:build integration

package integration

// The harness of the integration benchmarks (bench_*_test.go). Benchmarks
// run only with -bench, never as tests, so `go test -tags integration
// ./integration/` generates no benchmark data. They differ from the tests'
// harness (stack_test.go) in three ways:
//
//   - they take testing.TB, since a benchmark has no *testing.T;
//   - they run binaries built WITHOUT the race detector (TestMain builds
//     the tests' binaries with -race, which would measure the detector);
//   - their data is generated once into ${NSCALE_CACHE}/bench/<name>-vN/,
//     a directory keyed by a version string, and reused by later runs; the
//     objects are hard-linked into versitygw's directory (copied when the
//     link fails), not uploaded.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/util"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/nscale/nscale/internal/s3test"
)

// benchCacheDir is ${NSCALE_CACHE:-$HOME/.cache/nscale}/bench.
func benchCacheDir() string {
	cache := os.Getenv("NSCALE_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		cache = filepath.Join(home, ".cache", "nscale")
	}
	return filepath.Join(cache, "bench")
}

// cachedData returns dir, a directory under benchCacheDir named by a
// version key, after filling it with gen when it is not complete yet. gen
// writes into a temporary sibling that is renamed into place when it
// returns, so an interrupted generation is never mistaken for a complete one.
func cachedData(tb testing.TB, key string, gen func(dir string) error) string {
	tb.Helper()
	dir := filepath.Join(benchCacheDir(), key)
	if _, err := os.Stat(filepath.Join(dir, "COMPLETE")); err == nil {
		return dir
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		tb.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), key+".tmp-")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	begin := time.Now()
	if err := gen(tmp); err != nil {
		tb.Fatalf("generating %s: %v", key, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "COMPLETE"), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("generated %s in %s", dir, time.Since(begin).Round(time.Millisecond))
	return dir
}

// dataFiles lists the .parquet files of a cache directory, sorted.
func dataFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no Parquet files in %s (%v)", dir, err)
	}
	return files
}

var benchBuild struct {
	once sync.Once
	dir  string
	err  error
}

// benchBinary builds the three binaries without -race once per process
// (into the cache: go's build cache makes a rebuild quick) and returns the
// path of one.
func benchBinary(tb testing.TB, name string) string {
	tb.Helper()
	benchBuild.once.Do(func() {
		dir := filepath.Join(benchCacheDir(), "bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			benchBuild.err = err
			return
		}
		cmd := exec.Command("go", "build", "-trimpath", "-o", dir+"/", "../cmd/nscale-controlplane", "../cmd/nscale-agent", "../cmd/nscalectl")
		if out, err := cmd.CombinedOutput(); err != nil {
			benchBuild.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		benchBuild.dir = dir
	})
	if benchBuild.err != nil {
		tb.Fatal(benchBuild.err)
	}
	return filepath.Join(benchBuild.dir, name)
}

// benchStack is versitygw, a control plane and an agent, each its own
// process as on a node, built without the race detector.
type benchStack struct {
	dir       string
	s3        *s3test.Server
	cp, agent *daemon
	api       string // control plane REST address
	flight    string // agent Flight SQL address
	adminFile string
}

// startBenchStack starts the stack; agentEnv is added to the agent's bare
// environment (e.g. GOMEMLIMIT=150MiB).
func startBenchStack(tb testing.TB, agentEnv ...string) *benchStack {
	tb.Helper()
	s := &benchStack{dir: tb.TempDir(), s3: s3test.Start(tb)}
	s.s3.CreateBucket(tb, "lake")
	creds := filepath.Join(s.dir, "s3.yaml")
	if err := os.WriteFile(creds, []byte("access_key_id: "+s.s3.AccessKey+"\nsecret_access_key: "+s.s3.SecretKey+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	cfg := filepath.Join(s.dir, "cp.yaml")
	yaml := "s3:\n  region: us-east-1\n  endpoint: " + s.s3.Endpoint + "\n  path_style: true\n  credentials_file: " + creds + "\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		tb.Fatal(err)
	}
	s.cp = startPath(tb, benchBinary(tb, "nscale-controlplane"), s.dir, os.Environ(), "--config", cfg,
		"--api-listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0", "--agent-api-listen", "127.0.0.1:0", "--shutdown-timeout", "5s")
	m := s.cp.waitLog(tb, "control plane starting", 60*time.Second)
	s.api = m["api"].(string)
	s.adminFile = filepath.Join(s.dir, "data", "admin.token")

	agentDir := filepath.Join(s.dir, "agent")
	if err := os.MkdirAll(agentDir, 0o700); err != nil {
		tb.Fatal(err)
	}
	env := append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + agentDir}, agentEnv...)
	s.agent = startPath(tb, benchBinary(tb, "nscale-agent"), agentDir, env, "run", "--allow-root", "--ops-listen", "127.0.0.1:0",
		"--flight-listen", "127.0.0.1:0", "--socket", "",
		"--control-plane", m["agent_api"].(string), "--control-plane-ca-file", filepath.Join(s.dir, "data", "agent-ca.crt"),
		"--join-token-file", joinTokenFile(tb, "http://"+s.api, s.adminFile, agentDir), "--state-dir", "",
		"--shutdown-timeout", "5s")
	am := s.agent.waitLog(tb, "agent starting", 60*time.Second)
	s.flight = am["flight"].(string)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if res, err := http.Get("http://" + am["ops"].(string) + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("agent not ready within 30s:\n%s", s.agent.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// ctl runs nscalectl as the bootstrap admin and returns its output.
func (s *benchStack) ctl(tb testing.TB, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, benchBinary(tb, "nscalectl"), args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "NSCALE_SERVER=http://"+s.api, "NSCALE_TOKEN_FILE="+s.adminFile)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("nscalectl %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// admin runs SQL as the bootstrap admin.
func (s *benchStack) admin(tb testing.TB, sql string) {
	tb.Helper()
	f := filepath.Join(s.dir, "script.sql")
	if err := os.WriteFile(f, []byte(sql), 0o600); err != nil {
		tb.Fatal(err)
	}
	s.ctl(tb, "sql", "-f", f)
}

// token creates a user token and returns the secret.
func (s *benchStack) token(tb testing.TB, user string) string {
	tb.Helper()
	return strings.Fields(s.ctl(tb, "tokens", "create", "--user", user, "--ttl", "2h"))[0]
}

// putFile makes the local file path the object bucket/key of versitygw by
// a hard link into its directory (a copy when linking fails), so that
// gigabytes are not uploaded. versitygw serves what its posix directory
// holds; the object's ETag is computed by the gateway.
func (s *benchStack) putFile(tb testing.TB, bucket, key, path string) {
	tb.Helper()
	dst := filepath.Join(s.s3.Dir, bucket, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.Link(path, dst); err == nil {
		return
	}
	in, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		tb.Fatal(err)
	}
	if err := out.Close(); err != nil {
		tb.Fatal(err)
	}
}

// flightClient is an arrow-go Flight SQL client of the agent (plaintext
// loopback gRPC), with a receive limit fit for large batches.
func (s *benchStack) flightClient(tb testing.TB) *flightsql.Client {
	tb.Helper()
	cl, err := flightsql.NewClient(s.flight, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cl.Close() })
	return cl
}

// streamStats is what one query returned.
type streamStats struct {
	Endpoints int
	Batches   int64
	Rows      int64
	Bytes     int64 // Arrow buffer bytes of the batches received
}

// streamQuery runs sql with token and reads every batch of every endpoint,
// parallel endpoints at a time (each on its own DoGet stream), handing each
// batch to each (which must not keep it; nil discards it).
func streamQuery(ctx context.Context, cl *flightsql.Client, token, sql string, parallel int, each func(arrow.RecordBatch)) (streamStats, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	info, err := cl.Execute(ctx, sql)
	if err != nil {
		return streamStats{}, fmt.Errorf("execute: %w", err)
	}
	st := streamStats{Endpoints: len(info.Endpoint)}
	var mu sync.Mutex
	var firstErr error
	work := make(chan *flight.FlightEndpoint)
	var wg sync.WaitGroup
	for range max(parallel, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ep := range work {
				var batches, rows, bytes int64
				err := func() error {
					rdr, err := cl.DoGet(ctx, ep.Ticket)
					if err != nil {
						return err
					}
					defer rdr.Release()
					for rdr.Next() {
						rec := rdr.RecordBatch()
						batches++
						rows += rec.NumRows()
						bytes += util.TotalRecordSize(rec)
						if each != nil {
							each(rec)
						}
					}
					return rdr.Err()
				}()
				mu.Lock()
				st.Batches += batches
				st.Rows += rows
				st.Bytes += bytes
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("doget: %w", err)
				}
				mu.Unlock()
			}
		}()
	}
	for _, ep := range info.Endpoint {
		work <- ep
	}
	close(work)
	wg.Wait()
	return st, firstErr
}
