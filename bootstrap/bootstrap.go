// Package bootstrap is the one privileged step on a node: it creates the
// agent's user and directories, writes its configuration, installs and
// enables its systemd unit, enrols the node, optionally loads the eBPF
// connect guard, and writes the Spark settings into spark-defaults.conf.
// It is idempotent (a second run changes nothing), can act on a
// throwaway root (tests, image builds), prints every action (and only
// prints with DryRun), and Uninstall reverses what it recorded.
package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nscale/nscale/agent/ebpf"
	"github.com/nscale/nscale/agent/enrol"
	"github.com/nscale/nscale/internal/configfile"
	"github.com/nscale/nscale/internal/tlsfiles"
	"github.com/nscale/nscale/internal/version"
)

// Options are the flags of `nscale-agent bootstrap`.
type Options struct {
	Root   string // "/" or a throwaway root
	DryRun bool
	Out    io.Writer
	// Executable is installed as /usr/local/bin/nscale-agent.
	Executable      string
	AgentUser       string
	ControlPlane    string
	CAFile          string
	EnrolmentMethod string
	JoinTokenFile   string
	NodeName        string
	Port, OpsPort   int
	AllowedUsers    []string
	AllowedGroups   []string
	MemoryLimit     int64
	SparkDefaults   string
	JDBCJar         string
	EnrolTimeout    time.Duration
	NoEnrol         bool
	NoStart         bool
	EBPF            bool
	Cgroup, PinDir  string
}

// StepError names the step that failed; the CLI prints it on one line.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

func step(name string, err error) error {
	if err == nil {
		return nil
	}
	return &StepError{Step: name, Err: err}
}

func (o Options) check() error {
	var errs []error
	if o.ControlPlane == "" {
		errs = append(errs, errors.New("--control-plane is required (the control plane's agent API, host:port)"))
	} else if err := configfile.CheckHostPort(o.ControlPlane); err != nil {
		errs = append(errs, fmt.Errorf("--control-plane: %v", err))
	}
	if o.CAFile == "" {
		errs = append(errs, errors.New("--control-plane-ca-file is required (the CA bundle that verifies the control plane)"))
	}
	if o.EnrolmentMethod == enrol.JoinToken && o.JoinTokenFile == "" && !o.NoEnrol {
		errs = append(errs, errors.New("--join-token-file is required for --enrolment-method join_token (or pass --no-enrol)"))
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"--port", o.Port}, {"--ops-port", o.OpsPort}} {
		if p.v < 1 || p.v > 65535 {
			errs = append(errs, fmt.Errorf("%s %d is not a port", p.name, p.v))
		}
	}
	if o.Port == o.OpsPort {
		errs = append(errs, errors.New("--port and --ops-port must differ"))
	}
	if o.MemoryLimit < 64<<20 {
		errs = append(errs, fmt.Errorf("--memory-limit %d bytes is below the agent's minimum of 64MiB", o.MemoryLimit))
	}
	if o.EBPF && o.Root != "/" {
		errs = append(errs, errors.New("--ebpf loads into the running kernel and cannot be combined with --root"))
	}
	if len(errs) == 0 {
		return nil
	}
	// One line, as the EMR action reports it.
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "; "))
}

func newNode(o Options) (*node, manifest, error) {
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return nil, manifest{}, err
	}
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	m, _, err := readManifest(filepath.Join(root, manifestPath))
	if err != nil {
		return nil, m, step("record", err)
	}
	return &node{root: root, dry: o.DryRun, out: out}, m, nil
}

