//go:build integration

package integration

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	sigsyaml "sigs.k8s.io/yaml"

	"gopkg.in/yaml.v3"

	"github.com/nscale/nscale/controlplane/apitypes"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
	"github.com/nscale/nscale/daemonset/charttest"
	"github.com/nscale/nscale/internal/s3test"
	"github.com/nscale/nscale/internal/tlsfiles/tlstest"
)

// The chart's own uid and gid (the images' user) and the pods' fsGroup.
const podUID = 65532

// An agent started with exactly the configuration the Helm chart renders
// enrols through TokenReview against a real kube-apiserver and serves a
// query. The chart is rendered with helm's Go SDK; its objects are created
// in the API server (ServiceAccounts, the enrolment ClusterRole and its
// binding, the workloads); a pod is created from the DaemonSet's pod
// template on node-1, and its projected token is requested with the
// template's audience, bound to that pod, as the kubelet would. The control
// plane runs with the rendered controlplane.yaml over PostgreSQL, its keys
// made the way docs/install-kubernetes.md makes them; the agent runs as the
// chart's 65532:65532 with the rendered agent.yaml byte for byte. Only file
// paths (the pods' volumes laid out in a directory) and listen addresses
// (ephemeral loopback ports) differ from a cluster.
func TestHelmChartAgentEnrolsOnKubernetes(t *testing.T) {
	apiSrv := charttest.NeedAPIServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pg := storetest.Config(t, store.Postgres)
	s3 := s3test.Start(t)
	s3.CreateBucket(t, "lake")

	// The values an operator with an S3-compatible store sets.
	values, err := charttest.ValuesYAML(fmt.Sprintf("controlPlane:\n  s3: {endpoint: %q, pathStyle: true, credentialsSecret: nscale-s3}\n", s3.Endpoint))
	if err != nil {
		t.Fatal(err)
	}
	rel := charttest.DefaultRelease
	r, err := charttest.Render(values, rel)
	if err != nil {
		t.Fatal(err)
	}

	// The pods' file systems live under root, reachable by uid 65532.
	root, err := os.MkdirTemp("", "nscale-k8s-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}

	// The Secrets, made as the install guide says: the keys from a first
	// start of the control plane in an empty directory.
	keys := controlPlaneKeys(t)
	tlsDir := filepath.Join(root, "test-ca")
	if err := os.Mkdir(tlsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	ca := tlstest.NewCA(t, tlsDir, "nscale-api")
	apiCert, apiKey := ca.Issue(t, tlsDir, "api", "127.0.0.1", "localhost")
	secrets := map[string]map[string][]byte{
		"nscale-controlplane-keys": keys,
		"nscale-store":             {"dsn": []byte(pg.DSN)},
		"nscale-api-tls":           {"tls.crt": readFile(t, apiCert), "tls.key": readFile(t, apiKey)},
		"nscale-s3":                {"credentials.yaml": []byte("access_key_id: " + s3.AccessKey + "\nsecret_access_key: " + s3.SecretKey + "\n")},
	}
	configMaps := map[string]map[string]string{
		// kubectl create configmap nscale-control-plane-ca --from-file=ca.crt=data/agent-ca.crt
		"nscale-control-plane-ca": {"ca.crt": string(keys["agent-ca.crt"])},
	}
	for _, o := range r.Objects {
		if cm, ok := o.Typed.(*corev1.ConfigMap); ok {
			configMaps[cm.Name] = cm.Data
		}
	}

	// helm install: every rendered object, created for real.
	if _, err := apiSrv.Admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: rel.Namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createAll(ctx, t, apiSrv, r)
	cpSA := "system:serviceaccount:" + rel.Namespace + ":nscale-controlplane"
	if err := apiSrv.WaitCan(ctx, true, cpSA, "create", "authentication.k8s.io", "tokenreviews", ""); err != nil {
		t.Fatal(err)
	}

	// The control plane, as its Deployment runs it.
	dep, err := charttest.Get[*appsv1.Deployment](r, "Deployment", "nscale-controlplane")
	if err != nil {
		t.Fatal(err)
	}
	cpSpec := &dep.Spec.Template.Spec
	cpc := &cpSpec.Containers[0]
	cpRoot := filepath.Join(root, "controlplane")
	// The Secret files get the kubelet's modes (0440 for the keys), and as
	// root the test gives them the pod's group the way fsGroup does.
	cpOwner := -1
	if os.Geteuid() == 0 {
		cpOwner = podUID
	}
	layOut(t, cpRoot, cpSpec, cpc, secrets, configMaps, "", cpOwner, nil)
	// In the pod, the in-cluster config is the pod's own service-account
	// token (automountServiceAccountToken: true). rest.InClusterConfig
	// reads fixed paths, so the same credentials, a token of the rendered
	// ServiceAccount, are given as a kubeconfig: the one setting that is
	// not a path of the rendering.
	tok, err := apiSrv.Admin.CoreV1().ServiceAccounts(rel.Namespace).CreateToken(ctx, dep.Spec.Template.Spec.ServiceAccountName,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr64(3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(cpRoot, "kubeconfig")
	writeKubeconfig(t, kubeconfig, apiSrv.Config.Host, apiSrv.Config.CAData, tok.Status.Token)
	cpConfig := cpRoot + argAfter(t, cpc.Args, "--config")
	rewritePaths(t, cpConfig, cpRoot, cpc, map[string]string{"enrolment.kubernetes.kubeconfig": kubeconfig})
	cpArgs := slices.Clone(cpc.Args)
	cpArgs[slices.Index(cpArgs, "--config")+1] = cpConfig
	cp, api, _ := startControlPlane(t, cpRoot, nil, cpArgs...)
	started := cp.waitLog(t, "control plane starting", time.Second)
	agentAPI := started["agent_api"].(string)
	if got := fmt.Sprint(started["enrolment"]); !strings.Contains(got, "kubernetes") {
		t.Fatalf("the control plane did not enable Kubernetes enrolment: %s", got)
	}

	// A pod of the DaemonSet on node-1, and its projected token.
	ds, err := charttest.Get[*appsv1.DaemonSet](r, "DaemonSet", "nscale-agent")
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: *ds.Spec.Template.ObjectMeta.DeepCopy(), Spec: *ds.Spec.Template.Spec.DeepCopy()}
	pod.Name, pod.Namespace, pod.Spec.NodeName = "nscale-agent-x7k2p", rel.Namespace, "node-1"
	if pod, err = apiSrv.Admin.CoreV1().Pods(rel.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	spec := &pod.Spec
	ac := &spec.Containers[0]
	var src *corev1.ServiceAccountTokenProjection
	for _, v := range spec.Volumes {
		if v.Projected != nil && len(v.Projected.Sources) == 1 && v.Projected.Sources[0].ServiceAccountToken != nil {
			src = v.Projected.Sources[0].ServiceAccountToken
		}
	}
	if src == nil {
		t.Fatal("the agent pod projects no service-account token")
	}
	tr, err := apiSrv.Admin.CoreV1().ServiceAccounts(rel.Namespace).CreateToken(ctx, spec.ServiceAccountName, &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{
		Audiences: []string{src.Audience}, ExpirationSeconds: src.ExpirationSeconds,
		BoundObjectRef: &authnv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	agentRoot := filepath.Join(root, "agent")
	asRoot := os.Geteuid() == 0
	owner := -1
	if asRoot {
		owner = podUID
	}
	layOut(t, agentRoot, spec, ac, secrets, configMaps, tr.Status.Token, owner, nil)

	// The agent: the rendered agent.yaml as it is, its container's args
	// with $(NODE_NAME) expanded as the kubelet does, and flags that move
	// only paths (into agentRoot) and listen addresses (ephemeral ports).
	agentYAML := agentRoot + argAfter(t, ac.Args, "--config")
	rendered := charttestConfigMapFile(t, r, "nscale-agent", "agent.yaml")
	if got := string(readFile(t, agentYAML)); got != rendered {
		t.Fatalf("the laid-out agent.yaml differs from the rendered one")
	}
	var conf struct {
		Flight struct {
			Socket string `yaml:"socket"`
		} `yaml:"flight"`
		ControlPlane struct {
			TLS struct {
				CAFile string `yaml:"ca_file"`
			} `yaml:"tls"`
			Enrolment struct {
				Method    string `yaml:"method"`
				TokenFile string `yaml:"kubernetes_token_file"`
				StateDir  string `yaml:"state_dir"`
			} `yaml:"enrolment"`
		} `yaml:"control_plane"`
	}
	if err := yaml.Unmarshal([]byte(rendered), &conf); err != nil {
		t.Fatal(err)
	}
	if conf.ControlPlane.Enrolment.Method != "kubernetes" {
		t.Fatalf("rendered enrolment method %q", conf.ControlPlane.Enrolment.Method)
	}
	args := make([]string, 0, len(ac.Args)+16)
	for _, a := range ac.Args {
		args = append(args, strings.ReplaceAll(a, "$(NODE_NAME)", pod.Spec.NodeName))
	}
	args[slices.Index(args, "--config")+1] = agentYAML
	args = append(args,
		"--control-plane", agentAPI,
		"--control-plane-ca-file", agentRoot+conf.ControlPlane.TLS.CAFile,
		"--kubernetes-token-file", agentRoot+conf.ControlPlane.Enrolment.TokenFile,
		"--state-dir", agentRoot+conf.ControlPlane.Enrolment.StateDir,
		"--socket", agentRoot+conf.Flight.Socket,
		"--flight-listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0")
	if slices.Contains(args, "--allow-root") {
		t.Fatal("the chart runs the agent with --allow-root")
	}
	agentBin := filepath.Join(root, "bin", "nscale-agent")
	copyExecutable(t, bin("nscale-agent"), agentBin)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent", "GORACE=" + os.Getenv("GORACE")}
	// The init containers before the agent, as the kubelet runs them: here
	// socket-dir (root, CAP_CHOWN) with its mount moved into agentRoot.
	for _, ic := range spec.InitContainers {
		if !asRoot {
			t.Logf("init container %s not run: needs root (CI runs as root)", ic.Name)
			continue
		}
		if ic.Name != "socket-dir" {
			t.Fatalf("init container %s: not expected with the default values", ic.Name)
		}
		iargs := slices.Clone(ic.Args)
		iargs[slices.Index(iargs, "--socket-dir")+1] = agentRoot + argAfter(t, ic.Args, "--socket-dir")
		out, errOut, code := runCmd(t, agentRoot, nil, "nscale-agent", iargs...)
		if code != 0 {
			t.Fatalf("init container %s: exit %d: %s%s", ic.Name, code, out, errOut)
		}
	}
	var agent *daemon
	if asRoot {
		// The chart's user, group and fsGroup; the agent refuses root.
		ids := fmt.Sprint(podUID)
		agent = startPath(t, "/usr/bin/setpriv", agentRoot, env, append([]string{"--reuid=" + ids, "--regid=" + ids, "--groups=" + ids, "--", agentBin}, args...)...)
	} else {
		agent = startPath(t, agentBin, agentRoot, env, args...)
	}
	am := agent.waitLog(t, "agent starting", 60*time.Second)

	s := &stack{dir: t.TempDir(), s3: s3, cp: cp, agent: agent, api: api, flight: am["flight"].(string), agentOps: am["ops"].(string),
		adminFile: cpRoot + "/etc/nscale/keys/admin.token", ca: ca, caFile: ca.File}
	s.waitAgentReady(t, s.agentOps)
	for _, p := range []string{"/livez", "/readyz"} {
		if code, body := httpGet("http://" + s.agentOps + p); code != 200 {
			t.Errorf("agent %s: %d %s", p, code, body)
		}
	}

	// Enrolled through TokenReview, as its pod.
	waitFor(t, "the agent in the registry, enrolled by Kubernetes", func() bool {
		a, ok := agentByNode(s.agents(t, "agents", "list"), "node-1")
		return ok && a.Method == "kubernetes" && a.State == apitypes.AgentActive && a.ID == "k8s-"+string(pod.UID)
	})

	// A query with a user token, over loopback TCP and over the socket
	// executor pods share through the hostPath.
	s.s3.PutObject(t, "lake", "k8s/t/part-0.parquet", manyRowGroups(t, 1, 10))
	s.admin(t, `CREATE DATABASE k8s;
		CREATE EXTERNAL TABLE k8s.t STORED AS PARQUET LOCATION 's3://lake/k8s/t/';
		GRANT SELECT ON TABLE k8s.t TO USER kim;`)
	token := s.token(t, "kim")
	res, err := s.adbcQuery(ctx, token, "SELECT id FROM k8s.t")
	if err != nil {
		t.Fatalf("query through the agent: %v", err)
	}
	if len(res.Rows) != 10 {
		t.Fatalf("%d rows over TCP, want 10", len(res.Rows))
	}
	socket := agentRoot + conf.Flight.Socket
	if asRoot {
		fi, err := os.Stat(socket)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != podUID || st.Gid != podUID || fi.Mode().Perm() != 0o660 {
			t.Errorf("socket %s: uid %d gid %d mode %o, want 65532:65532 0660", socket, st.Uid, st.Gid, fi.Mode().Perm())
		}
	}
	rows := 0
	if _, err := queryGo(ctx, "unix://"+socket, token, "SELECT id FROM k8s.t", func(rec arrow.RecordBatch) error {
		rows += int(rec.NumRows())
		return nil
	}); err != nil {
		t.Fatalf("query over the unix socket: %v", err)
	}
	if rows != 10 {
		t.Fatalf("%d rows over the socket, want 10", rows)
	}

	// Neither daemon logged the token the agent enrolled with.
	for _, d := range []*daemon{cp, agent} {
		if strings.Contains(d.log(), tr.Status.Token) {
			t.Errorf("%s logged the agent's service-account token", d.name)
		}
	}
	s.stop(t)
}

// controlPlaneKeys makes the keys Secret's files as the install guide says:
// start nscale-controlplane once in an empty directory (it creates the
// keys it misses under ./data), stop it, and take the files.
func controlPlaneKeys(t *testing.T) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	d, _, _ := startControlPlane(t, dir, nil)
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.exit(t, 15*time.Second); code != 0 {
		t.Fatalf("first start exit %d:\n%s", code, d.log())
	}
	out := map[string][]byte{}
	for _, f := range []string{"admin.token", "agent-ca.key", "agent-ca.crt", "signing.key", "sealing.key", "masking.key"} {
		out[f] = readFile(t, filepath.Join(dir, "data", f))
	}
	return out
}

// layOut writes, under root, what container c of spec sees at each of its
// volume mounts, as the kubelet would: ConfigMap and Secret keys (the
// volume's items, modes from defaultMode through mode), the projected
// token, empty emptyDirs, and the hostPath directories the install guide
// prepares on the node (owned by 65532, 0750). A Secret or key the volume
// names but the test did not provide fails the test, as the kubelet would
// fail the pod. owner >= 0 chowns like fsGroup: the files' group becomes
// owner.
func layOut(t *testing.T, root string, spec *corev1.PodSpec, c *corev1.Container, secrets map[string]map[string][]byte,
	configMaps map[string]map[string]string, token string, owner int, mode func(fs.FileMode) fs.FileMode) {
	t.Helper()
	vols := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		vols[v.Name] = v
	}
	write := func(dir, name string, data []byte, m fs.FileMode) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if mode != nil {
			m = mode(m)
		}
		if err := os.WriteFile(p, data, m); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, m); err != nil {
			t.Fatal(err)
		}
		if owner >= 0 {
			if err := os.Chown(p, 0, owner); err != nil {
				t.Fatal(err)
			}
		}
	}
	items := func(all map[string][]byte, list []corev1.KeyToPath, what string) map[string][]byte {
		out := map[string][]byte{}
		if len(list) == 0 {
			for k, v := range all {
				out[k] = v
			}
			return out
		}
		for _, it := range list {
			v, ok := all[it.Key]
			if !ok {
				t.Fatalf("%s has no key %s", what, it.Key)
			}
			out[it.Path] = v
		}
		return out
	}
	for _, m := range c.VolumeMounts {
		dir := filepath.Join(root, m.MountPath)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		v, ok := vols[m.Name]
		if !ok {
			t.Fatalf("mount %s names no volume", m.Name)
		}
		switch {
		case v.ConfigMap != nil:
			data, ok := configMaps[v.ConfigMap.Name]
			if !ok {
				t.Fatalf("ConfigMap %s: neither rendered nor made by the install guide", v.ConfigMap.Name)
			}
			all := map[string][]byte{}
			for k, s := range data {
				all[k] = []byte(s)
			}
			for name, b := range items(all, v.ConfigMap.Items, "ConfigMap "+v.ConfigMap.Name) {
				write(dir, name, b, volumeMode(v.ConfigMap.DefaultMode, 0o644, owner))
			}
		case v.Secret != nil:
			data, ok := secrets[v.Secret.SecretName]
			if !ok {
				t.Fatalf("Secret %s: the install guide does not make it", v.Secret.SecretName)
			}
			for name, b := range items(data, v.Secret.Items, "Secret "+v.Secret.SecretName) {
				write(dir, name, b, volumeMode(v.Secret.DefaultMode, 0o644, owner))
			}
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				if src.ServiceAccountToken == nil {
					t.Fatalf("projected volume %s: source %+v", m.Name, src)
				}
				write(dir, src.ServiceAccountToken.Path, []byte(token), volumeMode(v.Projected.DefaultMode, 0o644, owner))
			}
		case v.EmptyDir != nil:
			if err := os.Chmod(dir, 0o777); err != nil { // as the kubelet makes an emptyDir
				t.Fatal(err)
			}
		case v.HostPath != nil:
			// DirectoryOrCreate: the kubelet makes it root's, 0755, and the
			// chart's socket-dir init container hands it over. Directory:
			// the operator prepared it for 65532.
			if v.HostPath.Type != nil && *v.HostPath.Type == corev1.HostPathDirectoryOrCreate {
				if err := os.Chmod(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := os.Chmod(dir, 0o750); err != nil {
				t.Fatal(err)
			}
			if owner >= 0 {
				if err := os.Chown(dir, podUID, podUID); err != nil {
					t.Fatal(err)
				}
			}
		default:
			t.Fatalf("volume %s: kind not laid out by this test", m.Name)
		}
	}
}

// volumeMode is the kubelet's file mode: defaultMode, and with an fsGroup
// the group may read (read-only volumes get r--r----- added).
func volumeMode(defaultMode *int32, fallback fs.FileMode, fsGroup int) fs.FileMode {
	m := fallback
	if defaultMode != nil {
		m = fs.FileMode(*defaultMode)
	}
	if fsGroup >= 0 {
		m |= 0o440
	}
	return m
}

// rewritePaths points every absolute path of the config file at path that
// lies on one of c's volume mounts into root (where layOut put the files),
// and sets each key of extra; nothing else changes.
func rewritePaths(t *testing.T, path, root string, c *corev1.Container, extra map[string]string) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(readFile(t, path), &doc); err != nil {
		t.Fatal(err)
	}
	onMount := func(p string) bool {
		for _, m := range c.VolumeMounts {
			if strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/") {
				return true
			}
		}
		return false
	}
	var walk func(n *yaml.Node, key string)
	walk = func(n *yaml.Node, key string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i < len(n.Content); i += 2 {
				k := strings.TrimPrefix(key+"."+n.Content[i].Value, ".")
				if v, ok := extra[k]; ok {
					n.Content[i+1].Value, n.Content[i+1].Style = v, 0
					delete(extra, k)
					continue
				}
				walk(n.Content[i+1], k)
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, key)
			}
		case yaml.ScalarNode:
			if strings.HasPrefix(n.Value, "/") {
				if !onMount(n.Value) {
					t.Fatalf("%s: %s is on no volume of the container", key, n.Value)
				}
				n.Value = root + n.Value
			}
		}
	}
	walk(doc.Content[0], "")
	if len(extra) > 0 {
		t.Fatalf("keys %v are not in the rendered config", extra)
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// createAll creates every rendered object in the API server (what `helm
// install` does), with strict field validation.
func createAll(ctx context.Context, t *testing.T, a *charttest.APIServer, r *charttest.Rendering) {
	t.Helper()
	eachObject(t, a, r, func(ri dynamic.ResourceInterface, u *unstructured.Unstructured) error {
		_, err := ri.Create(ctx, u, metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict})
		return err
	})
}

