package charttest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	k8serrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/nscale/nscale/controlplane/enrol"
	"github.com/nscale/nscale/controlplane/enrol/k8s"
)

// api is the package's real kube-apiserver; nil when its binaries are
// absent (apiErr says why).
var (
	api    *APIServer
	apiErr error
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	start := time.Now()
	api, apiErr = StartAPIServer()
	if apiErr != nil && !errors.Is(apiErr, ErrNoBinaries) {
		fmt.Fprintln(os.Stderr, apiErr)
		return 1
	}
	if api != nil {
		fmt.Fprintf(os.Stderr, "envtest: kube-apiserver and etcd up in %s\n", time.Since(start).Round(time.Millisecond))
		defer func() {
			if err := api.Stop(); err != nil {
				fmt.Fprintf(os.Stderr, "envtest: stop: %v\n", err)
			}
		}()
	}
	return m.Run()
}

func needAPI(t *testing.T) *APIServer {
	t.Helper()
	if api == nil {
		Skip(t, apiErr)
	}
	return api
}

// applier creates rendered objects through the dynamic client.
type applier struct {
	dyn    dynamic.Interface
	mapper meta.RESTMapper
}

func newApplier(t *testing.T, cfg *rest.Config) *applier {
	t.Helper()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := needAPI(t)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(a.Admin.Discovery()))
	return &applier{dyn: dyn, mapper: mapper}
}

// create sends doc to the API server with strict field validation;
// dryRun asks it to check everything (admission included) and store
// nothing.
func (ap *applier) create(ctx context.Context, doc []byte, dryRun bool) error {
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(doc, &u.Object); err != nil {
		return err
	}
	gvk := u.GroupVersionKind()
	m, err := ap.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("%s: %w", gvk, err)
	}
	opts := metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var ri dynamic.ResourceInterface = ap.dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = ap.dyn.Resource(m.Resource).Namespace(u.GetNamespace())
	}
	_, err = ri.Create(ctx, u, opts)
	return err
}

