// Package k8stest holds what the tests that run a real kube-apiserver
// share: where scripts/k8s-tools.sh put the binaries.
package k8stest

import (
	"os"
	"path/filepath"
)

// AssetsDir is where scripts/k8s-tools.sh puts kube-apiserver and etcd;
// KUBEBUILDER_ASSETS wins, as it does inside envtest.
func AssetsDir() string {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d
	}
	cache := os.Getenv("NSCALE_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "nscale")
	}
	return filepath.Join(cache, "k8s")
}
