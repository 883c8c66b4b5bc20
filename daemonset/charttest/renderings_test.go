package charttest

import (
	"fmt"
	"path"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/nscale/nscale/agent"
	"github.com/nscale/nscale/controlplane"
	"github.com/nscale/nscale/internal/configfile"
)

// rendering is one way of installing the chart: the defaults, or one option
// turned on. Every test that checks "every rendering" runs over this list,
// the API server's dry-run included.
type rendering struct {
	name   string
	values string // a values file, as `helm install -f` takes it
	rel    Release
}

var renderings = []rendering{
	{name: "defaults"},
	{name: "hostNetwork", values: "agent: {hostNetwork: true}\n"},
	{name: "ebpf", values: "agent: {ebpf: {enabled: true}, allowedUIDs: [185, 1000]}\n"},
	{name: "serviceMonitor", values: "serviceMonitor: {enabled: true, labels: {release: prometheus}}\n"},
	{name: "autoscaling", values: "controlPlane: {autoscaling: {enabled: true, minReplicas: 3, maxReplicas: 6}}\n"},
	{name: "no PDB, one replica", values: "controlPlane: {replicas: 1, podDisruptionBudget: {enabled: false}}\n"},
	{name: "sidecar", values: "sidecar: {enabled: true, namespace: spark, serviceAccount: spark}\n"},
	{name: "sidecar only", values: "agent: {enabled: false}\nsidecar: {enabled: true}\n"},
	{name: "agents only", values: "controlPlane: {enabled: false}\nagent: {controlPlane: {address: nscale.example.com:7081, serverName: nscale.example.com}}\n"},
	{name: "API behind a TLS proxy", values: "controlPlane: {api: {tlsSecret: \"\", insecure: true}}\n"},
	{name: "S3-compatible store, static keys, MySQL", values: `controlPlane:
  store: {dialect: mysql, dsnSecret: {name: nscale-mysql, key: dsn.txt}}
  s3: {endpoint: "http://minio.minio:9000", pathStyle: true, credentialsSecret: nscale-s3}
  agentApi: {tlsSecret: nscale-agent-api-tls, extraServerNames: [nscale-agents.example.com]}
`},
	{name: "socket off, host network", values: "agent: {socket: {enabled: false}, hostNetwork: true}\n"},
	{name: "socket directory prepared on the node", values: "agent: {socket: {prepare: false, hostPathType: Directory}}\n"},
	{name: "other release and namespace", rel: Release{Name: "governance", Namespace: "data-platform"},
		values: "image: {registry: registry.example.com/mirror/nscale/, tag: 1.2.3, pullSecrets: [regcred]}\n"},
	{name: "everything on", values: `agent:
  hostNetwork: true
  allowedUIDs: [185]
  ebpf: {enabled: true}
  tolerations: [{operator: Exists}]
  nodeSelector: {nscale.io/spark: "true"}
  priorityClassName: system-node-critical
sidecar: {enabled: true, namespace: spark}
serviceMonitor: {enabled: true}
controlPlane:
  autoscaling: {enabled: true}
  serviceAccount: {annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::123456789012:role/nscale"}}
  enrolment: {extraAllowedServiceAccounts: [batch/nscale-agent]}
  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/os, operator: In, values: [linux]}]}]}}}
commonLabels: {team: data}
`},
}

func (rd rendering) release() Release {
	if rd.rel.Name == "" {
		return DefaultRelease
	}
	return rd.rel
}

func (rd rendering) render(t *testing.T) *Rendering {
	t.Helper()
	r, err := renderValues(rd.values, rd.release())
	if err != nil {
		t.Fatalf("render %s: %v", rd.name, err)
	}
	return r
}

func renderValues(values string, rel Release) (*Rendering, error) {
	var v map[string]any
	if values != "" {
		var err error
		if v, err = ValuesYAML(values); err != nil {
			return nil, err
		}
	}
	return Render(v, rel)
}

func mustRender(t *testing.T, values string) *Rendering {
	t.Helper()
	r, err := renderValues(values, DefaultRelease)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return r
}

