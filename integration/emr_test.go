//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/internal/tlsfiles/tlstest"
)

// The EMR bootstrap action (emr-bootstrap/nscale-emr-bootstrap.sh) run for
// real, as root, into a throwaway --root, with a stub `aws` on PATH that
// serves `aws s3 cp` from a directory and `aws ssm get-parameter` from
// files, and records every call.

const (
	emrScript  = "../emr-bootstrap/nscale-emr-bootstrap.sh"
	emrConfigs = "../emr-bootstrap/configurations.json"
	emrRelease = "s3://nscale-dist/v1/nscale-agent"
	emrJar     = "s3://nscale-dist/jdbc/flight-sql-jdbc-driver-18.3.0.jar"
	emrCA      = "s3://nscale-dist/v1/control-plane-ca.crt"
	emrSSMName = "/nscale/emr/join-token"
)

const stubAWS = `#!/bin/bash
# Stub aws for the EMR bootstrap tests: s3 cp from $STUB_AWS_BUCKETS,
# ssm get-parameter from $STUB_AWS_SSM; every call is appended to $STUB_AWS_LOG.
set -eu
printf '%s\n' "$*" >>"$STUB_AWS_LOG"
if [[ $# -ge 2 && $1 == s3 && $2 == cp ]]; then
	shift 2
	pos=()
	for a in "$@"; do [[ $a == --* ]] || pos+=("$a"); done
	src=${pos[0]} dst=${pos[1]}
	key=${src#s3://}
	if [[ ! -f $STUB_AWS_BUCKETS/$key ]]; then
		echo "fatal error: An error occurred (404) when calling the HeadObject operation: Key \"${key#*/}\" does not exist" >&2
		exit 1
	fi
	cp "$STUB_AWS_BUCKETS/$key" "$dst"
	echo "download: $src to $dst"
	exit 0
fi
if [[ $# -ge 2 && $1 == ssm && $2 == get-parameter ]]; then
	shift 2
	name="" decrypt=0
	while [[ $# -gt 0 ]]; do
		case $1 in
		--name) name=$2; shift 2 ;;
		--with-decryption) decrypt=1; shift ;;
		*) shift ;;
		esac
	done
	if [[ $decrypt != 1 || ! -f $STUB_AWS_SSM/$name ]]; then
		echo "An error occurred (ParameterNotFound) when calling the GetParameter operation: " >&2
		exit 254
	fi
	cat "$STUB_AWS_SSM/$name"
	echo
	exit 0
fi
echo "stub aws: unsupported: $*" >&2
exit 252
`

// emrEnv is one run's world: the stub aws, its buckets and parameters, a
// node root with a user database, and a TMPDIR to check for leftovers.
type emrEnv struct {
	dir, root, tmp, buckets, ssm, awsLog, stubDir string
	releaseSHA, jarSHA, caSHA                     string
	jar                                           []byte
}

