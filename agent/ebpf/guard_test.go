//go:build linux && (386 || amd64)

package ebpf

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/sys/unix"

	"github.com/nscale/nscale/internal/apierr"
)

const (
	cgroupRoot = "/sys/fs/cgroup/unified"
	testUser   = "nscale-test"

	envHelper     = "NSCALE_EBPF_HELPER"      // "1" in a helper process
	envDial       = "NSCALE_EBPF_DIAL"        // name=family/ip/port,...
	envPinDir     = "NSCALE_EBPF_PIN_DIR"     // Open the guard there
	envSetAllowed = "NSCALE_EBPF_SET_ALLOWED" // then SetAllowed these uids
)

// requirePrivileged skips unless the guard can really be installed here. In
// CI (CI=true) only "not root" skips: a root CI runner that cannot run the
// guard is a failure, not a skip.
func requirePrivileged(t *testing.T) (testUID, testGID uint32) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("eBPF guard tests need root (CAP_BPF, CAP_NET_ADMIN, cgroup.procs writes); running as uid %d", os.Geteuid())
	}
	fail := t.Skipf
	if os.Getenv("CI") == "true" {
		fail = t.Fatalf
	}
	if err := Available(); err != nil {
		fail("eBPF guard unavailable as root: %v", err)
	}
	if m, err := fsMagic(cgroupRoot); err != nil || m != unix.CGROUP2_SUPER_MAGIC {
		fail("no cgroup v2 at %s (mount -t cgroup2 none %s): magic %#x, %v", cgroupRoot, cgroupRoot, m, err)
	}
	u, err := user.Lookup(testUser)
	if err != nil {
		fail("user %s is needed to connect as a non-allowed uid (useradd -M %s): %v", testUser, testUser, err)
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		fail("setpriv (util-linux) is needed to run a helper as %s: %v", testUser, err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return uint32(uid), uint32(gid)
}

func randName(t *testing.T, prefix string) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// newCgroup makes a child cgroup v2 and removes it at cleanup.
func newCgroup(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(cgroupRoot, randName(t, "nscale-test-"))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("creating cgroup: %v", err)
	}
	t.Cleanup(func() {
		// Helpers have exited; move any straggler out, then rmdir (the
		// kernel may need a moment to release an exited task).
		if b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")); err == nil {
			for _, pid := range strings.Fields(string(b)) {
				os.WriteFile(filepath.Join(cgroupRoot, "cgroup.procs"), []byte(pid), 0o644)
			}
		}
		var err error
		for range 50 {
			if err = os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("removing cgroup %s: %v", dir, err)
	})
	return dir
}

// newPinDir returns a fresh, not yet existing pin directory on bpffs.
func newPinDir(t *testing.T) string {
	t.Helper()
	if err := ensureBPFFS(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(bpffsRoot, randName(t, "nscale-test-"))
	t.Cleanup(func() {
		if err := Uninstall(dir); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return dir
}

// helperBinary copies the test binary into a 0755 directory so that the
// unprivileged test user can execute it.
func helperBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "nscale-ebpf-helper-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bin := filepath.Join(dir, "helper.test")
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}

// listen serves addr, accepting and closing connections until cleanup.
func listen(t *testing.T, network, addr string) (net.Listener, error) {
	l, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l, nil
}

type target struct {
	name    string
	addr    netip.AddrPort
	guarded bool // loopback on the guarded port
}

type helperRun struct {
	bin, procs string // helper binary, cgroup.procs of the guarded cgroup
	asUser     bool   // run as testUser instead of root
	targets    []target
	env        []string
}

// run starts the helper inside the cgroup: a root shell writes its own pid
// to cgroup.procs and then execs (setpriv and) the helper, so the helper is
// in the cgroup before its first connect. It returns the helper's results
// by name.
func (h helperRun) run(t *testing.T) map[string]string {
	t.Helper()
	var dial []string
	for _, tg := range h.targets {
		fam := "4"
		if tg.addr.Addr().Is6() {
			fam = "6"
		}
		dial = append(dial, fmt.Sprintf("%s=%s/%s/%d", tg.name, fam, tg.addr.Addr(), tg.addr.Port()))
	}
	args := []string{"-c", `echo $$ > "$1" && shift && exec "$@"`, "sh", h.procs}
	if h.asUser {
		args = append(args, "setpriv", "--reuid="+testUser, "--regid="+testUser, "--clear-groups")
	}
	args = append(args, h.bin, "-test.run=^TestHelperConnect$", "-test.count=1")
	cmd := exec.Command("sh", args...)
	cmd.Env = append(os.Environ(), envHelper+"=1", envDial+"="+strings.Join(dial, ","))
	cmd.Env = append(cmd.Env, h.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper (as %s): %v\nstdout:\n%s\nstderr:\n%s", h.who(), err, stdout.String(), stderr.String())
	}
	got := map[string]string{}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "RESULT "); ok {
			name, res, _ := strings.Cut(rest, " ")
			got[name] = res
		}
	}
	return got
}

