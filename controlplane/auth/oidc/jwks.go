package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/nscale/nscale/internal/tlsfiles"
)

const (
	// maxJWKSBytes bounds a key set read from the IdP or a file.
	maxJWKSBytes = 1 << 20
	// fetchTimeout bounds one JWKS fetch.
	fetchTimeout = 10 * time.Second
	// maxRedirects bounds the redirects a JWKS fetch follows.
	maxRedirects = 3
	// minRSABits refuses RSA keys too short to trust.
	minRSABits = 2048
)

// keySet is the last good JWK Set and when it was fetched.
type keySet struct {
	keys    []jose.JSONWebKey
	fetched time.Time
}

// find returns the keys that may have signed a token with key ID kid and
// algorithm alg, or why there are none. A token without kid is matched
// only when exactly one key fits its algorithm.
func (s *keySet) find(kid string, alg jose.SignatureAlgorithm) ([]jose.JSONWebKey, string) {
	if s == nil {
		return nil, "no key set"
	}
	var out []jose.JSONWebKey
	for _, k := range s.keys {
		if (kid == "" || k.KeyID == kid) && fits(k, alg) {
			out = append(out, k)
		}
	}
	switch {
	case len(out) == 0 && kid == "":
		return nil, fmt.Sprintf("the token names no key (kid) and the key set holds no %s key", alg)
	case len(out) == 0:
		return nil, fmt.Sprintf("no %s key with kid %s in the key set", alg, quote(kid))
	case kid == "" && len(out) > 1:
		return nil, fmt.Sprintf("the token names no key (kid) and the key set holds %d %s keys", len(out), alg)
	}
	return out, ""
}

// fits reports whether k can verify a signature made with alg: the key
// type and curve must match the algorithm, and a key that declares its
// algorithm must declare this one.
func fits(k jose.JSONWebKey, alg jose.SignatureAlgorithm) bool {
	if k.Algorithm != "" && k.Algorithm != string(alg) {
		return false
	}
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		switch alg {
		case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
			return true
		}
	case *ecdsa.PublicKey:
		switch alg {
		case jose.ES256:
			return pub.Curve == elliptic.P256()
		case jose.ES384:
			return pub.Curve == elliptic.P384()
		case jose.ES512:
			return pub.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == jose.EdDSA
	}
	return false
}

