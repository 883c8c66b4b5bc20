// Package images builds the container images of the agent and the control
// plane without a container engine, with go-containerregistry: from
// empty.Image (FROM scratch), one layer holding the static binary, the
// /etc/passwd and /etc/group entries of the numeric user 65532 (nonroot),
// an empty /home/nonroot and /tmp and, optionally, a CA bundle. The image
// runs as 65532:65532 and has no shell.
//
// Every input of the image is explicit (the binary, the version, the
// revision, the creation time, the CA bundle): the layer's entries are
// sorted and stamped with the creation time, so two builds of the same
// inputs have the same digest. WriteArchive writes the image as an OCI
// image layout packed in a tar file (what skopeo calls oci-archive).
package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The images' names, each its binary's name.
const (
	Agent        = "nscale-agent"
	ControlPlane = "nscale-controlplane"
)

const (
	// Source is the org.opencontainers.image.source label.
	Source = "https://github.com/nscale/nscale"
	// UID and GID the images run as: distroless' nonroot, the chart's
	// runAsUser/runAsGroup.
	UID = 65532
	GID = 65532
	// User is the config's User: numeric, so a kubelet's runAsNonRoot
	// check passes without reading /etc/passwd.
	User = "65532:65532"
	// CACertificatesPath is where the CA bundle goes: the first file Go's
	// crypto/x509 reads system roots from on Linux.
	CACertificatesPath = "etc/ssl/certs/ca-certificates.crt"
)

// OCI annotation keys (image-spec annotations.md) used as labels.
const (
	LabelTitle       = "org.opencontainers.image.title"
	LabelDescription = "org.opencontainers.image.description"
	LabelVersion     = "org.opencontainers.image.version"
	LabelSource      = "org.opencontainers.image.source"
	LabelRevision    = "org.opencontainers.image.revision"
	LabelCreated     = "org.opencontainers.image.created"
)

// command is what an image runs by default. The chart sets only args, so
// it replaces Cmd and keeps Entrypoint.
type command struct {
	description string
	entrypoint  []string
	cmd         []string
}

var commands = map[string]command{
	// nscale-agent has subcommands (run, bootstrap, version).
	Agent: {
		description: "nscale node agent: serves policy-checked Arrow Flight SQL to Spark over loopback",
		entrypoint:  []string{"/" + Agent},
		cmd:         []string{"run", "--config", "/etc/nscale/agent.yaml"},
	},
	// nscale-controlplane has no subcommand: it runs the daemon with flags
	// (--config FILE, --version).
	ControlPlane: {
		description: "nscale control plane: catalog, policy, planner, admin API and agent API",
		entrypoint:  []string{"/" + ControlPlane},
		cmd:         []string{"--config", "/etc/nscale/controlplane.yaml"},
	},
}

// Spec is everything an image is made of.
type Spec struct {
	// Name is Agent or ControlPlane; the binary goes to /<Name>.
	Name string
	// Binary is the path of the static Linux binary (see StaticELF).
	Binary string
	// Version is the org.opencontainers.image.version label.
	Version string
	// Revision is the git commit (org.opencontainers.image.revision);
	// empty leaves the label out.
	Revision string
	// Created is the image's creation time and every file's mtime; fix it
	// (SOURCE_DATE_EPOCH, the commit time) for a reproducible digest.
	Created time.Time
	// Arch is the GOARCH the image is for; empty means the binary's. A
	// binary of another architecture is an error.
	Arch string
	// CACertificates is a PEM bundle installed at /etc/ssl/certs/
	// ca-certificates.crt, where Go finds its system roots (S3 and OIDC
	// over HTTPS need them); nil installs none.
	CACertificates []byte
}

