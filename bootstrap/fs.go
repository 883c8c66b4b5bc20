package bootstrap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// node applies actions under a root directory, prints each one, and in
// dry-run mode only prints. Paths given to it are the node's absolute
// paths ("/etc/nscale"); root is prefixed here alone.
type node struct {
	root string
	dry  bool
	out  io.Writer
	m    *manifest
}

func (n *node) path(p string) string { return filepath.Join(n.root, p) }

func (n *node) say(format string, args ...any) {
	if n.dry {
		fmt.Fprint(n.out, "would ")
	}
	fmt.Fprintf(n.out, format+"\n", args...)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// owner names a uid/gid pair for messages; -1 is "not yet created".
type owner struct {
	uid, gid int
	name     string
}

var rootOwner = owner{0, 0, "root:root"}

// mkdir creates dir (or fixes its mode and owner) and records it when it
// did not exist.
func (n *node) mkdir(dir string, mode fs.FileMode, o owner) error {
	p := n.path(dir)
	fi, err := os.Stat(p)
	switch {
	case err == nil && fi.IsDir():
		if fi.Mode().Perm() == mode && ownedBy(fi, o) {
			return nil
		}
		n.say("set %s to %04o %s", dir, mode, o.name)
	case err == nil:
		return fmt.Errorf("%s exists and is not a directory", dir)
	case errors.Is(err, os.ErrNotExist):
		n.say("create directory %s (%04o %s)", dir, mode, o.name)
		if !n.dry {
			if err := n.mkParents(dir); err != nil {
				return err
			}
			if err := os.Mkdir(p, mode); err != nil {
				return err
			}
			n.m.add(dir)
		}
	default:
		return err
	}
	if n.dry {
		return nil
	}
	if err := os.Chmod(p, mode); err != nil {
		return err
	}
	return os.Lchown(p, o.uid, o.gid)
}

// writeFile replaces file with data atomically (a temporary file renamed
// over it, so a failure leaves the old file or none, never half of one),
// and only when something differs, so that a second run changes nothing.
// It reports whether it changed the file.
func (n *node) writeFile(file string, data []byte, mode fs.FileMode, o owner) (bool, error) {
	return n.write(file, data, mode, o, true)
}

// writeFileKeepRecord is writeFile for a file that is not bootstrap's own
// (spark-defaults.conf): it is never listed for removal.
func (n *node) writeFileKeepRecord(file string, data []byte, mode fs.FileMode, o owner) (bool, error) {
	return n.write(file, data, mode, o, false)
}

func (n *node) write(file string, data []byte, mode fs.FileMode, o owner, record bool) (bool, error) {
	p := n.path(file)
	old, err := os.ReadFile(p)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	isNew := errors.Is(err, os.ErrNotExist)
	if !isNew && bytes.Equal(old, data) {
		fi, err := os.Stat(p)
		if err != nil {
			return false, err
		}
		if fi.Mode().Perm() == mode && ownedBy(fi, o) {
			return false, nil
		}
	}
	verb := "write"
	if isNew {
		verb = "create"
	}
	n.say("%s %s (%04o %s, %d bytes)", verb, file, mode, o.name, len(data))
	if n.dry {
		return true, nil
	}
	if err := n.mkParents(file); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(data)
	if err := errors.Join(werr, tmp.Chmod(mode), tmp.Chown(o.uid, o.gid), tmp.Sync(), tmp.Close()); err != nil {
		return false, err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return false, err
	}
	if isNew && record {
		n.m.add(file)
	}
	return true, nil
}

// symlink makes link point at target (relative to the node's root).
func (n *node) symlink(target, link string) error {
	p := n.path(link)
	if cur, err := os.Readlink(p); err == nil && cur == target {
		return nil
	}
	n.say("link %s -> %s", link, target)
	if n.dry {
		return nil
	}
	if err := n.mkParents(link); err != nil {
		return err
	}
	isNew := !exists(p)
	tmp := p + ".nscale-new"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	if isNew {
		n.m.add(link)
	}
	return nil
}

// remove deletes a path bootstrap created: a file, a link, or a
// directory with everything in it (the agent's state directory holds the
// files the agent wrote).
func (n *node) remove(path string) error {
	p := n.path(path)
	fi, err := os.Lstat(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	n.say("remove %s", path)
	if n.dry {
		return nil
	}
	if fi.IsDir() {
		return os.RemoveAll(p)
	}
	return os.Remove(p)
}

// mkParents creates the missing parents of path (0755 root) and records
// each, so that --uninstall leaves a root as it found it.
func (n *node) mkParents(path string) error {
	var missing []string
	for d := filepath.Dir(path); d != "/" && d != "."; d = filepath.Dir(d) {
		if exists(n.path(d)) {
			break
		}
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(n.path(missing[i]), 0o755); err != nil && !os.IsExist(err) {
			return err
		}
		n.m.add(missing[i])
	}
	return nil
}
