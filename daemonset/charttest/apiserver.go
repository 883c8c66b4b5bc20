package charttest

import (
	"context"
	"errors"
	"fmt"
	"github.com/nscale/nscale/internal/k8stest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// APIServer is a real kube-apiserver and etcd (envtest) built by
// scripts/k8s-tools.sh into ${NSCALE_CACHE:-$HOME/.cache/nscale}/k8s, with
// the ServiceMonitor CRD of testdata installed.
type APIServer struct {
	Env    *envtest.Environment
	Config *rest.Config
	Admin  kubernetes.Interface
}

// ErrNoBinaries is wrapped by StartAPIServer's error when kube-apiserver or
// etcd is missing.
var ErrNoBinaries = errors.New("kube-apiserver or etcd missing")

// StartAPIServer starts the API server; Stop ends it.
func StartAPIServer() (*APIServer, error) {
	dir := k8stest.AssetsDir()
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if fi, err := os.Stat(filepath.Join(dir, bin)); err != nil || fi.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("%w: no %s in %s: run scripts/k8s-tools.sh (builds kube-apiserver and etcd into the cache)", ErrNoBinaries, bin, dir)
		}
	}
	logf.SetLogger(logr.Discard())
	env := &envtest.Environment{
		BinaryAssetsDirectory:    dir,
		ControlPlaneStartTimeout: time.Minute,
		CRDInstallOptions:        envtest.CRDInstallOptions{Paths: []string{CRDFile()}, ErrorIfPathMissing: true},
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("envtest: starting kube-apiserver and etcd from %s: %w", dir, err)
	}
	admin, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	return &APIServer{Env: env, Config: cfg, Admin: admin}, nil
}

// NeedAPIServer starts an API server for t and stops it when t ends; it
// skips t (fails under CI=true) when the binaries are missing.
func NeedAPIServer(t testing.TB) *APIServer {
	t.Helper()
	a, err := StartAPIServer()
	if err != nil {
		Skip(t, err)
	}
	t.Cleanup(func() {
		if err := a.Stop(); err != nil {
			t.Errorf("envtest stop: %v", err)
		}
	})
	return a
}

// Stop stops the API server and etcd.
func (a *APIServer) Stop() error { return a.Env.Stop() }

// CRDFile is the ServiceMonitor CRD the API server gets.
func CRDFile() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "servicemonitor-crd.yaml")
}

// Skip skips t because the API server could not be had (err), except
// under CI=true, where missing binaries mean scripts/tools.sh did not run:
// a failure.
func Skip(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and the real API server is missing: %v", err)
	}
	t.Skip(err)
}

// Can asks the API server (SubjectAccessReview) whether user may do verb on
// resource (group/resource) in namespace ("" for cluster scope).
func (a *APIServer) Can(ctx context.Context, user, verb, group, resource, namespace string) (bool, error) {
	// The groups the API server gives a service account's token.
	groups := []string{"system:authenticated"}
	if rest, ok := strings.CutPrefix(user, "system:serviceaccount:"); ok {
		ns, _, _ := strings.Cut(rest, ":")
		groups = append(groups, "system:serviceaccounts", "system:serviceaccounts:"+ns)
	}
	sar, err := a.Admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User:               user,
		Groups:             groups,
		ResourceAttributes: &authzv1.ResourceAttributes{Namespace: namespace, Verb: verb, Group: group, Resource: resource},
	}}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return sar.Status.Allowed, nil
}

// WaitCan polls Can until it answers want (RBAC is served from a cache that
// lags a new binding) or ctx ends.
func (a *APIServer) WaitCan(ctx context.Context, want bool, user, verb, group, resource, namespace string) error {
	for {
		got, err := a.Can(ctx, user, verb, group, resource, namespace)
		if err != nil {
			return err
		}
		if got == want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s %s %s/%s in %q: allowed=%v, want %v", user, verb, group, resource, namespace, got, want)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
