package bootstrap

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
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

func readManifest(file string) (manifest, bool, error) {
	var m manifest
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return m, false, nil
	}
	if err != nil {
		return m, false, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, false, fmt.Errorf("%s is not a bootstrap record: %v", file, err)
	}
	return m, true, nil
}

func (m manifest) encode() []byte {
	b, _ := json.MarshalIndent(m, "", "  ")
	return append(b, '\n')
}
