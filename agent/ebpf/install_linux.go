//go:build linux && (386 || amd64)

package ebpf

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/nscale/nscale/internal/apierr"
)

// bpffsRoot is where Install mounts bpffs when it is not mounted yet.
const bpffsRoot = "/sys/fs/bpf"

// Pin names under the pin directory.
const (
	pinConfig   = "config"
	pinAllowed  = "allowed"
	pinCounters = "counters"
	pinConnect4 = "connect4_link"
	pinConnect6 = "connect6_link"
	// pinNewSuffix marks a pin being replaced: it is pinned beside the old
	// one and renamed over it, so the path never goes missing. (bpffs
	// refuses names with a dot: EPERM.)
	pinNewSuffix = "_new"
)

// Capability numbers (linux/capability.h).
const (
	capNetAdmin = 12
	capSysAdmin = 21
	capBPF      = 39
)

// Available says precisely why this process cannot install the guard: it
// lacks CAP_BPF (or CAP_SYS_ADMIN) or CAP_NET_ADMIN (ErrNotPrivileged),
// there is no bpf filesystem at /sys/fs/bpf and the kernel cannot mount one
// (ErrNoBPFFS), or the kernel refuses cgroup sock_addr programs or the
// bpf_get_current_uid_gid helper in them (ErrKernel). It returns nil when
// Install can work. It changes nothing.
func Available() error {
	eff, err := effectiveCaps()
	if err != nil {
		return unavailable(ErrNotPrivileged, "reading capabilities: %v", err)
	}
	var missing []string
	if eff&(1<<capBPF) == 0 && eff&(1<<capSysAdmin) == 0 {
		missing = append(missing, "CAP_BPF")
	}
	if eff&(1<<capNetAdmin) == 0 {
		missing = append(missing, "CAP_NET_ADMIN")
	}
	if len(missing) > 0 {
		return unavailable(ErrNotPrivileged, "process (uid %d) lacks %s; run the bootstrap as root",
			os.Geteuid(), strings.Join(missing, " and "))
	}
	if ok, err := isBPFFS(bpffsRoot); err != nil || !ok {
		has, ferr := kernelHasFS("bpf")
		switch {
		case ferr != nil:
			return unavailable(ErrNoBPFFS, "%s is not a bpf filesystem and /proc/filesystems is unreadable: %v", bpffsRoot, ferr)
		case !has:
			return unavailable(ErrNoBPFFS, "%s is not a bpf filesystem and the kernel has none (CONFIG_BPF_SYSCALL)", bpffsRoot)
		}
	}
	if err := features.HaveProgramType(ebpf.CGroupSockAddr); err != nil {
		return unavailable(ErrKernel, "cgroup/connect programs (BPF_PROG_TYPE_CGROUP_SOCK_ADDR): %v", err)
	}
	if err := features.HaveProgramHelper(ebpf.CGroupSockAddr, asm.FnGetCurrentUidGid); err != nil {
		return unavailable(ErrKernel, "bpf_get_current_uid_gid in cgroup/connect programs: %v", err)
	}
	return nil
}

// effectiveCaps reads CapEff of this process.
func effectiveCaps() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no CapEff line in /proc/self/status")
}

func kernelHasFS(name string) (bool, error) {
	b, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[len(f)-1] == name {
			return true, nil
		}
	}
	return false, nil
}

func fsMagic(path string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return int64(st.Type), nil
}

func isBPFFS(path string) (bool, error) {
	m, err := fsMagic(path)
	return err == nil && m == unix.BPF_FS_MAGIC, err
}

// ensureBPFFS mounts bpffs at bpffsRoot unless one is mounted there.
func ensureBPFFS() error {
	if ok, _ := isBPFFS(bpffsRoot); ok {
		return nil
	}
	if err := os.MkdirAll(bpffsRoot, 0o755); err != nil {
		return unavailable(ErrNoBPFFS, "creating %s: %v", bpffsRoot, err)
	}
	if err := unix.Mount("bpf", bpffsRoot, "bpf", 0, "mode=0755"); err != nil {
		return unavailable(ErrNoBPFFS, "mount -t bpf bpf %s: %v", bpffsRoot, err)
	}
	return nil
}

