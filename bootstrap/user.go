package bootstrap

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// userDBFiles are the files useradd and userdel rewrite; each leaves a
// "-" backup beside the file.
var userDBFiles = []string{"/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"}

// lookup finds name in the root's /etc/passwd or /etc/group (field 2 is
// the id); ok is false when it is not there.
func lookup(root, db, name string) (id int, gid int, ok bool, err error) {
	f, err := os.Open(root + db)
	if os.IsNotExist(err) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Split(s.Text(), ":")
		if len(fields) < 3 || fields[0] != name {
			continue
		}
		id, err := strconv.Atoi(fields[2])
		if err != nil {
			return 0, 0, false, fmt.Errorf("%s: bad id for %s", db, name)
		}
		g := id
		if len(fields) > 3 {
			if v, err := strconv.Atoi(fields[3]); err == nil {
				g = v
			}
		}
		return id, g, true, nil
	}
	return 0, 0, false, s.Err()
}

// prefixArgs points the shadow tools at the root's user database without
// chrooting (a throwaway root has no shell or PAM to chroot into).
func (n *node) prefixArgs() []string {
	if n.root == "/" {
		return nil
	}
	return []string{"--prefix", n.root}
}

func (n *node) run(name string, args ...string) error {
	n.say("run %s %s", name, strings.Join(args, " "))
	if n.dry {
		return nil
	}
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ensureUser creates the agent's system user and group when missing and
// returns who owns the agent's files.
func (n *node) ensureUser(name string) (owner, error) {
	uid, gid, ok, err := lookup(n.root, "/etc/passwd", name)
	if err != nil {
		return owner{}, err
	}
	if ok {
		return owner{uid, gid, name + ":" + name}, nil
	}
	// useradd --prefix edits the root's own user database; it cannot
	// start one.
	for _, db := range []string{"/etc/passwd", "/etc/group"} {
		if !exists(n.path(db)) {
			return owner{}, fmt.Errorf("%s does not exist: the root must hold a system's user database to add the user %s to (or create %s there first)", n.path(db), name, name)
		}
	}
	var before []string
	for _, f := range userDBFiles {
		if !exists(n.path(f + "-")) {
			before = append(before, f+"-")
		}
	}
	_, _, groupExists, err := lookup(n.root, "/etc/group", name)
	if err != nil {
		return owner{}, err
	}
	args := append(n.prefixArgs(), "--system", "--no-create-home", "--home-dir", "/var/lib/nscale", "--shell", "/usr/sbin/nologin")
	if groupExists {
		args = append(args, "--gid", name)
	} else {
		args = append(args, "--user-group")
	}
	if err := n.run("useradd", append(args, name)...); err != nil {
		return owner{}, err
	}
	if n.dry {
		return owner{-1, -1, name + ":" + name}, nil
	}
	n.m.CreatedUser, n.m.CreatedGroup = true, !groupExists
	for _, b := range before {
		if exists(n.path(b)) {
			n.m.Backups = append(n.m.Backups, b)
		}
	}
	uid, gid, ok, err = lookup(n.root, "/etc/passwd", name)
	if err != nil || !ok {
		return owner{}, fmt.Errorf("useradd ran but %s is not in /etc/passwd (%v)", name, err)
	}
	return owner{uid, gid, name + ":" + name}, nil
}

func (n *node) removeUser(name string) error {
	if n.m.CreatedUser {
		if _, _, ok, _ := lookup(n.root, "/etc/passwd", name); ok {
			if err := n.run("userdel", append(n.prefixArgs(), name)...); err != nil {
				return err
			}
		}
	}
	if n.m.CreatedGroup {
		if _, _, ok, _ := lookup(n.root, "/etc/group", name); ok {
			if err := n.run("groupdel", append(n.prefixArgs(), name)...); err != nil {
				return err
			}
		}
	}
	for _, b := range n.m.Backups {
		if err := n.remove(b); err != nil {
			return err
		}
	}
	return nil
}
