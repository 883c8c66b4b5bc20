package charttest

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/nscale/nscale/controlplane"
	"github.com/nscale/nscale/controlplane/enrol/k8s"
)

// The control plane of every rendering that has one.
func TestControlPlane(t *testing.T) {
	for _, rd := range renderings {
		t.Run(rd.name, func(t *testing.T) {
			r := rd.render(t)
			rel := rd.release()
			name := fullname(rel) + "-controlplane"
			o, ok := r.Find("Deployment", name)
			if !ok {
				if !strings.Contains(rd.values, "controlPlane: {enabled: false}") {
					t.Fatalf("no Deployment %s", name)
				}
				for _, kind := range []string{"Service", "ClusterRole", "PodDisruptionBudget", "ServiceMonitor", "HorizontalPodAutoscaler"} {
					if _, ok := r.Find(kind, name); ok {
						t.Errorf("controlPlane.enabled false still renders %s %s", kind, name)
					}
				}
				return
			}
			d := o.Typed.(*appsv1.Deployment)
			spec := &d.Spec.Template.Spec
			c := container(spec, "controlplane")
			if c == nil {
				t.Fatal("no controlplane container")
			}
			cfg := controlPlaneConfig(t, configMapFile(t, r, name, "controlplane.yaml"))
			sel := labels.SelectorFromSet(d.Spec.Selector.MatchLabels)
			if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				t.Fatalf("the Deployment's selector %v does not select its pods %v", sel, d.Spec.Template.Labels)
			}

			// Replicas: 3 unless the HPA owns them.
			hpa, hasHPA := r.Find("HorizontalPodAutoscaler", name)
			wantHPA := strings.Contains(rd.values, "autoscaling: {enabled: true")
			if hasHPA != wantHPA {
				t.Fatalf("HPA rendered %v, want %v", hasHPA, wantHPA)
			}
			if hasHPA {
				h := hpa.Typed.(*autoscalingv2.HorizontalPodAutoscaler)
				if d.Spec.Replicas != nil {
					t.Errorf("replicas %d with an HPA: every upgrade would reset the HPA's count", *d.Spec.Replicas)
				}
				if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != name || h.Spec.MinReplicas == nil || *h.Spec.MinReplicas != 3 {
					t.Errorf("HPA %+v", h.Spec)
				}
				if len(h.Spec.Metrics) != 1 || h.Spec.Metrics[0].Resource == nil || h.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU {
					t.Errorf("HPA metrics %+v", h.Spec.Metrics)
				}
			} else {
				want := int32(3)
				if strings.Contains(rd.values, "replicas: 1") {
					want = 1
				}
				if d.Spec.Replicas == nil || *d.Spec.Replicas != want {
					t.Errorf("replicas %v, want %d", d.Spec.Replicas, want)
				}
			}
			if d.Spec.Strategy.RollingUpdate == nil || d.Spec.Strategy.RollingUpdate.MaxUnavailable == nil || d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 {
				t.Errorf("rolling update %+v: a replica must be ready before one goes", d.Spec.Strategy.RollingUpdate)
			}

			// PodDisruptionBudget.
			pdb, hasPDB := r.Find("PodDisruptionBudget", name)
			if hasPDB == strings.Contains(rd.values, "podDisruptionBudget: {enabled: false}") {
				t.Fatalf("PDB rendered %v", hasPDB)
			}
			if hasPDB {
				p := pdb.Typed.(*policyv1.PodDisruptionBudget)
				if p.Spec.MaxUnavailable == nil || *p.Spec.MaxUnavailable != intstr.FromInt32(1) || p.Spec.MinAvailable != nil {
					t.Errorf("PDB %+v, want maxUnavailable 1", p.Spec)
				}
				if !reflect.DeepEqual(p.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels) {
					t.Errorf("PDB selects %v, the Deployment %v", p.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels)
				}
			}

			// Topology spread over zones and nodes, each counting these pods.
			keys := []string{}
			for _, tsc := range spec.TopologySpreadConstraints {
				keys = append(keys, tsc.TopologyKey)
				if tsc.LabelSelector == nil || !reflect.DeepEqual(tsc.LabelSelector.MatchLabels, d.Spec.Selector.MatchLabels) {
					t.Errorf("spread on %s counts %v, not the replicas", tsc.TopologyKey, tsc.LabelSelector)
				}
				if tsc.MaxSkew != 1 {
					t.Errorf("maxSkew %d", tsc.MaxSkew)
				}
			}
			if !slices.Equal(keys, []string{"topology.kubernetes.io/zone", "kubernetes.io/hostname"}) {
				t.Errorf("topology spread keys %v", keys)
			}

			// The Service: the three listeners, each to a declared port.
			svc := mustGet[*corev1.Service](t, r, "Service", name)
			if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
				t.Errorf("the Service selects %v, not the replicas", svc.Spec.Selector)
			}
			listens := map[string]string{"api": string(cfg.API.Listen), "agent-api": string(cfg.AgentAPI.Listen), "ops": string(cfg.Ops.Listen)}
			wantPorts := map[string]int32{"api": 7080, "agent-api": 7081, "ops": 7090}
			if len(svc.Spec.Ports) != 3 {
				t.Errorf("Service ports %+v", svc.Spec.Ports)
			}
			for _, p := range svc.Spec.Ports {
				if wantPorts[p.Name] != p.Port {
					t.Errorf("Service port %s is %d, want %d", p.Name, p.Port, wantPorts[p.Name])
				}
				var cport *corev1.ContainerPort
				for i := range c.Ports {
					if c.Ports[i].Name == p.TargetPort.String() {
						cport = &c.Ports[i]
					}
				}
				if cport == nil {
					t.Errorf("Service port %s targets %s, which the container does not declare", p.Name, p.TargetPort.String())
					continue
				}
				if want := "0.0.0.0:" + strconv.Itoa(int(cport.ContainerPort)); listens[p.Name] != want {
					t.Errorf("Service port %s reaches container port %d, but the listener is %s", p.Name, cport.ContainerPort, listens[p.Name])
				}
			}
			checkProbes(t, c, strings.TrimPrefix(string(cfg.Ops.Listen), "0.0.0.0:"))

			// Agents dial a name the agent API's certificate holds.
			svcName := name + "." + rel.Namespace + ".svc"
			if !slices.Contains(cfg.AgentAPI.ServerNames, svcName) {
				t.Errorf("agent_api.server_names %v lacks %s", cfg.AgentAPI.ServerNames, svcName)
			}
			if strings.Contains(rd.values, "extraServerNames: [nscale-agents.example.com]") && !slices.Contains(cfg.AgentAPI.ServerNames, "nscale-agents.example.com") {
				t.Errorf("extraServerNames not in %v", cfg.AgentAPI.ServerNames)
			}

			// Kubernetes enrolment: the agents' audience and accounts.
			kc := cfg.Enrolment.Kubernetes
			if kc == nil {
				t.Fatal("no enrolment.kubernetes")
			}
			if kc.Kubeconfig != "" {
				t.Errorf("kubeconfig %q: the in-cluster config is the pod's own account", kc.Kubeconfig)
			}
			var wantSAs []string
			if !strings.Contains(rd.values, "agent: {enabled: false}") {
				wantSAs = append(wantSAs, rel.Namespace+"/"+fullname(rel)+"-agent")
			}
			if strings.Contains(rd.values, "sidecar: {enabled: true, namespace: spark") {
				wantSAs = append(wantSAs, "spark/spark")
			} else if strings.Contains(rd.values, "sidecar: {enabled: true}") {
				wantSAs = append(wantSAs, rel.Namespace+"/spark")
			}
			if strings.Contains(rd.values, "batch/nscale-agent") {
				wantSAs = append(wantSAs, "batch/nscale-agent")
			}
			if !slices.Equal(kc.AllowedServiceAccounts, wantSAs) {
				t.Errorf("allowed_service_accounts %v, want %v", kc.AllowedServiceAccounts, wantSAs)
			}
			if kc.Audience != "nscale-agent" {
				t.Errorf("audience %q", kc.Audience)
			}

			checkControlPlaneFiles(t, rd, spec, c, cfg)
			checkRBAC(t, r, rel, name)

			if spec.ServiceAccountName != name {
				t.Errorf("service account %q", spec.ServiceAccountName)
			}
			if len(c.Env) > 0 {
				t.Errorf("env %+v: the control plane's settings and secrets are files", c.Env)
			}
		})
	}
}

