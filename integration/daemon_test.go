//go:build integration

// Package integration runs the real binaries against real components.
package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nscale/nscale/internal/tlsfiles/tlstest"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nscale-bin-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	cmd := exec.Command("go", "build", "-race", "-o", dir+"/", "../cmd/nscale-controlplane", "../cmd/nscale-agent", "../cmd/nscalectl")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building binaries:", err)
		os.Exit(1)
	}
	// The race runtime sleeps a second before a binary exits (GORACE
	// atexit_sleep_ms, default 1000); the tests run nscalectl hundreds of
	// times, so the children they start skip it.
	if g := os.Getenv("GORACE"); !strings.Contains(g, "atexit_sleep_ms") {
		os.Setenv("GORACE", strings.TrimSpace(g+" atexit_sleep_ms=0"))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func bin(name string) string { return filepath.Join(binDir, name) }

// daemon is a running binary whose JSON log lines are collected.
type daemon struct {
	name  string
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	done  chan struct{}
	err   error
}

func start(t *testing.T, dir string, env []string, name string, args ...string) *daemon {
	t.Helper()
	return startEnv(t, dir, append(os.Environ(), env...), name, args...)
}

// startEnv starts a test binary with exactly env as its environment.
func startEnv(t testing.TB, dir string, env []string, name string, args ...string) *daemon {
	t.Helper()
	return startPath(t, bin(name), dir, env, args...)
}

// startPath starts the binary at path (the tests' race build, or the
// benchmarks' plain one) and kills it at the end of the test.
func startPath(t testing.TB, path, dir string, env []string, args ...string) *daemon {
	t.Helper()
	d := &daemon{name: filepath.Base(path), cmd: exec.Command(path, args...), done: make(chan struct{})}
	d.cmd.Dir = dir
	d.cmd.Env = env
	pr, pw := io.Pipe()
	d.cmd.Stderr = pw
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			d.mu.Lock()
			if len(d.lines) < 10_000 { // a long benchmark must not grow without bound
				d.lines = append(d.lines, sc.Text())
			}
			d.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		d.err = d.cmd.Wait()
		pw.Close()
		close(d.done)
	}()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			_ = d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", d.name, d.log())
		}
	})
	return d
}

func (d *daemon) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.lines, "\n")
}

// waitLog waits for a JSON log line with msg and returns its fields.
func (d *daemon) waitLog(t testing.TB, msg string, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		d.mu.Lock()
		for _, l := range d.lines {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
				d.mu.Unlock()
				return m
			}
		}
		d.mu.Unlock()
		select {
		case <-d.done:
			t.Fatalf("%s exited (%v) before logging %q:\n%s", d.name, d.err, msg, d.log())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no %q log line within %s:\n%s", msg, timeout, d.log())
	return nil
}

// exit waits for the process and returns its exit status.
func (d *daemon) exit(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-d.done:
	case <-time.After(timeout):
		t.Fatalf("process did not exit within %s", timeout)
	}
	if d.err == nil {
		return 0
	}
	if ee, ok := d.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	t.Fatalf("wait: %v", d.err)
	return -1
}

// runCmd runs a short-lived binary and returns stdout, stderr and status.
func runCmd(t *testing.T, dir string, env []string, name string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin(name), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out.String(), errb.String(), code
}

// startControlPlane starts a control plane on ephemeral ports in dir and
// returns it with its API and ops addresses.
func startControlPlane(t *testing.T, dir string, env []string, extra ...string) (*daemon, string, string) {
	t.Helper()
	args := append([]string{"--api-listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0", "--agent-api-listen", "127.0.0.1:0", "--shutdown-timeout", "5s"}, extra...)
	d := start(t, dir, env, "nscale-controlplane", args...)
	m := d.waitLog(t, "control plane starting", 60*time.Second)
	return d, m["api"].(string), m["ops"].(string)
}

func TestSIGTERMStopsEachDaemonWithExitZero(t *testing.T) {
	t.Run("controlplane", func(t *testing.T) {
		d, _, _ := startControlPlane(t, t.TempDir(), nil)
		begin := time.Now()
		if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := d.exit(t, 10*time.Second); code != 0 {
			t.Fatalf("exit status %d after SIGTERM, want 0:\n%s", code, d.log())
		}
		if took := time.Since(begin); took > 5*time.Second {
			t.Errorf("shutdown took %s, longer than the 5s shutdown timeout", took)
		}
		d.waitLog(t, "control plane stopped", time.Second)
	})
	t.Run("agent", func(t *testing.T) {
		// No control plane answers: the agent keeps trying to enrol and
		// still stops at once.
		dir := t.TempDir()
		ca := tlstest.NewCA(t, dir, "lone")
		d := start(t, dir, nil, "nscale-agent", "run", "--allow-root", "--control-plane-ca-file", ca.File,
			"--join-token-file", filepath.Join(dir, "join-token"), "--state-dir", "",
			"--ops-listen", "127.0.0.1:0", "--flight-listen", "127.0.0.1:0", "--socket", "", "--shutdown-timeout", "5s")
		d.waitLog(t, "agent starting", 60*time.Second)
		if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := d.exit(t, 10*time.Second); code != 0 {
			t.Fatalf("exit status %d after SIGTERM, want 0", code)
		}
		d.waitLog(t, "agent stopped", time.Second)
	})
}

// The agent refuses to run as root unless told to; CI runs as root, so the
// real refusal is exercised there.
func TestAgentRefusesRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to observe the refusal; the unit test covers the logic")
	}
	_, errOut, code := runCmd(t, t.TempDir(), nil, "nscale-agent", "run", "--ops-listen", "127.0.0.1:0")
	if code != 2 || !strings.Contains(errOut, "refusing to run as root") || !strings.Contains(errOut, "--allow-root") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}