// eachObject calls do with every rendered object and the client of its
// resource, in the rendering's order.
func eachObject(t *testing.T, a *charttest.APIServer, r *charttest.Rendering, do func(dynamic.ResourceInterface, *unstructured.Unstructured) error) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(a.Config)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(a.Admin.Discovery()))
	for _, o := range r.Objects {
		u := &unstructured.Unstructured{}
		if err := sigsyaml.Unmarshal(o.YAML, &u.Object); err != nil {
			t.Fatal(err)
		}
		gvk := u.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", gvk, err)
		}
		ri := dynamic.ResourceInterface(dyn.Resource(m.Resource))
		if u.GetNamespace() != "" {
			ri = dyn.Resource(m.Resource).Namespace(u.GetNamespace())
		}
		if err := do(ri, u); err != nil {
			t.Fatalf("%s %s: %v", o.Kind, o.Name, err)
		}
	}
}

func writeKubeconfig(t *testing.T, path, server string, caData []byte, token string) {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caData}
	cfg.AuthInfos["nscale-controlplane"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["nscale"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "nscale-controlplane"}
	cfg.CurrentContext = "nscale"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
}

func argAfter(t *testing.T, args []string, flag string) string {
	t.Helper()
	i := slices.Index(args, flag)
	if i < 0 || i+1 >= len(args) {
		t.Fatalf("args %q have no %s", args, flag)
	}
	return args[i+1]
}

func copyExecutable(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func charttestConfigMapFile(t *testing.T, r *charttest.Rendering, name, key string) string {
	t.Helper()
	cm, err := charttest.Get[*corev1.ConfigMap](r, "ConfigMap", name)
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data[key]
}

func ptr64(v int64) *int64 { return &v }