func (h helperRun) who() string {
	if h.asUser {
		return testUser
	}
	return "root"
}

// expect checks every target: guarded ones give guardedResult, the others
// "ok".
func (h helperRun) expect(t *testing.T, guardedResult string) {
	t.Helper()
	got := h.run(t)
	for _, tg := range h.targets {
		want := "ok"
		if tg.guarded {
			want = guardedResult
		}
		if got[tg.name] != want {
			t.Errorf("as %s, connect %s (%s): %q, want %q", h.who(), tg.name, tg.addr, got[tg.name], want)
		}
	}
}

// TestHelperConnect is the helper process of TestGuard, not a test.
func TestHelperConnect(t *testing.T) {
	if os.Getenv(envHelper) != "1" {
		return
	}
	if dir := os.Getenv(envPinDir); dir != "" {
		g, err := Open(dir)
		if err != nil {
			fmt.Printf("RESULT open %v\n", err)
			return
		}
		defer g.Close()
		fmt.Println("RESULT open ok")
		err = Available()
		fmt.Printf("RESULT available %v\n", errors.Is(err, ErrNotPrivileged) && apierr.Is(err, apierr.FailedPrecondition) &&
			strings.Contains(err.Error(), "lacks CAP_BPF and CAP_NET_ADMIN"))
		if list, ok := os.LookupEnv(envSetAllowed); ok {
			var uids []uint32
			for _, s := range strings.Split(list, ",") {
				u, _ := strconv.ParseUint(s, 10, 32)
				uids = append(uids, uint32(u))
			}
			fmt.Printf("RESULT setallowed %v\n", okOr(g.SetAllowed(uids)))
		}
		_, err = g.Counters()
		fmt.Printf("RESULT counters %v\n", okOr(err))
	}
	for _, spec := range strings.Split(os.Getenv(envDial), ",") {
		if spec == "" {
			continue
		}
		name, rest, _ := strings.Cut(spec, "=")
		parts := strings.Split(rest, "/")
		ip := netip.MustParseAddr(parts[1])
		port, _ := strconv.Atoi(parts[2])
		fmt.Printf("RESULT %s %s\n", name, rawConnect(parts[0], ip, port))
	}
}

func okOr(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
}

// rawConnect connects with a socket of exactly the family asked for (Go's
// dialer would use AF_INET for ::ffff:127.0.0.1) and returns "ok", "EPERM"
// or the error.
func rawConnect(family string, ip netip.Addr, port int) string {
	var (
		fd  int
		err error
		sa  unix.Sockaddr
	)
	if family == "4" {
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		sa = &unix.SockaddrInet4{Port: port, Addr: ip.As4()}
	} else {
		fd, err = unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		sa = &unix.SockaddrInet6{Port: port, Addr: ip.As16()}
	}
	if err != nil {
		return "socket: " + err.Error()
	}
	defer unix.Close(fd)
	err = unix.Connect(fd, sa)
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, syscall.EPERM):
		return "EPERM"
	default:
		return err.Error()
	}
}

