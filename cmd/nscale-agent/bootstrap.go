package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/nscale/nscale/agent/ebpf"
	"github.com/nscale/nscale/agent/enrol"
	"github.com/nscale/nscale/bootstrap"
)

// bootstrapCmd is the privileged node step (package bootstrap). With
// --ebpf and no --control-plane it installs or removes only the eBPF
// connect guard: the Kubernetes chart's init container does that, the
// DaemonSet being the rest of the install there.
func bootstrapCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bootstrap", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	withEBPF := fs.Bool("ebpf", false, "")
	uninstall := fs.Bool("uninstall", false, "")
	cgroup := fs.String("cgroup", "/sys/fs/cgroup/unified", "")
	pinDir := fs.String("pin-dir", ebpf.DefaultPinDir, "")
	port := fs.Uint("port", 7443, "")
	opsPort := fs.Uint("ops-port", 7444, "")
	allowed := fs.String("allowed-users", "", "")
	groups := fs.String("allowed-groups", "", "")
	owner := fs.String("agent-user", "nscale", "")
	root := fs.String("root", "/", "")
	dry := fs.Bool("dry-run", false, "")
	cp := fs.String("control-plane", "", "")
	ca := fs.String("control-plane-ca-file", "", "")
	method := fs.String("enrolment-method", enrol.JoinToken, "")
	tokenFile := fs.String("join-token-file", "", "")
	nodeName := fs.String("node-name", "", "")
	memLimit := fs.String("memory-limit", "1GiB", "")
	spark := fs.String("spark-defaults", "/etc/spark/conf/spark-defaults.conf", "")
	jar := fs.String("jdbc-jar", "/opt/nscale/lib/flight-sql-jdbc-driver.jar", "")
	enrolTimeout := fs.Duration("enrol-timeout", 2*time.Minute, "")
	noEnrol := fs.Bool("no-enrol", false, "")
	noStart := fs.Bool("no-start", false, "")
	socketDir := fs.String("socket-dir", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, bootstrapUsage)
			return 0
		}
		fmt.Fprintf(stderr, "nscale-agent bootstrap: %v\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "nscale-agent bootstrap: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *socketDir != "" {
		if *cp != "" || *withEBPF || *uninstall || *dry || *root != "/" {
			fmt.Fprintln(stderr, "nscale-agent bootstrap: --socket-dir prepares only the socket directory; it takes only --agent-user")
			return 2
		}
		return socketDirOnly(*socketDir, *owner, stdout, stderr)
	}
	if *withEBPF && *cp == "" && *root == "/" && !*dry {
		return ebpfOnly(*uninstall, *cgroup, *pinDir, *port, *allowed, *owner, stdout, stderr)
	}
	mem, err := parseSize(*memLimit)
	if err != nil {
		fmt.Fprintf(stderr, "nscale-agent bootstrap: --memory-limit: %v\n", err)
		return 2
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "nscale-agent bootstrap: binary: %v\n", err)
		return 1
	}
	o := bootstrap.Options{Root: *root, DryRun: *dry, Out: stdout, Executable: exe, AgentUser: *owner,
		ControlPlane: *cp, CAFile: *ca, EnrolmentMethod: *method, JoinTokenFile: *tokenFile, NodeName: *nodeName,
		Port: int(*port), OpsPort: int(*opsPort), AllowedUsers: splitList(*allowed), AllowedGroups: splitList(*groups),
		MemoryLimit: mem, SparkDefaults: *spark, JDBCJar: *jar, EnrolTimeout: *enrolTimeout, NoEnrol: *noEnrol,
		NoStart: *noStart, EBPF: *withEBPF, Cgroup: *cgroup, PinDir: *pinDir}
	if os.Geteuid() != 0 && !*dry {
		fmt.Fprintln(stderr, "nscale-agent bootstrap: must run as root (it creates a system user and installs a service); --dry-run shows what it would do")
		return 1
	}
	if *uninstall {
		err = bootstrap.Uninstall(o)
	} else {
		err = bootstrap.Install(context.Background(), o)
	}
	if err != nil {
		var se *bootstrap.StepError
		code := 1
		if errors.As(err, &se) && se.Step == "flags" {
			code = 2
		}
		fmt.Fprintf(stderr, "nscale-agent bootstrap: %s\n", oneLine(err.Error()))
		return code
	}
	return 0
}

// oneLine keeps a failure on the single line the EMR action reports.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// parseSize reads bytes with an optional KiB, MiB or GiB suffix.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q: want a size such as 1GiB, 512MiB or a number of bytes", s)
	}
	return v * mult, nil
}

