package images_test

import (
	"archive/tar"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"debug/elf"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nscale/nscale/daemonset/images"
)

const (
	testVersion  = "v9.8.7-imagetest"
	testRevision = "0123456789abcdef0123456789abcdef01234567"
)

var testCreated = time.Unix(1700000000, 0).UTC()

// buildDir holds the binaries the tests build, once per run.
var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nscale-images-test-")
	if err != nil {
		panic(err)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type built struct {
	once sync.Once
	path string
	err  error
}

// build runs go build once per run, statically (CGO_ENABLED=0,
// -trimpath, as `make images` does) unless cgo is asked for.
func (b *built) build(t *testing.T, name, dir, pkg string, cgo bool, ldflags string, flags ...string) string {
	t.Helper()
	b.once.Do(func() {
		b.path = filepath.Join(buildDir, name)
		args := append(append([]string{"build", "-trimpath"}, flags...), "-ldflags", ldflags, "-o", b.path, pkg)
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		env := "CGO_ENABLED=0"
		if cgo {
			env = "CGO_ENABLED=1"
		}
		cmd.Env = append(os.Environ(), env)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

var agent, controlPlane, small, dynamic built

// controlPlaneBinary is the real control plane, linked statically with cgo
// exactly as `make images` does (pg_query_go is cgo). Cold, the build takes
// minutes; Go's build cache makes later runs fast.
func controlPlaneBinary(t *testing.T) string {
	return controlPlane.build(t, images.ControlPlane, ".", "github.com/nscale/nscale/cmd/nscale-controlplane", true,
		"-s -w -linkmode external -extldflags -static -X github.com/nscale/nscale/internal/version.Version="+testVersion,
		"-tags", "netgo,osusergo")
}

// agentBinary is the real agent with its version set by -X.
func agentBinary(t *testing.T) string {
	return agent.build(t, images.Agent, ".", "github.com/nscale/nscale/cmd/nscale-agent", false,
		"-s -w -X github.com/nscale/nscale/internal/version.Version="+testVersion)
}

// smallBinary is a static program of 1.5 MB, for the tests of packaging
// alone: gzip under -race takes ~5 s for the agent's 40 MB.
func smallBinary(t *testing.T) string {
	return small.build(t, "small", module(t, "small", "package main\n\nfunc main() { println(\"small\") }\n"), ".", false, "-s -w")
}

// dynamicBinary is dynamically linked: cgo links libc.
func dynamicBinary(t *testing.T) string {
	return dynamic.build(t, "dynamic", module(t, "dynamic",
		"package main\n\n// int one(void) { return 1; }\nimport \"C\"\n\nfunc main() { _ = C.one() }\n"), ".", true, "")
}

// module writes a one-file main module.
func module(t *testing.T, name, src string) string {
	t.Helper()
	dir := filepath.Join(buildDir, name+"-src")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+name+"\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// caBundle is a PEM bundle of one fresh self-signed certificate.
func caBundle(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "images test CA"},
		NotBefore: testCreated, NotAfter: testCreated.Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// writeImage builds s and writes its archive to dir/name.tar.
func writeImage(t *testing.T, dir string, s images.Spec) (string, v1.Hash) {
	t.Helper()
	img, err := images.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, s.Name+".tar")
	if err := images.WriteArchive(path, img, "ghcr.io/nscale/"+s.Name+":"+s.Version); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return path, d
}

// readArchive unpacks an OCI archive and opens it with the layout
// package, checking on the way that the archive's entries are sorted and
// carry the creation time.
func readArchive(t *testing.T, archive string) (v1.IndexManifest, v1.Image) {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(testCreated) {
			t.Errorf("archive entry %s has mtime %v, want %v", h.Name, h.ModTime, testCreated)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("archive entry %s has type %c", h.Name, h.Typeflag)
		}
	}
	for _, want := range []string{"oci-layout", "index.json", "blobs/sha256/"} {
		if !contains(names, want) {
			t.Errorf("archive has no %s: %v", want, names)
		}
	}
	if !sortedStrings(names) {
		t.Errorf("archive entries are not sorted: %v", names)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("index.json lists %d manifests, want 1", len(im.Manifests))
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	checkDigests(t, img)
	return *im, img
}

// checkDigests checks that the blobs read back are the ones the manifest
// names: the config's digest and the layer's.
func checkDigests(t *testing.T, img v1.Image) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := sha256Hash(bytes.NewReader(raw)); got != m.Config.Digest {
		t.Errorf("config blob hashes to %s, the manifest names %s", got, m.Config.Digest)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) != len(layers) || len(cf.RootFS.DiffIDs) != len(layers) || cf.RootFS.Type != "layers" {
		t.Fatalf("%d layers, the manifest lists %d, the rootfs %d (type %q)",
			len(layers), len(m.Layers), len(cf.RootFS.DiffIDs), cf.RootFS.Type)
	}
	for i, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256Hash(rc); got != m.Layers[i].Digest {
			t.Errorf("layer %d hashes to %s, the manifest names %s", i, got, m.Layers[i].Digest)
		}
		rc.Close()
	}
	// layerFiles checks the diff ID as it reads the tar.
}

func sha256Hash(r io.Reader) v1.Hash {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return v1.Hash{}
	}
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

// layerFiles returns the headers of the image's single layer in order, and
// the contents of its regular files.
func layerFiles(t *testing.T, img v1.Image) ([]*tar.Header, map[string][]byte) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("image has %d layers, want 1", len(layers))
	}
	mt, err := layers[0].MediaType()
	if err != nil {
		t.Fatal(err)
	}
	if mt != types.OCILayer {
		t.Errorf("layer media type %s, want %s", mt, types.OCILayer)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	sum := sha256.New()
	var hdrs []*tar.Header
	data := map[string][]byte{}
	tr := tar.NewReader(io.TeeReader(rc, sum))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		hdrs = append(hdrs, h)
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			data[h.Name] = b
		}
	}
	if _, err := io.Copy(sum, rc); err != nil { // the tar's end blocks
		t.Fatal(err)
	}
	diffID := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum.Sum(nil))}
	if len(cf.RootFS.DiffIDs) != 1 || cf.RootFS.DiffIDs[0] != diffID {
		t.Errorf("the layer's tar hashes to %s, the config's rootfs has %v", diffID, cf.RootFS.DiffIDs)
	}
	return hdrs, data
}