func mustGet[T any](t *testing.T, r *Rendering, kind, name string) T {
	t.Helper()
	v, err := Get[T](r, kind, name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// podSpec is a pod the chart renders: the DaemonSet's, the Deployment's, or
// the sidecar pod template held in a ConfigMap.
type podSpec struct {
	what string
	spec *corev1.PodSpec
}

func podSpecs(t *testing.T, r *Rendering) []podSpec {
	t.Helper()
	var out []podSpec
	for _, o := range r.Objects {
		switch obj := o.Typed.(type) {
		case *appsv1.DaemonSet:
			out = append(out, podSpec{"DaemonSet " + o.Name, &obj.Spec.Template.Spec})
		case *appsv1.Deployment:
			out = append(out, podSpec{"Deployment " + o.Name, &obj.Spec.Template.Spec})
		case *corev1.ConfigMap:
			if pt, ok := obj.Data["pod-template.yaml"]; ok {
				p := decodePodTemplate(t, pt)
				out = append(out, podSpec{"pod template " + o.Name, &p.Spec})
			}
		}
	}
	return out
}

// decodePodTemplate strictly decodes a pod template file into a Pod.
func decodePodTemplate(t *testing.T, text string) *corev1.Pod {
	t.Helper()
	obj, err := DecodeStrict([]byte(text))
	if err != nil {
		t.Fatalf("pod template: %v\n%s", err, text)
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		t.Fatalf("pod template decodes as %T", obj)
	}
	return p
}

// configMapFile is one file of a rendered ConfigMap.
func configMapFile(t *testing.T, r *Rendering, name, key string) string {
	t.Helper()
	cm := mustGet[*corev1.ConfigMap](t, r, "ConfigMap", name)
	v, ok := cm.Data[key]
	if !ok {
		t.Fatalf("ConfigMap %s has no %s", name, key)
	}
	return v
}

// agentConfig decodes a rendered agent configuration the way nscale-agent
// does (defaults, then the file, strictly) and validates it.
func agentConfig(t *testing.T, text string) agent.Config {
	t.Helper()
	cfg := agent.DefaultConfig()
	if err := configfile.Decode("agent.yaml", []byte(text), &cfg); err != nil {
		t.Fatalf("the agent refuses the rendered config: %v\n%s", err, text)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the rendered agent config is invalid: %v\n%s", err, text)
	}
	return cfg
}

// controlPlaneConfig does the same for nscale-controlplane.
func controlPlaneConfig(t *testing.T, text string) controlplane.Config {
	t.Helper()
	cfg := controlplane.DefaultConfig()
	if err := configfile.Decode("controlplane.yaml", []byte(text), &cfg); err != nil {
		t.Fatalf("the control plane refuses the rendered config: %v\n%s", err, text)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the rendered control-plane config is invalid: %v\n%s", err, text)
	}
	return cfg
}

// mountOf finds the volume mount of c that holds file, and its volume.
func mountOf(spec *corev1.PodSpec, c *corev1.Container, file string) (*corev1.VolumeMount, *corev1.Volume, error) {
	var best *corev1.VolumeMount
	for i := range c.VolumeMounts {
		m := &c.VolumeMounts[i]
		if file == m.MountPath || strings.HasPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/") {
			if best == nil || len(m.MountPath) > len(best.MountPath) {
				best = m
			}
		}
	}
	if best == nil {
		return nil, nil, fmt.Errorf("%s is on no volume mounted in container %s (the root filesystem is read-only)", file, c.Name)
	}
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == best.Name {
			return best, &spec.Volumes[i], nil
		}
	}
	return nil, nil, fmt.Errorf("container %s mounts %s, which is not a volume of the pod", c.Name, best.Name)
}

// fileSource says where a file of a mounted volume comes from: for a
// ConfigMap or Secret volume, the object and key that hold it.
func fileSource(m *corev1.VolumeMount, v *corev1.Volume, file string) (kind, name, key string) {
	rel := strings.TrimPrefix(strings.TrimPrefix(file, m.MountPath), "/")
	find := func(items []corev1.KeyToPath) string {
		for _, it := range items {
			if path.Clean(it.Path) == rel {
				return it.Key
			}
		}
		if len(items) == 0 {
			return rel
		}
		return ""
	}
	switch {
	case v.ConfigMap != nil:
		return "ConfigMap", v.ConfigMap.Name, find(v.ConfigMap.Items)
	case v.Secret != nil:
		return "Secret", v.Secret.SecretName, find(v.Secret.Items)
	case v.Projected != nil:
		for _, s := range v.Projected.Sources {
			if s.ServiceAccountToken != nil && s.ServiceAccountToken.Path == rel {
				return "ServiceAccountToken", s.ServiceAccountToken.Audience, rel
			}
		}
		return "Projected", "", ""
	case v.EmptyDir != nil:
		return "EmptyDir", "", rel
	case v.HostPath != nil:
		return "HostPath", v.HostPath.Path, rel
	}
	return "", "", ""
}

func container(spec *corev1.PodSpec, name string) *corev1.Container {
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return &spec.Containers[i]
		}
	}
	for i := range spec.InitContainers {
		if spec.InitContainers[i].Name == name {
			return &spec.InitContainers[i]
		}
	}
	return nil
}