func ebpfOnly(uninstall bool, cgroup, pinDir string, port uint, allowed, owner string, stdout, stderr io.Writer) int {
	if uninstall {
		if err := ebpf.Uninstall(pinDir); err != nil {
			fmt.Fprintf(stderr, "nscale-agent bootstrap --ebpf --uninstall: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "removed the eBPF connect guard pinned at %s\n", pinDir)
		return 0
	}
	if port == 0 || port > 65535 {
		fmt.Fprintf(stderr, "nscale-agent bootstrap: --port %d is not a port\n", port)
		return 2
	}
	uids, pending, err := bootstrap.AllowedUIDs("/", splitList(allowed))
	if err != nil {
		fmt.Fprintf(stderr, "nscale-agent bootstrap: --allowed-users: %v\n", err)
		return 2
	}
	if len(pending) > 0 {
		fmt.Fprintf(stdout, "eBPF guard: %s not on this node yet; the agent allows them once they exist\n", strings.Join(pending, ", "))
	}
	ouid, ogid, err := agentOwner(owner)
	if err != nil {
		fmt.Fprintf(stderr, "nscale-agent bootstrap: --agent-user %q: %v\n", owner, err)
		return 2
	}
	if err := ebpf.Available(); err != nil {
		fmt.Fprintf(stderr, "nscale-agent bootstrap --ebpf: %v\n", err)
		return 1
	}
	if err := ebpf.Install(ebpf.InstallOptions{CgroupPath: cgroup, PinDir: pinDir, Port: uint16(port), AllowedUIDs: uids,
		OwnerUID: ouid, OwnerGID: ogid}); err != nil {
		fmt.Fprintf(stderr, "nscale-agent bootstrap --ebpf: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "eBPF connect guard on port %d attached to %s, pinned at %s, %d allowed uid(s), allow-list owned by %s\n",
		port, cgroup, pinDir, len(uids), owner)
	return 0
}

// socketDirOnly is the chart's socket-dir init container: the hostPath
// the kubelet created as root becomes the agent's.
func socketDirOnly(dir, owner string, stdout, stderr io.Writer) int {
	uid, gid, err := agentOwner(owner)
	if err != nil {
		fmt.Fprintf(stderr, "nscale-agent bootstrap: --agent-user %q: %v\n", owner, err)
		return 2
	}
	if err := bootstrap.PrepareSocketDir(dir, int(uid), int(gid)); err != nil {
		fmt.Fprintf(stderr, "nscale-agent bootstrap: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "socket directory %s: owner %d:%d, mode %04o\n", dir, uid, gid, bootstrap.SocketDirMode)
	return 0
}

// agentOwner is a user name, or a numeric uid (containers often have no
// passwd entry for the agent's user); a bare uid is its own group.
func agentOwner(name string) (uint32, uint32, error) {
	if id, err := strconv.ParseUint(name, 10, 32); err == nil {
		return uint32(id), uint32(id), nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, err
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return uint32(uid), uint32(gid), nil
}

const bootstrapUsage = `nscale-agent bootstrap [flags]   (as root; idempotent)

Sets up the node: the nscale system user and group, /etc/nscale (agent.yaml,
control-plane-ca.crt), /var/lib/nscale, /run/nscale, /usr/local/bin/nscale-agent,
the systemd unit nscale-agent.service (Type=notify, sandboxed, enabled), the
node's enrolment, the Spark settings in spark-defaults.conf, and with --ebpf
the eBPF connect guard. A failure prints one line naming its step.

  --root DIR                 install under DIR instead of / (tests, image builds); no systemctl there
  --dry-run                  print every action, change nothing
  --uninstall                reverse every action bootstrap recorded (/etc/nscale/bootstrap.json)
  --control-plane HOST:PORT  the control plane's agent API (required)
  --control-plane-ca-file F  CA bundle verifying it, copied to /etc/nscale/control-plane-ca.crt (required)
  --enrolment-method M       join_token (default), aws_iid or kubernetes
  --join-token-file FILE     the join token (join_token); the enrolment step uses it up
  --node-name NAME           default: the host name
  --port N                   Flight SQL on 127.0.0.1 (default 7443)
  --ops-port N               /livez /readyz /metrics on 127.0.0.1 (default 7444)
  --allowed-users LIST       local users who may call the agent, e.g. spark,yarn,hadoop
  --allowed-groups LIST      local groups who may call the agent
  --agent-user NAME          the agent's user (default nscale)
  --memory-limit SIZE        the unit's MemoryMax (default 1GiB); GOMEMLIMIT is 90%, flight.memory_budget half
  --spark-defaults FILE      default /etc/spark/conf/spark-defaults.conf; "" skips the Spark settings
  --jdbc-jar PATH            the Flight SQL JDBC driver on the node (default /opt/nscale/lib/flight-sql-jdbc-driver.jar)
  --enrol-timeout DUR        bound on the enrolment step (default 2m)
  --no-enrol                 skip the enrolment step (image builds); the agent enrols when it starts
  --no-start                 install and enable the unit, do not (re)start it
  --ebpf                     also load and pin the eBPF connect guard (--cgroup, --pin-dir)
  --cgroup DIR               cgroup v2 directory to guard (default /sys/fs/cgroup/unified: the whole node)
  --pin-dir DIR              bpffs directory for the pins (default /sys/fs/bpf/nscale)

--ebpf without --control-plane installs (or with --uninstall removes) only the
eBPF guard: the Kubernetes chart's privileged init container runs that;
--agent-user may then be a numeric uid.

--socket-dir DIR [--agent-user UID] only makes DIR (a node's hostPath) a
directory owned by the agent's user, mode 0750, refusing a symlink or a file
there: the chart's socket-dir init container runs that (it needs CAP_CHOWN).
`
