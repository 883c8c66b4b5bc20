package bootstrap

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"syscall"
)

// manifestPath is where a bootstrap records what it created, so that
// --uninstall removes exactly that and nothing an operator made. It is
// root's (under /etc/nscale, not the agent-writable state directory):
// an agent that could edit it could make root delete any file.
const manifestPath = "/etc/nscale/bootstrap.json"

// manifest lists what bootstrap created, in creation order; uninstall
// walks it backwards. Things that existed before the first run are never
// listed, so they survive --uninstall.
type manifest struct {
	CreatedUser  bool     `json:"created_user,omitempty"`
	CreatedGroup bool     `json:"created_group,omitempty"`
	Paths        []string `json:"paths,omitempty"`
	// Backups are the user-database backup files (passwd- ...) that
	// useradd made where none were before.
	Backups []string `json:"backups,omitempty"`
	// SparkDefaults is the spark-defaults.conf holding our block;
	// SparkCreated says bootstrap created the file itself.
	SparkDefaults string `json:"spark_defaults,omitempty"`
	SparkCreated  bool   `json:"spark_created,omitempty"`
	EBPFPinDir    string `json:"ebpf_pin_dir,omitempty"`
	Unit          bool   `json:"unit,omitempty"`
}

func (m *manifest) add(path string) {
	if !slices.Contains(m.Paths, path) {
		m.Paths = append(m.Paths, path)
	}
}

// readManifest reads the record, refusing one another account could have
// written: --uninstall deletes what it lists, as root.
func readManifest(file string) (manifest, bool, error) {
	var m manifest
	fi, err := os.Lstat(file)
	if errors.Is(err, os.ErrNotExist) {
		return m, false, nil
	}
	if err != nil {
		return m, false, err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !fi.Mode().IsRegular() || fi.Mode().Perm()&0o022 != 0 || (ok && st.Uid != 0) {
		return m, false, fmt.Errorf("%s is not a file only root may write (mode %v): refusing a record another account could have written", file, fi.Mode())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return m, false, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, false, fmt.Errorf("%s is not a bootstrap record: %v", file, err)
	}
	for _, p := range append(slices.Clone(m.Paths), m.SparkDefaults) {
		if p != "" && (!path.IsAbs(p) || path.Clean(p) != p) {
			return m, false, fmt.Errorf("%s lists %q, not a clean absolute path: refusing the record", file, p)
		}
	}
	return m, true, nil
}

func (m manifest) encode() []byte {
	b, _ := json.MarshalIndent(m, "", "  ")
	return append(b, '\n')
}