func ensureNamespace(ctx context.Context, t *testing.T, ns string) {
	t.Helper()
	_, err := needAPI(t).Admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !k8serrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// Every object of every rendering passes the real API server's validation
// and admission with strict field validation (server-side dry-run), the
// ServiceMonitors against the CRD of testdata. The sidecar pod template is
// dry-run as the Pod Spark makes of it (its container given an image). A
// field the API does not know is refused, so the check can fail.
func TestServerSideDryRun(t *testing.T) {
	a := needAPI(t)
	ap := newApplier(t, a.Config)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, rd := range renderings {
		t.Run(rd.name, func(t *testing.T) {
			r := rd.render(t)
			for _, o := range r.Objects {
				if o.Namespace != "" {
					ensureNamespace(ctx, t, o.Namespace)
				}
				if err := ap.create(ctx, o.YAML, true); err != nil {
					t.Errorf("%s %s/%s: %v", o.Kind, o.Namespace, o.Name, err)
				}
				if cm, ok := o.Typed.(*corev1.ConfigMap); ok {
					if pt, ok := cm.Data["pod-template.yaml"]; ok {
						pod := sparkPod(t, pt, cm.Namespace)
						if err := ap.create(ctx, pod, true); err != nil {
							t.Errorf("the pod Spark makes from %s: %v", cm.Name, err)
						}
					}
				}
			}
		})
	}

	t.Run("strict validation is on", func(t *testing.T) {
		r := mustRender(t, "serviceMonitor: {enabled: true}\n")
		ensureNamespace(ctx, t, "nscale")
		for _, tc := range []struct{ kind, name, after, insert string }{
			{"DaemonSet", "nscale-agent", "      automountServiceAccountToken: false\n", "      automountServiceAccountTokn: false\n"},
			{"Deployment", "nscale-controlplane", "  replicas: 3\n", "  replica: 3\n"},
			{"ServiceMonitor", "nscale-agent", "      path: /metrics\n", "      pth: /metrics\n"},
		} {
			o, ok := r.Find(tc.kind, tc.name)
			if !ok || !strings.Contains(string(o.YAML), tc.after) {
				t.Fatalf("%s %s: no line %q to follow", tc.kind, tc.name, tc.after)
			}
			bad := strings.Replace(string(o.YAML), tc.after, tc.after+tc.insert, 1)
			err := ap.create(ctx, []byte(bad), true)
			if err == nil || !strings.Contains(err.Error(), "unknown field") {
				t.Errorf("%s with an unknown field: %v, want a strict-validation refusal", tc.kind, err)
			}
		}
	})
}

// sparkPod is the pod template as Spark submits it: its container named
// and given an image (the only field of a Pod the template leaves to Spark
// that the API server requires), in the Spark namespace.
func sparkPod(t *testing.T, template, ns string) []byte {
	t.Helper()
	var p map[string]any
	if err := yaml.Unmarshal([]byte(template), &p); err != nil {
		t.Fatal(err)
	}
	md, _ := p["metadata"].(map[string]any)
	md["name"], md["namespace"] = "spark-exec-1", ns
	spec := p["spec"].(map[string]any)
	spec["containers"].([]any)[0].(map[string]any)["image"] = "apache/spark:4.0.1"
	out, err := yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The rendered RBAC, really created, grants the control plane's account
// exactly what enrolment needs and the agents' account nothing: checked
// with SubjectAccessReview, and by the real attestor enrolling an agent's
// pod-bound token through a client holding the control plane's own token.
func TestRBAC(t *testing.T) {
	a := needAPI(t)
	ap := newApplier(t, a.Config)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rel := Release{Name: "rbac", Namespace: "rbac-test"}
	ensureNamespace(ctx, t, rel.Namespace)
	ensureNamespace(ctx, t, "spark")
	r, err := renderValues("sidecar: {enabled: true, namespace: spark}\n", rel)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range r.Objects {
		switch o.Kind {
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding":
			if err := ap.create(ctx, o.YAML, false); err != nil {
				t.Fatalf("create %s %s: %v", o.Kind, o.Name, err)
			}
		}
	}
	cp := "system:serviceaccount:" + rel.Namespace + ":rbac-nscale-controlplane"
	agentSA := "system:serviceaccount:" + rel.Namespace + ":rbac-nscale-agent"
	// RBAC is served from a cache: wait until the grant is in force.
	if err := a.WaitCan(ctx, true, cp, "create", "authentication.k8s.io", "tokenreviews", ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user, verb, group, resource, ns string
		want                            bool
	}{
		{cp, "create", "authentication.k8s.io", "tokenreviews", "", true},
		{cp, "get", "", "pods", rel.Namespace, true},
		{cp, "get", "", "pods", "spark", true},
		{cp, "list", "", "pods", rel.Namespace, false},
		{cp, "get", "", "secrets", rel.Namespace, false},
		{cp, "create", "", "pods", rel.Namespace, false},
		{cp, "create", "", "serviceaccounts/token", rel.Namespace, false},
		{agentSA, "list", "", "nodes", "", false},
		{agentSA, "get", "", "nodes", "", false},
		{agentSA, "get", "", "secrets", rel.Namespace, false},
		{agentSA, "list", "", "secrets", "", false},
		{agentSA, "create", "", "pods", rel.Namespace, false},
		{agentSA, "get", "", "pods", rel.Namespace, false},
		{agentSA, "create", "authentication.k8s.io", "tokenreviews", "", false},
		{agentSA, "create", "", "serviceaccounts/token", rel.Namespace, false},
		{agentSA, "get", "", "configmaps", rel.Namespace, false},
	} {
		got, err := a.Can(ctx, tc.user, tc.verb, tc.group, tc.resource, tc.ns)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s may %s %s/%s in %q: %v, want %v", tc.user, tc.verb, tc.group, tc.resource, tc.ns, got, tc.want)
		}
	}

	// The attestor, configured as the chart renders it, with the control
	// plane's own token: an agent pod's token enrols, and so does a Spark
	// pod's (the sidecar), each as its pod.
	cfg := controlPlaneConfig(t, configMapFile(t, r, "rbac-nscale-controlplane", "controlplane.yaml"))
	tok, err := a.Admin.CoreV1().ServiceAccounts(rel.Namespace).CreateToken(ctx, "rbac-nscale-controlplane", &authnv1.TokenRequest{
		Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc := &rest.Config{Host: a.Config.Host, BearerToken: tok.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAData: a.Config.CAData}}
	att, err := k8s.NewForConfig(*cfg.Enrolment.Kubernetes, rc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Admin.CoreV1().ServiceAccounts("spark").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "spark"}}, metav1.CreateOptions{}); err != nil && !k8serrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for _, tc := range []struct{ ns, sa string }{{rel.Namespace, "rbac-nscale-agent"}, {"spark", "spark"}} {
		pod, err := a.Admin.CoreV1().Pods(tc.ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "agent-" + tc.sa},
			Spec:       corev1.PodSpec{ServiceAccountName: tc.sa, NodeName: "node-a", Containers: []corev1.Container{{Name: "agent", Image: "nscale-agent:test"}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tr, err := a.Admin.CoreV1().ServiceAccounts(tc.ns).CreateToken(ctx, tc.sa, &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{
			Audiences: []string{cfg.Enrolment.Kubernetes.Audience}, ExpirationSeconds: ptr(int64(600)),
			BoundObjectRef: &authnv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		id, err := att.Attest(ctx, enrol.Request{Method: enrol.Kubernetes, Evidence: []byte(tr.Status.Token), Node: "node-a"})
		if err != nil {
			t.Errorf("%s/%s: the rendered RBAC does not let the control plane enrol it: %v", tc.ns, tc.sa, err)
		} else if id.ID != "k8s-"+string(pod.UID) {
			t.Errorf("%s/%s enrolled as %s", tc.ns, tc.sa, id.ID)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// The Pod Security levels docs/install-kubernetes.md states, checked by the
// API server's Pod Security admission on pods made from the rendered
// templates: the control plane passes restricted; the agent DaemonSet's pod
// (hostPath) is refused under baseline and admitted under privileged.
func TestPodSecurityLevels(t *testing.T) {
	a := needAPI(t)
	ap := newApplier(t, a.Config)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := mustRender(t, "")
	podOf := func(meta metav1.ObjectMeta, spec corev1.PodSpec, ns string) []byte {
		p := corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: meta, Spec: spec}
		p.Name, p.Namespace = "pss-check", ns
		b, err := yaml.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	d := mustGet[*appsv1.Deployment](t, r, "Deployment", "nscale-controlplane")
	ds := mustGet[*appsv1.DaemonSet](t, r, "DaemonSet", "nscale-agent")
	for _, tc := range []struct {
		level, what string
		pod         func(ns string) []byte
		refused     string // "" admitted
	}{
		{"restricted", "control plane", func(ns string) []byte { return podOf(d.Spec.Template.ObjectMeta, d.Spec.Template.Spec, ns) }, ""},
		{"baseline", "agent", func(ns string) []byte { return podOf(ds.Spec.Template.ObjectMeta, ds.Spec.Template.Spec, ns) }, "hostPath"},
		{"privileged", "agent", func(ns string) []byte { return podOf(ds.Spec.Template.ObjectMeta, ds.Spec.Template.Spec, ns) }, ""},
	} {
		ns := "pss-" + tc.level
		_, err := a.Admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns,
			Labels: map[string]string{"pod-security.kubernetes.io/enforce": tc.level}}}, metav1.CreateOptions{})
		if err != nil && !k8serrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		err = ap.create(ctx, tc.pod(ns), true)
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("%s pod under %s: %v", tc.what, tc.level, err)
		case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
			t.Errorf("%s pod under %s: %v, want a refusal naming %s", tc.what, tc.level, err, tc.refused)
		}
	}
}
