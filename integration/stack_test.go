//go:build integration

package integration

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/nscale/nscale/integration/jsharness"
	"github.com/nscale/nscale/internal/s3test"
	"github.com/nscale/nscale/internal/tlsfiles/tlstest"
)

// stack is a control plane and an agent, as separate processes, over a real
// S3-compatible store, the way a node runs them.
type stack struct {
	dir       string
	s3        *s3test.Server
	cp, agent *daemon
	api       string      // control plane REST address
	flight    string      // agent Flight SQL address
	agentOps  string      // agent /metrics, /readyz address
	adminFile string      // admin token file
	ca        *tlstest.CA // the CA of the control plane's certificates
	caFile    string      // its bundle
	maskKey   []byte      // the deployment masking key (hex decoded)
	agentArgs []string    // how the agent was started (restart tests)
	cpArgs    []string    // how the control plane was started, on its bound addresses
	cpEnv     []string
}

// restartControlPlane stops the control plane and starts it again on the
// same addresses, store and keys.
func (s *stack) restartControlPlane(t *testing.T) {
	t.Helper()
	_ = s.cp.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.cp.exit(t, 15*time.Second); code != 0 {
		t.Fatalf("control plane exit %d after SIGTERM:\n%s", code, s.cp.log())
	}
	s.cp, _, _ = startControlPlane(t, s.dir, s.cpEnv, s.cpArgs...)
}

// joinTokenFile makes a join token for uses agents and writes it to a file
// in dir, as a node's bootstrap would.
func (s *stack) joinTokenFile(t *testing.T, dir string, uses int) string {
	t.Helper()
	out, errOut, code := s.ctl(t, s.adminFile, "agents", "join-token", "create", "--ttl", "10m", "--uses", fmt.Sprint(uses))
	if code != 0 {
		t.Fatalf("join-token create exit %d: %s", code, errOut)
	}
	f, err := os.CreateTemp(dir, "join-token-*")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Fields(out)[0] + "\n"); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

type stackOptions struct {
	cpConfig string   // extra control-plane YAML
	cpArgs   []string // extra control-plane flags
	env      []string // extra control-plane environment
}

func startStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	s := &stack{dir: t.TempDir(), s3: s3test.Start(t)}
	s.s3.CreateBucket(t, "lake")
	creds := filepath.Join(s.dir, "s3.yaml")
	if err := os.WriteFile(creds, []byte("access_key_id: "+s.s3.AccessKey+"\nsecret_access_key: "+s.s3.SecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(s.dir, "cp.yaml")
	yaml := "s3:\n  region: us-east-1\n  endpoint: " + s.s3.Endpoint + "\n  path_style: true\n  credentials_file: " + creds + "\n" + o.cpConfig
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	// Both control-plane listeners serve TLS with certificates of a CA made
	// for the test; the agent and nscalectl verify them with its bundle.
	ca := tlstest.NewCA(t, s.dir, "nscale-test")
	s.ca, s.caFile = ca, ca.File
	apiCert, apiKey := ca.Issue(t, s.dir, "api", "127.0.0.1", "localhost")
	agentCert, agentKey := ca.Issue(t, s.dir, "agent-api", "127.0.0.1", "localhost")
	args := append([]string{"--config", cfg, "--api-tls-cert-file", apiCert, "--api-tls-key-file", apiKey,
		"--agent-api-tls-cert-file", agentCert, "--agent-api-tls-key-file", agentKey}, o.cpArgs...)
	var ops string
	s.cp, s.api, ops = startControlPlane(t, s.dir, o.env, args...)
	m := s.cp.waitLog(t, "control plane starting", time.Second)
	agentAPI := m["agent_api"].(string)
	// A restart keeps the addresses (later flags win).
	s.cpEnv = o.env
	s.cpArgs = append(args, "--api-listen", s.api, "--ops-listen", ops, "--agent-api-listen", agentAPI)
	s.adminFile = filepath.Join(s.dir, "data", "admin.token")

	agentDir := filepath.Join(s.dir, "agent")
	if err := os.MkdirAll(agentDir, 0o700); err != nil {
		t.Fatal(err)
	}
	// The agent gets a bare environment: it needs no cloud credential, and
	// whatever the test runner's environment holds must not reach it.
	// It enrols with a join token the admin made, as a node bootstrap would.
	agentEnv := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + agentDir}
	s.agentArgs = []string{"run", "--allow-root", "--ops-listen", "127.0.0.1:0",
		"--flight-listen", "127.0.0.1:0", "--socket", filepath.Join(agentDir, "agent.sock"),
		"--control-plane", agentAPI, "--control-plane-ca-file", s.caFile, "--join-token-file", s.joinTokenFile(t, agentDir, 1),
		"--state-dir", filepath.Join(agentDir, "state"), "--node-name", "node-1", "--shutdown-timeout", "5s"}
	s.agent = startEnv(t, agentDir, agentEnv, "nscale-agent", s.agentArgs...)
	am := s.agent.waitLog(t, "agent starting", 60*time.Second)
	s.flight = am["flight"].(string)
	s.agentOps = am["ops"].(string)
	s.waitAgentReady(t, s.agentOps)
	raw, err := os.ReadFile(filepath.Join(s.dir, "data", "masking.key"))
	if err != nil {
		t.Fatal(err)
	}
	s.maskKey = hexKey(t, strings.TrimSpace(string(raw)))
	return s
}

