// Package pyharness runs the Python scripts of integration/python (PySpark,
// pyarrow, ADBC, DuckDB, schemathesis) with the venv that scripts/tools.sh
// builds in the cache, and finds the Arrow Flight SQL JDBC driver jar.
package pyharness

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

// JDBCVersion is the flight-sql-jdbc-driver version scripts/tools.sh pins.
const JDBCVersion = "18.3.0"

// Cache is ${NSCALE_CACHE:-~/.cache/nscale}.
func Cache() string {
	if c := os.Getenv("NSCALE_CACHE"); c != "" {
		return c
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "nscale")
}

// Python is the venv's interpreter.
func Python() string { return filepath.Join(Cache(), "venv", "bin", "python") }

// JDBCJar is the pinned Arrow Flight SQL JDBC driver.
func JDBCJar() string {
	return filepath.Join(Cache(), "jars", "flight-sql-jdbc-driver-"+JDBCVersion+".jar")
}

// ScriptsDir is integration/python, found from this source file.
func ScriptsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "python")
}

// Available says what is missing: the venv, a module in it, or (with jvm)
// java and the JDBC jar.
func Available(jvm bool, modules ...string) error {
	py := Python()
	if _, err := os.Stat(py); err != nil {
		return fmt.Errorf("the Python venv %s is missing: run scripts/tools.sh", filepath.Dir(filepath.Dir(py)))
	}
	if len(modules) > 0 {
		out, err := exec.Command(py, "-c", "import "+strings.Join(modules, ", ")).CombinedOutput()
		if err != nil {
			return fmt.Errorf("venv %s cannot import %s: %s: run scripts/tools.sh", py, strings.Join(modules, ", "), strings.TrimSpace(string(out)))
		}
	}
	if jvm {
		if _, err := exec.LookPath("java"); err != nil {
			return errors.New("java is not on PATH: Spark needs Java 17")
		}
		if _, err := os.Stat(JDBCJar()); err != nil {
			return fmt.Errorf("the Flight SQL JDBC driver %s is missing: run scripts/tools.sh", JDBCJar())
		}
	}
	return nil
}

// Require skips t when Available fails, and fails it under CI=true, where a
// skip would hide a broken setup.
func Require(t testing.TB, jvm bool, modules ...string) {
	t.Helper()
	err := Available(jvm, modules...)
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("pyharness: %v", err)
	}
	t.Skipf("pyharness: %v", err)
}

// ScriptError is a script's failure: its exit code and its whole stderr.
type ScriptError struct {
	Script string
	Code   int
	Stderr string
}

func (e *ScriptError) Error() string {
	return fmt.Sprintf("%s exited %d:\n%s", e.Script, e.Code, e.Stderr)
}

// Run runs integration/python/<script> with req as JSON on stdin and decodes
// its stdout (JSON) into out. env is added to the test's environment.
func Run(ctx context.Context, script string, env []string, req, out any) error {
	in, err := json.Marshal(req)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, Python(), filepath.Join(ScriptsDir(), script))
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && ctx.Err() == nil {
			return &ScriptError{Script: script, Code: exit.ExitCode(), Stderr: strings.TrimSpace(stderr.String())}
		}
		return fmt.Errorf("%s: %w (stderr: %s)", script, err, strings.TrimSpace(stderr.String()))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		return fmt.Errorf("%s: decoding its output: %w (stderr: %s)", script, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
