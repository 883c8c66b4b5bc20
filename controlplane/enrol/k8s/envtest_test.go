package k8s_test

// The attestor against a real kube-apiserver and etcd (envtest), built by
// scripts/k8s-tools.sh into ${NSCALE_CACHE:-$HOME/.cache/nscale}/k8s. The
// control plane's client is a service account holding only k8s.Permissions,
// so the RBAC the docs and the Helm chart grant is what is exercised.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/nscale/nscale/internal/k8stest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	k8serrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/nscale/nscale/controlplane/enrol"
	"github.com/nscale/nscale/controlplane/enrol/k8s"
	"github.com/nscale/nscale/internal/apierr"
)

const audience = "nscale-agent"

// cluster is the envtest API server shared by the package's tests; nil
// when its binaries are absent (skipReason says why).
var cluster *testCluster
var skipReason string

type testCluster struct {
	env   *envtest.Environment
	admin kubernetes.Interface
	// Control-plane clients: the full ClusterRole, and one rule short each.
	controlPlane, noPods, noReviews *rest.Config
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir := k8stest.AssetsDir()
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if fi, err := os.Stat(filepath.Join(dir, bin)); err != nil || fi.Mode()&0o111 == 0 {
			skipReason = fmt.Sprintf("no %s in %s: run scripts/k8s-tools.sh (builds kube-apiserver and etcd into the cache)", bin, dir)
			return m.Run()
		}
	}
	logf.SetLogger(logr.Discard())
	start := time.Now()
	env := &envtest.Environment{BinaryAssetsDirectory: dir, ControlPlaneStartTimeout: time.Minute}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "envtest: starting kube-apiserver and etcd from %s: %v\n", dir, err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "envtest: stop: %v\n", err)
		}
	}()
	c, err := setUp(env, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "envtest: set-up: %v\n", err)
		return 1
	}
	cluster = c
	fmt.Fprintf(os.Stderr, "envtest: kube-apiserver and etcd from %s up and set up in %s\n", dir, time.Since(start).Round(time.Millisecond))
	return m.Run()
}

// needCluster skips without the binaries, except in CI (CI=true), where
// missing binaries mean scripts/tools.sh did not run: a failure.
func needCluster(t *testing.T) *testCluster {
	t.Helper()
	if cluster != nil {
		return cluster
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and the real API server is missing: %s", skipReason)
	}
	t.Skip(skipReason)
	return nil
}

func setUp(env *envtest.Environment, cfg *rest.Config) (*testCluster, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	for _, ns := range []string{"nscale", "other", "nscale-system"} {
		if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	for _, sa := range []string{"nscale/agent", "nscale/intruder", "other/agent",
		"nscale-system/controlplane", "nscale-system/no-pods", "nscale-system/no-reviews"} {
		ns, name, _ := strings.Cut(sa, "/")
		if _, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	// The documented ClusterRole, and two that each lack one rule.
	roles := []struct {
		sa    string
		rules []rbacv1.PolicyRule
	}{
		{"controlplane", k8s.Permissions},
		{"no-pods", k8s.Permissions[:1]},
		{"no-reviews", k8s.Permissions[1:]},
	}
	c := &testCluster{env: env, admin: admin}
	for _, r := range roles {
		name := "nscale-enrol-" + r.sa
		if _, err := admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: r.rules}, metav1.CreateOptions{}); err != nil {
			return nil, err
		}
		if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "nscale-system", Name: r.sa}},
		}, metav1.CreateOptions{}); err != nil {
			return nil, err
		}
		// RBAC is served from a cache: wait until each granted rule is in force.
		for _, rule := range r.rules {
			if err := waitAllowed(ctx, admin, "system:serviceaccount:nscale-system:"+r.sa, rule); err != nil {
				return nil, err
			}
		}
		tr, err := admin.CoreV1().ServiceAccounts("nscale-system").CreateToken(ctx, r.sa, &authnv1.TokenRequest{
			Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))},
		}, metav1.CreateOptions{})
		if err != nil {
			return nil, err
		}
		rc := &rest.Config{Host: cfg.Host, BearerToken: tr.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAData: cfg.CAData}}
		switch r.sa {
		case "controlplane":
			c.controlPlane = rc
		case "no-pods":
			c.noPods = rc
		case "no-reviews":
			c.noReviews = rc
		}
	}
	return c, nil
}

