package bootstrap

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nscale/nscale/agent"
	"github.com/nscale/nscale/internal/agentapi/agentapitest"
	"github.com/nscale/nscale/internal/configfile"
)

// requireRoot skips outside root: bootstrap creates a system user and
// chowns files (CI runs as root, so there it runs).
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("bootstrap tests need root (useradd, chown) and CI runs as root")
		}
		t.Skip("bootstrap tests need root (useradd --prefix, chown)")
	}
}

// newRoot is a throwaway node root with a user database, a Spark user
// and a spark-defaults.conf holding EMR-like settings of its own.
func newRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"/etc/passwd":                         "root:x:0:0:root:/root:/bin/bash\nspark:x:1001:1001::/home/spark:/bin/sh\n",
		"/etc/group":                          "root:x:0:\nspark:x:1001:\n",
		"/etc/shadow":                         "root:*:19000:0:99999:7:::\nspark:*:19000:0:99999:7:::\n",
		"/etc/gshadow":                        "root:*::\nspark:!::\n",
		"/etc/spark/conf/spark-defaults.conf": "spark.master yarn\nspark.driver.extraClassPath /usr/lib/hadoop/lib/*\nspark.driver.extraJavaOptions -XX:+UseG1GC\n",
	}
	for p, c := range files {
		if err := os.MkdirAll(filepath.Dir(root+p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(root+p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func options(t *testing.T, root string) Options {
	t.Helper()
	ca := agentapitest.NewCA(t, t.TempDir(), "unused")
	exe := filepath.Join(t.TempDir(), "nscale-agent")
	if err := os.WriteFile(exe, []byte("#!/bin/false\nnot really the agent\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return Options{Root: root, Executable: exe, AgentUser: "nscale", ControlPlane: "cp.example:7081", CAFile: ca.File,
		EnrolmentMethod: "aws_iid", Port: 7443, OpsPort: 7444, AllowedUsers: []string{"spark"}, MemoryLimit: 1 << 30,
		SparkDefaults: "/etc/spark/conf/spark-defaults.conf", JDBCJar: "/opt/nscale/lib/flight-sql-jdbc-driver.jar",
		EnrolTimeout: 5 * time.Second, NoEnrol: true, Cgroup: "/sys/fs/cgroup/unified", PinDir: "/sys/fs/bpf/nscale"}
}

// snapshot lists every path under root with its type, mode, owner,
// content hash and (when withTimes) modification time.
func snapshot(t *testing.T, root string, withTimes bool) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		v := fmt.Sprintf("%v %d:%d", fi.Mode(), st.Uid, st.Gid)
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			v += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			v += " -> " + l
		}
		if withTimes && !fi.IsDir() {
			v += " " + fi.ModTime().String()
		}
		out[strings.TrimPrefix(p, root)] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diff(a, b map[string]string) string {
	var d []string
	for k, v := range a {
		if b[k] != v {
			d = append(d, fmt.Sprintf("%s: %q -> %q", k, v, b[k]))
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			d = append(d, fmt.Sprintf("%s: added %q", k, v))
		}
	}
	sort.Strings(d)
	return strings.Join(d, "\n")
}

func TestInstallIdempotentAndUninstall(t *testing.T) {
	requireRoot(t)
	root := newRoot(t)
	o := options(t, root)
	before := snapshot(t, root, false)

	// A dry run prints the actions and changes nothing.
	var out bytes.Buffer
	dry := o
	dry.DryRun, dry.Out = true, &out
	if err := Install(context.Background(), dry); err != nil {
		t.Fatal(err)
	}
	if d := diff(before, snapshot(t, root, false)); d != "" {
		t.Fatalf("dry run changed the root:\n%s", d)
	}
	for _, want := range []string{"would run useradd", "would create directory /etc/nscale", "would create /etc/nscale/agent.yaml",
		"would create /etc/systemd/system/nscale-agent.service", "would link /etc/systemd/system/multi-user.target.wants/nscale-agent.service",
		"would write /etc/spark/conf/spark-defaults.conf"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out.String())
		}
	}

	if err := Install(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	uid, gid, ok, err := lookup(root, "/etc/passwd", "nscale")
	if err != nil || !ok || uid == 0 {
		t.Fatalf("nscale user: %d %v %v", uid, ok, err)
	}
	for _, c := range []struct {
		path     string
		mode     fs.FileMode
		uid, gid int
	}{
		{"/etc/nscale", fs.ModeDir | 0o750, 0, gid},
		{"/etc/nscale/agent.yaml", 0o640, 0, gid},
		{"/etc/nscale/control-plane-ca.crt", 0o644, 0, 0},
		{"/etc/nscale/bootstrap.json", 0o600, 0, 0},
		{"/var/lib/nscale", fs.ModeDir | 0o700, uid, gid},
		{"/run/nscale", fs.ModeDir | 0o755, uid, gid},
		{"/usr/local/bin/nscale-agent", 0o755, 0, 0},
		{"/etc/systemd/system/nscale-agent.service", 0o644, 0, 0},
	} {
		fi, err := os.Stat(root + c.path)
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode() != c.mode || int(st.Uid) != c.uid || int(st.Gid) != c.gid {
			t.Errorf("%s: %v %d:%d, want %v %d:%d", c.path, fi.Mode(), st.Uid, st.Gid, c.mode, c.uid, c.gid)
		}
	}
	if l, err := os.Readlink(root + wantsLink); err != nil || l != unitPath {
		t.Errorf("unit not enabled: %q %v", l, err)
	}

	// The config is one the agent accepts, with the flags' values.
	cfg := agent.DefaultConfig()
	if err := configfile.Load(root+configPath, &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.ControlPlane.Address != "cp.example:7081" || cfg.ControlPlane.Enrolment.Method != "aws_iid" ||
		string(cfg.Flight.Listen) != "127.0.0.1:7443" || cfg.Flight.AllowedUsers[0] != "spark" || cfg.Flight.MemoryBudget != 512<<20 {
		t.Errorf("config: %+v", cfg)
	}

	unitText, _ := os.ReadFile(root + unitPath)
	for _, want := range []string{"Type=notify", "User=nscale", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
		"PrivateTmp=yes", "\nCapabilityBoundingSet=\n", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
		"Restart=on-failure", fmt.Sprintf("Environment=GOMEMLIMIT=%d", (1<<30)*9/10), "MemoryMax=1073741824"} {
		if !strings.Contains(string(unitText), want) {
			t.Errorf("unit lacks %q", want)
		}
	}

	spark, _ := os.ReadFile(root + o.SparkDefaults)
	for _, want := range []string{"spark.master yarn\n", sparkBegin,
		"spark.driver.extraClassPath /usr/lib/hadoop/lib/*:/opt/nscale/lib/flight-sql-jdbc-driver.jar\n",
		"spark.executor.extraClassPath /opt/nscale/lib/flight-sql-jdbc-driver.jar\n",
		"spark.nscale.url jdbc:arrow-flight-sql://127.0.0.1:7443/?useEncryption=false\n", sparkEnd} {
		if !strings.Contains(string(spark), want) {
			t.Errorf("spark-defaults lacks %q:\n%s", want, spark)
		}
	}
	// Spark 3.3+ adds the driver's --add-opens itself (docs/spark.md): the
	// block leaves the JVM options, and EMR's, alone.
	if strings.Count(string(spark), "spark.driver.extraJavaOptions") != 1 {
		t.Errorf("the block repeats or changes extraJavaOptions:\n%s", spark)
	}

	// A second run changes nothing, not even a modification time.
	after := snapshot(t, root, true)
	out.Reset()
	o.Out = &out
	if err := Install(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if d := diff(after, snapshot(t, root, true)); d != "" {
		t.Fatalf("second run changed:\n%s", d)
	}

	// A changed flag replaces the block, not appends a second one.
	o.Port = 7543
	o.OpsPort = 7544
	if err := Install(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	spark, _ = os.ReadFile(root + o.SparkDefaults)
	if strings.Count(string(spark), sparkBegin) != 1 || !strings.Contains(string(spark), "127.0.0.1:7543/") {
		t.Fatalf("spark block not replaced:\n%s", spark)
	}

	if err := Uninstall(o); err != nil {
		t.Fatal(err)
	}
	if d := diff(before, snapshot(t, root, false)); d != "" {
		t.Fatalf("uninstall did not restore the root:\n%s", d)
	}
}

// systemd-analyze verify accepts the unit (its ExecStart pointed at an
// executable that exists here), with no warning at all.
func TestUnitVerifies(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze missing (scripts/tools.sh installs Debian's systemd)")
		}
		t.Skip("systemd-analyze missing (apt-get install systemd)")
	}
	o := Options{AgentUser: "nscale", MemoryLimit: 1 << 30}
	exe, _ := os.Executable()
	text := strings.Replace(unit(o), binaryPath, exe, 1)
	p := filepath.Join(t.TempDir(), "nscale-agent.service")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", "--man=no", p).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The check can fail: an unknown key is reported.
	bad := filepath.Join(t.TempDir(), "nscale-agent.service")
	_ = os.WriteFile(bad, []byte(strings.Replace(text, "NoNewPrivileges=yes", "NoNewPrivilege=yes", 1)), 0o644)
	if out, _ := exec.Command(sa, "verify", "--man=no", bad).CombinedOutput(); !strings.Contains(string(out), "NoNewPrivilege") {
		t.Fatalf("a misspelt key was not reported: %s", out)
	}
}

// A failing step is named, and leaves no file behind half-written.
func TestFailureNamesItsStep(t *testing.T) {
	requireRoot(t)
	root := newRoot(t)
	o := options(t, root)
	o.CAFile = filepath.Join(t.TempDir(), "missing.crt")
	err := Install(context.Background(), o)
	var se *StepError
	if !errors.As(err, &se) || se.Step != "config" || !strings.Contains(err.Error(), "missing.crt") {
		t.Fatalf("err = %v, want the config step naming the CA file", err)
	}
	if _, err := os.Stat(root + "/etc/nscale"); !os.IsNotExist(err) {
		t.Fatalf("a failed check wrote files: %v", err)
	}
	o = options(t, root)
	o.ControlPlane = ""
	if err := Install(context.Background(), o); !errors.As(err, &se) || se.Step != "flags" || !strings.Contains(err.Error(), "--control-plane is required") {
		t.Fatalf("err = %v", err)
	}
	// A root without a user database: the user step says so, and nothing
	// is written.
	empty := t.TempDir()
	o = options(t, empty)
	if err := Install(context.Background(), o); !errors.As(err, &se) || se.Step != "user" || !strings.Contains(err.Error(), empty+"/etc/passwd does not exist") {
		t.Fatalf("empty root: err = %v, want the user step naming etc/passwd", err)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Fatalf("a failed user step left %v in the root", entries)
	}
	// Enrolment against a closed port fails within the timeout, named.
	o = options(t, root)
	o.NoEnrol, o.EnrolmentMethod, o.ControlPlane, o.EnrolTimeout = false, "join_token", "127.0.0.1:1", time.Second
	o.JoinTokenFile = filepath.Join(t.TempDir(), "tok")
	_ = os.WriteFile(o.JoinTokenFile, []byte("nsj_x\n"), 0o600)
	start := time.Now()
	if err := Install(context.Background(), o); !errors.As(err, &se) || se.Step != "enrol" || !strings.Contains(err.Error(), "could not be reached") {
		t.Fatalf("err = %v, want the enrol step", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Fatalf("enrolment took %v with a 1s timeout", time.Since(start))
	}
	for _, tmp := range []string{"/etc/nscale", "/etc/systemd/system"} {
		entries, _ := os.ReadDir(root + tmp)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				t.Errorf("temporary file left: %s/%s", tmp, e.Name())
			}
		}
	}
}

// --uninstall deletes what the record lists, as root: a record another
// account could have written, or one listing a path that climbs out of the
// root, is refused and nothing is removed.
func TestUninstallRefusesATamperedRecord(t *testing.T) {
	requireRoot(t)
	root := newRoot(t)
	o := options(t, root)
	if err := Install(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	rec := root + manifestPath
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	var se *StepError
	for _, tc := range []struct {
		name string
		edit func()
	}{
		{"group-writable", func() { _ = os.Chmod(rec, 0o620) }},
		{"owned by the agent", func() { _ = os.Chown(rec, 65532, 0) }},
		{"climbing path", func() {
			_ = os.WriteFile(rec, []byte(`{"paths":["/../../../..`+victim+`"]}`), 0o600)
		}},
	} {
		tc.edit()
		err := Uninstall(o)
		if !errors.As(err, &se) || se.Step != "record" || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("%s: err = %v, want the record step refusing it", tc.name, err)
		}
		if _, err := os.Stat(root + configPath); err != nil {
			t.Errorf("%s: the refused uninstall removed %s: %v", tc.name, configPath, err)
		}
		if _, err := os.Stat(victim); err != nil {
			t.Fatalf("%s: the refused uninstall removed a file outside the root: %v", tc.name, err)
		}
		if err := os.WriteFile(rec, good, 0o600); err != nil {
			t.Fatal(err)
		}
		_ = os.Chown(rec, 0, 0)
		_ = os.Chmod(rec, 0o600)
	}
	if err := Uninstall(o); err != nil {
		t.Fatalf("uninstall with the restored record: %v", err)
	}
}