func (s *stack) waitAgentReady(t *testing.T, ops string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if code, _ := httpGet("http://" + ops + "/readyz"); code == 200 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("agent not ready within 30s:\n%s", s.agent.log())
}

// ctl runs nscalectl as the holder of tokenFile.
func (s *stack) ctl(t *testing.T, tokenFile string, args ...string) (string, string, int) {
	t.Helper()
	env := []string{"NSCALE_SERVER=http://" + s.api, "NSCALE_TOKEN_FILE=" + tokenFile}
	if s.caFile != "" { // startStack's TLS; a plaintext control plane on loopback otherwise
		env = []string{"NSCALE_SERVER=https://" + s.api, "NSCALE_CA_FILE=" + s.caFile, "NSCALE_TOKEN_FILE=" + tokenFile}
	}
	return runCmd(t, s.dir, env, "nscalectl", args...)
}

// admin runs SQL as the bootstrap admin and fails the test on error.
func (s *stack) admin(t *testing.T, sql string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "script.sql")
	if err := os.WriteFile(f, []byte(sql), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := s.ctl(t, s.adminFile, "sql", "-f", f)
	if code != 0 {
		t.Fatalf("admin SQL exit %d: %s\n%s", code, errOut, sql)
	}
	return out
}

// token creates a user token and returns the secret.
func (s *stack) token(t *testing.T, user string) string {
	t.Helper()
	out, errOut, code := s.ctl(t, s.adminFile, "tokens", "create", "--user", user, "--ttl", "1h")
	if code != 0 {
		t.Fatalf("tokens create %s exit %d: %s", user, code, errOut)
	}
	return strings.Fields(out)[0]
}

func (s *stack) stop(t *testing.T) {
	t.Helper()
	for _, d := range []*daemon{s.agent, s.cp} {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		if code := d.exit(t, 15*time.Second); code != 0 {
			t.Errorf("exit %d after SIGTERM:\n%s", code, d.log())
		}
	}
}

// adbcQuery runs sql through Arrow Go's Flight SQL client (queryGo, the
// snippet of docs/clients.md) with a bearer token and returns the
// canonical result. It was the ADBC Go driver, whose 1.12.0 reader of
// several endpoints races on a shared gRPC header (found by -race).
func (s *stack) adbcQuery(ctx context.Context, token, sql string) (jsharness.Result, error) {
	var recs []arrow.RecordBatch
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	schema, err := queryGo(ctx, s.flight, token, sql, func(r arrow.RecordBatch) error {
		r.Retain()
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		return jsharness.Result{}, err
	}
	return jsharness.FromRecords(schema, recs...)
}

// flightPort is the agent's Flight SQL port, for the Rust client.
func (s *stack) flightPort(t *testing.T) int {
	var port int
	if _, err := fmt.Sscanf(s.flight[strings.LastIndexByte(s.flight, ':')+1:], "%d", &port); err != nil {
		t.Fatal(err)
	}
	return port
}

func httpGet(url string) (int, string) {
	c := &http.Client{Timeout: 5 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func hexKey(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("key file is not hex: %v", err)
	}
	return b
}