func newEMREnv(t *testing.T, caFile string) *emrEnv {
	t.Helper()
	dir := t.TempDir()
	e := &emrEnv{dir: dir, root: filepath.Join(dir, "root"), tmp: filepath.Join(dir, "tmp"),
		buckets: filepath.Join(dir, "buckets"), ssm: filepath.Join(dir, "ssm"),
		awsLog: filepath.Join(dir, "aws-calls.log"), stubDir: filepath.Join(dir, "stub")}
	for _, d := range []string{e.tmp, e.ssm, e.stubDir} {
		emrMkdir(t, d)
	}
	if err := os.WriteFile(filepath.Join(e.stubDir, "aws"), []byte(stubAWS), 0o755); err != nil {
		t.Fatal(err)
	}
	agentBin, err := os.ReadFile(bin("nscale-agent"))
	if err != nil {
		t.Fatal(err)
	}
	e.jar = []byte("PK\x03\x04 not really the Arrow Flight SQL JDBC driver\n")
	e.releaseSHA = emrPutObject(t, e.buckets, emrRelease, agentBin)
	e.jarSHA = emrPutObject(t, e.buckets, emrJar, e.jar)
	if caFile != "" {
		ca, err := os.ReadFile(caFile)
		if err != nil {
			t.Fatal(err)
		}
		e.caSHA = emrPutObject(t, e.buckets, emrCA, ca)
	}
	// A node's user database, with EMR's users (useradd --prefix adds nscale).
	users := []string{"root:x:0:0", "hadoop:x:990:990", "spark:x:991:991", "yarn:x:992:992"}
	var passwd, group, shadow, gshadow strings.Builder
	for _, u := range users {
		f := strings.Split(u, ":")
		passwd.WriteString(u + "::/home/" + f[0] + ":/bin/bash\n")
		group.WriteString(f[0] + ":x:" + f[3] + ":\n")
		shadow.WriteString(f[0] + ":*:19000:0:99999:7:::\n")
		gshadow.WriteString(f[0] + ":*::\n")
	}
	for p, c := range map[string]string{"/etc/passwd": passwd.String(), "/etc/group": group.String(),
		"/etc/shadow": shadow.String(), "/etc/gshadow": gshadow.String()} {
		emrMkdir(t, filepath.Dir(e.root+p))
		if err := os.WriteFile(e.root+p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func emrMkdir(t *testing.T, d string) {
	t.Helper()
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
}

// emrPutObject stores data as the S3 object uri in the stub's buckets and
// returns its SHA-256.
func emrPutObject(t *testing.T, buckets, uri string, data []byte) string {
	t.Helper()
	p := filepath.Join(buckets, strings.TrimPrefix(uri, "s3://"))
	emrMkdir(t, filepath.Dir(p))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// run runs the bootstrap action with the stub aws first on PATH.
func (e *emrEnv) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{emrScript}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+e.stubDir+":"+os.Getenv("PATH"), "TMPDIR="+e.tmp,
		"STUB_AWS_LOG="+e.awsLog, "STUB_AWS_BUCKETS="+e.buckets, "STUB_AWS_SSM="+e.ssm,
		// No IMDS lookup of the region: the test's traffic stays on loopback.
		"AWS_REGION=us-east-1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("bash %s: %v", emrScript, err)
	}
	return out.String(), errb.String(), code
}

func (e *emrEnv) logFile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.root, "var/log/nscale-bootstrap.log"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

func (e *emrEnv) awsCalls(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(e.awsLog)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// baseArgs are the required arguments for a run into e.root.
func (e *emrEnv) baseArgs(controlPlane string) []string {
	return []string{"--control-plane", controlPlane, "--control-plane-ca", emrCA,
		"--release", emrRelease, "--sha256", e.releaseSHA, "--root", e.root}
}

// emrOneLine fails unless stderr is exactly one line containing want.
func emrOneLine(t *testing.T, stderr, want string) {
	t.Helper()
	t.Logf("stderr: %s", strings.TrimSpace(stderr))
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if stderr == "" || !strings.HasSuffix(stderr, "\n") || len(lines) != 1 {
		t.Fatalf("stderr is not exactly one line:\n%q", stderr)
	}
	if !strings.HasPrefix(lines[0], "nscale-emr-bootstrap: ") || !strings.Contains(lines[0], want) {
		t.Fatalf("stderr line %q does not name %q", lines[0], want)
	}
}

func (e *emrEnv) noLeftovers(t *testing.T) {
	t.Helper()
	left, err := os.ReadDir(e.tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("the action left %d entries in TMPDIR (downloads or the join token): %v", len(left), left[0].Name())
	}
}

func (e *emrEnv) notInstalled(t *testing.T) {
	t.Helper()
	for _, p := range []string{"/usr/local/bin/nscale-agent", "/etc/nscale/agent.yaml", "/etc/systemd/system/nscale-agent.service",
		"/opt/nscale/lib/flight-sql-jdbc-driver.jar"} {
		if _, err := os.Lstat(e.root + p); err == nil {
			t.Errorf("%s was installed by a failed run", p)
		}
	}
}

func requireRootEMR(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("the EMR bootstrap tests need root (nscale-agent bootstrap: useradd, chown) and CI runs as root")
		}
		t.Skip("the EMR bootstrap tests need root (nscale-agent bootstrap: useradd, chown)")
	}
}

// emrAgentAPIAddr is the control plane's agent API address, as the stack
// started it.
func emrAgentAPIAddr(t *testing.T, s *stack) string {
	t.Helper()
	addr := ""
	for i := 0; i+1 < len(s.cpArgs); i++ {
		if s.cpArgs[i] == "--agent-api-listen" {
			addr = s.cpArgs[i+1]
		}
	}
	if addr == "" {
		t.Fatal("no --agent-api-listen in the stack's control-plane arguments")
	}
	return addr
}

func TestEMRBootstrapScriptSyntax(t *testing.T) {
	if out, err := exec.Command("bash", "-n", emrScript).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Log("shellcheck not installed: `make lint` checks the script where it is")
		return
	}
	if out, err := exec.Command("shellcheck", emrScript).CombinedOutput(); err != nil {
		t.Fatalf("shellcheck: %v\n%s", err, out)
	}
}