// Install loads the guard, attaches it to opts.CgroupPath and pins it under
// opts.PinDir (see the package doc). It mounts bpffs at /sys/fs/bpf when
// none is mounted. Installing over an earlier install replaces it without a
// window in which the cgroup is unguarded: the new links are attached before
// the old ones are detached, each pin is renamed over its predecessor, and
// the pinned maps are reused (so counters and the agent's open handles
// survive) when their layout is unchanged. Running it again with the same
// options leaves exactly one attachment of each program. The `allowed` map
// is made exactly equal to opts.AllowedUIDs.
func Install(opts InstallOptions) (err error) {
	opts, err = opts.validate()
	if err != nil {
		return err
	}
	if err := Available(); err != nil {
		return err
	}
	if err := ensureBPFFS(); err != nil {
		return err
	}
	if err := os.MkdirAll(opts.PinDir, 0o755); err != nil {
		return apierr.Wrap(apierr.FailedPrecondition, err, "ebpf guard: creating pin directory %s", opts.PinDir)
	}
	if ok, _ := isBPFFS(opts.PinDir); !ok {
		return apierr.New(apierr.FailedPrecondition, "ebpf guard: pin directory %s is not on a bpf filesystem", opts.PinDir)
	}
	// The agent's user must be able to reach its pins.
	if err := os.Chmod(opts.PinDir, 0o755); err != nil {
		return apierr.Wrap(apierr.Internal, err, "ebpf guard: chmod %s", opts.PinDir)
	}
	unlock, err := lockDir(opts.PinDir)
	if err != nil {
		return err
	}
	defer unlock()

	if m, err := fsMagic(opts.CgroupPath); err != nil {
		return apierr.Wrap(apierr.FailedPrecondition, err, "ebpf guard: cgroup %s", opts.CgroupPath)
	} else if m != unix.CGROUP2_SUPER_MAGIC {
		return apierr.New(apierr.FailedPrecondition, "ebpf guard: %s is not a cgroup v2 directory", opts.CgroupPath)
	}

	spec, err := loadGuard()
	if err != nil {
		return apierr.Wrap(apierr.Internal, err, "ebpf guard: reading the embedded BPF objects")
	}

	// Reuse pinned maps whose layout still matches.
	replace := map[string]*ebpf.Map{}
	defer func() {
		for _, m := range replace {
			m.Close()
		}
	}()
	for _, name := range []string{pinConfig, pinAllowed, pinCounters} {
		path := filepath.Join(opts.PinDir, name)
		m, err := ebpf.LoadPinnedMap(path, nil)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return apierr.Wrap(apierr.FailedPrecondition, err, "ebpf guard: opening stale pin %s", path)
		}
		if spec.Maps[name].Compatible(m) != nil {
			m.Close() // a new map is pinned over it below
			continue
		}
		replace[name] = m
	}

	// Links of an earlier install, detached once the new ones are attached.
	var old []link.Link
	defer func() {
		for _, l := range old {
			l.Close()
		}
	}()
	for _, name := range []string{pinConnect4, pinConnect6} {
		path := filepath.Join(opts.PinDir, name)
		l, err := link.LoadPinnedLink(path, nil)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return apierr.Wrap(apierr.FailedPrecondition, err, "ebpf guard: opening stale pin %s", path)
		}
		old = append(old, l)
	}

	var objs guardObjects
	if err := spec.LoadAndAssign(&objs, &ebpf.CollectionOptions{MapReplacements: replace}); err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			return unavailable(ErrKernel, "the verifier rejected the guard: %+v", verr)
		}
		return unavailable(ErrKernel, "loading the guard: %v", err)
	}
	defer objs.Close()

	if err := objs.Config.Put(uint32(0), uint32(opts.Port)); err != nil {
		return apierr.Wrap(apierr.Internal, err, "ebpf guard: writing the port")
	}
	if err := setAllowed(objs.Allowed, opts.AllowedUIDs); err != nil {
		return err
	}

	// Attach the new programs; until they are pinned, closing them detaches.
	var attached []link.Link
	pinned := false
	defer func() {
		if !pinned {
			for _, l := range attached {
				l.Close()
			}
		}
	}()
	for _, a := range []struct {
		name string
		typ  ebpf.AttachType
		prog *ebpf.Program
	}{
		{pinConnect4, ebpf.AttachCGroupInet4Connect, objs.GuardConnect4},
		{pinConnect6, ebpf.AttachCGroupInet6Connect, objs.GuardConnect6},
	} {
		l, err := link.AttachCgroup(link.CgroupOptions{Path: opts.CgroupPath, Attach: a.typ, Program: a.prog})
		if err != nil {
			return unavailable(ErrKernel, "attaching %s to cgroup %s: %v", a.name, opts.CgroupPath, err)
		}
		attached = append(attached, l)
	}

	// Pin the new links over the old ones, then detach the old ones.
	for i, name := range []string{pinConnect4, pinConnect6} {
		if err := pinOver(attached[i], filepath.Join(opts.PinDir, name)); err != nil {
			return err
		}
	}
	pinned = true
	for _, l := range old {
		// Detach even if some other process still holds the link open.
		if err := l.Detach(); err != nil && !errors.Is(err, link.ErrNotSupported) {
			return unavailable(ErrKernel, "detaching the previous guard: %v", err)
		}
	}
	for _, l := range attached {
		l.Close() // pinned: stays attached
	}

	for _, m := range []struct {
		name string
		m    *ebpf.Map
	}{{pinConfig, objs.Config}, {pinAllowed, objs.Allowed}, {pinCounters, objs.Counters}} {
		if _, reused := replace[m.name]; reused {
			continue
		}
		if err := pinOver(m.m, filepath.Join(opts.PinDir, m.name)); err != nil {
			return err
		}
	}

	// Ownership and modes: the agent's user updates `allowed` and reads
	// `counters`; the rest stays root's.
	for _, p := range []struct {
		name     string
		uid, gid uint32
		mode     os.FileMode
	}{
		{pinConfig, 0, 0, 0o600},
		{pinAllowed, opts.OwnerUID, opts.OwnerGID, 0o600},
		{pinCounters, 0, 0, 0o644},
		{pinConnect4, 0, 0, 0o600},
		{pinConnect6, 0, 0, 0o600},
	} {
		path := filepath.Join(opts.PinDir, p.name)
		if err := os.Chown(path, int(p.uid), int(p.gid)); err != nil {
			return apierr.Wrap(apierr.Internal, err, "ebpf guard: chown %s", path)
		}
		if err := os.Chmod(path, p.mode); err != nil {
			return apierr.Wrap(apierr.Internal, err, "ebpf guard: chmod %s", path)
		}
	}
	return nil
}

