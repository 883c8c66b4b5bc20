package k8s_test

// Fast tests without an API server: config validation, and the error
// paths that a real API server cannot be made to take on demand (a pod
// that vanishes between the TokenReview and the pod lookup, a 5xx, a
// server that is down). The real checks (signatures, audiences, binding,
// RBAC) are in envtest_test.go against a real kube-apiserver.

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	k8serrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/nscale/nscale/controlplane/enrol"
	"github.com/nscale/nscale/controlplane/enrol/k8s"
	"github.com/nscale/nscale/internal/apierr"
)

// A well-formed (unsigned, never checked locally) JWT: the fake API
// server decides what it means.
const fakeToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNlY3JldA"

func testConfig() k8s.Config {
	return k8s.Config{Audience: "nscale-agent", AllowedServiceAccounts: []string{"nscale/agent"}}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  k8s.Config
		want []string // substrings of the error; none: valid
	}{
		{"ok", testConfig(), nil},
		{"ok with kubeconfig", k8s.Config{Audience: "a", AllowedServiceAccounts: []string{"a/b", "c/d"}, Kubeconfig: "/etc/kube"}, nil},
		{"no audience", k8s.Config{AllowedServiceAccounts: []string{"a/b"}}, []string{"audience is required"}},
		{"audience with space", k8s.Config{Audience: "a b", AllowedServiceAccounts: []string{"a/b"}}, []string{`audience "a b" must be one word`}},
		{"no accounts", k8s.Config{Audience: "a"}, []string{"allowed_service_accounts is required"}},
		{"both missing", k8s.Config{}, []string{"audience is required", "allowed_service_accounts is required"}},
		{"no slash", k8s.Config{Audience: "a", AllowedServiceAccounts: []string{"agent"}}, []string{`allowed_service_accounts[0] "agent": want "namespace/name"`}},
		{"two slashes", k8s.Config{Audience: "a", AllowedServiceAccounts: []string{"a/b/c"}}, []string{`allowed_service_accounts[0] "a/b/c": want "namespace/name"`}},
		{"empty name", k8s.Config{Audience: "a", AllowedServiceAccounts: []string{"a/b", "ns/"}}, []string{`allowed_service_accounts[1] "ns/": want`}},
		{"bad namespace", k8s.Config{Audience: "a", AllowedServiceAccounts: []string{"Kube_System/agent"}}, []string{`namespace "Kube_System" is not a valid namespace name`}},
		{"bad name", k8s.Config{Audience: "a", AllowedServiceAccounts: []string{"ns/Agent!"}}, []string{`"Agent!" is not a valid service account name`}},
		{"duplicate", k8s.Config{Audience: "a", AllowedServiceAccounts: []string{"ns/a", "ns/a"}}, []string{`allowed_service_accounts[1] "ns/a" is listed twice`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %+v", tc.cfg)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate error %q does not contain %q", err, w)
				}
			}
			if _, nerr := k8s.New(tc.cfg, fake.NewClientset()); nerr == nil {
				t.Errorf("New accepted an invalid config")
			}
		})
	}
}

func TestMethod(t *testing.T) {
	a, err := k8s.New(testConfig(), fake.NewClientset())
	if err != nil {
		t.Fatal(err)
	}
	if a.Method() != enrol.Kubernetes {
		t.Fatalf("Method() = %q", a.Method())
	}
}

// reviewer answers TokenReviews with status, or fails them with err.
func reviewer(cs *fake.Clientset, status authnv1.TokenReviewStatus, err error) {
	cs.PrependReactor("create", "tokenreviews", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if err != nil {
			return true, nil, err
		}
		tr := action.(k8stesting.CreateAction).GetObject().(*authnv1.TokenReview).DeepCopy()
		tr.Status = status
		return true, tr, nil
	})
}

func podBound(name, uid, node string) authnv1.TokenReviewStatus {
	extra := map[string]authnv1.ExtraValue{
		"authentication.kubernetes.io/pod-name": {name},
		"authentication.kubernetes.io/pod-uid":  {uid},
	}
	if node != "" {
		extra["authentication.kubernetes.io/node-name"] = authnv1.ExtraValue{node}
	}
	return authnv1.TokenReviewStatus{
		Authenticated: true,
		Audiences:     []string{"nscale-agent"},
		User:          authnv1.UserInfo{Username: "system:serviceaccount:nscale:agent", Extra: extra},
	}
}

func pod(name, uid, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "nscale", Name: name, UID: types.UID(uid)},
		Spec:       corev1.PodSpec{NodeName: node, ServiceAccountName: "agent"},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

