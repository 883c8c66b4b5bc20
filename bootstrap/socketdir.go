package bootstrap

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// SocketDirMode lets the agent create its socket and its callers (the
// agent's group) reach it.
const SocketDirMode = 0o750

// PrepareSocketDir makes dir a directory owned by uid:gid with
// SocketDirMode: the Kubernetes chart's init container does this for the
// hostPath the kubelet created root-owned, which the unprivileged agent
// could not write. The directory is opened with O_NOFOLLOW and changed
// through that descriptor: dir is a node path other pods may share, and a
// symlink planted there must not make root chown what it points to.
func PrepareSocketDir(dir string, uid, gid int) error {
	if err := os.Mkdir(dir, SocketDirMode); err != nil && !os.IsExist(err) {
		return fmt.Errorf("socket directory %s: %w", dir, err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket directory %s is not a directory (a symlink or a file is refused): %w", dir, err)
	}
	defer unix.Close(fd)
	if err := unix.Fchown(fd, uid, gid); err != nil {
		return fmt.Errorf("socket directory %s: chown %d:%d: %w", dir, uid, gid, err)
	}
	if err := unix.Fchmod(fd, SocketDirMode); err != nil {
		return fmt.Errorf("socket directory %s: chmod: %w", dir, err)
	}
	return nil
}
