//go:build integration

package integration

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/nscale/nscale/daemonset/charttest"
	"github.com/nscale/nscale/internal/k8stest"
)

// The chart's default rendering rolls out on three kwok fake nodes, and a
// `helm upgrade` that changes the agent's pod template rolls the DaemonSet
// node by node. The cluster is a real kube-apiserver and etcd (envtest),
// the real kube-controller-manager (its daemonset, deployment and
// replicaset controllers) and kube-scheduler, and kwok standing in for the
// kubelets: it keeps the nodes Ready and marks each pod bound to them
// Running and Ready (no image is pulled, no probe or volume is checked).
func TestHelmChartRollsOut(t *testing.T) {
	dir := k8stest.AssetsDir()
	for _, b := range []string{"kube-controller-manager", "kube-scheduler", "kwok", "kwok-stages.yaml"} {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.Size() == 0 {
			charttest.Skip(t, fmt.Errorf("no %s in %s: run scripts/k8s-tools.sh", b, dir))
		}
	}
	apiSrv := charttest.NeedAPIServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// One identity for the three components, a cluster admin
	// (system:masters); kubeadm gives each its own, with narrower RBAC.
	admin, err := apiSrv.Env.AddUser(envtest.User{Name: "nscale-rollout-components", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	kubeconfig := filepath.Join(work, "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work}
	component := func(name string, args ...string) *daemon {
		return startPath(t, filepath.Join(dir, name), work, env, args...)
	}
	components := []*daemon{
		// The node lifecycle controller lifts the not-ready taint the API
		// server puts on a new Node once kwok reports it Ready; kwok's
		// heartbeats come every 20 to 45 s, well within the grace period.
		component("kube-controller-manager", "--kubeconfig="+kubeconfig,
			"--controllers=daemonset-controller,deployment-controller,replicaset-controller,node-lifecycle-controller",
			"--node-monitor-period=1s", "--node-monitor-grace-period=2m", "--node-startup-grace-period=2m",
			"--use-service-account-credentials=false", "--leader-elect=false", "--secure-port=0"),
		component("kube-scheduler", "--kubeconfig="+kubeconfig, "--leader-elect=false", "--secure-port=0"),
		// kwok's "fast" stages: nodes Ready with heartbeats, pods on them
		// Running and Ready at once, deleted pods gone.
		component("kwok", "--kubeconfig="+kubeconfig, "--config="+filepath.Join(dir, "kwok-stages.yaml"),
			"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake"),
	}
	alive := func() {
		t.Helper()
		for _, d := range components {
			select {
			case <-d.done:
				t.Fatalf("%s exited: %v\n%s", d.name, d.err, d.log())
			default:
			}
		}
	}

	// Three fake nodes, as big as a worker.
	nodes := []string{"kwok-node-0", "kwok-node-1", "kwok-node-2"}
	for _, name := range nodes {
		res := corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("32"),
			corev1.ResourceMemory: resource.MustParse("128Gi"),
			corev1.ResourcePods:   resource.MustParse("110"),
		}
		n := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name,
				Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
				Labels: map[string]string{"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
					"kubernetes.io/hostname": name, "type": "kwok"}},
			Status: corev1.NodeStatus{Capacity: res, Allocatable: res},
		}
		if _, err := apiSrv.Admin.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// helm install with the default values: every object of the release.
	rel := charttest.DefaultRelease
	r, err := charttest.Render(nil, rel)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := apiSrv.Admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: rel.Namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	createAll(ctx, t, apiSrv, r)
	ds, err := charttest.Get[*appsv1.DaemonSet](r, "DaemonSet", "nscale-agent")
	if err != nil {
		t.Fatal(err)
	}
	if mu := ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable; mu == nil || mu.IntValue() != 1 {
		t.Fatalf("rendered maxUnavailable %v, want 1", mu)
	}
	dsClient := apiSrv.Admin.AppsV1().DaemonSets(rel.Namespace)
	selector := metav1.FormatLabelSelector(ds.Spec.Selector)
	agentPods := func() []corev1.Pod {
		t.Helper()
		l, err := apiSrv.Admin.CoreV1().Pods(rel.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			t.Fatal(err)
		}
		return l.Items
	}
	rolledOut := func(gen int64) (*appsv1.DaemonSet, bool) {
		t.Helper()
		cur, err := dsClient.Get(ctx, ds.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s := cur.Status
		return cur, cur.Generation >= gen && s.ObservedGeneration >= cur.Generation && s.DesiredNumberScheduled == 3 &&
			s.CurrentNumberScheduled == 3 && s.UpdatedNumberScheduled == 3 && s.NumberReady == 3 && s.NumberAvailable == 3
	}
	poll := func(what string, timeout time.Duration, each func() bool) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for !each() {
			alive()
			if time.Now().After(deadline) {
				d, err := dsClient.Get(ctx, ds.Name, metav1.GetOptions{})
				if err != nil {
					t.Fatalf("%s: not within %s; DaemonSet: %v", what, timeout, err)
				}
				var events []string
				if l, err := apiSrv.Admin.EventsV1().Events(rel.Namespace).List(ctx, metav1.ListOptions{}); err == nil {
					for _, e := range l.Items {
						events = append(events, fmt.Sprintf("%s %s/%s: %s", e.ReportingController, e.Regarding.Kind, e.Regarding.Name, e.Note))
					}
				}
				t.Fatalf("%s: not within %s; DaemonSet generation %d status %+v; agent pods:%s\nevents:\n%s", what, timeout,
					d.Generation, d.Status, describePods(agentPods()), strings.Join(events, "\n"))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	var cur *appsv1.DaemonSet
	poll("the DaemonSet rolled out on 3 nodes", 60*time.Second, func() bool {
		var ok bool
		cur, ok = rolledOut(1)
		return ok
	})
	t.Logf("DaemonSet rolled out on 3 nodes %s after helm install", time.Since(start).Round(time.Millisecond))
	before := onePerNode(t, agentPods(), nodes)
	scheduledByDefaultScheduler(ctx, t, apiSrv, rel.Namespace, before)

	// The control plane's Deployment comes up on the same fake nodes.
	poll("the control plane's Deployment available", 30*time.Second, func() bool {
		d, err := apiSrv.Admin.AppsV1().Deployments(rel.Namespace).Get(ctx, "nscale-controlplane", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := *d.Spec.Replicas
		return want > 0 && d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == want &&
			d.Status.ReadyReplicas == want && d.Status.AvailableReplicas == want
	})

	// helm upgrade: a value that changes the agent's configuration, so its
	// pod template (the config checksum annotation), applied server-side
	// as Helm 4 does.
	values, err := charttest.ValuesYAML("agent:\n  flight:\n    maxStreams: 32\n")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := charttest.Render(values, rel)
	if err != nil {
		t.Fatal(err)
	}
	ds2, err := charttest.Get[*appsv1.DaemonSet](r2, "DaemonSet", "nscale-agent")
	if err != nil {
		t.Fatal(err)
	}
	oldSum, newSum := ds.Spec.Template.Annotations["checksum/config"], ds2.Spec.Template.Annotations["checksum/config"]
	if oldSum == "" || oldSum == newSum {
		t.Fatalf("the upgrade does not change the pod template's checksum/config (%q, %q)", oldSum, newSum)
	}
	oldGen := cur.Generation

	// Besides the 100 ms polls, a watch of the agent pods from the state
	// before the upgrade sees every change in order, so no gap between an
	// old agent going and its successor getting Ready escapes.
	list, err := apiSrv.Admin.CoreV1().Pods(rel.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	w, err := apiSrv.Admin.CoreV1().Pods(rel.Namespace).Watch(ctx, metav1.ListOptions{LabelSelector: selector,
		ResourceVersion: list.ResourceVersion, TimeoutSeconds: ptr64(300)})
	if err != nil {
		t.Fatal(err)
	}
	type watched struct {
		worst, gaps, events int
		trace               []string
		err                 string
	}
	var (
		wmu   sync.Mutex
		wseen watched
		wpods = map[types.UID]corev1.Pod{}
	)
	for _, p := range list.Items {
		wpods[p.UID] = p
	}
	wdone := make(chan struct{})
	go func() {
		defer close(wdone)
		prev := 0
		for ev := range w.ResultChan() {
			wmu.Lock()
			switch ev.Type {
			case watch.Added, watch.Modified, watch.Deleted:
				p := ev.Object.(*corev1.Pod)
				if ev.Type == watch.Deleted {
					delete(wpods, p.UID)
				} else {
					wpods[p.UID] = *p
				}
				wseen.events++
				m := missingAgents(slices.Collect(maps.Values(wpods)), nodes)
				if m > 0 && prev == 0 {
					wseen.gaps++
				}
				if m != prev {
					wseen.trace = append(wseen.trace, fmt.Sprintf("%s %s on %q: %d missing", ev.Type, p.Name, p.Spec.NodeName, m))
				}
				prev = m
				wseen.worst = max(wseen.worst, m)
			default:
				wseen.err = fmt.Sprintf("watch event %s: %+v", ev.Type, ev.Object)
			}
			wmu.Unlock()
		}
	}()
	defer func() { w.Stop(); <-wdone }()

	start = time.Now()
	applyAll(ctx, t, apiSrv, r2)
	// Every 100 ms, until the rolling update is done: at most
	// maxUnavailable (1) node without a ready agent, one being deleted or
	// not yet Ready counting as missing.
	worst, polls := 0, 0
	poll("the rolling update complete", 60*time.Second, func() bool {
		polls++
		pods := agentPods()
		if missing := missingAgents(pods, nodes); missing > worst {
			worst = missing
			if missing > 1 {
				t.Errorf("%d of %d nodes without a ready agent during the rolling update (maxUnavailable 1): %s", missing, len(nodes), describePods(pods))
			}
		}
		d, ok := rolledOut(oldGen + 1)
		cur = d
		if !ok {
			return false
		}
		// Done only once no pod of the old template is left.
		for _, p := range pods {
			if p.DeletionTimestamp != nil || slices.ContainsFunc(before, func(o corev1.Pod) bool { return o.UID == p.UID }) {
				return false
			}
		}
		return len(pods) == len(nodes)
	})
	t.Logf("rolling update done in %s; %d polls saw at most %d node(s) without a ready agent", time.Since(start).Round(time.Millisecond), polls, worst)

	// The watch catches up with the end state, then tells what it saw:
	// each node's agent replaced on its own, never two nodes without one.
	poll("the pod watch at the end state", 10*time.Second, func() bool {
		wmu.Lock()
		defer wmu.Unlock()
		if wseen.err != "" {
			t.Fatal(wseen.err)
		}
		var live []corev1.Pod
		for _, p := range wpods {
			if slices.ContainsFunc(before, func(o corev1.Pod) bool { return o.UID == p.UID }) {
				return false
			}
			live = append(live, p)
		}
		return len(live) == len(nodes) && missingAgents(live, nodes) == 0
	})
	wmu.Lock()
	seen := wseen
	wmu.Unlock()
	t.Logf("the pod watch saw %d events, %d gaps, at most %d node(s) without a ready agent:\n  %s", seen.events, seen.gaps, seen.worst, strings.Join(seen.trace, "\n  "))
	if seen.worst > 1 {
		t.Errorf("the pod watch saw %d nodes without a ready agent at once (maxUnavailable 1)", seen.worst)
	}
	if seen.gaps != len(nodes) {
		t.Errorf("the pod watch saw %d gaps, want one per node (%d): the agents were not replaced node by node", seen.gaps, len(nodes))
	}
	after := onePerNode(t, agentPods(), nodes)
	for _, p := range after {
		if p.Annotations["checksum/config"] != newSum {
			t.Errorf("pod %s on %s has checksum/config %q, want the upgrade's %q", p.Name, p.Spec.NodeName, p.Annotations["checksum/config"], newSum)
		}
	}
	scheduledByDefaultScheduler(ctx, t, apiSrv, rel.Namespace, after)
	alive()
}

// onePerNode checks that pods are one Ready pod on each of nodes and
// returns them.
func onePerNode(t *testing.T, pods []corev1.Pod, nodes []string) []corev1.Pod {
	t.Helper()
	var live []corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil {
			live = append(live, p)
		}
	}
	got := make([]string, 0, len(live))
	for _, p := range live {
		if !podReady(&p) || p.Status.Phase != corev1.PodRunning {
			t.Errorf("agent pod %s on %q: phase %s, not Ready", p.Name, p.Spec.NodeName, p.Status.Phase)
		}
		got = append(got, p.Spec.NodeName)
	}
	sort.Strings(got)
	if !slices.Equal(got, nodes) {
		t.Fatalf("agent pods on nodes %q, want one on each of %q: %s", got, nodes, describePods(pods))
	}
	return live
}

// scheduledByDefaultScheduler waits for the default scheduler's Scheduled
// event of each pod: the DaemonSet controller leaves binding to it.
func scheduledByDefaultScheduler(ctx context.Context, t *testing.T, a *charttest.APIServer, ns string, pods []corev1.Pod) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		l, err := a.Admin.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var missing []string
		for _, p := range pods {
			if !slices.ContainsFunc(l.Items, func(e eventsv1.Event) bool {
				return e.Regarding.UID == p.UID && e.Reason == "Scheduled" && e.ReportingController == "default-scheduler" &&
					strings.Contains(e.Note, p.Spec.NodeName)
			}) {
				missing = append(missing, p.Name)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Scheduled event of default-scheduler for pods %q", missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// missingAgents counts the nodes without a Ready agent pod that is not
// being deleted.
func missingAgents(pods []corev1.Pod, nodes []string) int {
	ready := map[string]bool{}
	for _, p := range pods {
		if p.DeletionTimestamp == nil && p.Spec.NodeName != "" && podReady(&p) {
			ready[p.Spec.NodeName] = true
		}
	}
	missing := 0
	for _, n := range nodes {
		if !ready[n] {
			missing++
		}
	}
	return missing
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func describePods(pods []corev1.Pod) string {
	var b strings.Builder
	for _, p := range pods {
		fmt.Fprintf(&b, "\n  %s node=%q phase=%s ready=%v deleting=%v", p.Name, p.Spec.NodeName, p.Status.Phase, podReady(&p), p.DeletionTimestamp != nil)
	}
	return b.String()
}

// applyAll applies every rendered object server-side with force, taking
// over the fields createAll set: what `helm upgrade` does in Helm 4.
func applyAll(ctx context.Context, t *testing.T, a *charttest.APIServer, r *charttest.Rendering) {
	t.Helper()
	eachObject(t, a, r, func(ri dynamic.ResourceInterface, u *unstructured.Unstructured) error {
		_, err := ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: "helm", Force: true})
		return err
	})
}
