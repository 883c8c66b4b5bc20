package images

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// Annotations of the image's descriptor in index.json, so that an importer
// can name the image: the OCI one holds only the tag (skopeo's
// oci-archive:FILE:TAG selects by it), containerd's the whole reference
// (ctr images import names the image with it).
const (
	AnnotationRefName   = "org.opencontainers.image.ref.name"
	AnnotationImageName = "io.containerd.image.name"
)

// WriteArchive writes img to path as an OCI image layout (oci-layout,
// index.json, blobs/sha256/...) packed in a tar file, the format skopeo
// and podman call oci-archive. ref (e.g. ghcr.io/nscale/nscale-agent:0.1.0)
// names the image in index.json. The archive's entries are sorted and
// stamped with the image's creation time, so the same image gives the
// same bytes. The file is replaced only once complete.
func WriteArchive(path string, img v1.Image, ref string) error {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("images: image reference %q: %w", ref, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "nscale-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("images: writing the OCI layout: %w", err)
	}
	if err := p.AppendImage(img,
		layout.WithAnnotations(map[string]string{
			AnnotationRefName:   tag.TagStr(),
			AnnotationImageName: tag.Name(),
		}),
		layout.WithPlatform(v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture}),
	); err != nil {
		return fmt.Errorf("images: writing the OCI layout: %w", err)
	}

	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tarDir(tmp, dir, cfg.Created.UTC()); err != nil {
		tmp.Close()
		return fmt.Errorf("images: packing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// tarDir packs the tree under dir in lexical order (WalkDir's), with fixed
// modes, owners and mtimes: nothing of the machine that wrote it.
func tarDir(w io.Writer, dir string, mtime time.Time) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: filepath.ToSlash(rel), ModTime: mtime, Format: tar.FormatPAX, Uname: "root", Gname: "root"}
		switch {
		case d.IsDir():
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, hdr.Name+"/", 0o755
			return tw.WriteHeader(hdr)
		case d.Type().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return err
			}
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, st.Size()
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			return err
		default:
			return fmt.Errorf("%s: unexpected file type %s", rel, d.Type())
		}
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
