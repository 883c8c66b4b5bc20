package peer

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Policy is the allow-list of local callers: uids, user names and groups
// (a caller in one of the groups, as its primary group or a supplementary
// one, is allowed). A name that cannot be looked up for another reason
// than its absence stops the agent at start. A name the node does not have
// yet is pending: on EMR the agent starts before the applications' users
// (spark, yarn) exist. A pending name allows no one (fail closed) and is
// looked up again, at most every pendingRetry, when a caller is refused
// and by Refresh, until it exists.
type Policy struct {
	uids   []int
	users  []string
	groups []string

	cur atomic.Pointer[resolution]

	mu       sync.Mutex
	resolved time.Time
	members  map[uint32]cachedGroups // supplementary groups of a uid
}

// resolution is one lookup of the names; it is replaced, never changed.
type resolution struct {
	uids, gids map[uint32]bool
	pending    []string // "user spark", "group hadoop"
	desc       string
}

type cachedGroups struct {
	gids []uint32
	at   time.Time
}

// groupsTTL bounds how stale a uid's group memberships may be.
const groupsTTL = time.Minute

// pendingRetry bounds how often a refused caller makes the policy read the
// user database again for pending names.
const pendingRetry = 5 * time.Second

// NewPolicy resolves the allow-list; all three empty is nil (every local
// caller is served, as before the allow-list existed).
func NewPolicy(uids []int, users, groups []string) (*Policy, error) {
	if len(uids) == 0 && len(users) == 0 && len(groups) == 0 {
		return nil, nil
	}
	for _, u := range uids {
		if u < 0 || u > 1<<32-2 {
			return nil, fmt.Errorf("flight.allowed_uids: %d is not a uid", u)
		}
	}
	p := &Policy{uids: uids, users: users, groups: groups, members: map[uint32]cachedGroups{}}
	r, err := p.resolve()
	if err != nil {
		return nil, err
	}
	p.cur.Store(r)
	p.resolved = time.Now()
	return p, nil
}

func (p *Policy) resolve() (*resolution, error) {
	r := &resolution{uids: map[uint32]bool{}, gids: map[uint32]bool{}}
	for _, u := range p.uids {
		r.uids[uint32(u)] = true
	}
	for _, name := range p.users {
		u, err := user.Lookup(name)
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			r.pending = append(r.pending, "user "+name)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("flight.allowed_users: %q: %w", name, err)
		}
		id, err := strconv.ParseUint(u.Uid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("flight.allowed_users: %q has uid %q", name, u.Uid)
		}
		r.uids[uint32(id)] = true
	}
	for _, name := range p.groups {
		g, err := user.LookupGroup(name)
		var unknown user.UnknownGroupError
		if errors.As(err, &unknown) {
			r.pending = append(r.pending, "group "+name)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("flight.allowed_groups: %q: %w", name, err)
		}
		id, err := strconv.ParseUint(g.Gid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("flight.allowed_groups: %q has gid %q", name, g.Gid)
		}
		r.gids[uint32(id)] = true
	}
	r.desc = strings.TrimSpace(describe(r.uids, "uids") + describe(r.gids, "gids"))
	if len(r.pending) > 0 {
		r.desc = strings.TrimSpace(r.desc + " (not on this node yet: " + strings.Join(r.pending, ", ") + ")")
	}
	return r, nil
}

// Pending are the names the node does not have yet ("user spark").
func (p *Policy) Pending() []string {
	if p == nil {
		return nil
	}
	return p.cur.Load().pending
}

// Refresh looks the pending names up again and reports whether any now
// exists. A lookup error keeps the previous resolution.
func (p *Policy) Refresh() bool {
	if p == nil || len(p.cur.Load().pending) == 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refreshLocked()
}

func (p *Policy) refreshLocked() bool {
	old := p.cur.Load()
	p.resolved = time.Now()
	r, err := p.resolve()
	if err != nil || len(r.pending) == len(old.pending) {
		return false
	}
	p.cur.Store(r)
	return true
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
	return p.cur.Load().desc
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
	r := p.cur.Load()
	if p.allows(r, c) {
		return true
	}
	if len(r.pending) == 0 {
		return false
	}
	p.mu.Lock()
	if time.Since(p.resolved) >= pendingRetry {
		p.refreshLocked()
	}
	p.mu.Unlock()
	if r2 := p.cur.Load(); r2 != r {
		return p.allows(r2, c)
	}
	return false
}

func (p *Policy) allows(r *resolution, c Cred) bool {
	if r.uids[c.UID] {
		return true
	}
	if len(r.gids) == 0 {
		return false
	}
	if c.Via == "unix" && r.gids[c.GID] {
		return true
	}
	for _, g := range p.groupsOf(c.UID) {
		if r.gids[g] {
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
	if c, ok := p.members[uid]; ok && time.Since(c.at) < groupsTTL {
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
	if len(p.members) > 10_000 {
		clear(p.members) // bounded: a node has few uids that call
	}
	p.members[uid] = cachedGroups{gids: out, at: time.Now()}
	return out
}

// UIDs are the uids the policy allows, for the eBPF connect guard's map:
// the listed uids and users, and the members of the listed groups (their
// primary group from /etc/passwd, supplementary ones from /etc/group).
func (p *Policy) UIDs() []uint32 {
	r := p.cur.Load()
	set := map[uint32]bool{}
	for u := range r.uids {
		set[u] = true
	}
	if len(r.gids) > 0 {
		for _, u := range groupMembers(r.gids, "/etc/passwd", "/etc/group") {
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