func TestEMRBootstrap(t *testing.T) {
	requireRootEMR(t)
	s := startStack(t, stackOptions{})
	cpAddr := emrAgentAPIAddr(t, s)

	t.Run("good checksums and a join token from SSM install and enrol", func(t *testing.T) {
		e := newEMREnv(t, s.caFile)
		tokFile := s.joinTokenFile(t, t.TempDir(), 1)
		raw, err := os.ReadFile(tokFile)
		if err != nil {
			t.Fatal(err)
		}
		token := strings.TrimSpace(string(raw))
		p := filepath.Join(e.ssm, emrSSMName)
		emrMkdir(t, filepath.Dir(p))
		if err := os.WriteFile(p, []byte(token), 0o600); err != nil {
			t.Fatal(err)
		}
		args := append(e.baseArgs(cpAddr), "--enrolment-method", "join_token", "--join-token-ssm", emrSSMName,
			"--jdbc-jar", emrJar, "--jdbc-jar-sha256", strings.ToUpper(e.jarSHA), "--control-plane-ca-sha256", e.caSHA, "--enrol-timeout", "30s")
		begin := time.Now()
		stdout, stderr, code := e.run(t, args...)
		t.Logf("the action took %s", time.Since(begin).Round(time.Millisecond))
		log := e.logFile(t)
		if code != 0 {
			t.Fatalf("exit %d\nstderr: %s\nlog:\n%s", code, stderr, log)
		}
		if stderr != "" {
			t.Errorf("stderr of a successful run: %q", stderr)
		}
		for name, text := range map[string]string{"the log file": log, "stdout": stdout, "stderr": stderr, "the aws calls": e.awsCalls(t)} {
			if strings.Contains(text, token) {
				t.Errorf("the join token appears in %s", name)
			}
		}
		for _, want := range []string{"SHA-256 " + e.releaseSHA + " verified", "SHA-256 " + e.jarSHA + " verified",
			"enrolled as ", "readiness wait skipped: --root install"} {
			if !strings.Contains(log, want) {
				t.Errorf("the log has no %q:\n%s", want, log)
			}
		}
		if !strings.Contains(stdout, "readiness wait skipped: --root install") {
			t.Errorf("stdout does not carry the log:\n%s", stdout)
		}
		calls := e.awsCalls(t)
		for _, want := range []string{"s3 cp --no-progress " + emrRelease + " ", "s3 cp --no-progress " + emrJar + " ",
			"s3 cp --no-progress " + emrCA + " ", "ssm get-parameter --name " + emrSSMName + " --with-decryption --query Parameter.Value --output text"} {
			if !strings.Contains(calls, want) {
				t.Errorf("no aws call %q in:\n%s", want, calls)
			}
		}
		for _, p := range []string{"/usr/local/bin/nscale-agent", "/etc/nscale/agent.yaml", "/etc/nscale/control-plane-ca.crt",
			"/etc/systemd/system/nscale-agent.service", "/etc/systemd/system/multi-user.target.wants/nscale-agent.service",
			"/var/lib/nscale/agent.crt", "/var/lib/nscale/agent.key"} {
			if _, err := os.Lstat(e.root + p); err != nil {
				t.Errorf("not installed: %v", err)
			}
		}
		if b, err := os.ReadFile(e.root + "/opt/nscale/lib/flight-sql-jdbc-driver.jar"); err != nil || !bytes.Equal(b, e.jar) {
			t.Errorf("the JDBC jar is not installed as /opt/nscale/lib/flight-sql-jdbc-driver.jar (%v)", err)
		}
		if fi, err := os.Stat(e.root + "/usr/local/bin/nscale-agent"); err == nil && fi.Mode().Perm() != 0o755 {
			t.Errorf("binary mode %v", fi.Mode().Perm())
		}
		cfg, _ := os.ReadFile(e.root + "/etc/nscale/agent.yaml")
		for _, want := range []string{"address: " + cpAddr, "method: join_token", "listen: 127.0.0.1:7443", "listen: 127.0.0.1:7444",
			`allowed_users: ["spark", "yarn", "hadoop"]`} {
			if !strings.Contains(string(cfg), want) {
				t.Errorf("agent.yaml has no %q:\n%s", want, cfg)
			}
		}
		if _, err := os.Stat(e.root + "/etc/spark"); err == nil {
			t.Error("the action wrote Spark settings: EMR installs Spark after bootstrap actions, configurations.json carries them")
		}
		// The control plane knows the node: a second join-token agent on
		// this host (the stack's own agent is node-1).
		out, errOut, code := s.ctl(t, s.adminFile, "-o", "json", "agents", "list")
		if code != 0 {
			t.Fatalf("agents list exit %d: %s", code, errOut)
		}
		var list struct {
			Agents []struct{ ID, Node, Method string } `json:"agents"`
		}
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatal(err)
		}
		host, _ := os.Hostname()
		found := false
		for _, a := range list.Agents {
			if a.Method == "join_token" && a.Node == host {
				found = true
			}
		}
		if !found {
			t.Errorf("no join_token agent on node %q in the registry: %s", host, out)
		}
		e.noLeftovers(t)
	})

	t.Run("a bad checksum installs nothing", func(t *testing.T) {
		for _, c := range []struct {
			name, want string
			args       func(e *emrEnv) []string
		}{
			{"release", "--sha256 does not match " + emrRelease + " (got ", func(e *emrEnv) []string {
				a := e.baseArgs(cpAddr)
				a[7] = strings.Repeat("0", 64)
				return append(a, "--enrolment-method", "join_token", "--join-token-file", emrTokenFile(t))
			}},
			{"jar", "--jdbc-jar-sha256 does not match " + emrJar + " (got ", func(e *emrEnv) []string {
				return append(e.baseArgs(cpAddr), "--jdbc-jar", emrJar, "--jdbc-jar-sha256", strings.Repeat("ab", 32))
			}},
			// The CA decides whom the agent trusts: a bundle swapped in the
			// bucket is refused like a swapped binary.
			{"ca", "--control-plane-ca-sha256 does not match " + emrCA + " (got ", func(e *emrEnv) []string {
				return append(e.baseArgs(cpAddr), "--control-plane-ca-sha256", strings.Repeat("cd", 32))
			}},
		} {
			t.Run(c.name, func(t *testing.T) {
				e := newEMREnv(t, s.caFile)
				_, stderr, code := e.run(t, c.args(e)...)
				if code == 0 {
					t.Fatalf("exit 0 with a bad checksum\nlog:\n%s", e.logFile(t))
				}
				emrOneLine(t, stderr, c.want)
				got := map[string]string{"release": e.releaseSHA, "jar": e.jarSHA, "ca": e.caSHA}[c.name]
				if !strings.Contains(stderr, "(got "+got+")") {
					t.Errorf("the line does not give the computed SHA-256 %s: %q", got, stderr)
				}
				e.notInstalled(t)
				e.noLeftovers(t)
				if !strings.Contains(e.logFile(t), "FAILED: "+strings.TrimPrefix(strings.TrimSpace(stderr), "nscale-emr-bootstrap: ")) {
					t.Errorf("the failure is not in the log:\n%s", e.logFile(t))
				}
			})
		}
	})

	t.Run("an unreachable control plane fails the enrol step", func(t *testing.T) {
		e := newEMREnv(t, s.caFile)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := l.Addr().String()
		l.Close()
		begin := time.Now()
		_, stderr, code := e.run(t, append(e.baseArgs(closed), "--enrolment-method", "join_token",
			"--join-token-file", emrTokenFile(t), "--enrol-timeout", "3s")...)
		took := time.Since(begin)
		if code == 0 {
			t.Fatalf("exit 0 against a closed port\nlog:\n%s", e.logFile(t))
		}
		emrOneLine(t, stderr, "bootstrap failed: nscale-agent bootstrap: enrol: ")
		if !strings.Contains(stderr, closed) {
			t.Errorf("the line does not name the control plane %s: %q", closed, stderr)
		}
		if took > 60*time.Second {
			t.Errorf("a 3s enrolment timeout took %s", took)
		}
		e.noLeftovers(t)
	})

	t.Run("a missing or wrong argument fails before any download", func(t *testing.T) {
		e := newEMREnv(t, s.caFile)
		tok := emrTokenFile(t)
		for _, c := range []struct {
			name, want string
			args       []string
		}{
			{"no --control-plane", "missing --control-plane", []string{"--control-plane-ca", emrCA, "--release", emrRelease, "--sha256", e.releaseSHA, "--root", e.root}},
			{"no --control-plane-ca", "missing --control-plane-ca", []string{"--control-plane", cpAddr, "--release", emrRelease, "--sha256", e.releaseSHA, "--root", e.root}},
			{"no --release", "missing --release", []string{"--control-plane", cpAddr, "--control-plane-ca", emrCA, "--sha256", e.releaseSHA, "--root", e.root}},
			{"no --sha256", "missing --sha256", []string{"--control-plane", cpAddr, "--control-plane-ca", emrCA, "--release", emrRelease, "--root", e.root}},
			{"jar without its checksum", "--jdbc-jar needs --jdbc-jar-sha256", append(e.baseArgs(cpAddr), "--jdbc-jar", emrJar)},
			{"join_token without a token", "missing --join-token-file or --join-token-ssm", append(e.baseArgs(cpAddr), "--enrolment-method", "join_token")},
			{"token with aws_iid", "need --enrolment-method join_token", append(e.baseArgs(cpAddr), "--join-token-file", tok)},
			{"bad sha256", "--sha256 \"abc\" is not 64 hex digits", []string{"--control-plane", cpAddr, "--control-plane-ca", emrCA, "--release", emrRelease, "--sha256", "abc", "--root", e.root}},
			{"release not on S3", "--release \"/tmp/nscale-agent\" is not an S3 object URI", []string{"--control-plane", cpAddr, "--control-plane-ca", emrCA, "--release", "/tmp/nscale-agent", "--sha256", e.releaseSHA, "--root", e.root}},
			{"unknown flag", "unknown argument \"--bogus\"", append(e.baseArgs(cpAddr), "--bogus")},
			{"flag without value", "--port needs a value", append(e.baseArgs(cpAddr), "--port")},
			{"same ports", "--port and --ops-port must differ", append(e.baseArgs(cpAddr), "--port", "7444")},
			{"ebpf under --root", "--ebpf loads into the running kernel and cannot be combined with --root", append(e.baseArgs(cpAddr), "--ebpf")},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, stderr, code := e.run(t, c.args...)
				if code == 0 {
					t.Fatal("exit 0")
				}
				emrOneLine(t, stderr, c.want)
				if calls := e.awsCalls(t); calls != "" {
					t.Fatalf("aws was called before the arguments were checked:\n%s", calls)
				}
				e.notInstalled(t)
			})
		}
		e.noLeftovers(t)
	})

	t.Run("--help", func(t *testing.T) {
		e := newEMREnv(t, "")
		stdout, stderr, code := e.run(t, "--help")
		if code != 0 || stderr != "" || !strings.Contains(stdout, "--control-plane HOST:PORT") {
			t.Fatalf("--help: exit %d, stderr %q, stdout:\n%s", code, stderr, stdout)
		}
	})
}

func emrTokenFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "join-token")
	if err := os.WriteFile(p, []byte("nsj_not-a-real-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEMRConfigurationsMatchBootstrap checks that the spark-defaults
// classification in configurations.json is exactly what nscale-agent
// bootstrap itself writes into a spark-defaults.conf for the bootstrap
// action's jar path and port (the action skips that step: EMR installs
// Spark after bootstrap actions).
func TestEMRConfigurationsMatchBootstrap(t *testing.T) {
	requireRootEMR(t)
	raw, err := os.ReadFile(emrConfigs)
	if err != nil {
		t.Fatal(err)
	}
	var classes []struct {
		Classification string            `json:"Classification"`
		Properties     map[string]string `json:"Properties"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&classes); err != nil {
		t.Fatalf("configurations.json: %v", err)
	}
	if len(classes) != 1 || classes[0].Classification != "spark-defaults" {
		t.Fatalf("configurations.json: want one spark-defaults classification, got %+v", classes)
	}
	want := classes[0].Properties

	script, err := os.ReadFile(emrScript)
	if err != nil {
		t.Fatal(err)
	}
	jar := regexp.MustCompile(`(?m)^readonly JAR_PATH=(\S+)$`).FindSubmatch(script)
	port := regexp.MustCompile(`\bPORT=([0-9]+)`).FindSubmatch(script)
	if jar == nil || port == nil {
		t.Fatal("cannot find JAR_PATH and the default PORT in the script")
	}

	e := newEMREnv(t, "")
	conf := "/etc/spark/conf/spark-defaults.conf"
	emrMkdir(t, filepath.Dir(e.root+conf))
	if err := os.WriteFile(e.root+conf, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ca := tlstest.NewCA(t, e.dir, "emr-configurations")
	_, errOut, code := runCmd(t, e.dir, nil, "nscale-agent", "bootstrap", "--root", e.root, "--control-plane", "127.0.0.1:7081",
		"--control-plane-ca-file", ca.File, "--enrolment-method", "aws_iid", "--no-enrol", "--allowed-users", "spark,yarn,hadoop",
		"--port", string(port[1]), "--jdbc-jar", string(jar[1]), "--spark-defaults", conf)
	if code != 0 {
		t.Fatalf("nscale-agent bootstrap exit %d: %s", code, errOut)
	}
	written, err := os.ReadFile(e.root + conf)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	in := false
	sc := bufio.NewScanner(bytes.NewReader(written))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "# BEGIN nscale"):
			in = true
		case l == "# END nscale":
			in = false
		case in && strings.TrimSpace(l) != "" && !strings.HasPrefix(l, "#"):
			k, v, _ := strings.Cut(strings.Join(strings.Fields(l), " "), " ")
			got[k] = v
		}
	}
	if len(got) == 0 {
		t.Fatalf("bootstrap wrote no nscale block:\n%s", written)
	}
	for k, v := range got {
		if want[k] != v {
			t.Errorf("%s: bootstrap writes %q, configurations.json has %q", k, v, want[k])
		}
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("configurations.json sets %s, which bootstrap does not write", k)
		}
	}
}