// checkRefusal asserts err's code and that its message names the reason
// and never the token.
func checkRefusal(t *testing.T, err error, code apierr.Code, reason, token string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Attest accepted; want %s %q", code, reason)
	}
	if got := apierr.CodeOf(err); got != code {
		t.Fatalf("code %s (%v); want %s", got, err, code)
	}
	if msg := apierr.PublicMessage(err); !strings.Contains(msg, reason) {
		t.Fatalf("message %q does not name %q", msg, reason)
	}
	if token != "" && strings.Contains(err.Error(), token) {
		t.Fatalf("error echoes the token: %v", err)
	}
}

func TestAttestFakeAPI(t *testing.T) {
	ok := pod("agent-1", "uid-1", "n1")
	notAuth := authnv1.TokenReviewStatus{Error: "[invalid bearer token, " + fakeToken + " is bad]"}
	wrongAud := podBound("agent-1", "uid-1", "n1")
	wrongAud.Audiences = []string{"https://kubernetes.default.svc"}
	user := podBound("agent-1", "uid-1", "n1")
	user.User.Username = "alice@example.com"
	unbound := podBound("agent-1", "uid-1", "n1")
	unbound.User.Extra = nil
	terminated := pod("agent-1", "uid-1", "n1")
	terminated.Status.Phase = corev1.PodSucceeded
	deleting := pod("agent-1", "uid-1", "n1")
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	otherSA := pod("agent-1", "uid-1", "n1")
	otherSA.Spec.ServiceAccountName = "builder"
	unscheduled := pod("agent-1", "uid-1", "")
	gr := schema.GroupResource{Group: "authentication.k8s.io", Resource: "tokenreviews"}

	for _, tc := range []struct {
		name      string
		evidence  string
		node      string
		status    authnv1.TokenReviewStatus
		reviewErr error
		pods      []runtime.Object
		code      apierr.Code
		reason    string
	}{
		{name: "no token", evidence: " ", node: "n1", code: apierr.Unauthenticated, reason: "no service-account token was presented"},
		{name: "not a JWT", evidence: "hello", node: "n1", code: apierr.Unauthenticated, reason: "not a JWT"},
		{name: "too large", evidence: strings.Repeat("a", 20000) + ".b.c", node: "n1", code: apierr.Unauthenticated, reason: "larger than"},
		{name: "no node", evidence: fakeToken, code: apierr.InvalidArgument, reason: "names no node"},
		{name: "not authenticated, server reason kept private", evidence: fakeToken, node: "n1", status: notAuth, code: apierr.Unauthenticated, reason: "token not authenticated (wrong audience, expired or not a service-account token)"},
		{name: "audience not confirmed", evidence: fakeToken, node: "n1", status: wrongAud, code: apierr.Unauthenticated, reason: "did not confirm the token's audience nscale-agent"},
		{name: "not a service account", evidence: fakeToken, node: "n1", status: user, code: apierr.Unauthenticated, reason: "not a service account"},
		{name: "not pod-bound", evidence: fakeToken, node: "n1", status: unbound, code: apierr.Unauthenticated, reason: "token is not bound to a pod"},
		{name: "pod gone after review", evidence: fakeToken, node: "n1", status: podBound("agent-1", "uid-1", "n1"), code: apierr.Unauthenticated, reason: "pod nscale/agent-1 no longer exists"},
		{name: "pod replaced", evidence: fakeToken, node: "n1", status: podBound("agent-1", "uid-0", "n1"), pods: []runtime.Object{ok}, code: apierr.Unauthenticated, reason: "pod nscale/agent-1 no longer exists (a newer pod"},
		{name: "pod terminated", evidence: fakeToken, node: "n1", status: podBound("agent-1", "uid-1", "n1"), pods: []runtime.Object{terminated}, code: apierr.Unauthenticated, reason: "pod nscale/agent-1 has terminated (phase Succeeded)"},
		{name: "pod being deleted", evidence: fakeToken, node: "n1", status: podBound("agent-1", "uid-1", "n1"), pods: []runtime.Object{deleting}, code: apierr.Unauthenticated, reason: "pod nscale/agent-1 is being deleted"},
		{name: "pod of another account", evidence: fakeToken, node: "n1", status: podBound("agent-1", "uid-1", "n1"), pods: []runtime.Object{otherSA}, code: apierr.Unauthenticated, reason: "runs as service account builder, not agent"},
		{name: "pod unscheduled", evidence: fakeToken, node: "n1", status: podBound("agent-1", "uid-1", ""), pods: []runtime.Object{unscheduled}, code: apierr.Unauthenticated, reason: "not scheduled to a node"},
		{name: "other node", evidence: fakeToken, node: "n2", status: podBound("agent-1", "uid-1", "n1"), pods: []runtime.Object{ok}, code: apierr.Unauthenticated, reason: "pod nscale/agent-1 is on node n1, not n2"},
		{name: "token for another node", evidence: fakeToken, node: "n1", status: podBound("agent-1", "uid-1", "n3"), pods: []runtime.Object{ok}, code: apierr.Unauthenticated, reason: "token was issued for node n3"},
		{name: "review forbidden", evidence: fakeToken, node: "n1", reviewErr: k8serrors.NewForbidden(gr, "", errors.New("no RBAC")), code: apierr.FailedPrecondition, reason: "may not create tokenreviews.authentication.k8s.io"},
		{name: "review 500", evidence: fakeToken, node: "n1", reviewErr: k8serrors.NewInternalError(errors.New("etcd down")), code: apierr.Unavailable, reason: "is unavailable"},
		{name: "review 429", evidence: fakeToken, node: "n1", reviewErr: k8serrors.NewTooManyRequests("slow down", 1), code: apierr.Unavailable, reason: "is unavailable"},
		{name: "review timeout", evidence: fakeToken, node: "n1", reviewErr: k8serrors.NewTimeoutError("slow", 1), code: apierr.Unavailable, reason: "is unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewClientset(tc.pods...)
			reviewer(cs, tc.status, tc.reviewErr)
			a, err := k8s.New(testConfig(), cs)
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.Attest(context.Background(), enrol.Request{Method: enrol.Kubernetes, Evidence: []byte(tc.evidence), Node: tc.node})
			checkRefusal(t, err, tc.code, tc.reason, fakeToken)
		})
	}

	t.Run("accepted", func(t *testing.T) {
		cs := fake.NewClientset(ok)
		reviewer(cs, podBound("agent-1", "uid-1", "n1"), nil)
		a, err := k8s.New(testConfig(), cs)
		if err != nil {
			t.Fatal(err)
		}
		id, err := a.Attest(context.Background(), enrol.Request{Method: enrol.Kubernetes, Evidence: []byte(fakeToken + "\n"), Node: "n1"})
		if err != nil {
			t.Fatal(err)
		}
		want := enrol.Identity{ID: "k8s-uid-1", Node: "n1", Subject: "system:serviceaccount:nscale:agent pod=nscale/agent-1 node=n1", Unique: true}
		if id != want {
			t.Fatalf("identity %+v, want %+v", id, want)
		}
		// The review asked for our audience only.
		for _, act := range cs.Actions() {
			if c, ok := act.(k8stesting.CreateAction); ok && act.GetResource().Resource == "tokenreviews" {
				tr := c.GetObject().(*authnv1.TokenReview)
				if len(tr.Spec.Audiences) != 1 || tr.Spec.Audiences[0] != "nscale-agent" {
					t.Fatalf("TokenReview audiences %v", tr.Spec.Audiences)
				}
			}
		}
	})

	t.Run("wrong method", func(t *testing.T) {
		a, _ := k8s.New(testConfig(), fake.NewClientset())
		_, err := a.Attest(context.Background(), enrol.Request{Method: enrol.JoinToken, Evidence: []byte(fakeToken), Node: "n1"})
		checkRefusal(t, err, apierr.InvalidArgument, `"join_token"`, fakeToken)
	})
}

