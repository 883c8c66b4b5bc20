// Package oidctest is a throwaway OpenID Connect identity provider for
// tests: signing keys of each type the oidc package accepts, JWTs signed
// with them, and a JWK Set served over HTTP on 127.0.0.1 that counts its
// requests and can be rotated or made to fail.
package oidctest

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Key is a private signing key of the test IdP.
type Key struct {
	// ID is the kid the key is published under and tokens name; empty
	// signs tokens without kid.
	ID string
	// Alg is the algorithm the key signs with.
	Alg jose.SignatureAlgorithm
	// Private is an *rsa.PrivateKey, *ecdsa.PrivateKey or
	// ed25519.PrivateKey.
	Private any
}

// NewRSAKey makes a 2048-bit RSA key signing RS256.
func NewRSAKey(tb testing.TB, kid string) Key {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	return Key{ID: kid, Alg: jose.RS256, Private: k}
}

// NewECKey makes a P-256 key signing ES256.
func NewECKey(tb testing.TB, kid string) Key {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return Key{ID: kid, Alg: jose.ES256, Private: k}
}

// NewEd25519Key makes an Ed25519 key signing EdDSA.
func NewEd25519Key(tb testing.TB, kid string) Key {
	tb.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return Key{ID: kid, Alg: jose.EdDSA, Private: k}
}

// Ed25519KeyFromSeed is a fixed Ed25519 key (seed is 32 bytes): its
// signatures are deterministic, so tokens made with it can be committed,
// as fuzz seeds for instance.
func Ed25519KeyFromSeed(kid string, seed []byte) Key {
	return Key{ID: kid, Alg: jose.EdDSA, Private: ed25519.NewKeyFromSeed(seed)}
}

// WithID is k published under, and signing with, another kid.
func (k Key) WithID(kid string) Key {
	k.ID = kid
	return k
}

// PublicKey is k's public key.
func (k Key) PublicKey() any {
	switch p := k.Private.(type) {
	case *rsa.PrivateKey:
		return &p.PublicKey
	case *ecdsa.PrivateKey:
		return &p.PublicKey
	case ed25519.PrivateKey:
		return p.Public()
	}
	panic("oidctest: unknown key type")
}

// JWK is k's public key as published, with use "sig" and its algorithm.
func (k Key) JWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.PublicKey(), KeyID: k.ID, Algorithm: string(k.Alg), Use: "sig"}
}

// Sign returns claims as a compact JWT signed by k, with typ JWT and,
// when k.ID is set, kid.
func (k Key) Sign(tb testing.TB, claims any) string {
	tb.Helper()
	s, err := k.sign(claims)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func (k Key) sign(claims any) (string, error) {
	var key any = k.Private
	if k.ID != "" {
		key = jose.JSONWebKey{Key: k.Private, KeyID: k.ID}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.Alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// JWKS is the JWK Set that publishes keys' public halves.
func JWKS(keys ...Key) []byte {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.JWK())
	}
	b, err := json.Marshal(set)
	if err != nil {
		panic(err)
	}
	return b
}

// WriteJWKS writes the JWK Set of keys to a file under dir and returns
// its path.
func WriteJWKS(tb testing.TB, dir string, keys ...Key) string {
	tb.Helper()
	name := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(name, JWKS(keys...), 0o600); err != nil {
		tb.Fatal(err)
	}
	return name
}

// Claims are a valid token's claims at now: issuer, audience and subject,
// issued now, valid for an hour, with a jti.
func Claims(issuer, audience, subject string, now time.Time) map[string]any {
	return map[string]any{
		"iss": issuer,
		"aud": audience,
		"sub": subject,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
		"jti": "jti-" + subject,
	}
}

// Server serves a JWK Set at URL.
type Server struct {
	srv      *httptest.Server
	requests atomic.Int64

	mu     sync.Mutex
	body   []byte
	status int
}

// NewServer serves the JWK Set of keys over http on 127.0.0.1 until the
// test ends.
func NewServer(tb testing.TB, keys ...Key) *Server {
	s := &Server{body: JWKS(keys...), status: http.StatusOK}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	return s
}

// NewTLSServer is NewServer over https; CAFile trusts its certificate.
func NewTLSServer(tb testing.TB, keys ...Key) *Server {
	s := &Server{body: JWKS(keys...), status: http.StatusOK}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if r.URL.Path != "/jwks.json" {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	body, status := s.body, s.status
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.WriteHeader(status)
	if status == http.StatusOK {
		_, _ = w.Write(body)
	}
}

// URL is where the JWK Set is served.
func (s *Server) URL() string { return s.srv.URL + "/jwks.json" }

// Requests is how many requests the server has had.
func (s *Server) Requests() int { return int(s.requests.Load()) }

// SetKeys publishes another key set (a rotation).
func (s *Server) SetKeys(keys ...Key) { s.SetBody(JWKS(keys...)) }

// SetBody serves b as the key set.
func (s *Server) SetBody(b []byte) {
	s.mu.Lock()
	s.body = b
	s.mu.Unlock()
}

// SetStatus makes the server answer with status (200 serves the set).
func (s *Server) SetStatus(status int) {
	s.mu.Lock()
	s.status = status
	s.mu.Unlock()
}

// Close stops the server: fetches then fail to connect.
func (s *Server) Close() { s.srv.Close() }

// Client is an http.Client that trusts the server (its TLS certificate
// when it has one).
func (s *Server) Client() *http.Client { return s.srv.Client() }

// CAFile writes the TLS server's certificate under dir as a PEM bundle
// and returns its path.
func (s *Server) CAFile(tb testing.TB, dir string) string {
	tb.Helper()
	if s.srv.Certificate() == nil {
		tb.Fatal("oidctest: CAFile needs NewTLSServer")
	}
	name := filepath.Join(dir, "jwks-ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	if err := os.WriteFile(name, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	return name
}
