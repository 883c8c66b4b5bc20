package charttest

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// ebpfInit is the one container allowed privileges: it runs only
// `nscale-agent bootstrap --ebpf`.
const ebpfInit = "ebpf-guard"

// socketDirInit is the one container that runs as root without being
// privileged: CAP_CHOWN only, to hand the socket's hostPath to 65532.
const socketDirInit = "socket-dir"

// Every container of every rendering but the eBPF init container is
// hardened: non-root as 65532, no privilege escalation, every capability
// dropped and none added, a read-only root filesystem, the runtime's
// seccomp profile, requests and limits for CPU and memory; and no
// container gets a secret through its environment.
func TestEveryContainerIsHardened(t *testing.T) {
	for _, rd := range renderings {
		t.Run(rd.name, func(t *testing.T) {
			r := rd.render(t)
			specs := podSpecs(t, r)
			if len(specs) == 0 {
				t.Fatal("no pod in the rendering")
			}
			for _, ps := range specs {
				for _, c := range append(append([]corev1.Container{}, ps.spec.InitContainers...), ps.spec.Containers...) {
					if c.Name == ebpfInit {
						continue
					}
					if c.Name == socketDirInit {
						checkSocketDirInit(t, ps.what, &c, imageTag(rd))
						continue
					}
					if strings.HasPrefix(ps.what, "pod template") && c.Name == "spark" {
						// Spark's own container: Spark fills it in.
						if len(c.VolumeMounts) > 0 || c.SecurityContext != nil {
							t.Errorf("%s: the Spark container is given %v / %v; it must get none of the agent's volumes", ps.what, c.VolumeMounts, c.SecurityContext)
						}
						continue
					}
					checkHardened(t, ps.what+" container "+c.Name, ps.spec, &c)
				}
			}
		})
	}
}

func checkHardened(t *testing.T, what string, spec *corev1.PodSpec, c *corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	if sc == nil {
		t.Errorf("%s: no securityContext", what)
		return
	}
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("%s: runAsNonRoot is not true", what)
	}
	if sc.RunAsUser == nil || *sc.RunAsUser != 65532 || sc.RunAsGroup == nil || *sc.RunAsGroup != 65532 {
		t.Errorf("%s: runs as %v:%v, want the image's 65532:65532", what, sc.RunAsUser, sc.RunAsGroup)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation is not false", what)
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Errorf("%s: privileged", what)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("%s: readOnlyRootFilesystem is not true", what)
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("%s: capabilities %+v, want drop [ALL] and nothing added", what, sc.Capabilities)
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: seccompProfile %+v, want RuntimeDefault", what, sc.SeccompProfile)
	}
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := c.Resources.Requests[res], c.Resources.Limits[res]
		if req.IsZero() || lim.IsZero() {
			t.Errorf("%s: %s request %v limit %v: both must be set", what, res, req.String(), lim.String())
		} else if req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %s above its limit %s", what, res, req.String(), lim.String())
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			t.Errorf("%s: env %s comes from Secret %s: secrets are mounted files only", what, e.Name, e.ValueFrom.SecretKeyRef.Name)
		}
		if e.Value != "" && strings.Contains(strings.ToLower(e.Name), "token") {
			t.Errorf("%s: env %s holds a literal", what, e.Name)
		}
	}
	if len(c.EnvFrom) > 0 {
		t.Errorf("%s: envFrom %v", what, c.EnvFrom)
	}
	if len(c.Command) > 0 {
		t.Errorf("%s: command %v overrides the image's entrypoint (the static binary; the image has no shell)", what, c.Command)
	}
	for _, a := range c.Args {
		if a == "--allow-root" {
			t.Errorf("%s: runs with --allow-root", what)
		}
	}
	// The pod-level context, where the chart sets one (Spark owns the
	// sidecar pod's), agrees.
	if psc := spec.SecurityContext; psc != nil {
		if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
			t.Errorf("%s: the pod's runAsNonRoot is not true", what)
		}
		if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: the pod's seccompProfile is %+v", what, psc.SeccompProfile)
		}
	}
}

