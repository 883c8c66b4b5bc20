package charttest

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// The Spark pod template: the agent is a native sidecar (an init container
// with restartPolicy Always) that Spark's container starts after, enrolled,
// and that serves Flight SQL on the pod's 127.0.0.1 only; Spark's container
// gets none of the agent's volumes.
func TestSidecarPodTemplate(t *testing.T) {
	for _, tc := range []struct {
		values, ns string
	}{
		{"sidecar: {enabled: true}\n", "nscale"},
		{"sidecar: {enabled: true, namespace: spark, serviceAccount: spark-jobs}\n", "spark"},
		{"agent: {enabled: false}\nsidecar: {enabled: true, namespace: spark}\n", "spark"},
	} {
		t.Run(tc.values, func(t *testing.T) {
			r := mustRender(t, tc.values)
			cm := mustGet[*corev1.ConfigMap](t, r, "ConfigMap", "nscale-sidecar-pod-template")
			if cm.Namespace != tc.ns {
				t.Errorf("pod template in namespace %q, want %q", cm.Namespace, tc.ns)
			}
			cfgMap := mustGet[*corev1.ConfigMap](t, r, "ConfigMap", "nscale-sidecar")
			if cfgMap.Namespace != tc.ns {
				t.Errorf("sidecar config in namespace %q, want %q (a pod mounts ConfigMaps of its own namespace)", cfgMap.Namespace, tc.ns)
			}
			pod := decodePodTemplate(t, cm.Data["pod-template.yaml"])
			spec := &pod.Spec
			if len(spec.InitContainers) != 1 || len(spec.Containers) != 1 {
				t.Fatalf("init containers %d, containers %d", len(spec.InitContainers), len(spec.Containers))
			}
			side := &spec.InitContainers[0]
			if side.RestartPolicy == nil || *side.RestartPolicy != corev1.ContainerRestartPolicyAlways {
				t.Fatalf("the agent's restartPolicy %v: not a native sidecar", side.RestartPolicy)
			}
			if !strings.HasSuffix(side.Image, "/nscale-agent:0.1.0") {
				t.Errorf("sidecar image %s", side.Image)
			}
			// Spark's container starts once the agent is enrolled.
			if p := side.StartupProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" || p.FailureThreshold*p.PeriodSeconds < 60 {
				t.Errorf("startup probe %+v: Spark must wait for enrolment, for a minute at least", p)
			}
			// Its config is the sidecar ConfigMap of the same namespace.
			m, v, err := mountOf(spec, side, "/etc/nscale/agent/agent.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if kind, name, key := fileSource(m, v, "/etc/nscale/agent/agent.yaml"); kind != "ConfigMap" || name != cfgMap.Name || key != "agent.yaml" {
				t.Errorf("the sidecar's config is %s %s %s", kind, name, key)
			}
			cfg := agentConfig(t, cfgMap.Data["agent.yaml"])
			checkAgentPod(t, r, DefaultRelease, spec, side, cfg)
			if cfg.Flight.Socket != "" || cfg.EBPF.PinDir != "" {
				t.Errorf("the sidecar has socket %q, pin dir %q: it serves its pod's loopback only", cfg.Flight.Socket, cfg.EBPF.PinDir)
			}
			if cfg.Flight.Listen != "127.0.0.1:7443" {
				t.Errorf("flight.listen %q, want what docs/spark.md's URL dials", cfg.Flight.Listen)
			}
			if cfg.Flight.MemoryBudget != 256<<20 {
				t.Errorf("memory budget %d, want sidecar.memoryBudget", cfg.Flight.MemoryBudget)
			}
			spark := spec.Containers[0]
			if spark.Name != "spark" || spark.Image != "" || len(spark.VolumeMounts) != 0 {
				t.Errorf("Spark's container %+v: Spark fills it in; it mounts none of the agent's volumes", spark)
			}
			// Spark's pod runs as its own service account, which may enrol.
			cp := controlPlaneConfig(t, configMapFile(t, r, "nscale-controlplane", "controlplane.yaml"))
			sa := "spark"
			if strings.Contains(tc.values, "spark-jobs") {
				sa = "spark-jobs"
			}
			found := false
			for _, a := range cp.Enrolment.Kubernetes.AllowedServiceAccounts {
				found = found || a == tc.ns+"/"+sa
			}
			if !found {
				t.Errorf("allowed_service_accounts %v lacks the Spark pods' %s/%s", cp.Enrolment.Kubernetes.AllowedServiceAccounts, tc.ns, sa)
			}
			if spec.ServiceAccountName != sa {
				t.Errorf("the template runs as service account %q, not the one allowed to enrol (%s)", spec.ServiceAccountName, sa)
			}
			if spec.AutomountServiceAccountToken != nil {
				t.Errorf("the template sets automount %v: Spark's driver needs its API token", *spec.AutomountServiceAccountToken)
			}
		})
	}
}

// The pod template is a file spark-submit reads: it must not carry template
// syntax Helm left behind, and its header comment tells the operator how to
// fetch it.
func TestSidecarPodTemplateIsPlainYAML(t *testing.T) {
	r := mustRender(t, "sidecar: {enabled: true}\n")
	o, _ := r.Find("ConfigMap", "nscale-sidecar-pod-template")
	text := o.Typed.(*corev1.ConfigMap).Data["pod-template.yaml"]
	if strings.Contains(text, "{{") || strings.Contains(text, "<no value>") {
		t.Fatalf("unrendered template left in the pod template:\n%s", text)
	}
	if !strings.Contains(string(o.YAML), "kubectl -n nscale get configmap nscale-sidecar-pod-template -o jsonpath='{.data.pod-template\\.yaml}' > pod-template.yaml") {
		t.Errorf("the ConfigMap does not say how to fetch the template:\n%s", o.YAML)
	}
}
