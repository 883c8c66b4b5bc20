//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/apitypes"
)

func (s *stack) agents(t *testing.T, args ...string) []apitypes.Agent {
	t.Helper()
	out, errOut, code := s.ctl(t, s.adminFile, append([]string{"-o", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("nscalectl %v: exit %d: %s", args, code, errOut)
	}
	if args[0] == "status" {
		var st apitypes.Status
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatal(err)
		}
		return st.Agents
	}
	var list apitypes.AgentList
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return list.Agents
}

func agentByNode(list []apitypes.Agent, node string) (apitypes.Agent, bool) {
	for _, a := range list {
		if a.Node == node {
			return a, true
		}
	}
	return apitypes.Agent{}, false
}

// metric reads one sample of the agent's /metrics.
func metricValue(t *testing.T, ops, line string) string {
	t.Helper()
	_, body := httpGet("http://" + ops + "/metrics")
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, line+" ") {
			return strings.TrimSpace(strings.TrimPrefix(l, line))
		}
	}
	return ""
}

// An agent enrols with a one-time join token, shows up in the registry,
// renews its 30-second certificate through a control-plane restart and
// keeps serving; a used token enrols nothing; a silent agent is LOST; a
// revoked one is refused everywhere within 30 seconds.
func TestAgentEnrolment(t *testing.T) {
	s := startStack(t, stackOptions{cpConfig: "agent_ca:\n  cert_ttl: 30s\nagent_api:\n  heartbeat_interval: 1s\n  lost_after: 3s\n  revocation_refresh: 2s\n"})
	s.s3.PutObject(t, "lake", "enr/t/part-0.parquet", manyRowGroups(t, 1, 10))
	s.admin(t, `CREATE DATABASE enr;
		CREATE EXTERNAL TABLE enr.t STORED AS PARQUET LOCATION 's3://lake/enr/t/';
		GRANT SELECT ON TABLE enr.t TO USER rita;`)
	token := s.token(t, "rita")
	ctx := context.Background()
	count := func() int {
		t.Helper()
		res, err := s.adbcQuery(ctx, token, "SELECT id FROM enr.t")
		if err != nil {
			t.Fatalf("query through the agent: %v", err)
		}
		return len(res.Rows)
	}
	if n := count(); n != 10 {
		t.Fatalf("%d rows, want 10", n)
	}

	waitFor(t, "the agent's heartbeat in the registry", func() bool {
		a, ok := agentByNode(s.agents(t, "agents", "list"), "node-1")
		return ok && a.State == apitypes.AgentActive && a.Method == "join_token" && strings.Contains(strings.Join(a.Listeners, " "), s.flight) && a.Health == "ok"
	})

	// The join token was for one agent: a second one with it is refused.
	usedToken := s.agentArgs[slicesIndex(s.agentArgs, "--join-token-file")+1]
	dir2, err := os.MkdirTemp("", "nsa")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir2)
	second := startEnv(t, dir2, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir2}, "nscale-agent", "run", "--allow-root",
		"--ops-listen", "127.0.0.1:0", "--flight-listen", "127.0.0.1:0", "--socket", "", "--control-plane", s.agentArgs[slicesIndex(s.agentArgs, "--control-plane")+1],
		"--control-plane-ca-file", s.caFile, "--join-token-file", usedToken, "--state-dir", "", "--node-name", "node-2", "--shutdown-timeout", "2s")
	second.waitLog(t, "agent starting", 30*time.Second)
	waitFor(t, "the second agent's refusal", func() bool { return strings.Contains(second.log(), "used up") })
	if _, ok := agentByNode(s.agents(t, "agents", "list"), "node-2"); ok {
		t.Fatal("a used join token enrolled a second agent")
	}

	// Renewal at two thirds of 30 s, then across a restart of the control
	// plane on the same addresses, and the agent still serves.
	renewals := func() int {
		n, _ := strconv.Atoi(metricValue(t, s.agentOps, `nscale_agent_certificate_renewals_total{result="OK"}`))
		return n
	}
	waitUntil(t, "a first renewal", 30*time.Second, func() bool { return renewals() >= 1 })
	if n := renewals(); n != 1 {
		t.Fatalf("%d renewals within the first 30 s certificate, want 1 (at two thirds)", n)
	}
	s.restartControlPlane(t)
	waitUntil(t, "a renewal with the restarted control plane", 30*time.Second, func() bool { return renewals() >= 2 })
	if n := count(); n != 10 {
		t.Fatalf("after the restart and renewal: %d rows", n)
	}

	// A third agent, then killed: LOST within lost_after.
	dir3, err := os.MkdirTemp("", "nsa")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir3)
	third := startEnv(t, dir3, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir3}, "nscale-agent", "run", "--allow-root",
		"--ops-listen", "127.0.0.1:0", "--flight-listen", "127.0.0.1:0", "--socket", "", "--control-plane", s.agentArgs[slicesIndex(s.agentArgs, "--control-plane")+1],
		"--control-plane-ca-file", s.caFile, "--join-token-file", s.joinTokenFile(t, dir3, 1), "--state-dir", "", "--node-name", "node-3", "--shutdown-timeout", "2s")
	waitFor(t, "the third agent active", func() bool {
		a, ok := agentByNode(s.agents(t, "agents", "list"), "node-3")
		return ok && a.State == apitypes.AgentActive
	})
	_ = third.cmd.Process.Signal(syscall.SIGKILL)
	waitFor(t, "the killed agent LOST in status --detail", func() bool {
		a, ok := agentByNode(s.agents(t, "status", "--detail"), "node-3")
		return ok && a.State == apitypes.AgentLost
	})
	out, _, _ := s.ctl(t, s.adminFile, "status", "--detail")
	if !strings.Contains(out, "LOST") || !strings.Contains(out, "node-3") {
		t.Fatalf("status --detail does not show the LOST agent:\n%s", out)
	}

	// Revocation: refused within 30 s (here revocation_refresh 2s), and
	// the audit trail has it.
	a, _ := agentByNode(s.agents(t, "agents", "list"), "node-1")
	if _, errOut, code := s.ctl(t, s.adminFile, "agents", "revoke", a.ID); code != 0 {
		t.Fatalf("revoke: %s", errOut)
	}
	begin := time.Now()
	waitUntil(t, "the revoked agent refused", 30*time.Second, func() bool {
		_, err := s.adbcQuery(ctx, token, "SELECT id FROM enr.t")
		return err != nil && strings.Contains(err.Error(), "revoked")
	})
	if took := time.Since(begin); took > 30*time.Second {
		t.Fatalf("revocation took %s", took)
	}
	if b, ok := agentByNode(s.agents(t, "agents", "list"), "node-1"); !ok || b.State != apitypes.AgentRevoked {
		t.Fatalf("after revoke: %+v", b)
	}
	audit, _, _ := s.ctl(t, s.adminFile, "audit", "--limit", "500")
	for _, want := range []string{"agent.enrol", "agent.renew", "REVOKE AGENT", "CREATE JOIN TOKEN"} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit trail has no %s", want)
		}
	}
	// Nothing secret in the control plane's log.
	tok, _ := os.ReadFile(usedToken)
	if strings.Contains(s.cp.log(), strings.TrimSpace(string(tok))) {
		t.Error("the control plane logged a join token")
	}

}

func slicesIndex(list []string, v string) int {
	for i, x := range list {
		if x == v {
			return i
		}
	}
	panic("no " + v)
}