// Install runs every step; a failure is a *StepError naming its step.
// What was created before the failure stays recorded, so --uninstall
// still removes it.
func Install(ctx context.Context, o Options) (err error) {
	if err := o.check(); err != nil {
		return &StepError{Step: "flags", Err: err}
	}
	n, m, err := newNode(o)
	if err != nil {
		return err
	}
	n.m = &m
	before := string(m.encode())
	defer func() {
		if n.dry || string(m.encode()) == before {
			return
		}
		if _, werr := n.writeFile(manifestPath, m.encode(), 0o600, rootOwner); werr != nil && err == nil {
			err = step("record", werr)
		}
	}()

	ca, err := os.ReadFile(o.CAFile)
	if err == nil {
		_, err = tlsfiles.ClientConfig(o.CAFile, "")
	}
	if err != nil {
		return step("config", fmt.Errorf("--control-plane-ca-file: %w", err))
	}
	cfg, err := agentConfig(o)
	if err != nil {
		return step("config", err)
	}
	bin, err := os.ReadFile(o.Executable)
	if err != nil {
		return step("binary", err)
	}

	own, err := n.ensureUser(o.AgentUser)
	if err != nil {
		return step("user", err)
	}
	if err := n.mkdirs(own); err != nil {
		return step("dirs", err)
	}
	binChanged, err := n.writeFile(binaryPath, bin, 0o755, rootOwner)
	if err != nil {
		return step("binary", err)
	}
	cfgOwner := owner{0, own.gid, "root:" + o.AgentUser}
	caChanged, err := n.writeFile(caPath, ca, 0o644, rootOwner)
	if err != nil {
		return step("config", err)
	}
	cfgChanged, err := n.writeFile(configPath, cfg, 0o640, cfgOwner)
	if err != nil {
		return step("config", err)
	}
	unitChanged, err := n.writeFile(unitPath, []byte(unit(o)), 0o644, rootOwner)
	if err != nil {
		return step("unit", err)
	}
	if err := n.symlink(unitPath, wantsLink); err != nil {
		return step("unit", err)
	}
	if !n.dry {
		m.Unit = true
	}
	if !o.NoEnrol {
		if err := n.enrol(ctx, o, own); err != nil {
			return step("enrol", err)
		}
	}
	if o.SparkDefaults != "" {
		if err := n.sparkStep(o); err != nil {
			return step("spark", err)
		}
	}
	if o.EBPF {
		if err := n.ebpfStep(o, own); err != nil {
			return step("ebpf", err)
		}
	}
	changed := binChanged || caChanged || cfgChanged || unitChanged
	if err := n.systemd(o, changed); err != nil {
		return step("systemd", err)
	}
	return nil
}

func (n *node) mkdirs(own owner) error {
	for _, d := range []struct {
		path string
		mode os.FileMode
		o    owner
	}{
		{configDir, 0o750, owner{0, own.gid, "root:" + ownerName(own)}},
		{stateDir, 0o700, own},
		// systemd recreates it at each start (RuntimeDirectory=); this
		// one serves until then and in roots without systemd.
		{runDir, 0o755, own},
	} {
		if err := n.mkdir(d.path, d.mode, d.o); err != nil {
			return err
		}
	}
	return nil
}

func ownerName(o owner) string {
	for i := 0; i < len(o.name); i++ {
		if o.name[i] == ':' {
			return o.name[:i]
		}
	}
	return o.name
}

// enrol gets the node its agent certificate now, so that a node that
// cannot enrol fails its bootstrap (and the EMR bootstrap action) with
// the reason, rather than later in the agent's log.
func (n *node) enrol(ctx context.Context, o Options, own owner) error {
	if n.dry {
		n.say("enrol with the control plane at %s (%s) into %s", o.ControlPlane, o.EnrolmentMethod, stateDir)
		return nil
	}
	tc, err := tlsfiles.ClientConfig(o.CAFile, "")
	if err != nil {
		return err
	}
	node := o.NodeName
	if node == "" {
		node, _ = os.Hostname()
	}
	id, err := enrol.New(enrol.Options{
		Config: enrol.Config{Method: o.EnrolmentMethod, JoinTokenFile: o.JoinTokenFile, KubernetesTokenFile: "/var/run/secrets/nscale/token",
			IMDSURL: "http://169.254.169.254", StateDir: n.path(stateDir), NodeName: node},
		Address: o.ControlPlane, TLS: tc, CallTimeout: 10 * time.Second, Version: version.String(),
	})
	if err != nil {
		return err
	}
	defer id.Close()
	ctx, cancel := context.WithTimeout(ctx, o.EnrolTimeout)
	defer cancel()
	already, err := id.EnrolOnce(ctx)
	if err != nil {
		return err
	}
	if already {
		return nil
	}
	// The agent, not root, must own its key.
	entries, err := os.ReadDir(n.path(stateDir))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Lchown(filepath.Join(n.path(stateDir), e.Name()), own.uid, own.gid); err != nil {
			return err
		}
	}
	_, msg := id.Ready()
	fmt.Fprintln(n.out, msg)
	return nil
}