func waitAllowed(ctx context.Context, admin kubernetes.Interface, user string, rule rbacv1.PolicyRule) error {
	for {
		sar, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
			User:               user,
			ResourceAttributes: &authzv1.ResourceAttributes{Namespace: "nscale", Group: rule.APIGroups[0], Resource: rule.Resources[0], Verb: rule.Verbs[0]},
		}}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		if sar.Status.Allowed {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %v %v never allowed", user, rule.Verbs, rule.Resources)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func ptr[T any](v T) *T { return &v }

// newPod creates a pod that is already "scheduled" (envtest runs no
// scheduler or kubelet, so spec.nodeName is set at creation).
func (c *testCluster) newPod(t *testing.T, ns, name, sa, node string) *corev1.Pod {
	t.Helper()
	p, err := c.admin.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			ServiceAccountName: sa,
			NodeName:           node,
			Containers:         []corev1.Container{{Name: "agent", Image: "nscale-agent:test"}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s/%s: %v", ns, name, err)
	}
	t.Cleanup(func() { c.deletePod(t, ns, name) })
	return p
}

// deletePod removes the pod at once (grace period 0: no kubelet would
// ever confirm a graceful one) and waits until it is gone.
func (c *testCluster) deletePod(t *testing.T, ns, name string) {
	t.Helper()
	ctx := context.Background()
	err := c.admin.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))})
	if err != nil && !k8serrors.IsNotFound(err) {
		t.Fatalf("delete pod %s/%s: %v", ns, name, err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, err := c.admin.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if k8serrors.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod %s/%s still there after delete: %v", ns, name, err)
		}
	}
}

// token is what the kubelet would project into the pod: a TokenRequest
// for the pod's service account, bound to the pod (nil: unbound).
func (c *testCluster) token(t *testing.T, ns, sa, aud string, bound *corev1.Pod) string {
	t.Helper()
	spec := authnv1.TokenRequestSpec{Audiences: []string{aud}, ExpirationSeconds: ptr(int64(600))}
	if bound != nil {
		spec.BoundObjectRef = &authnv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: bound.Name, UID: bound.UID}
	}
	tr, err := c.admin.CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), sa, &authnv1.TokenRequest{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest %s/%s: %v", ns, sa, err)
	}
	return tr.Status.Token
}

// resign returns token with its claims changed by edit, signed with key
// (the header, so the alg and kid, is kept).
func resign(t *testing.T, token string, key crypto.Signer, edit func(claims map[string]any)) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{}
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	edit(claims)
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	signed := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload)
	digest := sha256.Sum256([]byte(signed))
	var sig []byte
	switch k := key.(type) {
	case *ecdsa.PrivateKey: // ES256: r || s, 32 bytes each
		r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	case *rsa.PrivateKey: // RS256
		if sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:]); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("key type %T", key)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// signingKey is the test API server's own service-account signing key
// (envtest writes it into the API server's cert dir).
func (c *testCluster) signingKey(t *testing.T) crypto.Signer {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(c.env.ControlPlane.APIServer.CertDir, "sa-signer.key"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("sa-signer.key: no PEM block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		return k.(crypto.Signer)
	}
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return k
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("sa-signer.key: %v", err)
	}
	return k
}

