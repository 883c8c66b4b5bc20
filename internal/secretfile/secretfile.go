// Package secretfile holds the rule for the permissions of a file that
// holds a secret (a private key, a credential): its owner may read it, its
// group may read but not write it, others may do nothing.
//
// Group-read is allowed because that is how Kubernetes hands a Secret to a
// non-root container: the kubelet mounts it root-owned with the pod's
// fsGroup, mode 0440. PostgreSQL accepts its TLS key the same way. A
// group-writable or world-accessible file is refused: another account could
// read the secret or replace it. presign, which imports no project package,
// applies the same rule to its own secret files.
package secretfile

import (
	"fmt"
	"io/fs"
)

// Forbidden is the permission bits a secret file must not have.
const Forbidden fs.FileMode = 0o027

// CheckMode says why fi may not hold a secret, or returns nil. what names the
// file in the message (a config key and a path).
func CheckMode(what string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", what)
	}
	if perm := fi.Mode().Perm(); perm&Forbidden != 0 {
		return fmt.Errorf("%s has mode %04o: a secret file must not be accessible by other users nor writable by its group (chmod 600, or 0440 with a group of the service)", what, perm)
	}
	return nil
}
