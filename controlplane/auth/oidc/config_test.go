package oidc_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/auth/oidc"
	"github.com/nscale/nscale/internal/configfile"
	"github.com/nscale/nscale/internal/tlsfiles/tlstest"
)

func TestConfigValidate(t *testing.T) {
	valid := func() oidc.Config {
		return oidc.Config{Issuer: issuer, Audience: audience, JWKSURL: "https://idp.example.com/jwks.json"}
	}
	cases := []struct {
		name string
		mod  func(*oidc.Config)
		want string // "" is valid
	}{
		{"minimal", func(*oidc.Config) {}, ""},
		{"jwks_file", func(c *oidc.Config) { c.JWKSURL, c.JWKSFile = "", "/etc/nscale/jwks.json" }, ""},
		{"http loopback", func(c *oidc.Config) { c.JWKSURL = "http://127.0.0.1:8080/jwks" }, ""},
		{"http localhost", func(c *oidc.Config) { c.JWKSURL = "http://localhost:8080/jwks" }, ""},
		{"http ipv6 loopback", func(c *oidc.Config) { c.JWKSURL = "http://[::1]:8080/jwks" }, ""},
		{"ca_file with https", func(c *oidc.Config) { c.CAFile = "/etc/ssl/idp.pem" }, ""},
		{"all algorithms", func(c *oidc.Config) {
			c.AllowedAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
		}, ""},
		{"groups", func(c *oidc.Config) {
			c.GroupsClaim = "groups"
			c.GroupMap = map[string]string{"/data/analysts": "analysts"}
		}, ""},

		{"no issuer", func(c *oidc.Config) { c.Issuer = "" }, "oidc.issuer is required"},
		{"issuer with spaces", func(c *oidc.Config) { c.Issuer = issuer + " " }, "oidc.issuer"},
		{"no audience", func(c *oidc.Config) { c.Audience = "" }, "oidc.audience is required"},
		{"no key source", func(c *oidc.Config) { c.JWKSURL = "" }, "set one of oidc.jwks_url"},
		{"both key sources", func(c *oidc.Config) { c.JWKSFile = "/x" }, "oidc.jwks_url and oidc.jwks_file are both set"},
		{"http elsewhere", func(c *oidc.Config) { c.JWKSURL = "http://idp.example.com/jwks" }, "uses http for a host that is not loopback"},
		{"http on a LAN address", func(c *oidc.Config) { c.JWKSURL = "http://10.0.0.1/jwks" }, "not loopback"},
		{"relative URL", func(c *oidc.Config) { c.JWKSURL = "/jwks.json" }, "want an absolute URL"},
		{"other scheme", func(c *oidc.Config) { c.JWKSURL = "ftp://idp.example.com/jwks" }, "scheme must be https"},
		{"credentials in URL", func(c *oidc.Config) { c.JWKSURL = "https://u:p@idp.example.com/jwks" }, "must not hold credentials"},
		{"ca_file with jwks_file", func(c *oidc.Config) { c.JWKSURL, c.JWKSFile, c.CAFile = "", "/x", "/ca.pem" }, "oidc.ca_file is set but oidc.jwks_url is not"},
		{"ca_file with http", func(c *oidc.Config) { c.JWKSURL, c.CAFile = "http://127.0.0.1/jwks", "/ca.pem" }, "not https"},
		{"alg none", func(c *oidc.Config) { c.AllowedAlgorithms = []string{"RS256", "none"} }, `"none" is never allowed`},
		{"alg HS256", func(c *oidc.Config) { c.AllowedAlgorithms = []string{"HS256"} }, `"HS256" is never allowed: HMAC`},
		{"alg hs512", func(c *oidc.Config) { c.AllowedAlgorithms = []string{"hs512"} }, `"hs512" is never allowed`},
		{"alg unknown", func(c *oidc.Config) { c.AllowedAlgorithms = []string{"RS1"} }, `unknown algorithm "RS1"`},
		{"group_map without groups_claim", func(c *oidc.Config) { c.GroupMap = map[string]string{"a": "b"} }, "oidc.groups_claim is empty"},
		{"group_map to a bad name", func(c *oidc.Config) {
			c.GroupsClaim = "groups"
			c.GroupMap = map[string]string{"a": " b"}
		}, `oidc.group_map["a"]`},
		{"group_map from empty", func(c *oidc.Config) {
			c.GroupsClaim = "groups"
			c.GroupMap = map[string]string{"": "b"}
		}, "empty group name"},
		{"user claim with spaces", func(c *oidc.Config) { c.UserClaim = " email" }, "oidc.user_claim"},
		{"skew too large", func(c *oidc.Config) { c.ClockSkew = time.Hour }, "oidc.clock_skew"},
		{"min refresh too short", func(c *oidc.Config) { c.JWKSMinRefreshInterval = time.Millisecond }, "oidc.jwks_min_refresh_interval"},
		{"refresh below min refresh", func(c *oidc.Config) { c.JWKSRefreshInterval = 5 * time.Second }, "oidc.jwks_refresh_interval"},
		{"refresh too long", func(c *oidc.Config) { c.JWKSRefreshInterval = 48 * time.Hour }, "oidc.jwks_refresh_interval"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mod(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate = %v, want %q", err, tc.want)
			}
			if tc.want != "" {
				if _, err := oidc.New(c); err == nil {
					t.Fatal("New accepted a config Validate refuses")
				}
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := oidc.Config{}.WithDefaults()
	if c.UserClaim != "sub" || c.GroupsClaim != "" || c.ClockSkew != time.Minute ||
		c.JWKSRefreshInterval != time.Hour || c.JWKSMinRefreshInterval != 10*time.Second ||
		!slices.Equal(c.AllowedAlgorithms, []string{"RS256", "ES256", "EdDSA"}) {
		t.Fatalf("defaults: %+v", c)
	}
}

// TestConfigFile decodes the documented keys with the configuration
// loader the control plane uses: strict, snake_case.
func TestConfigFile(t *testing.T) {
	yaml := `
issuer: https://idp.example.com/realms/data
audience: nscale
jwks_url: https://idp.example.com/realms/data/protocol/openid-connect/certs
ca_file: /etc/nscale/idp-ca.pem
user_claim: preferred_username
groups_claim: groups
group_map:
  /data/analysts: analysts
allowed_algorithms: [RS256, PS256]
clock_skew: 30s
jwks_refresh_interval: 30m
jwks_min_refresh_interval: 15s
`
	var c oidc.Config
	if err := configfile.Decode("oidc.yaml", []byte(yaml), &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := oidc.Config{Issuer: "https://idp.example.com/realms/data", Audience: "nscale",
		JWKSURL: "https://idp.example.com/realms/data/protocol/openid-connect/certs", CAFile: "/etc/nscale/idp-ca.pem",
		UserClaim: "preferred_username", GroupsClaim: "groups", GroupMap: map[string]string{"/data/analysts": "analysts"},
		AllowedAlgorithms: []string{"RS256", "PS256"}, ClockSkew: 30 * time.Second,
		JWKSRefreshInterval: 30 * time.Minute, JWKSMinRefreshInterval: 15 * time.Second}
	if c.Issuer != want.Issuer || c.Audience != want.Audience || c.JWKSURL != want.JWKSURL || c.CAFile != want.CAFile ||
		c.UserClaim != want.UserClaim || c.GroupsClaim != want.GroupsClaim || c.GroupMap["/data/analysts"] != "analysts" ||
		!slices.Equal(c.AllowedAlgorithms, want.AllowedAlgorithms) || c.ClockSkew != want.ClockSkew ||
		c.JWKSRefreshInterval != want.JWKSRefreshInterval || c.JWKSMinRefreshInterval != want.JWKSMinRefreshInterval {
		t.Fatalf("decoded %+v, want %+v", c, want)
	}
	if err := configfile.Decode("oidc.yaml", []byte("issuer: x\njwks_uri: https://x\n"), &c); err == nil {
		t.Fatal("an unknown key was accepted")
	}
}

func TestCAFileNeedsATransport(t *testing.T) {
	cfg := oidc.Config{Issuer: issuer, Audience: audience, JWKSURL: "https://idp.example.com/jwks", CAFile: "/nonexistent/ca.pem"}
	if _, err := oidc.New(cfg); err == nil || !strings.Contains(err.Error(), "oidc.ca_file") {
		t.Fatalf("missing ca_file: %v", err)
	}
	other := &http.Client{Transport: roundTripper(func(*http.Request) (*http.Response, error) { return nil, nil })}
	cfg.CAFile = tlstest.NewCA(t, t.TempDir(), "idp-ca").File
	if _, err := oidc.New(cfg, oidc.WithHTTPClient(other)); err == nil || !strings.Contains(err.Error(), "needs an *http.Transport") {
		t.Fatalf("ca_file with a custom RoundTripper: %v", err)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
