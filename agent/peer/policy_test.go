package peer

import (
	"os"
	"os/exec"
	"os/user"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPolicy(t *testing.T) {
	if p, err := NewPolicy(nil, nil, nil); p != nil || err != nil || !p.Allow(Cred{}) {
		t.Fatalf("empty policy = %v, %v; want nil, which allows everyone", p, err)
	}
	p, err := NewPolicy([]int{1234}, []string{"root"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		c    Cred
		want bool
	}{
		{Cred{UID: 1234, Known: true}, true},
		{Cred{UID: 0, Known: true, Via: "tcp"}, true},
		{Cred{UID: 4321, Known: true}, false},
		{Cred{UID: 1234, Known: false}, false}, // unknown caller: fail closed
	} {
		if got := p.Allow(tc.c); got != tc.want {
			t.Errorf("Allow(%+v) = %v, want %v", tc.c, got, tc.want)
		}
	}
	// A name the node does not have yet allows no one and is said so.
	pp, err := NewPolicy(nil, []string{"no-such-user-nscale"}, []string{"no-such-group-nscale"})
	if err != nil {
		t.Fatal(err)
	}
	if got := pp.Pending(); len(got) != 2 || got[0] != "user no-such-user-nscale" || got[1] != "group no-such-group-nscale" {
		t.Errorf("Pending = %q", got)
	}
	if !strings.Contains(pp.String(), "not on this node yet: user no-such-user-nscale") {
		t.Errorf("String = %q does not name the pending user", pp.String())
	}
	for _, c := range []Cred{{UID: 0, Known: true, Via: "tcp"}, {UID: 1000, GID: 1000, Known: true, Via: "unix"}} {
		if pp.Allow(c) {
			t.Errorf("a policy of pending names allowed %+v", c)
		}
	}
	if len(pp.UIDs()) != 0 || pp.Refresh() {
		t.Errorf("pending names gave uids %v", pp.UIDs())
	}
	if _, err := NewPolicy([]int{-1}, nil, nil); err == nil {
		t.Error("uid -1 was accepted")
	}
	// Groups: root's primary group (gid 0) allows uid 0 over TCP, where
	// only the uid is known, through the user database.
	g, err := user.LookupGroupId("0")
	if err != nil {
		t.Skip("no group 0 here")
	}
	gp, err := NewPolicy(nil, nil, []string{g.Name})
	if err != nil {
		t.Fatal(err)
	}
	if !gp.Allow(Cred{UID: 0, Known: true, Via: "tcp"}) {
		t.Error("a member of an allowed group was refused")
	}
	if u, err := user.Lookup("nscale-test"); err == nil {
		id, _ := strconv.Atoi(u.Uid)
		if gp.Allow(Cred{UID: uint32(id), GID: 0, Known: true, Via: "tcp"}) {
			t.Error("a TCP caller outside the group was allowed (a TCP peer's gid is not known)")
		}
	}
}

func TestGroupMembers(t *testing.T) {
	dir := t.TempDir()
	passwd := dir + "/passwd"
	group := dir + "/group"
	os.WriteFile(passwd, []byte("root:x:0:0::/root:/bin/sh\nspark:x:1001:1001::/home/spark:/bin/sh\nyarn:x:1002:1002::/:/bin/sh\nbob:x:1003:1003::/:/bin/sh\n"), 0o644)
	os.WriteFile(group, []byte("spark:x:1001:\nhadoop:x:2000:yarn,spark\nbob:x:1003:\n"), 0o644)
	got := groupMembers(map[uint32]bool{2000: true}, passwd, group)
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	if len(got) != 2 || got[0] != 1001 || got[1] != 1002 {
		t.Fatalf("members of hadoop = %v, want [1001 1002]", got)
	}
	if got := groupMembers(map[uint32]bool{1003: true}, passwd, group); len(got) != 1 || got[0] != 1003 {
		t.Fatalf("primary-group members of bob = %v", got)
	}
}

// A user created after the agent started (EMR makes spark and yarn when it
// installs the applications, after the bootstrap action) is allowed once it
// exists: by Refresh, or by a refused call after pendingRetry.
func TestPolicyPendingUserAppears(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creates a system user: needs root (CI runs as root)")
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		t.Skip("useradd missing")
	}
	name := "nscale-pend-" + strconv.Itoa(os.Getpid()%100000)
	p, err := NewPolicy(nil, []string{name}, nil)
	if err != nil || len(p.Pending()) != 1 {
		t.Fatalf("NewPolicy: %v, pending %v", err, p.Pending())
	}
	if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("userdel", name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := strconv.Atoi(u.Uid)
	c := Cred{UID: uint32(id), Known: true, Via: "tcp"}
	// Within pendingRetry of the last lookup a refused call does not read
	// the user database again.
	if p.Allow(c) {
		t.Fatal("allowed before the policy looked again")
	}
	if !p.Refresh() || len(p.Pending()) != 0 || !p.Allow(c) {
		t.Fatalf("after Refresh: pending %v, allow %v", p.Pending(), p.Allow(c))
	}
	if uids := p.UIDs(); len(uids) != 1 || uids[0] != uint32(id) {
		t.Fatalf("UIDs = %v, want [%d]", uids, id)
	}

	// And without Refresh: a refused call after pendingRetry looks again.
	q, err := NewPolicy(nil, []string{name + "x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	q.users = []string{name} // as if name+"x" had just been created
	q.resolved = time.Now().Add(-pendingRetry)
	if !q.Allow(c) {
		t.Fatal("a refused call after pendingRetry did not look the pending name up again")
	}
}