// pinner is what ebpf.Map and link.Link have in common.
type pinner interface{ Pin(string) error }

// pinOver pins obj at path, replacing whatever is pinned there in one
// rename, so that path never goes missing.
func pinOver(obj pinner, path string) error {
	tmp := path + pinNewSuffix
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return apierr.Wrap(apierr.Internal, err, "ebpf guard: removing leftover %s", tmp)
	}
	if err := obj.Pin(tmp); err != nil {
		return apierr.Wrap(apierr.Internal, err, "ebpf guard: pinning %s", tmp)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return apierr.Wrap(apierr.Internal, err, "ebpf guard: renaming %s over %s", tmp, path)
	}
	return nil
}

// lockDir holds an exclusive flock on dir so that concurrent installs (or an
// install racing an uninstall) do not interleave.
func lockDir(dir string) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, apierr.Wrap(apierr.Internal, err, "ebpf guard: opening %s", dir)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, apierr.Wrap(apierr.Internal, err, "ebpf guard: locking %s", dir)
	}
	return func() { f.Close() }, nil
}

// Uninstall detaches the guard pinned under pinDir (DefaultPinDir if empty)
// and removes every pin and the directory. Missing pins are fine; so is a
// missing directory.
func Uninstall(pinDir string) error {
	if pinDir == "" {
		pinDir = DefaultPinDir
	}
	pinDir = filepath.Clean(pinDir)
	if _, err := os.Stat(pinDir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	unlock, err := lockDir(pinDir)
	if err != nil {
		return err
	}
	defer unlock()
	for _, name := range []string{pinConnect4, pinConnect6} {
		path := filepath.Join(pinDir, name)
		l, err := link.LoadPinnedLink(path, nil)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return apierr.Wrap(apierr.FailedPrecondition, err, "ebpf guard: opening pin %s", path)
		}
		derr := l.Detach()
		uerr := l.Unpin()
		l.Close()
		if derr != nil && !errors.Is(derr, link.ErrNotSupported) {
			return unavailable(ErrKernel, "detaching %s: %v", path, derr)
		}
		if uerr != nil {
			return apierr.Wrap(apierr.Internal, uerr, "ebpf guard: unpinning %s", path)
		}
	}
	for _, name := range []string{pinConfig, pinAllowed, pinCounters, pinConnect4, pinConnect6} {
		for _, path := range []string{filepath.Join(pinDir, name), filepath.Join(pinDir, name+pinNewSuffix)} {
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return apierr.Wrap(apierr.Internal, err, "ebpf guard: removing %s", path)
			}
		}
	}
	if err := os.Remove(pinDir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return apierr.Wrap(apierr.FailedPrecondition, err, "ebpf guard: removing %s", pinDir)
	}
	return nil
}