// Build assembles the image Spec describes. The layer is made (the binary
// read, the tar gzipped) once, when the image's digest or blobs are first
// asked for: leave the binary alone until then.
func Build(s Spec) (v1.Image, error) {
	c, ok := commands[s.Name]
	if !ok {
		return nil, fmt.Errorf("images: unknown image %q (want %s or %s)", s.Name, Agent, ControlPlane)
	}
	if s.Version == "" {
		return nil, errors.New("images: a version is required")
	}
	arch, err := StaticELF(s.Binary)
	if err != nil {
		return nil, fmt.Errorf("images: %s: %w", s.Name, err)
	}
	if s.Arch != "" && s.Arch != arch {
		return nil, fmt.Errorf("images: %s: the image is for %s but %s is an %s binary", s.Name, s.Arch, s.Binary, arch)
	}
	if s.CACertificates != nil && !x509.NewCertPool().AppendCertsFromPEM(s.CACertificates) {
		return nil, errors.New("images: the CA bundle holds no PEM certificate")
	}
	created := s.Created.UTC().Truncate(time.Second)

	labels := map[string]string{
		LabelTitle:       s.Name,
		LabelDescription: c.description,
		LabelVersion:     s.Version,
		LabelSource:      Source,
		LabelCreated:     created.Format(time.RFC3339),
	}
	if s.Revision != "" {
		labels[LabelRevision] = s.Revision
	}
	cfg := &v1.ConfigFile{
		Architecture: arch,
		OS:           "linux",
		Created:      v1.Time{Time: created},
		Config: v1.Config{
			User:       User,
			Entrypoint: c.entrypoint,
			Cmd:        c.cmd,
			WorkingDir: "/",
			Labels:     labels,
		},
		RootFS: v1.RootFS{Type: "layers"},
	}

	// The layer is made in memory once: go-containerregistry compresses it
	// (a gzip header without name or mtime, so the same tar gives the same
	// digest) and keeps the compressed bytes for the archive.
	var tarBuf bytes.Buffer
	if err := writeTar(&tarBuf, rootFiles(s, created)); err != nil {
		return nil, fmt.Errorf("images: writing the layer: %w", err)
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tarBuf.Bytes())), nil },
		tarball.WithCompressionLevel(compressionLevel), tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, fmt.Errorf("images: the layer: %w", err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, err
	}
	comment := "static binary, passwd and group of 65532 (nonroot), /tmp"
	if s.CACertificates != nil {
		comment += ", CA bundle"
	}
	return mutate.Append(img, mutate.Addendum{
		Layer: l,
		History: v1.History{
			Created:   v1.Time{Time: created},
			CreatedBy: "daemonset/images: " + s.Name + " " + s.Version,
			Comment:   comment,
		},
		MediaType: types.OCILayer,
	})
}

// file is one entry of the layer: a directory, bytes, or a file on disk.
type file struct {
	hdr  tar.Header
	data []byte
	path string // read at write time when set
}

func rootFiles(s Spec, mtime time.Time) []file {
	dir := func(name string, mode int64, uid int) file {
		return file{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, Uid: uid, Gid: uid}}
	}
	reg := func(name string, mode int64, data []byte) file {
		return file{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))}, data: data}
	}
	files := []file{
		dir("etc/", 0o755, 0),
		reg("etc/passwd", 0o644, []byte(fmt.Sprintf(
			"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", UID, GID))),
		reg("etc/group", 0o644, []byte(fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", GID))),
		dir("home/", 0o755, 0),
		dir("home/nonroot/", 0o700, UID),
		// For running the image outside the chart; the chart's read-only
		// root filesystem mounts emptyDirs where it writes.
		dir("tmp/", 0o1777, 0),
		{hdr: tar.Header{Typeflag: tar.TypeReg, Name: s.Name, Mode: 0o555}, path: s.Binary},
	}
	if s.CACertificates != nil {
		files = append(files,
			dir("etc/ssl/", 0o755, 0),
			dir("etc/ssl/certs/", 0o755, 0),
			reg(CACertificatesPath, 0o444, s.CACertificates))
	}
	sort.Slice(files, func(i, j int) bool { return files[i].hdr.Name < files[j].hdr.Name })
	for i := range files {
		h := &files[i].hdr
		h.ModTime = mtime
		h.Format = tar.FormatPAX
		if h.Uid == UID {
			h.Uname, h.Gname = "nonroot", "nonroot"
		} else {
			h.Uname, h.Gname = "root", "root"
		}
	}
	return files
}

// compressionLevel of the layer's gzip (the tests under -race take a
// faster one).
var compressionLevel = gzip.DefaultCompression

// writeTar writes files in order.
func writeTar(w io.Writer, files []file) error {
	tw := tar.NewWriter(w)
	for _, f := range files {
		hdr := f.hdr
		var r io.Reader = bytes.NewReader(f.data)
		if f.path != "" {
			fh, err := os.Open(f.path)
			if err != nil {
				return err
			}
			defer fh.Close()
			st, err := fh.Stat()
			if err != nil {
				return err
			}
			if !st.Mode().IsRegular() {
				return fmt.Errorf("%s is not a regular file", f.path)
			}
			hdr.Size, r = st.Size(), fh
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, r); err != nil {
			return err
		}
	}
	return tw.Close()
}
