package jsharness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The scripts find their npm packages through NSCALE_JS_MODULES, an absolute
// node_modules directory: Node ignores NODE_PATH for ES module imports, so
// the scripts load the (CommonJS) packages with createRequire instead. NODE_PATH
// is set as well for anyone running the scripts by hand with require().
const (
	envModules = "NSCALE_JS_MODULES"
	envNode    = "NSCALE_NODE"
)

// packages are the ones the scripts load; all come from integration/js's lockfile.
var packages = []string{"@duckdb/node-api", "@lakehouse-rs/flight-sql-client", "apache-arrow"}

// ModulesDir is where scripts/tools.sh installs integration/js's packages,
// unless NSCALE_JS_MODULES names another node_modules directory.
func ModulesDir() string {
	if d := os.Getenv(envModules); d != "" {
		return d
	}
	cache := os.Getenv("NSCALE_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "nscale")
	}
	return filepath.Join(cache, "js", "node_modules")
}

// scriptsDir is integration/js, found from this source file (go test runs
// with sources present) or, failing that, upwards from the working directory.
func scriptsDir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		d := filepath.Join(filepath.Dir(file), "..", "js")
		if _, err := os.Stat(filepath.Join(d, "render.mjs")); err == nil {
			return d, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		js := filepath.Join(d, "integration", "js")
		if _, err := os.Stat(filepath.Join(js, "render.mjs")); err == nil {
			return js, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("integration/js/render.mjs not found above " + wd)
		}
	}
}

func nodeBinary() (string, error) {
	if n := os.Getenv(envNode); n != "" {
		return n, nil
	}
	n, err := exec.LookPath("node")
	if err != nil {
		return "", errors.New("node is not on PATH: install Node.js (>= 20) or set " + envNode)
	}
	return n, nil
}

// Available reports what is missing to run the scripts: node, the npm
// packages or the scripts themselves.
func Available() error {
	if _, err := nodeBinary(); err != nil {
		return err
	}
	dir := ModulesDir()
	for _, p := range packages {
		if _, err := os.Stat(filepath.Join(dir, p, "package.json")); err != nil {
			return fmt.Errorf("npm package %s is not installed in %s: run scripts/tools.sh (or set %s)", p, dir, envModules)
		}
	}
	_, err := scriptsDir()
	return err
}

// Require skips t when node or the npm packages are missing, and fails it
// instead under CI=true, where a skip would hide a broken setup.
func Require(t testing.TB) {
	t.Helper()
	err := Available()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("jsharness: %v", err)
	}
	t.Skipf("jsharness: %v", err)
}

// ScriptError is a script's failure: its exit code and the one-line message
// it wrote last on stderr (for the Flight SQL script, the server's gRPC
// status). Stderr is all of it: the Rust client may print a panic first.
type ScriptError struct {
	Script  string
	Code    int
	Message string
	Stderr  string
}

func (e *ScriptError) Error() string {
	return fmt.Sprintf("%s exited %d: %s", e.Script, e.Code, e.Message)
}

// DuckDB runs sql in a fresh in-memory DuckDB (it may read local files with
// read_parquet, read_csv or read_json) and returns the result of its last
// statement in canonical form.
func DuckDB(ctx context.Context, sql string) (Result, error) {
	return run(ctx, "duckdb_query.mjs", map[string]string{"sql": sql})
}

// SQLString quotes s as an SQL string literal, for file paths in DuckDB
// queries: "SELECT * FROM read_parquet(" + SQLString(path) + ")".
func SQLString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// FlightRequest is what flightsql_query.mjs reads: where to connect, the
// bearer token, and one operation.
type FlightRequest struct {
	Host    string            `json:"host"`
	Port    int               `json:"port"`
	Token   string            `json:"token,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	// Op is "query" (the default), "getCatalogs", "getDbSchemas" or "getTables".
	Op  string `json:"op,omitempty"`
	SQL string `json:"sql,omitempty"`
	// Filters of getDbSchemas and getTables; nil leaves a filter out.
	Catalog                *string  `json:"catalog,omitempty"`
	DBSchemaFilterPattern  *string  `json:"dbSchemaFilterPattern,omitempty"`
	TableNameFilterPattern *string  `json:"tableNameFilterPattern,omitempty"`
	TableTypes             []string `json:"tableTypes,omitempty"`
	IncludeSchema          bool     `json:"includeSchema,omitempty"`
	// Direct connects the client straight to the server, without the proxy
	// that recovers the server's gRPC status (see flightsql_query.mjs).
	Direct bool `json:"direct,omitempty"`
}

// FlightSQL runs one request through the Rust Flight SQL client (plaintext
// gRPC). A failure is a *ScriptError whose Message keeps the server's gRPC
// code and message.
func FlightSQL(ctx context.Context, req FlightRequest) (Result, error) {
	return run(ctx, "flightsql_query.mjs", req)
}

func run(ctx context.Context, script string, req any) (Result, error) {
	var res Result
	if err := runJSON(ctx, script, req, &res); err != nil {
		return Result{}, err
	}
	if res.Rows == nil {
		res.Rows = [][]any{}
	}
	return res, nil
}

// runJSON runs script with req as its JSON input and decodes its output
// into out.
func runJSON(ctx context.Context, script string, req, out any) error {
	if err := Available(); err != nil {
		return err
	}
	node, _ := nodeBinary()
	dir, _ := scriptsDir()
	in, err := json.Marshal(req)
	if err != nil {
		return err
	}
	mods := ModulesDir()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, script))
	cmd.Env = append(os.Environ(), envModules+"="+mods, "NODE_PATH="+mods)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && ctx.Err() == nil {
			all := strings.TrimSpace(stderr.String())
			return &ScriptError{Script: script, Code: exit.ExitCode(), Message: all[strings.LastIndex(all, "\n")+1:], Stderr: all}
		}
		return fmt.Errorf("%s: %w (stderr: %s)", script, err, strings.TrimSpace(stderr.String()))
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		return fmt.Errorf("%s: decoding its output: %w", script, err)
	}
	return nil
}
