package nscale_test

// The import rules of DESIGN.md §2, checked on the real build graph: the
// agent and the control plane never import each other, presign and internal
// import nothing above them, and the agent binary links no SQL driver.

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/nscale/nscale"

// deps returns the transitive imports of pkg (non-test), via go list.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
	}
	var list []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		list = append(list, sc.Text())
	}
	return list
}

// packages lists the project packages matching pattern.
func packages(t *testing.T, pattern string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", pattern).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pattern, err)
	}
	return strings.Fields(string(out))
}

func under(pkg, dir string) bool {
	p := module + "/" + dir
	return pkg == p || strings.HasPrefix(pkg, p+"/")
}

// database/sql itself is not checked: prometheus' collectors package imports
// it for its DB-stats collector. A driver is what would let the agent talk to
// the catalog store.
var sqlDrivers = []string{"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/go-sql-driver/mysql"}

func TestImportRules(t *testing.T) {
	rules := []struct {
		from      string   // project dir whose packages are checked
		forbidden []string // project dirs they must not depend on
	}{
		{"agent", []string{"controlplane", "cmd", "integration", "bootstrap"}},
		{"controlplane", []string{"agent", "cmd", "integration", "bootstrap"}},
		{"presign", []string{"agent", "controlplane", "internal", "bootstrap", "cmd", "integration"}},
		{"internal", []string{"agent", "controlplane", "presign", "bootstrap", "cmd", "integration"}},
	}
	for _, r := range rules {
		pkgs := packages(t, "./"+r.from+"/...")
		if len(pkgs) == 0 {
			continue
		}
		for _, p := range pkgs {
			for _, d := range deps(t, p) {
				for _, f := range r.forbidden {
					if under(d, f) {
						t.Errorf("%s imports %s: %s/ must not depend on %s/", p, d, r.from, f)
					}
				}
			}
		}
	}
}

func TestAgentBinaryLinksNoSQLDriver(t *testing.T) {
	for _, d := range deps(t, "./cmd/nscale-agent") {
		for _, drv := range sqlDrivers {
			if d == drv || strings.HasPrefix(d, drv+"/") {
				t.Errorf("nscale-agent links %s; the agent must hold no SQL driver", d)
			}
		}
	}
}

// The checks above must be able to fail: the control plane binary does link
// a driver, so the same scan finds it there.
func TestDriverScanFindsControlPlaneDrivers(t *testing.T) {
	found := map[string]bool{}
	for _, d := range deps(t, "./cmd/nscale-controlplane") {
		for _, drv := range sqlDrivers {
			if d == drv || strings.HasPrefix(d, drv+"/") {
				found[drv] = true
			}
		}
	}
	for _, drv := range sqlDrivers {
		if !found[drv] {
			t.Errorf("scan did not find %s in nscale-controlplane; the driver check would be blind", drv)
		}
	}
}

// The agent holds no cloud credential, so it has no code that could load
// one: no AWS SDK (config, credentials, IMDS) and not the presign package,
// which signs with storage credentials. The control plane links both, so
// the scan can fail.
func TestAgentBinaryLinksNoCloudCredentialCode(t *testing.T) {
	forbidden := []string{"github.com/aws/aws-sdk-go-v2", "github.com/nscale/nscale/presign"}
	scan := func(bin string) []string {
		var hits []string
		for _, d := range deps(t, bin) {
			for _, f := range forbidden {
				if d == f || strings.HasPrefix(d, f+"/") {
					hits = append(hits, d)
				}
			}
		}
		return hits
	}
	if hits := scan("./cmd/nscale-agent"); len(hits) > 0 {
		t.Errorf("nscale-agent links %v; the agent must hold no cloud credential code", hits)
	}
	if hits := scan("./cmd/nscale-controlplane"); len(hits) == 0 {
		t.Error("the scan found no AWS SDK in nscale-controlplane; the check would be blind")
	}
}
