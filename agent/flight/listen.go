package flight

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"time"
)

// ListenUnix listens on a unix socket at path and gives it mode. A socket
// left behind by a previous run is removed first, but only if it is a
// socket nobody answers on: any other file at path is refused, never
// deleted. The listener removes the socket when closed.
//
// The socket exists with the process umask's mode for the instant between
// bind and chmod; put it in a directory only the agent's group can enter
// (the bootstrap makes /run/nscale 0750) so that the window does not matter.
func ListenUnix(path string, mode fs.FileMode) (net.Listener, error) {
	if mode&^fs.ModePerm != 0 {
		return nil, fmt.Errorf("socket %s: mode %#o has bits beyond permissions", path, mode)
	}
	fi, err := os.Lstat(path)
	switch {
	case err == nil:
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("socket %s: a file that is not a socket exists there; remove it or choose another path", path)
		}
		if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
			c.Close()
			return nil, fmt.Errorf("socket %s: another process is serving on it", path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("socket %s: remove stale socket: %w", path, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("socket %s: chmod %#o: %w", path, mode, err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	return ln, nil
}
