package charttest

import (
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/nscale/nscale/agent"
	"github.com/nscale/nscale/internal/configfile"
)

// The agent DaemonSet of every rendering that has one: its configuration is
// one the agent decodes strictly and accepts, every file it names is on a
// volume of the right kind, it enrols with a pod-bound projected token of
// the control plane's audience, and it is probed on its ops listener.
func TestAgentDaemonSet(t *testing.T) {
	for _, rd := range renderings {
		t.Run(rd.name, func(t *testing.T) {
			r := rd.render(t)
			rel := rd.release()
			name := fullname(rel) + "-agent"
			o, ok := r.Find("DaemonSet", name)
			if !ok {
				if strings.Contains(rd.values, "agent: {enabled: false}") {
					return
				}
				t.Fatalf("no DaemonSet %s", name)
			}
			ds := o.Typed.(*appsv1.DaemonSet)
			spec := &ds.Spec.Template.Spec
			cfg := agentConfig(t, configMapFile(t, r, name, "agent.yaml"))
			c := container(spec, "agent")
			if c == nil {
				t.Fatal("no agent container")
			}
			checkAgentPod(t, r, rel, spec, c, cfg)

			if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ds.Spec.UpdateStrategy.RollingUpdate == nil ||
				ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable == nil || *ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable != intstr.FromInt32(1) {
				t.Errorf("update strategy %+v, want RollingUpdate with maxUnavailable 1", ds.Spec.UpdateStrategy)
			}
			if spec.ServiceAccountName != name {
				t.Errorf("service account %q, want %q", spec.ServiceAccountName, name)
			}
			if !slices.Equal(c.Args, []string{"run", "--config", "/etc/nscale/agent/agent.yaml", "--node-name", "$(NODE_NAME)"}) {
				t.Errorf("args %q", c.Args)
			}

			hostNet := strings.Contains(rd.values, "hostNetwork: true")
			if spec.HostNetwork != hostNet {
				t.Errorf("hostNetwork %v, want %v", spec.HostNetwork, hostNet)
			}
			if hostNet && spec.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
				t.Errorf("host network with dnsPolicy %q: cluster names would not resolve", spec.DNSPolicy)
			}
			// Flight SQL is on loopback whatever the network: with
			// hostNetwork that is the node's 127.0.0.1.
			if cfg.Flight.Listen != "127.0.0.1:7443" {
				t.Errorf("flight.listen %q", cfg.Flight.Listen)
			}
			socket := !strings.Contains(rd.values, "socket: {enabled: false}")
			if (cfg.Flight.Socket != "") != socket {
				t.Fatalf("flight.socket %q, want a socket: %v", cfg.Flight.Socket, socket)
			}
			if socket {
				// The socket's directory is the node's, shared with
				// executor pods.
				m, v, err := mountOf(spec, c, cfg.Flight.Socket)
				if err != nil {
					t.Fatal(err)
				}
				if v.HostPath == nil || v.HostPath.Path != "/run/nscale" || m.MountPath != path.Dir(cfg.Flight.Socket) || m.ReadOnly {
					t.Errorf("socket %s on volume %+v mounted %+v, want the writable hostPath /run/nscale", cfg.Flight.Socket, v.VolumeSource, m)
				}
				// Either the chart's socket-dir init container hands the
				// kubelet-made directory to 65532, or the operator made it.
				prepare := !strings.Contains(rd.values, "prepare: false")
				wantType := corev1.HostPathDirectoryOrCreate
				if !prepare {
					wantType = corev1.HostPathDirectory
				}
				if v.HostPath.Type == nil || *v.HostPath.Type != wantType {
					t.Errorf("socket hostPath type %v, want %s", v.HostPath.Type, wantType)
				}
				init := container(spec, socketDirInit)
				if (init != nil) != prepare {
					t.Errorf("socket-dir init container present=%v, want %v", init != nil, prepare)
				}
				if init != nil {
					im, iv, err := mountOf(spec, init, "/run/nscale/x")
					if err != nil || iv.Name != v.Name || im.ReadOnly {
						t.Errorf("socket-dir init container mounts %+v of %s (%v), want the socket's volume %s writable", im, iv.Name, err, v.Name)
					}
				}
				if cfg.Flight.SocketMode != 0o660 {
					t.Errorf("socket mode %o", cfg.Flight.SocketMode)
				}
			}
			if cfg.ControlPlane.Address != "nscale.example.com:7081" && !strings.Contains(rd.values, "controlPlane: {enabled: false}") {
				want := fullname(rel) + "-controlplane." + rel.Namespace + ".svc:7081"
				if string(cfg.ControlPlane.Address) != want {
					t.Errorf("control_plane.address %q, want the Service %q", cfg.ControlPlane.Address, want)
				}
			}
			ebpf := strings.Contains(rd.values, "ebpf: {enabled: true}")
			if (cfg.EBPF.PinDir != "") != ebpf {
				t.Errorf("ebpf.pin_dir %q with agent.ebpf.enabled %v", cfg.EBPF.PinDir, ebpf)
			}
			if ebpf {
				if _, v, err := mountOf(spec, c, cfg.EBPF.PinDir); err != nil || v.HostPath == nil || v.HostPath.Path != "/sys/fs/bpf" {
					t.Errorf("ebpf.pin_dir %s is not on the node's bpffs: %v %+v", cfg.EBPF.PinDir, err, v)
				}
				if len(cfg.Flight.AllowedUIDs) == 0 {
					t.Error("the eBPF guard with no allowed uid")
				}
			}
		})
	}
}