func TestAgentImage(t *testing.T) {
	t.Parallel()
	bin := agentBinary(t)
	ca := caBundle(t)
	archive, digest := writeImage(t, t.TempDir(), images.Spec{
		Name: images.Agent, Binary: bin, Version: testVersion, Revision: testRevision,
		Created: testCreated, CACertificates: ca,
	})
	im, img := readArchive(t, archive)

	desc := im.Manifests[0]
	if desc.Digest != digest {
		t.Errorf("index.json names %s, Build's image is %s", desc.Digest, digest)
	}
	if desc.MediaType != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s, want %s", desc.MediaType, types.OCIManifestSchema1)
	}
	if got, want := desc.Annotations[images.AnnotationRefName], testVersion; got != want {
		t.Errorf("index.json ref.name %q, want %q", got, want)
	}
	if got, want := desc.Annotations[images.AnnotationImageName], "ghcr.io/nscale/nscale-agent:"+testVersion; got != want {
		t.Errorf("index.json io.containerd.image.name %q, want %q", got, want)
	}
	if desc.Platform == nil || desc.Platform.OS != "linux" || desc.Platform.Architecture != runtime.GOARCH {
		t.Errorf("index.json platform %+v, want linux/%s", desc.Platform, runtime.GOARCH)
	}

	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("config media type %s, want %s", m.Config.MediaType, types.OCIConfigJSON)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("config platform %s/%s, want linux/%s", cf.OS, cf.Architecture, runtime.GOARCH)
	}
	if !cf.Created.Time.Equal(testCreated) {
		t.Errorf("config created %v, want %v", cf.Created.Time, testCreated)
	}
	// Numeric and not root, so runAsNonRoot holds without a passwd lookup.
	if cf.Config.User != "65532:65532" {
		t.Errorf("User %q, want 65532:65532", cf.Config.User)
	}
	uid, gid, ok := strings.Cut(cf.Config.User, ":")
	if u, err := strconv.Atoi(uid); !ok || err != nil || u == 0 {
		t.Errorf("User %q: uid is not a non-zero number", cf.Config.User)
	}
	if g, err := strconv.Atoi(gid); err != nil || g == 0 {
		t.Errorf("User %q: gid is not a non-zero number", cf.Config.User)
	}
	if want := []string{"/nscale-agent"}; !reflect.DeepEqual(cf.Config.Entrypoint, want) {
		t.Errorf("Entrypoint %q, want %q", cf.Config.Entrypoint, want)
	}
	if want := []string{"run", "--config", "/etc/nscale/agent.yaml"}; !reflect.DeepEqual(cf.Config.Cmd, want) {
		t.Errorf("Cmd %q, want %q", cf.Config.Cmd, want)
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.title":    "nscale-agent",
		"org.opencontainers.image.version":  testVersion,
		"org.opencontainers.image.source":   "https://github.com/nscale/nscale",
		"org.opencontainers.image.revision": testRevision,
		"org.opencontainers.image.created":  "2023-11-14T22:13:20Z",
	}
	for k, v := range wantLabels {
		if got := cf.Config.Labels[k]; got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}
	if len(cf.History) != 1 || !cf.History[0].Created.Time.Equal(testCreated) {
		t.Errorf("history %+v, want one entry created at %v", cf.History, testCreated)
	}

	hdrs, data := layerFiles(t, img)
	want := map[string]struct {
		typ      byte
		mode     int64
		uid, gid int
	}{
		"etc/":                              {tar.TypeDir, 0o755, 0, 0},
		"etc/group":                         {tar.TypeReg, 0o644, 0, 0},
		"etc/passwd":                        {tar.TypeReg, 0o644, 0, 0},
		"etc/ssl/":                          {tar.TypeDir, 0o755, 0, 0},
		"etc/ssl/certs/":                    {tar.TypeDir, 0o755, 0, 0},
		"etc/ssl/certs/ca-certificates.crt": {tar.TypeReg, 0o444, 0, 0},
		"home/":                             {tar.TypeDir, 0o755, 0, 0},
		"home/nonroot/":                     {tar.TypeDir, 0o700, 65532, 65532},
		"nscale-agent":                      {tar.TypeReg, 0o555, 0, 0},
		"tmp/":                              {tar.TypeDir, 0o1777, 0, 0},
	}
	var names []string
	for _, h := range hdrs {
		names = append(names, h.Name)
		w, ok := want[h.Name]
		if !ok {
			t.Errorf("unexpected layer entry %s", h.Name)
			continue
		}
		if h.Typeflag != w.typ || h.Mode != w.mode || h.Uid != w.uid || h.Gid != w.gid {
			t.Errorf("%s: type %c mode %#o owner %d:%d, want type %c mode %#o owner %d:%d",
				h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, w.typ, w.mode, w.uid, w.gid)
		}
		if !h.ModTime.Equal(testCreated) {
			t.Errorf("%s: mtime %v, want %v", h.Name, h.ModTime, testCreated)
		}
	}
	if len(names) != len(want) {
		t.Errorf("layer entries %v, want the %d of %v", names, len(want), want)
	}
	if !sortedStrings(names) {
		t.Errorf("layer entries are not sorted: %v", names)
	}
	if !passwdHas(string(data["etc/passwd"]), "nonroot", 65532, 65532) {
		t.Errorf("/etc/passwd has no nonroot:x:65532:65532 entry:\n%s", data["etc/passwd"])
	}
	if !groupHas(string(data["etc/group"]), "nonroot", 65532) {
		t.Errorf("/etc/group has no nonroot:x:65532 entry:\n%s", data["etc/group"])
	}
	if !bytes.Equal(data["etc/ssl/certs/ca-certificates.crt"], ca) {
		t.Error("the CA bundle in the image is not the one given")
	}

	// The binary in the layer is the one built, static, and runs.
	built, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(built) != sha256.Sum256(data["nscale-agent"]) {
		t.Fatal("the layer's /nscale-agent differs from the binary built")
	}
	runFromLayer(t, data, "nscale-agent", "version")
}