// attachedPrograms returns the programs attached to cgroup for typ.
func attachedPrograms(t *testing.T, cgroup string, typ ebpf.AttachType) []ebpf.ProgramID {
	t.Helper()
	f, err := os.Open(cgroup)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := link.QueryPrograms(link.QueryOptions{Target: int(f.Fd()), Attach: typ})
	if err != nil {
		t.Fatalf("query %s programs of %s: %v", typ, cgroup, err)
	}
	var ids []ebpf.ProgramID
	for _, p := range res.Programs {
		ids = append(ids, p.ID)
	}
	return ids
}

// assertOneAttachment checks that each hook of cgroup holds exactly the
// program of the pinned link, and returns the connect4 program id.
func assertOneAttachment(t *testing.T, cgroup, pinDir string) ebpf.ProgramID {
	t.Helper()
	var first ebpf.ProgramID
	for _, c := range []struct {
		pin string
		typ ebpf.AttachType
	}{{pinConnect4, ebpf.AttachCGroupInet4Connect}, {pinConnect6, ebpf.AttachCGroupInet6Connect}} {
		l, err := link.LoadPinnedLink(filepath.Join(pinDir, c.pin), nil)
		if err != nil {
			t.Fatalf("pinned link %s: %v", c.pin, err)
		}
		info, err := l.Info()
		l.Close()
		if err != nil {
			t.Fatal(err)
		}
		ids := attachedPrograms(t, cgroup, c.typ)
		if len(ids) != 1 || ids[0] != info.Program {
			t.Errorf("%s of %s: programs %v attached, want exactly the pinned link's program %d", c.typ, cgroup, ids, info.Program)
		}
		if first == 0 {
			first = info.Program
		}
	}
	return first
}

