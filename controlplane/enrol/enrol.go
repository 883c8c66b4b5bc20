// Package enrol proves where an agent runs before the control plane's CA
// gives it a certificate. Each method (join token, Kubernetes
// service-account token, EC2 instance identity document) is an Attestor;
// the agent API picks one by name and never trusts the agent's own word
// for anything the evidence does not prove.
package enrol

import "context"

// Methods, as agents name them and as they appear in SPIFFE IDs
// (spiffe://<trust-domain>/nscale/agent/<method>/<id>).
const (
	JoinToken  = "join_token"
	Kubernetes = "kubernetes"
	AWSIID     = "aws_iid"
)

// Request is what an agent presents to enrol.
type Request struct {
	// Method names the attestor.
	Method string
	// Evidence is method-specific: the join token, the projected
	// service-account token, or the EC2 document and its PKCS7 signature.
	Evidence []byte
	// Node is the node the agent says it runs on. Attestors that can check
	// it (Kubernetes: the pod's node) must; the others record it as told.
	Node string
}

// Identity is what an attestor proved.
type Identity struct {
	// ID names the agent in the registry and in its certificate. It is
	// derived from the evidence, never chosen by the agent: the same pod or
	// instance always gets the same ID (so a second enrolment from it is
	// visible as a replay), while each use of a join token gets a new one.
	// Characters: [A-Za-z0-9._-], at most 128.
	ID string
	// Node is the node the agent runs on: proven where the method can
	// (Kubernetes, EC2 instance id), else Request.Node.
	Node string
	// Subject says what was proven, for the registry and the audit trail,
	// e.g. "system:serviceaccount:nscale:agent pod=nscale/agent-x node=n1"
	// or "account=123456789012 region=us-east-1 instance=i-0abc".
	Subject string
	// Unique is true when the evidence names one machine or pod for good
	// (Kubernetes, EC2): the control plane then refuses a second enrolment
	// while an earlier certificate for the same ID is still live, so stolen
	// evidence cannot mint a second identity beside the real agent's.
	Unique bool
}

// Attestor checks one method's evidence. Refusals are apierr errors:
// Unauthenticated with a reason an operator can act on (the agent sees
// it; it must not reveal secrets), Unavailable when the authority that
// checks the evidence (the Kubernetes API) cannot be reached.
type Attestor interface {
	Method() string
	Attest(ctx context.Context, req Request) (Identity, error)
}
