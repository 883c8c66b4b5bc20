package charttest

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/nscale/nscale/controlplane/enrol/k8s"
)

func installDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(ChartDir(), "..", "..", "..", "docs", "install-kubernetes.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docs/install-kubernetes.md lists every value of values.yaml, with the
// default values.yaml has.
func TestInstallGuideListsEveryValue(t *testing.T) {
	doc := installDoc(t)
	data, err := os.ReadFile(filepath.Join(ChartDir(), "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(data, &values); err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{} // value -> its table row
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		for _, m := range regexp.MustCompile("`([A-Za-z0-9.]+)`").FindAllStringSubmatch(cells[1], -1) {
			rows[m[1]] = line
		}
	}
	var walk func(m map[string]any, prefix string)
	walk = func(m map[string]any, prefix string) {
		for k, v := range m {
			p := strings.TrimPrefix(prefix+"."+k, ".")
			if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
				walk(sub, p)
				continue
			}
			row, ok := rows[p]
			if !ok {
				t.Errorf("docs/install-kubernetes.md has no table row for %s", p)
				continue
			}
			var want string
			switch x := v.(type) {
			case string:
				want = x
			case []any, map[string]any:
				continue // lists and maps: described in words
			default:
				b, _ := sigsyaml.Marshal(x)
				want = strings.TrimSpace(string(b))
			}
			if want != "" && !strings.Contains(row, want) {
				t.Errorf("docs row for %s does not show its default %q:\n%s", p, want, row)
			}
		}
	}
	walk(values, "")
}

// The commands and objects the guide shows are what the chart renders.
func TestInstallGuideMatchesTheChart(t *testing.T) {
	doc := installDoc(t)
	r := mustRender(t, "agent: {ebpf: {enabled: true}, allowedUIDs: [185]}\nsidecar: {enabled: true, namespace: spark}\n")

	// The ClusterRole shown is k8s.Permissions, which the chart grants.
	block := regexp.MustCompile("(?s)```yaml\n  rules:\n(.*?)```").FindStringSubmatch(doc)
	if block == nil {
		t.Fatal("the guide shows no ClusterRole rules")
	}
	var shown struct {
		Rules []rbacv1.PolicyRule `json:"rules"`
	}
	if err := sigsyaml.UnmarshalStrict([]byte("rules:\n"+block[1]), &shown); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(shown.Rules, k8s.Permissions) {
		t.Errorf("the guide's rules %+v are not k8s.Permissions", shown.Rules)
	}

	// The eBPF init container's command line.
	ds := mustGet[*appsv1.DaemonSet](t, r, "DaemonSet", "nscale-agent")
	c := container(&ds.Spec.Template.Spec, ebpfInit)
	if want := "nscale-agent " + strings.Join(c.Args, " "); !strings.Contains(doc, want) {
		t.Errorf("the guide does not show the init container's command %q", want)
	}
	agent := container(&ds.Spec.Template.Spec, "agent")
	if want := "nscale-agent " + strings.Join(agent.Args[:3], " "); !strings.Contains(doc, want) {
		t.Errorf("the guide does not show the agent's command %q", want)
	}

	// How to fetch the pod template: the guide's line is the chart's.
	cm, _ := r.Find("ConfigMap", "nscale-sidecar-pod-template")
	fetch := "kubectl -n spark get configmap nscale-sidecar-pod-template -o jsonpath='{.data.pod-template\\.yaml}' > pod-template.yaml"
	if !strings.Contains(string(cm.YAML), fetch) || !strings.Contains(doc, fetch) {
		t.Errorf("the guide and the ConfigMap disagree on %q", fetch)
	}
	pod := decodePodTemplate(t, cm.Typed.(*corev1.ConfigMap).Data["pod-template.yaml"])
	if pod.Spec.Containers[0].Name != "spark" || !strings.Contains(doc, "podTemplateContainerName=spark") {
		t.Errorf("the spark-submit example names the container %s", pod.Spec.Containers[0].Name)
	}
	if !strings.Contains(doc, "jdbc:arrow-flight-sql://127.0.0.1:7443/") {
		t.Error("the spark-submit example does not dial the sidecar's 127.0.0.1:7443")
	}
	// The Secrets and ConfigMap the guide makes are the ones the defaults name.
	for _, want := range []string{"create secret generic nscale-controlplane-keys", "create configmap nscale-control-plane-ca --from-file=ca.crt=",
		"create secret generic nscale-store --from-file=dsn=", "create secret tls nscale-api-tls"} {
		if !strings.Contains(doc, want) {
			t.Errorf("the guide does not run %q", want)
		}
	}
	for _, key := range []string{"admin.token", "agent-ca.key", "agent-ca.crt", "signing.key", "sealing.key", "masking.key"} {
		if !strings.Contains(doc, "--from-file=data/"+key) {
			t.Errorf("the guide's keys Secret lacks %s", key)
		}
	}
}