// TestAttestServerDown: a real client against an address nobody listens
// on, and against a server that answers 5xx or 403.
func TestAttestServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "https://" + l.Addr().String()
	l.Close()

	a, err := k8s.NewForConfig(testConfig(), &rest.Config{Host: down, TLSClientConfig: rest.TLSClientConfig{Insecure: true}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Attest(context.Background(), enrol.Request{Evidence: []byte(fakeToken), Node: "n1"})
	checkRefusal(t, err, apierr.Unavailable, "API server "+down+" is unreachable", fakeToken)

	for _, tc := range []struct {
		status int
		body   string
		code   apierr.Code
		reason string
	}{
		{http.StatusServiceUnavailable, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"ServiceUnavailable","code":503}`, apierr.Unavailable, "is unavailable (create tokenreviews.authentication.k8s.io: HTTP 503)"},
		{http.StatusInternalServerError, `oops`, apierr.Unavailable, "is unavailable (create tokenreviews.authentication.k8s.io: HTTP 500)"},
		{http.StatusForbidden, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403}`, apierr.FailedPrecondition, "may not create tokenreviews.authentication.k8s.io"},
		{http.StatusUnauthorized, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Unauthorized","code":401}`, apierr.FailedPrecondition, "does not accept the control plane's own credentials"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(tc.body))
		}))
		a, err := k8s.NewForConfig(testConfig(), &rest.Config{Host: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Attest(context.Background(), enrol.Request{Evidence: []byte(fakeToken), Node: "n1"})
		checkRefusal(t, err, tc.code, tc.reason, fakeToken)
		if tc.code != apierr.FailedPrecondition && !strings.Contains(err.Error(), srv.URL) {
			t.Errorf("%v does not name the API server %s", err, srv.URL)
		}
		srv.Close()
	}
}