// runFromLayer writes the layer's binary out, checks it is static, and runs
// it with args: it must print the version it was built with.
func runFromLayer(t *testing.T, data map[string][]byte, name string, args ...string) {
	t.Helper()
	extracted := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(extracted, data[name], 0o555); err != nil {
		t.Fatal(err)
	}
	checkStatic(t, extracted)
	out, err := exec.Command(extracted, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", extracted, args, err)
	}
	if got := strings.TrimSpace(string(out)); got != testVersion {
		t.Errorf("the image's %s %v prints %q, want %q", name, args, got, testVersion)
	}
}

// checkStatic is the test's own check (not images.StaticELF's) that path
// is static: no program interpreter, no needed shared library.
func checkStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a PT_INTERP program header: it is dynamically linked", path)
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	if len(libs) != 0 {
		t.Errorf("%s needs shared libraries %v", path, libs)
	}
}

func TestControlPlaneImage(t *testing.T) {
	t.Parallel()
	// The real control plane, built as `make images` builds it: static
	// although it needs cgo, and it runs from the image's layer.
	bin := controlPlaneBinary(t)
	archive, _ := writeImage(t, t.TempDir(), images.Spec{
		Name: images.ControlPlane, Binary: bin, Version: testVersion, Created: testCreated,
	})
	_, img := readArchive(t, archive)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("User %q, want 65532:65532", cf.Config.User)
	}
	if want := []string{"/nscale-controlplane"}; !reflect.DeepEqual(cf.Config.Entrypoint, want) {
		t.Errorf("Entrypoint %q, want %q", cf.Config.Entrypoint, want)
	}
	// nscale-controlplane has no run subcommand: flags only.
	if want := []string{"--config", "/etc/nscale/controlplane.yaml"}; !reflect.DeepEqual(cf.Config.Cmd, want) {
		t.Errorf("Cmd %q, want %q", cf.Config.Cmd, want)
	}
	if got := cf.Config.Labels["org.opencontainers.image.title"]; got != "nscale-controlplane" {
		t.Errorf("title label %q, want nscale-controlplane", got)
	}
	if _, ok := cf.Config.Labels["org.opencontainers.image.revision"]; ok {
		t.Error("revision label set without a revision")
	}
	hdrs, _ := layerFiles(t, img)
	var found bool
	for _, h := range hdrs {
		switch h.Name {
		case "nscale-controlplane":
			found = true
			if h.Mode != 0o555 || h.Uid != 0 || h.Gid != 0 {
				t.Errorf("/nscale-controlplane mode %#o owner %d:%d, want 0555 0:0", h.Mode, h.Uid, h.Gid)
			}
		case "nscale-agent", "etc/ssl/certs/ca-certificates.crt":
			t.Errorf("the control-plane image holds %s", h.Name)
		}
	}
	if !found {
		t.Fatal("the control-plane image has no /nscale-controlplane")
	}
	_, data := layerFiles(t, img)
	// The control plane takes flags only: --version.
	runFromLayer(t, data, "nscale-controlplane", "--version")
}