// parseJWKS reads a JWK Set and keeps its public signing keys. Keys it
// cannot use (encryption keys, symmetric keys, private key material,
// unsupported types, short RSA keys) are skipped, each with a reason, so
// that one odd key does not cost the whole set.
func parseJWKS(b []byte) (keys []jose.JSONWebKey, skipped []skippedKey, err error) {
	var doc struct {
		Keys *[]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, nil, fmt.Errorf("not a JWK Set: %v", err)
	}
	if doc.Keys == nil {
		return nil, nil, errors.New(`not a JWK Set: no "keys" member`)
	}
	for i, raw := range *doc.Keys {
		k, why, odd := parseKey(raw)
		if why != "" {
			skipped = append(skipped, skippedKey{reason: fmt.Sprintf("key %d%s: %s", i, kidLabel(k.KeyID), why), odd: odd})
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, skipped, fmt.Errorf("the JWK Set holds no usable signing key (%d skipped)", len(skipped))
	}
	return keys, skipped, nil
}

// skippedKey is a key of the set that cannot verify tokens. Encryption
// and symmetric keys are usual in an IdP's set; anything else is odd and
// worth a warning.
type skippedKey struct {
	reason string
	odd    bool
}

func kidLabel(kid string) string {
	if kid == "" {
		return ""
	}
	return " (kid " + quote(kid) + ")"
}

// parseKey returns a verification key, or why raw is not one and whether
// that is odd.
func parseKey(raw json.RawMessage) (jose.JSONWebKey, string, bool) {
	// Look before go-jose parses: it would accept private keys, and a
	// published private key is a leak, not a signing key to trust.
	var head struct {
		Kty string          `json:"kty"`
		Kid string          `json:"kid"`
		Use string          `json:"use"`
		D   json.RawMessage `json:"d"`
		K   json.RawMessage `json:"k"`
		P   json.RawMessage `json:"p"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return jose.JSONWebKey{}, "not a JSON object", true
	}
	k := jose.JSONWebKey{KeyID: head.Kid}
	switch {
	case head.Kty == "oct" || head.K != nil:
		return k, "symmetric key ignored", false
	case head.D != nil || head.P != nil:
		return k, "holds private key material: ignored (the IdP publishes a private key!)", true
	case head.Use != "" && head.Use != "sig":
		return k, fmt.Sprintf("use %s is not sig", quote(head.Use)), false
	}
	if err := k.UnmarshalJSON(raw); err != nil {
		return k, "unsupported or invalid key: " + err.Error(), true
	}
	if !k.Valid() || !k.IsPublic() {
		return k, "not a valid public key", true
	}
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < minRSABits {
			return k, fmt.Sprintf("RSA key of %d bits is shorter than %d", pub.N.BitLen(), minRSABits), true
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return k, fmt.Sprintf("key type %T is not supported", k.Key), true
	}
	return k, "", false
}

// source reads the raw key set, from the URL or the file.
type source interface {
	read(ctx context.Context) ([]byte, string, error)
	String() string // for logs: never a secret
}

type fileSource string

func (f fileSource) String() string { return string(f) }

func (f fileSource) read(context.Context) ([]byte, string, error) {
	fh, err := os.Open(string(f))
	if err != nil {
		return nil, refreshFetch, err
	}
	defer fh.Close()
	return readLimited(fh)
}

type urlSource struct {
	url    string
	client *http.Client
}

func (u urlSource) String() string {
	p, err := url.Parse(u.url)
	if err != nil {
		return "jwks_url"
	}
	p.RawQuery, p.ForceQuery, p.Fragment, p.User = "", false, "", nil
	return p.String()
}

func (u urlSource) read(ctx context.Context) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.url, nil)
	if err != nil {
		return nil, refreshFetch, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := u.client.Do(req)
	if err != nil {
		// url.Error repeats the whole URL; keep the cause only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return nil, refreshCancelled, err
		}
		return nil, refreshFetch, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, refreshStatus, fmt.Errorf("HTTP status %s", resp.Status)
	}
	return readLimited(resp.Body)
}

func readLimited(r io.Reader) ([]byte, string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxJWKSBytes+1))
	if err != nil {
		return nil, refreshFetch, err
	}
	if len(b) > maxJWKSBytes {
		return nil, refreshTooLarge, fmt.Errorf("the JWK Set is larger than %d bytes", maxJWKSBytes)
	}
	return b, "", nil
}

// newHTTPClient returns the client for JWKS fetches: a copy of the
// injected one (or a fresh one), with ca_file's roots, and redirects held to
// the same rules as jwks_url.
func newHTTPClient(cfg Config, injected *http.Client) (*http.Client, error) {
	var c http.Client
	if injected != nil {
		c = *injected
	}
	if cfg.CAFile != "" {
		tlsCfg, err := tlsfiles.ClientConfig(cfg.CAFile, "")
		if err != nil {
			return nil, fmt.Errorf("oidc.ca_file: %w", err)
		}
		var tr *http.Transport
		switch t := c.Transport.(type) {
		case nil:
			tr = http.DefaultTransport.(*http.Transport).Clone()
		case *http.Transport:
			tr = t.Clone()
		default:
			return nil, fmt.Errorf("oidc.ca_file needs an *http.Transport, and the injected client has a %T", c.Transport)
		}
		tr.TLSClientConfig = tlsCfg
		c.Transport = tr
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		u := req.URL
		if u.Scheme == "https" || (u.Scheme == "http" && loopbackHost(u.Hostname())) {
			return nil
		}
		return fmt.Errorf("refusing redirect to %s://%s%s: the JWK Set is fetched over https, or http from a loopback host only",
			u.Scheme, u.Host, u.EscapedPath())
	}
	return &c, nil
}

// quote makes an untrusted value safe for an error or a log line: quoted,
// escaped, and cut to a readable length.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		cut := max
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q…", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