func TestGuard(t *testing.T) {
	testUID, testGID := requirePrivileged(t)
	cg := newCgroup(t)
	pinDir := newPinDir(t)
	bin := helperBinary(t)

	l4, err := listen(t, "tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(l4.Addr().(*net.TCPAddr).Port)
	other, err := listen(t, "tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	otherPort := uint16(other.Addr().(*net.TCPAddr).Port)
	// All of 127.0.0.0/8 is local: a listener there shows the guard's /8.
	if _, err := listen(t, "tcp4", fmt.Sprintf("127.1.2.3:%d", port)); err != nil {
		t.Fatal(err)
	}

	ap := func(s string, p uint16) netip.AddrPort { return netip.AddrPortFrom(netip.MustParseAddr(s), p) }
	targets := []target{
		{"v4", ap("127.0.0.1", port), true},
		{"v4-127.1.2.3", ap("127.1.2.3", port), true},
		{"v4-any", ap("0.0.0.0", port), true},
		{"mapped", ap("::ffff:127.0.0.1", port), true},
		{"other-port", ap("127.0.0.1", otherPort), false},
	}
	if _, err := listen(t, "tcp6", fmt.Sprintf("[::1]:%d", port)); err == nil {
		targets = append(targets, target{"v6", ap("::1", port), true}, target{"v6-any", ap("::", port), true})
	} else {
		t.Logf("no IPv6 loopback (%v): ::1 not tested", err)
	}
	guarded := uint64(0)
	for _, tg := range targets {
		if tg.guarded {
			guarded++
		}
	}

	opts := InstallOptions{
		CgroupPath: cg, PinDir: pinDir, Port: port,
		AllowedUIDs: []uint32{0}, OwnerUID: testUID, OwnerGID: testGID,
	}
	if err := Install(opts); err != nil {
		t.Fatalf("Install: %v", err)
	}
	firstProg := assertOneAttachment(t, cg, pinDir)
	for name, want := range map[string]string{
		pinAllowed:  fmt.Sprintf("-rw------- %d:%d", testUID, testGID),
		pinCounters: "-rw-r--r-- 0:0", pinConfig: "-rw------- 0:0",
		pinConnect4: "-rw------- 0:0", pinConnect6: "-rw------- 0:0",
	} {
		fi, err := os.Stat(filepath.Join(pinDir, name))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if got := fmt.Sprintf("%v %d:%d", fi.Mode(), st.Uid, st.Gid); got != want {
			t.Errorf("pin %s: %s, want %s", name, got, want)
		}
	}

	procs := filepath.Join(cg, "cgroup.procs")
	root := helperRun{bin: bin, procs: procs, targets: targets}
	unpriv := helperRun{bin: bin, procs: procs, targets: targets, asUser: true}

	root.expect(t, "ok")
	unpriv.expect(t, "EPERM")

	g, err := Open(pinDir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer g.Close()
	wantCounts := func(want map[uint32]Count) {
		t.Helper()
		got, err := g.Counters()
		if err != nil {
			t.Fatalf("Counters: %v", err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("counters %v, want %v", got, want)
		}
	}
	wantCounts(map[uint32]Count{0: {Allowed: guarded}, testUID: {Denied: guarded}})

	if err := testutil.CollectAndCompare(NewCollector(g), strings.NewReader(fmt.Sprintf(`
# HELP nscale_agent_ebpf_connects_total Connects to the agent's loopback port seen by the eBPF guard, by caller uid and result (allowed or denied with EPERM).
# TYPE nscale_agent_ebpf_connects_total counter
nscale_agent_ebpf_connects_total{result="allowed",uid="0"} %[1]d
nscale_agent_ebpf_connects_total{result="denied",uid="0"} 0
nscale_agent_ebpf_connects_total{result="allowed",uid="%[2]d"} 0
nscale_agent_ebpf_connects_total{result="denied",uid="%[2]d"} %[1]d
`, guarded, testUID))); err != nil {
		t.Errorf("collector: %v", err)
	}

	// The unprivileged agent (as testUser, owner of the `allowed` pin)
	// opens the guard and allows itself.
	agent := helperRun{bin: bin, procs: procs, asUser: true, env: []string{
		envPinDir + "=" + pinDir, fmt.Sprintf("%s=0,%d", envSetAllowed, testUID),
	}}
	if got := agent.run(t); got["open"] != "ok" || got["setallowed"] != "ok" || got["counters"] != "ok" || got["available"] != "true" {
		t.Fatalf("unprivileged Open/SetAllowed/Counters: %v", got)
	}
	unpriv.expect(t, "ok")
	wantCounts(map[uint32]Count{0: {Allowed: guarded}, testUID: {Allowed: guarded, Denied: guarded}})
	if err := g.SetAllowed([]uint32{0}); err != nil {
		t.Fatalf("SetAllowed: %v", err)
	}
	unpriv.expect(t, "EPERM")

	// A second install over the pins: new programs, one attachment each,
	// the maps (and so counters and open handles) kept.
	if err := Install(opts); err != nil {
		t.Fatalf("second Install: %v", err)
	}
	if again := assertOneAttachment(t, cg, pinDir); again == firstProg {
		t.Errorf("second Install kept program %d; want a freshly loaded one", again)
	}
	root.expect(t, "ok")
	unpriv.expect(t, "EPERM")
	wantCounts(map[uint32]Count{0: {Allowed: 2 * guarded}, testUID: {Allowed: guarded, Denied: 3 * guarded}})
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}

	if err := Uninstall(pinDir); err != nil {
		t.Fatalf("Uninstall: %v", err)
	}
	if _, err := os.Stat(pinDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pin dir after Uninstall: %v", err)
	}
	for _, typ := range []ebpf.AttachType{ebpf.AttachCGroupInet4Connect, ebpf.AttachCGroupInet6Connect} {
		if ids := attachedPrograms(t, cg, typ); len(ids) != 0 {
			t.Errorf("%s programs %v still attached after Uninstall", typ, ids)
		}
	}
	unpriv.expect(t, "ok")
	if err := Uninstall(pinDir); err != nil {
		t.Errorf("Uninstall of nothing: %v", err)
	}
	if _, err := Open(pinDir); !apierr.Is(err, apierr.FailedPrecondition) {
		t.Errorf("Open after Uninstall: %v, want FailedPrecondition", err)
	}
}
