// Command build-images writes the OCI archives of nscale's two images,
// bin/images/nscale-agent.tar and bin/images/nscale-controlplane.tar, from
// the static binaries in bin/static, without a container engine. `make
// images` builds the binaries and runs it.
//
//	go run ./daemonset/images/cmd/build-images -bin bin/static -out bin/images -version 0.1.0
//
// The creation time is -created (Unix seconds), else $SOURCE_DATE_EPOCH,
// else the commit time of HEAD, else 0: the same commit and binaries give
// the same digests. The revision label is -revision, else HEAD's commit.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nscale/nscale/daemonset/images"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// Main returns 0 when both archives are written, 1 when one fails, 2 for
// bad flags.
func Main(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("build-images", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "bin/static", "directory of the static nscale-agent and nscale-controlplane binaries")
	out := fs.String("out", "bin/images", "directory the archives are written to")
	version := fs.String("version", "dev", "image version: the version label and the tag in index.json")
	revision := fs.String("revision", "", "git commit for the revision label (default: HEAD's, when in a git work tree)")
	created := fs.String("created", "", "creation time in Unix seconds (default: $SOURCE_DATE_EPOCH, else HEAD's commit time, else 0)")
	registry := fs.String("registry", "ghcr.io/nscale", "registry and path naming the images in index.json (the chart's image.registry)")
	arch := fs.String("arch", "", "GOARCH of the images (default: the binaries')")
	caFile := fs.String("ca-certificates", "/etc/ssl/certs/ca-certificates.crt",
		`PEM bundle installed as the images' /etc/ssl/certs/ca-certificates.crt; "" for none`)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "build-images: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	when, err := creationTime(*created, getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		fmt.Fprintf(stderr, "build-images: %v\n", err)
		return 2
	}
	if *revision == "" {
		*revision = git("rev-parse", "HEAD")
	}
	var ca []byte
	if *caFile != "" {
		if ca, err = os.ReadFile(*caFile); err != nil {
			fmt.Fprintf(stderr, "build-images: -ca-certificates: %v\n", err)
			return 2
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(stderr, "build-images: %v\n", err)
		return 1
	}
	for _, n := range []string{images.Agent, images.ControlPlane} {
		img, err := images.Build(images.Spec{
			Name: n, Binary: filepath.Join(*bin, n), Version: *version, Revision: *revision,
			Created: when, Arch: *arch, CACertificates: ca,
		})
		if err != nil {
			fmt.Fprintf(stderr, "build-images: %v\n", err)
			return 1
		}
		path := filepath.Join(*out, n+".tar")
		ref := strings.TrimSuffix(*registry, "/") + "/" + n + ":" + *version
		if err := images.WriteArchive(path, img, ref); err != nil {
			fmt.Fprintf(stderr, "build-images: %v\n", err)
			return 1
		}
		digest, err := img.Digest()
		if err != nil {
			fmt.Fprintf(stderr, "build-images: %v\n", err)
			return 1
		}
		size, sum, err := fileSum(path)
		if err != nil {
			fmt.Fprintf(stderr, "build-images: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s %s image %s (archive %d bytes, sha256:%s)\n", path, ref, digest, size, sum)
	}
	return 0
}

// creationTime is flag, else SOURCE_DATE_EPOCH, else HEAD's commit time,
// else the Unix epoch.
func creationTime(flagValue, env string) (time.Time, error) {
	for _, v := range []struct{ name, s string }{{"-created", flagValue}, {"SOURCE_DATE_EPOCH", env}} {
		if v.s == "" {
			continue
		}
		sec, err := strconv.ParseInt(v.s, 10, 64)
		if err != nil || sec < 0 {
			return time.Time{}, fmt.Errorf("%s %q: want Unix seconds", v.name, v.s)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	if s := git("log", "-1", "--format=%ct", "HEAD"); s != "" {
		if sec, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(sec, 0).UTC(), nil
		}
	}
	return time.Unix(0, 0).UTC(), nil
}

// git returns the trimmed output of a git command, "" when it fails (no
// git, not a work tree).
func git(args ...string) string {
	out, err := exec.Command("git", args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func fileSum(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return n, hex.EncodeToString(h.Sum(nil)), err
}
