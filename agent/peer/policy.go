package peer

import (
	"fmt"
	"os"
	"os/user"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Policy is the allow-list of local callers: uids, user names and groups
// (a caller in one of the groups, as its primary group or a supplementary
// one, is allowed). Names are resolved when the policy is made, so a typo
// stops the agent at start rather than locking everyone out quietly.
type Policy struct {
	uids map[uint32]bool
	gids map[uint32]bool
	desc string

	mu     sync.Mutex
	groups map[uint32]cachedGroups // supplementary groups of a uid
}

type cachedGroups struct {
	gids []uint32
	at   time.Time
}

// groupsTTL bounds how stale a uid's group memberships may be.
const groupsTTL = time.Minute

// NewPolicy resolves the allow-list; all three empty is nil (every local
// caller is served, as before the allow-list existed).
func NewPolicy(uids []int, users, groups []string) (*Policy, error) {
	if len(uids) == 0 && len(users) == 0 && len(groups) == 0 {
		return nil, nil
	}
	p := &Policy{uids: map[uint32]bool{}, gids: map[uint32]bool{}, groups: map[uint32]cachedGroups{}}
	for _, u := range uids {
		if u < 0 || u > 1<<32-2 {
			return nil, fmt.Errorf("flight.allowed_uids: %d is not a uid", u)
		}
		p.uids[uint32(u)] = true
	}
	for _, name := range users {
		u, err := user.Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("flight.allowed_users: %q: %w", name, err)
		}
		id, err := strconv.ParseUint(u.Uid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("flight.allowed_users: %q has uid %q", name, u.Uid)
		}
		p.uids[uint32(id)] = true
	}
	for _, name := range groups {
		g, err := user.LookupGroup(name)
		if err != nil {
			return nil, fmt.Errorf("flight.allowed_groups: %q: %w", name, err)
		}
		id, err := strconv.ParseUint(g.Gid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("flight.allowed_groups: %q has gid %q", name, g.Gid)
		}
		p.gids[uint32(id)] = true
	}
	p.desc = describe(p.uids, "uids") + describe(p.gids, "gids")
	return p, nil
}

func describe(m map[uint32]bool, what string) string {
	if len(m) == 0 {
		return ""
	}
	var ids []string
	for id := range m {
		ids = append(ids, strconv.FormatUint(uint64(id), 10))
	}
	sort.Strings(ids)
	return " " + what + " " + strings.Join(ids, ",")
}

// String says what the policy allows, for the start-up log.
func (p *Policy) String() string {
	if p == nil {
		return "every local user"
	}
	return strings.TrimSpace(p.desc)
}

// Allow reports whether c may use the agent. A nil policy allows every
// caller; a caller whose uid could not be read is never allowed by a
// policy (fail closed).
func (p *Policy) Allow(c Cred) bool {
	if p == nil {
		return true
	}
	if !c.Known {
		return false
	}
	if p.uids[c.UID] {
		return true
	}
	if len(p.gids) == 0 {
		return false
	}
	if c.Via == "unix" && p.gids[c.GID] {
		return true
	}
	for _, g := range p.groupsOf(c.UID) {
		if p.gids[g] {
			return true
		}
	}
	return false
}

// groupsOf are the uid's primary and supplementary groups, from the
// system's user database, cached for groupsTTL.
func (p *Policy) groupsOf(uid uint32) []uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.groups[uid]; ok && time.Since(c.at) < groupsTTL {
		return c.gids
	}
	var out []uint32
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		ids, _ := u.GroupIds()
		for _, s := range append(ids, u.Gid) {
			if g, err := strconv.ParseUint(s, 10, 32); err == nil {
				out = append(out, uint32(g))
			}
		}
	}
	if len(p.groups) > 10_000 {
		clear(p.groups) // bounded: a node has few uids that call
	}
	p.groups[uid] = cachedGroups{gids: out, at: time.Now()}
	return out
}

// UIDs are the uids the policy allows, for the eBPF connect guard's map:
// the listed uids and users, and the members of the listed groups (their
// primary group from /etc/passwd, supplementary ones from /etc/group).
func (p *Policy) UIDs() []uint32 {
	set := map[uint32]bool{}
	for u := range p.uids {
		set[u] = true
	}
	if len(p.gids) > 0 {
		for _, u := range groupMembers(p.gids, "/etc/passwd", "/etc/group") {
			set[u] = true
		}
	}
	out := make([]uint32, 0, len(set))
	for u := range set {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// groupMembers reads the uids whose primary group is in gids, and those of
// the users listed as members of those groups.
func groupMembers(gids map[uint32]bool, passwdFile, groupFile string) []uint32 {
	byName := map[string]uint32{}
	var out []uint32
	if b, err := os.ReadFile(passwdFile); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Split(line, ":")
			if len(f) < 4 {
				continue
			}
			uid, err1 := strconv.ParseUint(f[2], 10, 32)
			gid, err2 := strconv.ParseUint(f[3], 10, 32)
			if err1 != nil || err2 != nil {
				continue
			}
			byName[f[0]] = uint32(uid)
			if gids[uint32(gid)] {
				out = append(out, uint32(uid))
			}
		}
	}
	if b, err := os.ReadFile(groupFile); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Split(line, ":")
			if len(f) < 4 {
				continue
			}
			gid, err := strconv.ParseUint(f[2], 10, 32)
			if err != nil || !gids[uint32(gid)] {
				continue
			}
			for _, m := range strings.Split(f[3], ",") {
				if uid, ok := byName[strings.TrimSpace(m)]; ok {
					out = append(out, uid)
				}
			}
		}
	}
	return out
}