// The only privileged container is the eBPF init container, it exists only
// when agent.ebpf.enabled, and it runs exactly `nscale-agent bootstrap
// --ebpf` with the agent's port, pinning where the agent reads.
func TestPrivilegedOnlyForEBPF(t *testing.T) {
	for _, rd := range renderings {
		t.Run(rd.name, func(t *testing.T) {
			r := rd.render(t)
			wantEBPF := strings.Contains(rd.values, "ebpf: {enabled: true}")
			found := false
			for _, ps := range podSpecs(t, r) {
				for _, c := range ps.spec.Containers {
					if c.Name == ebpfInit {
						t.Errorf("%s: %s is a regular container", ps.what, ebpfInit)
					}
				}
				for _, c := range ps.spec.InitContainers {
					if c.Name != ebpfInit {
						continue
					}
					found = true
					if !strings.HasPrefix(ps.what, "DaemonSet") {
						t.Errorf("%s has the eBPF init container", ps.what)
					}
					if c.SecurityContext == nil || c.SecurityContext.Privileged == nil || !*c.SecurityContext.Privileged {
						t.Errorf("%s: the eBPF init container is not privileged", ps.what)
					}
					if len(c.Command) > 0 {
						t.Errorf("command %v: the init container must run the image's nscale-agent", c.Command)
					}
					want := []string{"bootstrap", "--ebpf", "--cgroup", "/host/cgroup", "--pin-dir", "/sys/fs/bpf/nscale", "--port", "7443", "--agent-user", "65532"}
					if !slices.Equal(c.Args, want) {
						t.Errorf("args %q, want %q", c.Args, want)
					}
					if !strings.HasSuffix(c.Image, "/nscale-agent:"+imageTag(rd)) {
						t.Errorf("image %s is not the agent image", c.Image)
					}
				}
			}
			if found != wantEBPF {
				t.Errorf("eBPF init container present=%v, want %v", found, wantEBPF)
			}
		})
	}
}

func imageTag(rd rendering) string {
	if strings.Contains(rd.values, "tag: 1.2.3") {
		return "1.2.3"
	}
	return "0.1.0"
}

// No pod but the control plane's holds a Kubernetes API token, and the
// agents' service account is never the subject of a binding.
func TestOnlyTheControlPlaneHoldsAnAPIToken(t *testing.T) {
	for _, rd := range renderings {
		t.Run(rd.name, func(t *testing.T) {
			r := rd.render(t)
			for _, ps := range podSpecs(t, r) {
				auto := ps.spec.AutomountServiceAccountToken
				switch {
				case strings.HasPrefix(ps.what, "Deployment"):
					if auto == nil || !*auto {
						t.Errorf("%s: the control plane needs its token for TokenReview", ps.what)
					}
				case strings.HasPrefix(ps.what, "DaemonSet"):
					if auto == nil || *auto {
						t.Errorf("%s: automountServiceAccountToken is not false", ps.what)
					}
				}
				for _, v := range ps.spec.Volumes {
					if v.Secret != nil && !strings.HasPrefix(ps.what, "Deployment") {
						t.Errorf("%s mounts Secret %s: agents hold no secret", ps.what, v.Secret.SecretName)
					}
					if v.Projected != nil {
						for _, s := range v.Projected.Sources {
							if s.ServiceAccountToken != nil && s.ServiceAccountToken.Audience == "" {
								t.Errorf("%s: a projected token for the API server's own audience", ps.what)
							}
						}
					}
				}
			}
			for _, o := range r.Objects {
				if sa, ok := o.Typed.(*corev1.ServiceAccount); ok {
					if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
						t.Errorf("ServiceAccount %s: automountServiceAccountToken is not false (pods opt in)", sa.Name)
					}
				}
			}
		})
	}
}

// checkSocketDirInit: root, but with every capability dropped except
// CHOWN, no escalation, not privileged, read-only root, the runtime's
// seccomp profile, limits, and exactly `bootstrap --socket-dir` with only
// the socket's directory mounted.
func checkSocketDirInit(t *testing.T, what string, c *corev1.Container, tag string) {
	t.Helper()
	what += " container " + c.Name
	if !strings.HasPrefix(what, "DaemonSet") {
		t.Errorf("%s: only the DaemonSet prepares the socket directory", what)
	}
	sc := c.SecurityContext
	if sc == nil {
		t.Fatalf("%s: no securityContext", what)
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Errorf("%s: privileged", what)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation is not false", what)
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || !slices.Equal(sc.Capabilities.Add, []corev1.Capability{"CHOWN"}) {
		t.Errorf("%s: capabilities %+v, want drop [ALL] add [CHOWN]", what, sc.Capabilities)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("%s: readOnlyRootFilesystem is not true", what)
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: seccompProfile %+v", what, sc.SeccompProfile)
	}
	if c.Resources.Limits.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s: no limits", what)
	}
	if want := []string{"bootstrap", "--socket-dir", "/run/nscale", "--agent-user", "65532"}; len(c.Command) > 0 || !slices.Equal(c.Args, want) {
		t.Errorf("%s: command %q args %q, want the image's entrypoint with %q", what, c.Command, c.Args, want)
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/run/nscale" {
		t.Errorf("%s: mounts %+v, want only /run/nscale", what, c.VolumeMounts)
	}
	if !strings.HasSuffix(c.Image, "/nscale-agent:"+tag) {
		t.Errorf("%s: image %s is not the agent image", what, c.Image)
	}
}
