package oidc

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	jose "github.com/go-jose/go-jose/v4"
)

// Defaults for the optional keys of Config. A zero value in Config means
// the default.
const (
	DefaultUserClaim              = "sub"
	DefaultClockSkew              = 60 * time.Second
	DefaultJWKSRefreshInterval    = time.Hour
	DefaultJWKSMinRefreshInterval = 10 * time.Second
)

// DefaultAllowedAlgorithms are the signature algorithms accepted when
// allowed_algorithms is not set.
var DefaultAllowedAlgorithms = []string{string(jose.RS256), string(jose.ES256), string(jose.EdDSA)}

// supportedAlgorithms are the asymmetric JWS algorithms allowed_algorithms
// may name. HMAC and "none" are refused: with a public key set, an HMAC
// "secret" is public, and "none" is no signature at all.
var supportedAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// Bounds checked by Validate.
const (
	maxClockSkew       = 10 * time.Minute
	minRefreshInterval = time.Second
	maxRefreshInterval = 24 * time.Hour
)

// Config is one OpenID Connect identity provider whose JWTs (ID tokens or
// JWT access tokens) authenticate end users. The zero value of every
// optional field means its default.
type Config struct {
	// Issuer must equal the token's "iss" claim exactly.
	Issuer string `yaml:"issuer"`
	// Audience must be the token's "aud" claim or one of its values: the
	// client ID (ID tokens) or the API identifier (access tokens) the IdP
	// issues tokens for.
	Audience string `yaml:"audience"`
	// JWKSURL is where the IdP publishes its signing keys (the
	// "jwks_uri" of its discovery document): https, or http for a
	// loopback host only.
	JWKSURL string `yaml:"jwks_url"`
	// JWKSFile is a local JWK Set instead of JWKSURL, read again at every
	// refresh, for air-gapped setups and tests.
	JWKSFile string `yaml:"jwks_file"`
	// CAFile is a PEM bundle that verifies the JWKS URL's server instead of
	// the system roots.
	CAFile string `yaml:"ca_file"`
	// UserClaim names the claim that becomes the nscale user name
	// (default "sub"; "email" or "preferred_username" are common).
	UserClaim string `yaml:"user_claim"`
	// GroupsClaim names the claim that lists the user's groups; empty
	// takes no groups from the token.
	GroupsClaim string `yaml:"groups_claim"`
	// GroupMap renames IdP groups to nscale groups. When it is empty every
	// group passes unchanged; otherwise only the groups it names pass,
	// under their mapped name.
	GroupMap map[string]string `yaml:"group_map"`
	// AllowedAlgorithms are the JWS algorithms accepted (default RS256,
	// ES256, EdDSA). "none" and the HMAC algorithms are never allowed.
	AllowedAlgorithms []string `yaml:"allowed_algorithms"`
	// ClockSkew is the leeway on exp, nbf and iat (default 60s).
	ClockSkew time.Duration `yaml:"clock_skew"`
	// JWKSRefreshInterval is how often the key set is fetched again
	// (default 1h).
	JWKSRefreshInterval time.Duration `yaml:"jwks_refresh_interval"`
	// JWKSMinRefreshInterval is the least time between two fetches: a token
	// naming an unknown key triggers a refresh at most this often, so a
	// flood of made-up key IDs cannot make the control plane hammer the
	// IdP (default 10s).
	JWKSMinRefreshInterval time.Duration `yaml:"jwks_min_refresh_interval"`
}

// WithDefaults returns c with every unset optional field at its default.
func (c Config) WithDefaults() Config {
	if c.UserClaim == "" {
		c.UserClaim = DefaultUserClaim
	}
	if len(c.AllowedAlgorithms) == 0 {
		c.AllowedAlgorithms = slices.Clone(DefaultAllowedAlgorithms)
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = DefaultClockSkew
	}
	if c.JWKSRefreshInterval == 0 {
		c.JWKSRefreshInterval = DefaultJWKSRefreshInterval
	}
	if c.JWKSMinRefreshInterval == 0 {
		c.JWKSMinRefreshInterval = DefaultJWKSMinRefreshInterval
	}
	return c
}