func (c *testCluster) attestor(t *testing.T, rc *rest.Config) *k8s.Attestor {
	t.Helper()
	a, err := k8s.NewForConfig(k8s.Config{Audience: audience, AllowedServiceAccounts: []string{"nscale/agent"}}, rc)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAttestRealAPIServer(t *testing.T) {
	c := needCluster(t)
	a := c.attestor(t, c.controlPlane)
	attest := func(token, node string) (enrol.Identity, error) {
		return a.Attest(context.Background(), enrol.Request{Method: enrol.Kubernetes, Evidence: []byte(token), Node: node})
	}

	t.Run("accepted", func(t *testing.T) {
		p := c.newPod(t, "nscale", "agent-ok", "agent", "n1")
		tok := c.token(t, "nscale", "agent", audience, p)
		id, err := attest(tok, "n1")
		if err != nil {
			t.Fatalf("Attest: %v", err)
		}
		want := enrol.Identity{
			ID:      "k8s-" + string(p.UID),
			Node:    "n1",
			Subject: "system:serviceaccount:nscale:agent pod=nscale/agent-ok node=n1",
			Unique:  true,
		}
		if id != want {
			t.Fatalf("identity %+v, want %+v", id, want)
		}
		// The API server binds the pod's node into the token (what the
		// attestor's token-node check reads).
		tr, err := c.admin.AuthenticationV1().TokenReviews().Create(context.Background(), &authnv1.TokenReview{
			Spec: authnv1.TokenReviewSpec{Token: tok, Audiences: []string{audience}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := tr.Status.User.Extra["authentication.kubernetes.io/node-name"]; len(got) != 1 || got[0] != "n1" {
			t.Errorf("token's node-name extra %v, want [n1]", got)
		}
		// Another token of the same pod names the same agent.
		id2, err := attest(c.token(t, "nscale", "agent", audience, p), "n1")
		if err != nil || id2.ID != id.ID {
			t.Fatalf("second token: %+v, %v; want ID %s", id2, err, id.ID)
		}
	})

	t.Run("wrong audience", func(t *testing.T) {
		p := c.newPod(t, "nscale", "agent-aud", "agent", "n1")
		_, err := attest(c.token(t, "nscale", "agent", "some-other-service", p), "n1")
		checkRefusal(t, err, apierr.Unauthenticated, "token not authenticated (wrong audience, expired or not a service-account token)", "")
	})

	t.Run("garbage", func(t *testing.T) {
		_, err := attest("garbage garbage", "n1")
		checkRefusal(t, err, apierr.Unauthenticated, "not a JWT", "")
		// Shaped like a JWT, so the API server has to judge it.
		_, err = attest("aaaa.bbbb.cccc", "n1")
		checkRefusal(t, err, apierr.Unauthenticated, "token not authenticated", "aaaa.bbbb.cccc")
	})

	t.Run("forged signature", func(t *testing.T) {
		p := c.newPod(t, "nscale", "agent-forged", "agent", "n1")
		other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		forged := resign(t, c.token(t, "nscale", "agent", audience, p), other, func(map[string]any) {})
		_, err = attest(forged, "n1")
		checkRefusal(t, err, apierr.Unauthenticated, "token not authenticated", forged)
	})

	// TokenRequest refuses expirationSeconds below 600 and the API server
	// has no flag for a shorter minimum, so an expired token is made by
	// taking a real pod-bound token, moving iat/nbf/exp two hours into the
	// past, and re-signing it with the test API server's own signing key.
	// The control (same claims, times untouched, same re-signing) is
	// accepted, so the refusal is the expiry's alone.
	t.Run("expired", func(t *testing.T) {
		p := c.newPod(t, "nscale", "agent-expired", "agent", "n1")
		key := c.signingKey(t)
		orig := c.token(t, "nscale", "agent", audience, p)
		control := resign(t, orig, key, func(map[string]any) {})
		if _, err := attest(control, "n1"); err != nil {
			t.Fatalf("re-signed token with its own times refused: %v", err)
		}
		past := time.Now().Add(-2 * time.Hour).Unix()
		expired := resign(t, orig, key, func(cl map[string]any) {
			cl["iat"], cl["nbf"], cl["exp"] = past-600, past-600, past
		})
		_, err := attest(expired, "n1")
		checkRefusal(t, err, apierr.Unauthenticated, "token not authenticated (wrong audience, expired or not a service-account token)", expired)
		if !strings.Contains(err.Error(), "expired") {
			t.Errorf("the logged cause %q does not say the token expired", err)
		}
	})

	t.Run("disallowed namespace", func(t *testing.T) {
		p := c.newPod(t, "other", "agent-ns", "agent", "n1")
		_, err := attest(c.token(t, "other", "agent", audience, p), "n1")
		checkRefusal(t, err, apierr.Unauthenticated, "service account other/agent is not allowed", "")
	})

	t.Run("disallowed service account", func(t *testing.T) {
		p := c.newPod(t, "nscale", "intruder", "intruder", "n1")
		_, err := attest(c.token(t, "nscale", "intruder", audience, p), "n1")
		checkRefusal(t, err, apierr.Unauthenticated, "service account nscale/intruder is not allowed", "")
	})

	t.Run("pod on another node", func(t *testing.T) {
		p := c.newPod(t, "nscale", "agent-n2", "agent", "n2")
		_, err := attest(c.token(t, "nscale", "agent", audience, p), "n1")
		checkRefusal(t, err, apierr.Unauthenticated, "pod nscale/agent-n2 is on node n2, not n1", "")
	})

	t.Run("terminated pod", func(t *testing.T) {
		p := c.newPod(t, "nscale", "agent-done", "agent", "n1")
		tok := c.token(t, "nscale", "agent", audience, p)
		p.Status.Phase = corev1.PodFailed
		if _, err := c.admin.CoreV1().Pods("nscale").UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := attest(tok, "n1")
		checkRefusal(t, err, apierr.Unauthenticated, "pod nscale/agent-done has terminated (phase Failed)", "")
	})

	// The API server itself invalidates a token whose pod is gone, so the
	// usual refusal is its "not authenticated"; should its pod cache lag
	// the deletion, the attestor's own pod lookup refuses instead. Either
	// way: Unauthenticated, for that reason.
	t.Run("deleted pod", func(t *testing.T) {
		p := c.newPod(t, "nscale", "agent-gone", "agent", "n1")
		tok := c.token(t, "nscale", "agent", audience, p)
		c.deletePod(t, "nscale", "agent-gone")
		_, err := attest(tok, "n1")
		if err == nil {
			t.Fatal("token of a deleted pod accepted")
		}
		if apierr.CodeOf(err) != apierr.Unauthenticated {
			t.Fatalf("code %s (%v)", apierr.CodeOf(err), err)
		}
		msg := apierr.PublicMessage(err)
		if !strings.Contains(msg, "token not authenticated") && !strings.Contains(msg, "pod nscale/agent-gone no longer exists") {
			t.Fatalf("message %q names neither the invalidated token nor the missing pod", msg)
		}
		t.Logf("refused: %v", err)
	})

	t.Run("not pod-bound", func(t *testing.T) {
		_, err := attest(c.token(t, "nscale", "agent", audience, nil), "n1")
		checkRefusal(t, err, apierr.Unauthenticated, "token is not bound to a pod", "")
	})
}

// TestAttestRBAC: a control plane lacking one of k8s.Permissions gets
// FailedPrecondition naming the missing permission, never a refusal the
// agent would take for its own fault.
func TestAttestRBAC(t *testing.T) {
	c := needCluster(t)
	p := c.newPod(t, "nscale", "agent-rbac", "agent", "n1")
	tok := c.token(t, "nscale", "agent", audience, p)
	for _, tc := range []struct {
		name   string
		rc     *rest.Config
		reason string
	}{
		{"without pods get", c.noPods, "may not get pods in namespace nscale"},
		{"without tokenreviews create", c.noReviews, "may not create tokenreviews.authentication.k8s.io"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.attestor(t, tc.rc).Attest(context.Background(), enrol.Request{Evidence: []byte(tok), Node: "n1"})
			checkRefusal(t, err, apierr.FailedPrecondition, tc.reason, tok)
			var ae *apierr.Error
			if !errors.As(err, &ae) || !strings.Contains(ae.Error(), "forbidden") {
				t.Errorf("cause %v does not keep the API server's answer", err)
			}
		})
	}
	// The full role works with the same token.
	if _, err := c.attestor(t, c.controlPlane).Attest(context.Background(), enrol.Request{Evidence: []byte(tok), Node: "n1"}); err != nil {
		t.Fatalf("with k8s.Permissions: %v", err)
	}
}