// checkControlPlaneFiles: each file the control plane reads is a key of the
// Secret or ConfigMap the values name, mounted read-only.
func checkControlPlaneFiles(t *testing.T, rd rendering, spec *corev1.PodSpec, c *corev1.Container, conf controlplane.Config) {
	t.Helper()
	type want struct{ file, kind, name, key string }
	keys := "nscale-controlplane-keys"
	wants := []want{
		{conf.API.AdminTokenFile, "Secret", keys, "admin.token"},
		{conf.AgentCA.KeyFile, "Secret", keys, "agent-ca.key"},
		{conf.AgentCA.CertFile, "Secret", keys, "agent-ca.crt"},
		{conf.Planner.SigningKeyFile, "Secret", keys, "signing.key"},
		{conf.Planner.SealingKeyFile, "Secret", keys, "sealing.key"},
		{conf.Masking.KeyFile, "Secret", keys, "masking.key"},
	}
	if strings.Contains(rd.values, "dialect: mysql") {
		wants = append(wants, want{conf.Store.DSNFile, "Secret", "nscale-mysql", "dsn.txt"})
		if conf.Store.Dialect != "mysql" {
			t.Errorf("dialect %q", conf.Store.Dialect)
		}
	} else {
		wants = append(wants, want{conf.Store.DSNFile, "Secret", "nscale-store", "dsn"})
		if conf.Store.Dialect != "postgres" {
			t.Errorf("dialect %q", conf.Store.Dialect)
		}
	}
	if conf.Store.DSN != "" {
		t.Errorf("store.dsn %q in the config file", conf.Store.DSN)
	}
	if strings.Contains(rd.values, "insecure: true") {
		if conf.API.TLS.Enabled() || !conf.API.Insecure {
			t.Errorf("api.tls %+v insecure %v", conf.API.TLS, conf.API.Insecure)
		}
	} else {
		wants = append(wants, want{conf.API.TLS.CertFile, "Secret", "nscale-api-tls", "tls.crt"}, want{conf.API.TLS.KeyFile, "Secret", "nscale-api-tls", "tls.key"})
	}
	if strings.Contains(rd.values, "credentialsSecret: nscale-s3") {
		wants = append(wants, want{conf.S3.CredentialsFile, "Secret", "nscale-s3", "credentials.yaml"})
		if conf.S3.Endpoint != "http://minio.minio:9000" || !conf.S3.PathStyle {
			t.Errorf("s3 %+v", conf.S3)
		}
	} else if conf.S3.CredentialsFile != "" {
		t.Errorf("s3.credentials_file %q without credentialsSecret", conf.S3.CredentialsFile)
	}
	if strings.Contains(rd.values, "tlsSecret: nscale-agent-api-tls") {
		wants = append(wants, want{conf.AgentAPI.TLS.CertFile, "Secret", "nscale-agent-api-tls", "tls.crt"}, want{conf.AgentAPI.TLS.KeyFile, "Secret", "nscale-agent-api-tls", "tls.key"})
	} else if conf.AgentAPI.TLS.Enabled() {
		t.Errorf("agent_api.tls %+v without agentApi.tlsSecret", conf.AgentAPI.TLS)
	}
	if conf.LocalFiles.Root != "" {
		t.Errorf("local_files.root %q: no file:// tables in a cluster", conf.LocalFiles.Root)
	}
	for _, w := range wants {
		m, v, err := mountOf(spec, c, w.file)
		if err != nil {
			t.Error(err)
			continue
		}
		kind, name, key := fileSource(m, v, w.file)
		if kind != w.kind || name != w.name || key != w.key || !m.ReadOnly {
			t.Errorf("%s comes from %s %s key %q (read-only %v), want %s %s key %q", w.file, kind, name, key, m.ReadOnly, w.kind, w.name, w.key)
		}
		if v.Secret != nil && (v.Secret.DefaultMode == nil || *v.Secret.DefaultMode&0o077 != 0o040) {
			t.Errorf("Secret %s mode %o: group 65532 (fsGroup) reads, nobody else", v.Secret.SecretName, v.Secret.DefaultMode)
		}
	}
	if psc := spec.SecurityContext; psc == nil || psc.FSGroup == nil || *psc.FSGroup != 65532 {
		t.Errorf("pod fsGroup %v: the Secrets' files are root's, readable by 65532 only through fsGroup", spec.SecurityContext)
	}
}

