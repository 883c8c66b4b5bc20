package s3test

import (
	"os"
	"path/filepath"
	"syscall"
)

// userXattrs reports whether dir's filesystem supports user extended
// attributes, which versitygw's posix backend uses for metadata.
func userXattrs(dir string) bool {
	p := filepath.Join(dir, ".nscale-xattr-probe")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		return false
	}
	defer os.Remove(p)
	return syscall.Setxattr(p, "user.nscale.probe", []byte("1"), 0) == nil
}
