package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"
	"strconv"
	"strings"

	"github.com/nscale/nscale/agent/ebpf"
)

// bootstrapCmd is the privileged node step. So far it installs or removes
// the eBPF connect guard; the rest of the node bootstrap (user, dirs,
// systemd unit, enrolment, Spark settings) comes with the packaging work.
func bootstrapCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bootstrap", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	withEBPF := fs.Bool("ebpf", false, "")
	uninstall := fs.Bool("uninstall", false, "")
	cgroup := fs.String("cgroup", "/sys/fs/cgroup/unified", "")
	pinDir := fs.String("pin-dir", ebpf.DefaultPinDir, "")
	port := fs.Uint("port", 7443, "")
	allowed := fs.String("allowed-users", "", "")
	owner := fs.String("agent-user", "nscale", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, bootstrapUsage)
			return 0
		}
		fmt.Fprintf(stderr, "nscale-agent bootstrap: %v\n", err)
		return 2
	}
	if !*withEBPF {
		fmt.Fprintln(stderr, "nscale-agent bootstrap: only --ebpf is implemented so far (the node bootstrap comes with the packaging work)")
		return 2
	}
	if *uninstall {
		if err := ebpf.Uninstall(*pinDir); err != nil {
			fmt.Fprintf(stderr, "nscale-agent bootstrap --ebpf --uninstall: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "removed the eBPF connect guard pinned at %s\n", *pinDir)
		return 0
	}
	if *port == 0 || *port > 65535 {
		fmt.Fprintf(stderr, "nscale-agent bootstrap: --port %d is not a port\n", *port)
		return 2
	}
	uids, err := lookupUIDs(*allowed)
	if err != nil {
		fmt.Fprintf(stderr, "nscale-agent bootstrap: --allowed-users: %v\n", err)
		return 2
	}
	u, err := user.Lookup(*owner)
	if err != nil {
		fmt.Fprintf(stderr, "nscale-agent bootstrap: --agent-user %q: %v\n", *owner, err)
		return 2
	}
	ouid, _ := strconv.ParseUint(u.Uid, 10, 32)
	ogid, _ := strconv.ParseUint(u.Gid, 10, 32)
	if err := ebpf.Available(); err != nil {
		fmt.Fprintf(stderr, "nscale-agent bootstrap --ebpf: %v\n", err)
		return 1
	}
	if err := ebpf.Install(ebpf.InstallOptions{CgroupPath: *cgroup, PinDir: *pinDir, Port: uint16(*port), AllowedUIDs: uids,
		OwnerUID: uint32(ouid), OwnerGID: uint32(ogid)}); err != nil {
		fmt.Fprintf(stderr, "nscale-agent bootstrap --ebpf: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "eBPF connect guard on port %d attached to %s, pinned at %s, %d allowed uid(s), allow-list owned by %s\n",
		*port, *cgroup, *pinDir, len(uids), *owner)
	return 0
}

func lookupUIDs(list string) ([]uint32, error) {
	var out []uint32
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		u, err := user.Lookup(name)
		if err != nil {
			return nil, err
		}
		id, err := strconv.ParseUint(u.Uid, 10, 32)
		if err != nil {
			return nil, err
		}
		out = append(out, uint32(id))
	}
	return out, nil
}

const bootstrapUsage = `nscale-agent bootstrap --ebpf [flags]   (as root)

Installs the eBPF connect guard: cgroup/connect4 and connect6 programs that
let only the allowed users connect to the agent's loopback port, pinned so
the unprivileged agent keeps the allow-list and exports the counters.

  --cgroup DIR          cgroup v2 directory to guard (default /sys/fs/cgroup/unified: the whole node)
  --pin-dir DIR         bpffs directory for the pins (default /sys/fs/bpf/nscale)
  --port N              the agent's Flight SQL port (default 7443)
  --allowed-users LIST  initial allow-list, e.g. spark,yarn,hadoop (the agent replaces it with flight.allowed_*)
  --agent-user NAME     the agent's user, who may update the allow-list (default nscale)
  --uninstall           detach the guard and remove every pin
`