// Validate checks c (with its defaults) and says what to fix.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch {
	case c.Issuer == "":
		add("oidc.issuer is required: the exact \"iss\" value of the IdP's tokens")
	case strings.TrimSpace(c.Issuer) != c.Issuer:
		add("oidc.issuer %q has leading or trailing spaces: it must match \"iss\" exactly", c.Issuer)
	}
	switch {
	case c.Audience == "":
		add("oidc.audience is required: the client ID or API identifier the tokens are issued for")
	case strings.TrimSpace(c.Audience) != c.Audience:
		add("oidc.audience %q has leading or trailing spaces", c.Audience)
	}

	switch {
	case c.JWKSURL == "" && c.JWKSFile == "":
		add("oidc: set one of oidc.jwks_url (the IdP's jwks_uri) and oidc.jwks_file")
	case c.JWKSURL != "" && c.JWKSFile != "":
		add("oidc.jwks_url and oidc.jwks_file are both set: keep one")
	case c.JWKSURL != "":
		if err := checkJWKSURL(c.JWKSURL); err != nil {
			errs = append(errs, err)
		}
	}
	if c.CAFile != "" {
		if c.JWKSURL == "" {
			add("oidc.ca_file is set but oidc.jwks_url is not: ca_file only verifies the JWKS URL's server")
		} else if u, err := url.Parse(c.JWKSURL); err == nil && u.Scheme != "https" {
			add("oidc.ca_file is set but oidc.jwks_url is not https")
		}
	}

	if err := checkClaimName(c.UserClaim); err != nil {
		add("oidc.user_claim: %v", err)
	}
	if c.GroupsClaim != "" {
		if err := checkClaimName(c.GroupsClaim); err != nil {
			add("oidc.groups_claim: %v", err)
		}
	}
	if len(c.GroupMap) > 0 && c.GroupsClaim == "" {
		add("oidc.group_map is set but oidc.groups_claim is empty: name the claim that holds the groups")
	}
	for _, from := range slices.Sorted(maps.Keys(c.GroupMap)) {
		to := c.GroupMap[from]
		if from == "" {
			add("oidc.group_map has an empty group name as a key")
			continue
		}
		if err := checkName(to); err != nil {
			add("oidc.group_map[%q]: nscale group %q %v", from, to, err)
		}
	}

	for _, a := range c.AllowedAlgorithms {
		if err := checkAlgorithm(a); err != nil {
			errs = append(errs, err)
		}
	}

	if c.ClockSkew < 0 || c.ClockSkew > maxClockSkew {
		add("oidc.clock_skew %s must be between 0 and %s", c.ClockSkew, maxClockSkew)
	}
	if c.JWKSMinRefreshInterval < minRefreshInterval {
		add("oidc.jwks_min_refresh_interval %s must be at least %s", c.JWKSMinRefreshInterval, minRefreshInterval)
	}
	if c.JWKSRefreshInterval < c.JWKSMinRefreshInterval || c.JWKSRefreshInterval > maxRefreshInterval {
		add("oidc.jwks_refresh_interval %s must be between oidc.jwks_min_refresh_interval (%s) and %s",
			c.JWKSRefreshInterval, c.JWKSMinRefreshInterval, maxRefreshInterval)
	}
	return errors.Join(errs...)
}

// algorithms returns the allowed algorithms of a validated config.
func (c Config) algorithms() []jose.SignatureAlgorithm {
	var out []jose.SignatureAlgorithm
	for _, a := range c.AllowedAlgorithms {
		if alg := jose.SignatureAlgorithm(a); !slices.Contains(out, alg) {
			out = append(out, alg)
		}
	}
	return out
}

func checkAlgorithm(a string) error {
	switch {
	case strings.EqualFold(a, "none"):
		return fmt.Errorf("oidc.allowed_algorithms: %q is never allowed: it accepts unsigned tokens", a)
	case strings.HasPrefix(strings.ToUpper(a), "HS"):
		return fmt.Errorf("oidc.allowed_algorithms: %q is never allowed: HMAC algorithms verify with a shared secret, "+
			"and a key set is public, so anyone could sign", a)
	case !slices.Contains(supportedAlgorithms, jose.SignatureAlgorithm(a)):
		names := make([]string, len(supportedAlgorithms))
		for i, s := range supportedAlgorithms {
			names[i] = string(s)
		}
		return fmt.Errorf("oidc.allowed_algorithms: unknown algorithm %q: want some of %s", a, strings.Join(names, ", "))
	}
	return nil
}

// checkJWKSURL accepts https, and http only for a loopback host: keys
// fetched in the clear could be replaced on the way.
func checkJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("oidc.jwks_url: %v", err)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("oidc.jwks_url %q: want an absolute URL such as https://idp.example.com/.well-known/jwks.json", raw)
	}
	if u.User != nil {
		return errors.New("oidc.jwks_url must not hold credentials (user:password@): a key set is public")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopbackHost(u.Hostname()) {
			return fmt.Errorf("oidc.jwks_url %s uses http for a host that is not loopback: "+
				"keys fetched in the clear could be replaced on the way; use https", u.Redacted())
		}
	default:
		return fmt.Errorf("oidc.jwks_url %q: scheme must be https (or http for a loopback host)", raw)
	}
	return nil
}

func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkClaimName(name string) error {
	switch {
	case name == "":
		return errors.New("must not be empty")
	case !utf8.ValidString(name):
		return errors.New("is not valid UTF-8")
	case strings.TrimSpace(name) != name || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("%q has spaces around it or control characters", name)
	}
	return nil
}

// maxNameLen matches the store's limit on principal names (VARCHAR(255)).
const maxNameLen = 255

// checkName applies the store's rules for user and group names, and also
// refuses invisible formatting characters (zero-width, bidirectional
// overrides) that would let one name pass for another in audit.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("is empty")
	case !utf8.ValidString(name):
		return errors.New("is not valid UTF-8")
	case utf8.RuneCountInString(name) > maxNameLen:
		return fmt.Errorf("is longer than %d characters", maxNameLen)
	case strings.TrimSpace(name) != name:
		return errors.New("has leading or trailing spaces")
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0:
		return errors.New("contains a control or invisible formatting character")
	}
	return nil
}
