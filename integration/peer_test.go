//go:build integration

package integration

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// startAllowListAgent starts a second agent on s's control plane whose
// socket anyone may open (so that only its allow-list decides) and that
// serves the local users of allowYAML.
func (s *stack) startAllowListAgent(t *testing.T, node, allowYAML string) (*daemon, string, string, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "nsp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "agent.sock")
	cfg := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(cfg, []byte("flight:\n  socket_mode: \"0666\"\n"+allowYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startEnv(t, dir, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, "nscale-agent", "run", "--allow-root", "--config", cfg,
		"--ops-listen", "127.0.0.1:0", "--flight-listen", "127.0.0.1:0", "--socket", sock,
		"--control-plane", s.agentArgs[slicesIndex(s.agentArgs, "--control-plane")+1], "--control-plane-ca-file", s.caFile,
		"--join-token-file", s.joinTokenFile(t, dir, 1), "--state-dir", "", "--node-name", node, "--shutdown-timeout", "2s")
	m := d.waitLog(t, "agent starting", 30*time.Second)
	s.waitAgentReady(t, m["ops"].(string))
	return d, m["flight"].(string), sock, m["ops"].(string)
}

// A local user outside an agent's allow-list is refused over the unix
// socket and over loopback TCP, named by its uid and counted; an allowed
// user reads, and the task audit records its uid.
func TestPeerAllowList(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a client as another user (setpriv)")
	}
	other, err := user.Lookup("nscale-test")
	if err != nil {
		t.Skip("no user nscale-test (make tools creates it)")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv missing")
	}
	s := startStack(t, stackOptions{})
	s.s3.PutObject(t, "lake", "peer/t/part-0.parquet", manyRowGroups(t, 1, 5))
	s.admin(t, `CREATE DATABASE peer;
		CREATE EXTERNAL TABLE peer.t STORED AS PARQUET LOCATION 's3://lake/peer/t/';
		GRANT SELECT ON TABLE peer.t TO USER rita;`)
	token := s.token(t, "rita")

	// nscalectl and the token where the other user can read them.
	shared, err := os.MkdirTemp("", "nspc")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(shared)
	os.Chmod(shared, 0o755)
	ctl := filepath.Join(shared, "nscalectl")
	raw, err := os.ReadFile(bin("nscalectl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ctl, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(shared, "token")
	if err := os.WriteFile(tokFile, []byte(token+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	query := func(asOther bool, agent string) (string, error) {
		args := []string{"--token-file", tokFile, "query", "--agent", agent, "SELECT id FROM peer.t"}
		var cmd *exec.Cmd
		if asOther {
			cmd = exec.Command(setpriv, append([]string{"--reuid=" + other.Uid, "--regid=" + other.Gid, "--clear-groups", ctl}, args...)...)
		} else {
			cmd = exec.Command(ctl, args...)
		}
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + shared}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	rootOnly, tcp, sock, ops := s.startAllowListAgent(t, "node-peer", "  allowed_users: [root]\n")
	for _, agent := range []string{tcp, "unix:" + sock} {
		out, err := query(true, agent)
		if err == nil || !strings.Contains(out, "does not serve uid "+other.Uid) {
			t.Fatalf("%s as %s: %v\n%s", agent, other.Username, err, out)
		}
		if out, err := query(false, agent); err != nil {
			t.Fatalf("%s as root: %v\n%s", agent, err, out)
		}
	}
	if v := metricValue(t, ops, `nscale_agent_peer_refused_total{uid="`+other.Uid+`"}`); v != "2" {
		t.Fatalf("refusals of uid %s counted: %q, want 2", other.Uid, v)
	}
	if !strings.Contains(rootOnly.log(), "refused a local caller outside the allow-list") {
		t.Error("the refusal was not logged")
	}

	// Allowed through its group: reads over both transports, and the task
	// audit records its uid.
	_, tcp2, sock2, _ := s.startAllowListAgent(t, "node-peer-2", "  allowed_groups: [nscale-test]\n")
	for _, agent := range []string{tcp2, "unix:" + sock2} {
		if out, err := query(true, agent); err != nil || !strings.Contains(out, "5 row") {
			t.Fatalf("%s as %s (allowed group): %v\n%s", agent, other.Username, err, out)
		}
	}
	// Reports are sent after the stream ends: wait for them.
	uidRE := regexp.MustCompile(`caller_uid\\?":\s*` + other.Uid + `\b`)
	waitFor(t, "a task.read audit event naming caller uid "+other.Uid, func() bool {
		audit, _, _ := s.ctl(t, s.adminFile, "-o", "json", "audit", "--limit", "100")
		return uidRE.MatchString(audit)
	})
}
