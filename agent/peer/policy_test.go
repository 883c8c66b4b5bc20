package peer

import (
	"os"
	"os/user"
	"sort"
	"strconv"
	"testing"
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
	if _, err := NewPolicy(nil, []string{"no-such-user-nscale"}, nil); err == nil {
		t.Error("an unknown user name was accepted")
	}
	if _, err := NewPolicy(nil, nil, []string{"no-such-group-nscale"}); err == nil {
		t.Error("an unknown group name was accepted")
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
