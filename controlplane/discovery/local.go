package discovery

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/presign"
)

// localLister walks a local directory. It does not follow symbolic links to
// directories; a link to a regular file is listed (under the link's own
// path) only if its target lies inside the table root.
type localLister struct {
	loc     Location
	confine string
}

func (l *localLister) list(ctx context.Context, fn func(rawFile) error) error {
	where := l.loc.String()
	root, err := filepath.EvalSymlinks(l.loc.Dir)
	if err != nil {
		return localError(err, where)
	}
	st, err := os.Stat(root)
	if err != nil {
		return localError(err, where)
	}
	if !st.IsDir() {
		return apierr.New(apierr.InvalidArgument, "table location %s is not a directory", where)
	}
	if l.confine != "" {
		croot, err := filepath.EvalSymlinks(l.confine)
		if err == nil {
			// local_files.root may be relative (the default ./data/files).
			croot, err = filepath.Abs(croot)
		}
		if err != nil {
			return apierr.Wrap(apierr.FailedPrecondition, err, "the local files root is not readable")
		}
		if !within(croot, root) {
			return apierr.New(apierr.PermissionDenied, "table location %s is outside the control plane's local files root", where)
		}
	}
	n := 0
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != root && errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walk
			}
			return localError(err, l.loc.URI(safeRel(relOf(root, p))))
		}
		if n++; n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return apierr.Wrap(apierr.Unavailable, err, "listing %s stopped", where)
			}
		}
		if p == root {
			return nil
		}
		if d.IsDir() {
			if Hidden(d.Name(), true) {
				return filepath.SkipDir
			}
			return nil
		}
		if Hidden(d.Name(), false) {
			return nil
		}
		var info fs.FileInfo
		switch t := d.Type(); {
		case t.IsRegular():
			info, err = d.Info()
		case t&fs.ModeSymlink != 0:
			target, lerr := filepath.EvalSymlinks(p)
			if lerr != nil || !within(root, target) {
				return nil // dangling, looping or escaping the root
			}
			info, err = os.Stat(target)
			if err == nil && !info.Mode().IsRegular() {
				return nil // links to directories are not followed
			}
		default:
			return nil // sockets, devices, pipes
		}
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return localError(err, l.loc.URI(safeRel(relOf(root, p))))
		}
		mod := info.ModTime().UTC()
		err = fn(rawFile{
			rel:      relOf(root, p),
			size:     info.Size(),
			etag:     presign.LocalETag(mod, info.Size()),
			modified: mod,
		})
		if errors.Is(err, fs.SkipDir) || errors.Is(err, fs.SkipAll) {
			// fn's own error must not steer WalkDir.
			return apierr.Wrap(apierr.Internal, err, "listing callback")
		}
		return err
	})
}

func relOf(root, p string) string {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return filepath.Base(p)
	}
	return filepath.ToSlash(rel)
}

// within reports whether p is root or lies below it (both cleaned, with
// symbolic links resolved).
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil || filepath.IsAbs(rel) {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, "../"))
}

func localError(err error, where string) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return apierr.Wrap(apierr.NotFound, err, "%s does not exist", where)
	case errors.Is(err, fs.ErrPermission):
		return apierr.Wrap(apierr.PermissionDenied, err, "the control plane may not read %s", where)
	}
	return apierr.Wrap(apierr.Unavailable, err, "could not list %s", where)
}
