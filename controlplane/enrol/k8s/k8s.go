// Package k8s is the Kubernetes enrolment attestor. An agent in a pod
// presents its projected service-account token (audience = Config.Audience,
// bound to the pod by the kubelet). The control plane checks it with the
// TokenReview API, requires a pod-bound token of an allowed service
// account, then looks the pod up: it must still be the same pod (UID), be
// running, and be on the node the agent says it is on. The identity is the
// pod's UID, so the same pod always gets the same agent ID.
//
// The control plane needs the RBAC in Permissions, and nothing more.
package k8s

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	k8serrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/nscale/nscale/controlplane/enrol"
	"github.com/nscale/nscale/internal/apierr"
)

// Permissions is the RBAC the control plane's own identity needs in the
// agents' cluster (a ClusterRole bound to its service account, or a Role
// in each agent namespace for the pods rule): create TokenReviews to check
// tokens, get pods to check the pod a token is bound to. The Helm chart's
// ClusterRole must grant exactly these.
//
//	rules:
//	- apiGroups: ["authentication.k8s.io"]
//	  resources: ["tokenreviews"]
//	  verbs: ["create"]
//	- apiGroups: [""]
//	  resources: ["pods"]
//	  verbs: ["get"]
var Permissions = []rbacv1.PolicyRule{
	{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
	{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}},
}

// The extra fields the API server's service-account authenticator puts in
// a TokenReview's status for a pod-bound token.
const (
	extraPodName  = "authentication.kubernetes.io/pod-name"
	extraPodUID   = "authentication.kubernetes.io/pod-uid"
	extraNodeName = "authentication.kubernetes.io/node-name"
)

const (
	saUserPrefix = "system:serviceaccount:"
	// maxTokenBytes bounds the evidence; real projected tokens are ~1 KiB.
	maxTokenBytes = 16 << 10
	// apiTimeout bounds each attestation's calls to the API server when
	// the caller's context has no earlier deadline.
	apiTimeout = 10 * time.Second
)