// checkRBAC: the ClusterRole is exactly k8s.Permissions, bound to the
// control plane's account only; nothing grants the agents' account.
func checkRBAC(t *testing.T, r *Rendering, rel Release, name string) {
	t.Helper()
	role := mustGet[*rbacv1.ClusterRole](t, r, "ClusterRole", name+"-enrolment")
	if !reflect.DeepEqual(role.Rules, k8s.Permissions) {
		t.Errorf("ClusterRole rules %+v, want exactly k8s.Permissions %+v", role.Rules, k8s.Permissions)
	}
	if role.AggregationRule != nil {
		t.Error("aggregation rule")
	}
	b := mustGet[*rbacv1.ClusterRoleBinding](t, r, "ClusterRoleBinding", name+"-enrolment")
	wantSubj := []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: rel.Namespace}}
	if !reflect.DeepEqual(b.Subjects, wantSubj) || b.RoleRef != (rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name}) {
		t.Errorf("binding %+v to %+v", b.Subjects, b.RoleRef)
	}
	kinds := r.Kinds()
	if kinds["ClusterRole"] != 1 || kinds["ClusterRoleBinding"] != 1 || kinds["Role"] != 0 || kinds["RoleBinding"] != 0 {
		t.Errorf("RBAC objects %v: one ClusterRole and its binding, nothing else", kinds)
	}
	sa := mustGet[*corev1.ServiceAccount](t, r, "ServiceAccount", name)
	if sa.Namespace != rel.Namespace {
		t.Errorf("control-plane ServiceAccount in %q", sa.Namespace)
	}
}

