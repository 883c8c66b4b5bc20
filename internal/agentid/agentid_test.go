package agentid

import (
	"net/url"
	"testing"
)

func TestParse(t *testing.T) {
	id := ID{TrustDomain: "prod.example", Method: "kubernetes", Agent: "k8s-1234"}
	if got := id.String(); got != "spiffe://prod.example/nscale/agent/kubernetes/k8s-1234" {
		t.Fatalf("String = %s", got)
	}
	back, err := Parse(id.URI(), "prod.example")
	if err != nil || back != id {
		t.Fatalf("Parse(String) = %+v, %v", back, err)
	}
	for _, bad := range []string{
		"https://prod.example/nscale/agent/kubernetes/k8s-1234",
		"spiffe://other.example/nscale/agent/kubernetes/k8s-1234",
		"spiffe://prod.example/nscale/agent/kubernetes",
		"spiffe://prod.example/nscale/agent/kubernetes/k8s-1234/x",
		"spiffe://prod.example/nscale/user/kubernetes/k8s-1234",
		"spiffe://prod.example/nscale/agent/kube%2Fx/k8s",
		"spiffe://prod.example/nscale/agent/kubernetes/..",
		"spiffe://prod.example:443/nscale/agent/kubernetes/k8s-1234",
		"spiffe://prod.example/nscale/agent/kubernetes/k8s-1234?x=1",
		"spiffe://u@prod.example/nscale/agent/kubernetes/k8s-1234",
	} {
		u, err := url.Parse(bad)
		if err != nil {
			continue
		}
		if got, err := Parse(u, "prod.example"); err == nil {
			t.Errorf("Parse(%s) = %+v, want an error", bad, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("spiffe://td/nscale/agent/join_token/jt-1")
	f.Add("spiffe://td/nscale/agent/a/b/c")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		id, err := Parse(u, "td")
		if err != nil {
			return
		}
		// An accepted ID round-trips and has only safe parts.
		if !ValidPart(id.Method) || !ValidPart(id.Agent) || id.String() != (ID{"td", id.Method, id.Agent}).String() {
			t.Fatalf("accepted %q as %+v", s, id)
		}
		if again, err := Parse(id.URI(), "td"); err != nil || again != id {
			t.Fatalf("round trip of %q: %+v, %v", s, again, err)
		}
	})
}