func (n *node) ebpfStep(o Options, own owner) error {
	if n.dry {
		n.say("load the eBPF connect guard for port %d on %s, pinned at %s", o.Port, o.Cgroup, o.PinDir)
		return nil
	}
	if err := ebpf.Available(); err != nil {
		return err
	}
	uids, pending, err := AllowedUIDs(n.root, o.AllowedUsers)
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		fmt.Fprintf(n.out, "eBPF guard: %s not on this node yet; the agent allows them once they exist\n", strings.Join(pending, ", "))
	}
	if err := ebpf.Install(ebpf.InstallOptions{CgroupPath: o.Cgroup, PinDir: o.PinDir, Port: uint16(o.Port), AllowedUIDs: uids,
		OwnerUID: uint32(own.uid), OwnerGID: uint32(own.gid)}); err != nil {
		return err
	}
	n.m.EBPFPinDir = o.PinDir
	fmt.Fprintf(n.out, "eBPF connect guard on port %d attached to %s, pinned at %s\n", o.Port, o.Cgroup, o.PinDir)
	return nil
}

// AllowedUIDs are the uids of users in root's /etc/passwd, for the eBPF
// guard's first allow-list. Names the node does not have yet come back as
// pending: on EMR, spark and yarn appear after the bootstrap action, and
// the agent adds them to the guard once they exist. Until then the guard
// lets no one of that name through (fail closed).
func AllowedUIDs(root string, users []string) (uids []uint32, pending []string, err error) {
	for _, u := range users {
		uid, _, ok, err := lookup(root, "/etc/passwd", u)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			pending = append(pending, u)
			continue
		}
		uids = append(uids, uint32(uid))
	}
	return uids, pending, nil
}

// systemdRunning is where systemd says it is PID 1 (sd_booted).
func systemdRunning() bool {
	fi, err := os.Stat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

// systemd loads the unit and (re)starts the agent: restart when anything
// it runs changed, start otherwise (nothing when it runs already). Start
// returns once the agent sent READY. Only on the live root.
func (n *node) systemd(o Options, changed bool) error {
	if n.root != "/" {
		fmt.Fprintf(n.out, "systemd: not called under --root %s; the unit is installed and enabled there\n", n.root)
		return nil
	}
	if !systemdRunning() {
		if n.dry {
			fmt.Fprintln(n.out, "systemd: not running on this host; the unit would be enabled for its next boot")
		} else {
			fmt.Fprintln(n.out, "systemd: not running on this host; the unit is installed and enabled for its next boot")
		}
		return nil
	}
	if err := n.run("systemctl", "daemon-reload"); err != nil {
		return err
	}
	if o.NoStart {
		return nil
	}
	verb := "start"
	if changed {
		verb = "restart"
	}
	return n.run("systemctl", verb, unitName)
}

// Uninstall stops and removes what Install recorded, newest first.
func Uninstall(o Options) error {
	n, m, err := newNode(o)
	if err != nil {
		return err
	}
	n.m = &m
	if n.root == "/" && m.Unit && systemdRunning() {
		if err := n.run("systemctl", "disable", "--now", unitName); err != nil {
			return step("systemd", err)
		}
	}
	if m.EBPFPinDir != "" {
		n.say("remove the eBPF connect guard pinned at %s", m.EBPFPinDir)
		if !n.dry {
			if err := ebpf.Uninstall(m.EBPFPinDir); err != nil {
				return step("ebpf", err)
			}
		}
	}
	if err := n.removeSparkBlock(); err != nil {
		return step("spark", err)
	}
	paths := slices.Clone(m.Paths)
	slices.Reverse(paths)
	for _, p := range paths {
		if err := n.remove(p); err != nil {
			return step("files", err)
		}
	}
	if err := n.removeUser(o.AgentUser); err != nil {
		return step("user", err)
	}
	if err := n.remove(manifestPath); err != nil {
		return step("record", err)
	}
	if n.root == "/" && m.Unit && systemdRunning() {
		if err := n.run("systemctl", "daemon-reload"); err != nil {
			return step("systemd", err)
		}
	}
	return nil
}