// checkAgentPod holds for the DaemonSet and the sidecar alike.
func checkAgentPod(t *testing.T, r *Rendering, rel Release, spec *corev1.PodSpec, c *corev1.Container, cfg agent.Config) {
	t.Helper()
	e := cfg.ControlPlane.Enrolment
	if e.Method != "kubernetes" {
		t.Errorf("enrolment method %q", e.Method)
	}
	if e.NodeName != "" {
		t.Errorf("node_name %q in a config every node shares", e.NodeName)
	}
	var nodeEnv bool
	for _, ev := range c.Env {
		if ev.Name == "NODE_NAME" && ev.ValueFrom != nil && ev.ValueFrom.FieldRef != nil && ev.ValueFrom.FieldRef.FieldPath == "spec.nodeName" {
			nodeEnv = true
		}
	}
	if !nodeEnv || !slices.Contains(c.Args, "--node-name") || c.Args[slices.Index(c.Args, "--node-name")+1] != "$(NODE_NAME)" {
		t.Errorf("the agent is not told its node from spec.nodeName: args %q env %+v", c.Args, c.Env)
	}

	// The token: projected, of the control plane's audience, read-only.
	m, v, err := mountOf(spec, c, e.KubernetesTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	kind, audience, _ := fileSource(m, v, e.KubernetesTokenFile)
	cp := controlPlaneAudience(t, r, rel)
	if kind != "ServiceAccountToken" || audience != cp || !m.ReadOnly {
		t.Errorf("kubernetes_token_file %s is a %s for audience %q (read-only %v), want a projected token for %q", e.KubernetesTokenFile, kind, audience, m.ReadOnly, cp)
	}
	for _, s := range v.Projected.Sources {
		if s.ServiceAccountToken != nil && (s.ServiceAccountToken.ExpirationSeconds == nil || *s.ServiceAccountToken.ExpirationSeconds > 3600) {
			t.Errorf("token lifetime %v", s.ServiceAccountToken.ExpirationSeconds)
		}
	}

	// The CA bundle: the CA ConfigMap's certificate, never a Secret.
	m, v, err = mountOf(spec, c, cfg.ControlPlane.TLS.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if kind, name, key := fileSource(m, v, cfg.ControlPlane.TLS.CAFile); kind != "ConfigMap" || name != "nscale-control-plane-ca" || key != "ca.crt" {
		t.Errorf("control_plane.tls.ca_file comes from %s %s key %q, want ConfigMap nscale-control-plane-ca key ca.crt", kind, name, key)
	}

	// The state directory is writable, in memory, and survives a restart
	// of the container (not of the pod).
	m, v, err = mountOf(spec, c, e.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	if v.EmptyDir == nil || v.EmptyDir.Medium != corev1.StorageMediumMemory || m.ReadOnly {
		t.Errorf("state_dir %s is on %+v (read-only %v), want a writable in-memory emptyDir", e.StateDir, v.VolumeSource, m.ReadOnly)
	}

	// The config file itself.
	m, v, err = mountOf(spec, c, c.Args[slices.Index(c.Args, "--config")+1])
	if err != nil {
		t.Fatal(err)
	}
	if kind, _, key := fileSource(m, v, c.Args[slices.Index(c.Args, "--config")+1]); kind != "ConfigMap" || key != "agent.yaml" || !m.ReadOnly {
		t.Errorf("--config is %s key %q", kind, key)
	}

	// Probes on the ops listener's port.
	_, port, _ := strings.Cut(string(cfg.Ops.Listen), ":")
	if host, _, _ := strings.Cut(string(cfg.Ops.Listen), ":"); host != "0.0.0.0" {
		t.Errorf("ops.listen %s: the kubelet probes the pod's IP", cfg.Ops.Listen)
	}
	checkProbes(t, c, port)

	// Loopback only for Flight SQL.
	if !configfile.IsLoopback(string(cfg.Flight.Listen)) {
		t.Errorf("flight.listen %s is not loopback", cfg.Flight.Listen)
	}
}

// checkProbes: liveness on /livez and readiness (or, for a sidecar, startup
// too) on /readyz, on the container port named for the ops listener.
func checkProbes(t *testing.T, c *corev1.Container, opsPort string) {
	t.Helper()
	portName := ""
	for _, p := range c.Ports {
		if strconv.Itoa(int(p.ContainerPort)) == opsPort {
			portName = p.Name
		}
	}
	if portName == "" {
		t.Fatalf("container %s declares no port %s: %+v", c.Name, opsPort, c.Ports)
	}
	for _, p := range []struct {
		what  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/livez"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("container %s: no %s HTTP probe", c.Name, p.what)
			continue
		}
		if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != intstr.FromString(portName) {
			t.Errorf("container %s: %s probe %s on %s, want %s on %s", c.Name, p.what, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.String(), p.path, portName)
		}
	}
}

func controlPlaneAudience(t *testing.T, r *Rendering, rel Release) string {
	t.Helper()
	name := fullname(rel) + "-controlplane"
	if _, ok := r.Find("ConfigMap", name); !ok {
		return "nscale-agent" // agents only: the values' default audience
	}
	cfg := controlPlaneConfig(t, configMapFile(t, r, name, "controlplane.yaml"))
	if cfg.Enrolment.Kubernetes == nil {
		t.Fatal("the control plane has no Kubernetes enrolment")
	}
	return cfg.Enrolment.Kubernetes.Audience
}

func fullname(rel Release) string {
	if strings.Contains(rel.Name, "nscale") {
		return rel.Name
	}
	return rel.Name + "-nscale"
}

// Combinations that would leave agents unreachable or unguarded refuse to
// render, naming the values.
func TestAgentCombinationsRefused(t *testing.T) {
	for _, tc := range []struct{ values, want string }{
		{"agent: {ebpf: {enabled: true}}\n", "agent.ebpf.enabled needs agent.allowedUIDs"},
		{"agent: {socket: {enabled: false}}\n", "agent.socket.enabled is false and agent.hostNetwork is false"},
		{"controlPlane: {enabled: false}\n", "agent.controlPlane.address is required when controlPlane.enabled is false"},
		{"agent: {opsPort: 7443}\n", "agent.flight.port and agent.opsPort are the same port"},
		{"agent: {enabled: false, ebpf: {enabled: true}, allowedUIDs: [1]}\nsidecar: {enabled: true}\n", "agent.ebpf.enabled needs agent.enabled"},
		{"agent: {enabled: false}\n", "no service account may enrol"},
	} {
		_, err := renderValues(tc.values, DefaultRelease)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("values %q: error %v, want one saying %q", tc.values, err, tc.want)
		}
	}
}

// agent.imageTag pins the agents (DaemonSet, eBPF init container, sidecar)
// to another release than the control plane, for upgrades.
func TestAgentImageTagPin(t *testing.T) {
	r := mustRender(t, "image: {tag: 0.2.0}\nagent: {imageTag: 0.1.0, ebpf: {enabled: true}, allowedUIDs: [185]}\nsidecar: {enabled: true}\n")
	d := mustGet[*appsv1.Deployment](t, r, "Deployment", "nscale-controlplane")
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "ghcr.io/nscale/nscale-controlplane:0.2.0" {
		t.Errorf("control plane image %s", img)
	}
	ds := mustGet[*appsv1.DaemonSet](t, r, "DaemonSet", "nscale-agent")
	for _, c := range append(ds.Spec.Template.Spec.InitContainers, ds.Spec.Template.Spec.Containers...) {
		if c.Image != "ghcr.io/nscale/nscale-agent:0.1.0" {
			t.Errorf("DaemonSet container %s image %s", c.Name, c.Image)
		}
	}
	pod := decodePodTemplate(t, configMapFile(t, r, "nscale-sidecar-pod-template", "pod-template.yaml"))
	if img := pod.Spec.InitContainers[0].Image; img != "ghcr.io/nscale/nscale-agent:0.1.0" {
		t.Errorf("sidecar image %s", img)
	}
	if _, err := renderValues("agent: {imageTag: \"bad tag\"}\n", DefaultRelease); err == nil || !strings.Contains(err.Error(), "/agent/imageTag") {
		t.Errorf("a tag with a space: %v", err)
	}
}