// TestReproducible builds twice from the same inputs, each Build reading
// the binary and writing the tar afresh. A small binary keeps it fast
// under -race; the code path is the agent's.
func TestReproducible(t *testing.T) {
	t.Parallel()
	s := images.Spec{Name: images.Agent, Binary: smallBinary(t), Version: testVersion, Revision: testRevision,
		Created: testCreated, CACertificates: caBundle(t)}
	a, da := writeImage(t, t.TempDir(), s)
	b, db := writeImage(t, t.TempDir(), s)
	if da != db {
		t.Errorf("two builds of the same inputs: digests %s and %s", da, db)
	}
	if sa, sb := fileHash(t, a), fileHash(t, b); sa != sb {
		t.Errorf("two builds of the same inputs: archives differ (%x, %x)", sa, sb)
	}
	// The digest does depend on each input.
	base := da
	for name, change := range map[string]func(*images.Spec){
		"version":  func(s *images.Spec) { s.Version += "1" },
		"revision": func(s *images.Spec) { s.Revision = "" },
		"created":  func(s *images.Spec) { s.Created = s.Created.Add(time.Second) },
		"CA":       func(s *images.Spec) { s.CACertificates = nil },
		"name":     func(s *images.Spec) { s.Name = images.ControlPlane },
	} {
		c := s
		change(&c)
		if d := digestOf(t, c); d == base {
			t.Errorf("changing the %s gives the same digest %s", name, d)
		}
	}
}

func TestBuildRefuses(t *testing.T) {
	t.Parallel()
	bin := smallBinary(t)
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	for _, tc := range []struct {
		name string
		spec images.Spec
		want string
	}{
		{"dynamic binary", images.Spec{Name: images.Agent, Binary: dynamicBinary(t), Version: "1"}, "dynamically linked"},
		{"not ELF", images.Spec{Name: images.Agent, Binary: writeFile(t, "#!/bin/sh\n"), Version: "1"}, "not an ELF"},
		{"unknown image", images.Spec{Name: "nscale", Binary: bin, Version: "1"}, "unknown image"},
		{"no version", images.Spec{Name: images.Agent, Binary: bin}, "version"},
		{"other arch", images.Spec{Name: images.Agent, Binary: bin, Version: "1", Arch: other}, "binary"},
		{"bad CA bundle", images.Spec{Name: images.Agent, Binary: bin, Version: "1", CACertificates: []byte("x")}, "PEM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := images.Build(tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	img, err := images.Build(images.Spec{Name: images.Agent, Binary: bin, Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := images.WriteArchive(filepath.Join(t.TempDir(), "x.tar"), img, "nscale-agent"); err == nil {
		t.Error("WriteArchive took a reference without a registry and tag")
	}
}

func digestOf(t *testing.T, s images.Spec) v1.Hash {
	t.Helper()
	img, err := images.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func passwdHas(passwd, name string, uid, gid int) bool {
	for _, line := range strings.Split(passwd, "\n") {
		f := strings.Split(line, ":")
		if len(f) == 7 && f[0] == name && f[2] == strconv.Itoa(uid) && f[3] == strconv.Itoa(gid) {
			return true
		}
	}
	return false
}

func groupHas(group, name string, gid int) bool {
	for _, line := range strings.Split(group, "\n") {
		f := strings.Split(line, ":")
		if len(f) == 4 && f[0] == name && f[2] == strconv.Itoa(gid) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedStrings(list []string) bool {
	for i := 1; i < len(list); i++ {
		if list[i-1] >= list[i] {
			return false
		}
	}
	return true
}
