// Package agentid is the name an enrolled agent carries in its
// certificate: the SPIFFE ID spiffe://<trust-domain>/nscale/agent/<method>/<id>
// as the certificate's only URI SAN. The control plane writes it when it
// signs and reads it back on every call; nothing else names an agent.
package agentid

import (
	"crypto/x509"
	"fmt"
	"net/url"
	"strings"
)

// ID is an agent's identity.
type ID struct {
	TrustDomain string
	Method      string
	Agent       string
}

// URI is the SPIFFE ID.
func (id ID) URI() *url.URL {
	return &url.URL{Scheme: "spiffe", Host: id.TrustDomain, Path: "/nscale/agent/" + id.Method + "/" + id.Agent}
}

func (id ID) String() string { return id.URI().String() }

// ValidPart reports whether s may be a trust domain, method or agent ID:
// 1 to 128 of [A-Za-z0-9._-], so IDs are safe in URIs, paths, logs and
// metric-free audit text alike.
func ValidPart(s string) bool {
	if s == "" || len(s) > 128 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Parse reads an ID from a SPIFFE URI of trust domain td.
func Parse(u *url.URL, td string) (ID, error) {
	if u == nil || u.Scheme != "spiffe" {
		return ID{}, fmt.Errorf("not a spiffe:// ID")
	}
	if u.Host != td {
		return ID{}, fmt.Errorf("trust domain %q, want %q", u.Host, td)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Port() != "" {
		return ID{}, fmt.Errorf("malformed spiffe ID")
	}
	parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	if len(parts) != 4 || parts[0] != "nscale" || parts[1] != "agent" || !ValidPart(parts[2]) || !ValidPart(parts[3]) {
		return ID{}, fmt.Errorf("not an nscale agent ID (want spiffe://%s/nscale/agent/<method>/<id>)", td)
	}
	return ID{TrustDomain: td, Method: parts[2], Agent: parts[3]}, nil
}

// FromCertificate reads the ID of an agent certificate: exactly one URI
// SAN, of trust domain td.
func FromCertificate(c *x509.Certificate, td string) (ID, error) {
	if len(c.URIs) != 1 {
		return ID{}, fmt.Errorf("an agent certificate has exactly one URI SAN, this one has %d", len(c.URIs))
	}
	return Parse(c.URIs[0], td)
}
