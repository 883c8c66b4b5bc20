// Package ebpf is the agent's connect guard: cgroup/connect4 and
// cgroup/connect6 BPF programs that refuse connects to the agent's loopback
// Flight SQL port from uids that are not on an allow-list, so a local user
// outside the allow-list gets EPERM from connect(2) before the agent ever
// sees the connection.
//
// Install (privileged, called by `nscale-agent bootstrap --ebpf`) loads the
// programs, attaches them to a cgroup v2 directory and pins the links and
// maps under a bpffs directory; the `allowed` map pin is handed to the
// agent's user. The unprivileged agent then Opens the pins to keep the
// allow-list equal to its own (SetAllowed) and to export the per-uid
// counters (NewCollector). Uninstall detaches and removes everything.
//
// The BPF objects are generated from guard.c by bpf2go and committed (see
// generate.go); they are built for linux on 386/amd64, and on any other
// platform every entry point returns an error wrapping ErrUnsupported.
package ebpf

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/nscale/nscale/internal/apierr"
)

// DefaultPinDir is where Install pins the guard when InstallOptions.PinDir
// is empty.
const DefaultPinDir = "/sys/fs/bpf/nscale"

// Why Available (and Install) may refuse; match with errors.Is.
var (
	// ErrNotPrivileged: the process lacks CAP_BPF or CAP_NET_ADMIN.
	ErrNotPrivileged = errors.New("not privileged")
	// ErrNoBPFFS: no bpf filesystem is mounted or mountable.
	ErrNoBPFFS = errors.New("no bpf filesystem")
	// ErrKernel: the kernel refuses the program type, a helper or an attach.
	ErrKernel = errors.New("kernel refuses")
	// ErrUnsupported: this build has no BPF objects (not linux/386/amd64).
	ErrUnsupported = errors.New("unsupported platform")
)

// InstallOptions says where and how Install attaches the guard.
type InstallOptions struct {
	// CgroupPath is the cgroup v2 directory the programs are attached to;
	// every process in it or below it is guarded. Required.
	CgroupPath string
	// PinDir is a directory on bpffs for the pins; DefaultPinDir if empty.
	PinDir string
	// Port is the guarded loopback TCP port (the agent's Flight SQL port).
	Port uint16
	// AllowedUIDs is the initial allow-list; Install makes the map exactly
	// equal to it.
	AllowedUIDs []uint32
	// OwnerUID and OwnerGID own the `allowed` pin (mode 0600) so that the
	// agent running as that user can update the allow-list. Zero is root.
	OwnerUID, OwnerGID uint32
}

func (o InstallOptions) validate() (InstallOptions, error) {
	if o.PinDir == "" {
		o.PinDir = DefaultPinDir
	}
	switch {
	case o.CgroupPath == "":
		return o, apierr.New(apierr.InvalidArgument, "ebpf guard: a cgroup v2 path is required")
	case !filepath.IsAbs(o.CgroupPath):
		return o, apierr.New(apierr.InvalidArgument, "ebpf guard: cgroup path %q is not absolute", o.CgroupPath)
	case !filepath.IsAbs(o.PinDir):
		return o, apierr.New(apierr.InvalidArgument, "ebpf guard: pin directory %q is not absolute", o.PinDir)
	case o.Port == 0:
		return o, apierr.New(apierr.InvalidArgument, "ebpf guard: port must not be 0")
	}
	o.PinDir = filepath.Clean(o.PinDir)
	o.CgroupPath = filepath.Clean(o.CgroupPath)
	return o, nil
}

// Count is what the guard counted for one uid.
type Count struct {
	Allowed uint64 // connects let through
	Denied  uint64 // connects refused with EPERM
}

func unavailable(sentinel error, format string, args ...any) error {
	return &apierr.Error{
		Code:    apierr.FailedPrecondition,
		Message: "ebpf guard unavailable: " + fmt.Sprintf(format, args...),
		Err:     sentinel,
	}
}
