//go:build integration

package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/integration/pyharness"
)

// schemathesisExamples and schemathesisSeed bound and fix a run;
// NSCALE_SCHEMATHESIS_EXAMPLES and NSCALE_SCHEMATHESIS_SEED change them
// (a new seed explores other inputs; the report prints the one it used).
const (
	schemathesisExamples = 50
	schemathesisSeed     = 1
)

// TestSchemathesis runs the pinned schemathesis CLI, with every check, on
// the REST admin API of a real control plane (SQLite) whose catalog holds
// e2e.people with the end-to-end policies: first as a user who is no
// administrator, then with the bootstrap admin token (whose run may revoke
// tokens and delete principals, hence second). Any finding fails the test
// with schemathesis's report. integration/python/schemathesis.toml lists
// the few rules of the API that the OpenAPI document cannot state.
func TestSchemathesis(t *testing.T) {
	pyharness.Require(t, false, "schemathesis")
	examples, seed := envInt(t, "NSCALE_SCHEMATHESIS_EXAMPLES", schemathesisExamples), envInt(t, "NSCALE_SCHEMATHESIS_SEED", schemathesisSeed)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	dir := t.TempDir()
	cp, api, _ := startControlPlane(t, dir, nil)
	s := &stack{dir: dir, cp: cp, api: api, adminFile: filepath.Join(dir, "data", "admin.token")}
	// e2e.people as a local table (local_files.root is ./data/files).
	local := filepath.Join(dir, "data", "files", "e2e", "people")
	writePeople(t, local)
	ddl := strings.Replace(peopleDDL, "'s3://lake/e2e/people/'", "'file://"+local+"/'", 1)
	if ddl == peopleDDL {
		t.Fatal("peopleDDL no longer names s3://lake/e2e/people/")
	}
	s.admin(t, ddl+e2ePolicy)
	for _, a := range e2eAttributes {
		if _, errOut, code := s.ctl(t, s.adminFile, "users", "set-attribute", a[0], a[1]); code != 0 {
			t.Fatalf("set-attribute %s %s: exit %d: %s", a[0], a[1], code, errOut)
		}
	}
	userToken := s.token(t, "ann")

	for _, run := range []struct{ name, token string }{
		{"user ann", userToken},
		{"admin token", s.adminToken(t)},
	} {
		t.Run(run.name, func(t *testing.T) {
			begin := time.Now()
			out, err := runSchemathesis(ctx, t, api, run.token, examples, seed)
			if err != nil {
				t.Fatalf("schemathesis as %s (seed %d, %d examples per operation): %v\n%s", run.name, seed, examples, err, out)
			}
			summary := out[max(0, strings.LastIndex(out, "Test cases:")):]
			if !strings.Contains(summary, " passed") || strings.Contains(summary, "failure") || strings.Contains(summary, "error") {
				t.Fatalf("schemathesis exited 0 with this summary:\n%s", out)
			}
			t.Logf("schemathesis as %s in %s: %s", run.name, time.Since(begin).Round(time.Second), strings.Join(strings.Fields(summary), " "))
		})
	}
	// The control plane survived both runs.
	if code, body := httpGet("http://" + api + "/api/v1/openapi.json"); code != 200 {
		t.Fatalf("after schemathesis, openapi.json: %d %s", code, body)
	}
}

// runSchemathesis runs `st run` on the API's document with token as the
// bearer token (through the environment, not argv) and returns its report.
// A finding is an error: st exits 1.
func runSchemathesis(ctx context.Context, t *testing.T, api, token string, examples, seed int) (string, error) {
	t.Helper()
	st := filepath.Join(filepath.Dir(pyharness.Python()), "st")
	cmd := exec.CommandContext(ctx, st, "--config-file", filepath.Join(pyharness.ScriptsDir(), "schemathesis.toml"), "--no-color",
		"run", "http://"+api+"/api/v1/openapi.json",
		"--max-examples", strconv.Itoa(examples), "--seed", strconv.Itoa(seed))
	cmd.Dir = t.TempDir() // anything st writes stays out of the clone
	cmd.Env = append(os.Environ(), "NSCALE_SCHEMATHESIS_TOKEN="+token)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return out.String(), fmt.Errorf("stopped after the time bound: %w", ctx.Err())
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out.String(), fmt.Errorf("st exited %d (findings or errors above)", exit.ExitCode())
	}
	return out.String(), err
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