var (
	jwtShape = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`)
	idChars  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)
)

// Attestor checks Kubernetes projected service-account tokens.
type Attestor struct {
	audience string
	allowed  map[string]bool // "namespace/name"
	client   kubernetes.Interface
	server   string // the API server, for messages
}

var _ enrol.Attestor = (*Attestor)(nil)

// New returns an attestor that checks tokens through client, which must
// act as an identity holding Permissions.
func New(cfg Config, client kubernetes.Interface) (*Attestor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if client == nil {
		return nil, errors.New("kubernetes attestor: no API client")
	}
	a := &Attestor{audience: cfg.Audience, allowed: map[string]bool{}, client: client, server: "(unknown)"}
	for _, sa := range cfg.AllowedServiceAccounts {
		a.allowed[sa] = true
	}
	if rc, ok := client.CoreV1().RESTClient().(*rest.RESTClient); ok && rc != nil {
		if u := rc.Get().URL(); u != nil && u.Host != "" {
			a.server = u.Scheme + "://" + u.Host
		}
	}
	return a, nil
}

// NewForConfig returns an attestor that talks to the API server rc
// describes.
func NewForConfig(cfg Config, rc *rest.Config) (*Attestor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rc = rest.CopyConfig(rc)
	rest.AddUserAgent(rc, "nscale-controlplane/enrol")
	// A DaemonSet rollout enrols every node at once: client-go's default
	// 5 QPS would queue them for minutes.
	if rc.QPS == 0 {
		rc.QPS, rc.Burst = 50, 100
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes attestor: API client for %s: %w", rc.Host, err)
	}
	a, err := New(cfg, client)
	if err != nil {
		return nil, err
	}
	if u, err := url.Parse(rc.Host); err == nil && u.Host != "" {
		a.server = u.Scheme + "://" + u.Host
	} else if rc.Host != "" {
		a.server = rc.Host
	}
	return a, nil
}

// Open returns an attestor for the API server cfg names (Kubeconfig, or
// the in-cluster config).
func Open(cfg Config) (*Attestor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rc, err := RESTConfig(cfg)
	if err != nil {
		return nil, err
	}
	return NewForConfig(cfg, rc)
}

// Method is enrol.Kubernetes.
func (a *Attestor) Method() string { return enrol.Kubernetes }

// Attest checks req.Evidence, a projected service-account token, and the
// pod it is bound to.
func (a *Attestor) Attest(ctx context.Context, req enrol.Request) (enrol.Identity, error) {
	if req.Method != "" && req.Method != enrol.Kubernetes {
		return enrol.Identity{}, apierr.New(apierr.InvalidArgument, "kubernetes attestor asked to check %q evidence", req.Method)
	}
	token := strings.TrimSpace(string(req.Evidence))
	switch {
	case token == "":
		return enrol.Identity{}, unauthenticated("no service-account token was presented")
	case len(token) > maxTokenBytes:
		return enrol.Identity{}, unauthenticated("the token is larger than %d bytes", maxTokenBytes)
	case !jwtShape.MatchString(token):
		return enrol.Identity{}, unauthenticated("the evidence is not a JWT (want the pod's projected service-account token)")
	}
	if req.Node == "" {
		return enrol.Identity{}, apierr.New(apierr.InvalidArgument, "kubernetes: the request names no node (the agent sends its pod's spec.nodeName)")
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()

	review, err := a.client.AuthenticationV1().TokenReviews().Create(ctx, &authnv1.TokenReview{
		Spec: authnv1.TokenReviewSpec{Token: token, Audiences: []string{a.audience}},
	}, metav1.CreateOptions{})
	if err != nil {
		return enrol.Identity{}, a.apiError(err, "create", "tokenreviews.authentication.k8s.io", "", token)
	}
	st := review.Status
	if !st.Authenticated {
		msg := "token not authenticated (wrong audience, expired or not a service-account token)"
		if st.Error != "" {
			// The API server's reason goes to the log (the cause), not
			// to the agent: it can say whether a pod or secret exists.
			return enrol.Identity{}, apierr.Wrap(apierr.Unauthenticated,
				errors.New("API server: "+redact(st.Error, token)), "kubernetes: %s", msg)
		}
		return enrol.Identity{}, unauthenticated("%s", msg)
	}
	if !slices.Contains(st.Audiences, a.audience) {
		return enrol.Identity{}, unauthenticated("the API server did not confirm the token's audience %s", a.audience)
	}
	ns, sa, ok := serviceAccount(st.User.Username)
	if !ok {
		return enrol.Identity{}, unauthenticated("the token authenticates %q, not a service account", st.User.Username)
	}
	if !a.allowed[ns+"/"+sa] {
		return enrol.Identity{}, unauthenticated("service account %s/%s is not allowed (allowed_service_accounts)", ns, sa)
	}
	podName, podUID := extra(st.User, extraPodName), extra(st.User, extraPodUID)
	if podName == "" || podUID == "" {
		return enrol.Identity{}, unauthenticated("token is not bound to a pod (the agent must present its projected serviceAccountToken volume, not a TokenRequest without a pod binding or a Secret token)")
	}
	tokenNode := extra(st.User, extraNodeName)

	pod, err := a.client.CoreV1().Pods(ns).Get(ctx, podName, metav1.GetOptions{})
	if k8serrors.IsNotFound(err) {
		return enrol.Identity{}, unauthenticated("pod %s/%s no longer exists", ns, podName)
	}
	if err != nil {
		return enrol.Identity{}, a.apiError(err, "get", "pods", ns, token)
	}
	if string(pod.UID) != podUID {
		return enrol.Identity{}, unauthenticated("pod %s/%s no longer exists (a newer pod of that name has another UID)", ns, podName)
	}
	if pod.DeletionTimestamp != nil {
		return enrol.Identity{}, unauthenticated("pod %s/%s is being deleted", ns, podName)
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return enrol.Identity{}, unauthenticated("pod %s/%s has terminated (phase %s)", ns, podName, pod.Status.Phase)
	}
	if pod.Spec.ServiceAccountName != "" && pod.Spec.ServiceAccountName != sa {
		return enrol.Identity{}, unauthenticated("pod %s/%s runs as service account %s, not %s", ns, podName, pod.Spec.ServiceAccountName, sa)
	}
	node := pod.Spec.NodeName
	switch {
	case node == "":
		return enrol.Identity{}, unauthenticated("pod %s/%s is not scheduled to a node", ns, podName)
	case node != req.Node:
		return enrol.Identity{}, unauthenticated("pod %s/%s is on node %s, not %s", ns, podName, node, req.Node)
	case tokenNode != "" && tokenNode != node:
		return enrol.Identity{}, unauthenticated("token was issued for node %s, but pod %s/%s is on node %s", tokenNode, ns, podName, node)
	}
	id := "k8s-" + podUID
	if !idChars.MatchString(id) {
		return enrol.Identity{}, unauthenticated("pod %s/%s has a UID that cannot name an agent", ns, podName)
	}
	return enrol.Identity{
		ID:      id,
		Node:    node,
		Subject: fmt.Sprintf("%s%s:%s pod=%s/%s node=%s", saUserPrefix, ns, sa, ns, podName, node),
		Unique:  true,
	}, nil
}

// apiError classifies a failed call to the API server: its RBAC refusing
// the control plane is a deployment error (FailedPrecondition, naming the
// permission), an unreachable or failing server is Unavailable.
func (a *Attestor) apiError(err error, verb, resource, ns, token string) error {
	cause := errors.New(redact(err.Error(), token))
	where := ""
	if ns != "" {
		where = " in namespace " + ns
	}
	var status k8serrors.APIStatus
	if !errors.As(err, &status) {
		// No answer: connection refused, TLS, DNS, timeout.
		return apierr.Wrap(apierr.Unavailable, cause, "kubernetes: API server %s is unreachable (%s %s)", a.server, verb, resource)
	}
	code := status.Status().Code
	switch {
	case code == 403:
		return apierr.Wrap(apierr.FailedPrecondition, cause,
			"kubernetes: the control plane may not %s %s%s on API server %s: grant its service account the nscale control-plane ClusterRole (%s %s)",
			verb, resource, where, a.server, resource, verb)
	case code == 401:
		return apierr.Wrap(apierr.FailedPrecondition, cause,
			"kubernetes: API server %s does not accept the control plane's own credentials (kubeconfig or in-cluster service account)", a.server)
	case code == 404 && resource != "pods":
		return apierr.Wrap(apierr.FailedPrecondition, cause, "kubernetes: API server %s does not serve %s", a.server, resource)
	case code == 429 || code >= 500 || k8serrors.IsTimeout(err) || k8serrors.IsServerTimeout(err):
		return apierr.Wrap(apierr.Unavailable, cause, "kubernetes: API server %s is unavailable (%s %s: HTTP %d)", a.server, verb, resource, code)
	default:
		return apierr.Wrap(apierr.Internal, cause, "kubernetes: API server %s refused %s %s (HTTP %d)", a.server, verb, resource, code)
	}
}

func unauthenticated(format string, args ...any) error {
	return apierr.New(apierr.Unauthenticated, "kubernetes: "+format, args...)
}

// serviceAccount splits "system:serviceaccount:NS:NAME".
func serviceAccount(user string) (ns, name string, ok bool) {
	tail, ok := strings.CutPrefix(user, saUserPrefix)
	if !ok {
		return "", "", false
	}
	ns, name, ok = strings.Cut(tail, ":")
	if !ok || ns == "" || name == "" || strings.Contains(name, ":") {
		return "", "", false
	}
	return ns, name, true
}

// extra returns the single value of an extra field, "" when it is absent
// or ambiguous.
func extra(u authnv1.UserInfo, key string) string {
	v := u.Extra[key]
	if len(v) != 1 {
		return ""
	}
	return v[0]
}

// redact removes the token from text bound for a log.
func redact(text, token string) string {
	if token == "" {
		return text
	}
	return strings.ReplaceAll(text, token, "[token]")
}