// The objects each option adds or removes, by kind.
func TestObjectsPerOption(t *testing.T) {
	base := map[string]int{"ConfigMap": 2, "DaemonSet": 1, "Deployment": 1, "Service": 1, "ServiceAccount": 2,
		"ClusterRole": 1, "ClusterRoleBinding": 1, "PodDisruptionBudget": 1}
	with := func(delta map[string]int) map[string]int {
		m := map[string]int{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range delta {
			m[k] += v
			if m[k] == 0 {
				delete(m, k)
			}
		}
		return m
	}
	for _, tc := range []struct {
		values string
		want   map[string]int
	}{
		{"", base},
		{"serviceMonitor: {enabled: true}\n", with(map[string]int{"ServiceMonitor": 2, "Service": 1})},
		{"controlPlane: {autoscaling: {enabled: true}}\n", with(map[string]int{"HorizontalPodAutoscaler": 1})},
		{"controlPlane: {podDisruptionBudget: {enabled: false}}\n", with(map[string]int{"PodDisruptionBudget": -1})},
		{"sidecar: {enabled: true}\n", with(map[string]int{"ConfigMap": 2})},
		{"agent: {enabled: false}\nsidecar: {enabled: true}\n", with(map[string]int{"DaemonSet": -1, "ServiceAccount": -1, "ConfigMap": 1})},
		{"controlPlane: {enabled: false}\nagent: {controlPlane: {address: cp:7081}}\n", map[string]int{"ConfigMap": 1, "DaemonSet": 1, "ServiceAccount": 1}},
	} {
		got := mustRender(t, tc.values).Kinds()
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("values %q: objects %v, want %v", tc.values, got, tc.want)
		}
	}
}

// With serviceMonitor.enabled, each ServiceMonitor selects a Service that
// exists and has the port it scrapes.
func TestServiceMonitors(t *testing.T) {
	r := mustRender(t, "serviceMonitor: {enabled: true, interval: 15s, labels: {release: prometheus}}\n")
	services := map[string]*corev1.Service{}
	for _, o := range r.Objects {
		if s, ok := o.Typed.(*corev1.Service); ok {
			services[s.Name] = s
		}
	}
	n := 0
	for _, o := range r.Objects {
		sm, ok := o.Typed.(*ServiceMonitor)
		if !ok {
			continue
		}
		n++
		if sm.Labels["release"] != "prometheus" {
			t.Errorf("%s labels %v", sm.Name, sm.Labels)
		}
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		var hit []string
		for _, s := range services {
			if sel.Matches(labels.Set(s.Labels)) {
				hit = append(hit, s.Name)
				if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "ops" || sm.Spec.Endpoints[0].Path != "/metrics" || sm.Spec.Endpoints[0].Interval != "15s" {
					t.Errorf("%s endpoints %+v", sm.Name, sm.Spec.Endpoints)
				}
				if !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "ops" }) {
					t.Errorf("Service %s has no ops port", s.Name)
				}
			}
		}
		if len(hit) != 1 {
			t.Errorf("ServiceMonitor %s selects %v, want one Service", sm.Name, hit)
		}
	}
	if n != 2 {
		t.Fatalf("%d ServiceMonitors, want the control plane's and the agents'", n)
	}
	agents := services["nscale-agent-metrics"]
	if agents == nil || agents.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Fatalf("agent metrics Service %+v, want a headless one", agents)
	}
	ds := mustGet[*appsv1.DaemonSet](t, r, "DaemonSet", "nscale-agent")
	if !labels.SelectorFromSet(agents.Spec.Selector).Matches(labels.Set(ds.Spec.Template.Labels)) {
		t.Error("the agent metrics Service does not select the agents")
	}
}

// Control-plane values that cannot work refuse to render.
func TestControlPlaneCombinationsRefused(t *testing.T) {
	for _, tc := range []struct{ values, want string }{
		{"controlPlane: {api: {tlsSecret: \"\"}}\n", "controlPlane.api.tlsSecret is empty and controlPlane.api.insecure is false"},
		{"controlPlane: {api: {insecure: true}}\n", "controlPlane.api.insecure is true and controlPlane.api.tlsSecret is set"},
		{"controlPlane: {autoscaling: {enabled: true, minReplicas: 5, maxReplicas: 4}}\n", "minReplicas is larger than controlPlane.autoscaling.maxReplicas"},
	} {
		_, err := renderValues(tc.values, DefaultRelease)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("values %q: error %v, want one saying %q", tc.values, err, tc.want)
		}
	}
}
