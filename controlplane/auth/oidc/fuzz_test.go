package oidc_test

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/auth/oidc"
	"github.com/nscale/nscale/controlplane/auth/oidc/oidctest"
	"github.com/nscale/nscale/internal/apierr"
)

var updateSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite testdata/fuzz/FuzzAuthenticate from fuzzSeeds")

// The fuzz IdP's key is fixed, so that tokens it signs (deterministic
// Ed25519 signatures) can be committed as seeds, and so is its clock.
var (
	fuzzNow      = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	fuzzKey      = oidctest.Ed25519KeyFromSeed("fuzz-ed", []byte("nscale-oidc-fuzz-key-seed-32byte"))
	fuzzAttacker = oidctest.Ed25519KeyFromSeed("fuzz-ed", []byte("nscale-oidc-fuzz-attacker-32byte"))
)

const fuzzCorpus = "testdata/fuzz/FuzzAuthenticate"

func fuzzClaims(mod func(map[string]any)) map[string]any {
	c := oidctest.Claims(issuer, audience, "alice", fuzzNow)
	c["groups"] = []string{"analysts", "eu"}
	if mod != nil {
		mod(c)
	}
	return c
}

// fuzzSeeds are the committed seeds: name → token, and whether the
// authenticator must accept it.
func fuzzSeeds(t testing.TB) map[string]struct {
	token string
	valid bool
} {
	sign := func(k oidctest.Key, c map[string]any) string { return k.Sign(t, c) }
	valid := sign(fuzzKey, fuzzClaims(nil))
	parts := strings.Split(valid, ".")
	type seed = struct {
		token string
		valid bool
	}
	return map[string]seed{
		"valid":              {valid, true},
		"valid-no-kid":       {sign(fuzzKey.WithID(""), fuzzClaims(nil)), true},
		"valid-groups-str":   {sign(fuzzKey, fuzzClaims(func(c map[string]any) { c["groups"] = "a,b c" })), true},
		"valid-aud-array":    {sign(fuzzKey, fuzzClaims(func(c map[string]any) { c["aud"] = []string{"x", audience} })), true},
		"valid-huge-exp":     {signBytesTB(t, fuzzKey, []byte(`{"iss":"`+issuer+`","aud":"`+audience+`","sub":"alice","exp":1e400}`)), true},
		"expired":            {sign(fuzzKey, fuzzClaims(func(c map[string]any) { c["exp"] = fuzzNow.Add(-time.Hour).Unix() })), false},
		"wrong-aud":          {sign(fuzzKey, fuzzClaims(func(c map[string]any) { c["aud"] = "other" })), false},
		"wrong-iss":          {sign(fuzzKey, fuzzClaims(func(c map[string]any) { c["iss"] = "https://evil.example.com" })), false},
		"user-not-string":    {sign(fuzzKey, fuzzClaims(func(c map[string]any) { c["sub"] = []int{1} })), false},
		"groups-object":      {sign(fuzzKey, fuzzClaims(func(c map[string]any) { c["groups"] = map[string]int{"a": 1} })), false},
		"other-key-same-kid": {sign(fuzzAttacker, fuzzClaims(nil)), false},
		"tampered":           {parts[0] + "." + b64(`{"iss":"`+issuer+`","aud":"`+audience+`","sub":"admin","exp":1999999999}`) + "." + parts[2], false},
		"alg-none":           {handmade(`{"alg":"none","kid":"fuzz-ed"}`, fuzzClaims(nil), nil), false},
		"alg-hs256":          {handmade(`{"alg":"HS256","kid":"fuzz-ed"}`, fuzzClaims(nil), []byte("0123456789abcdef0123456789abcdef")), false},
		"jwe":                {b64(`{"alg":"RSA-OAEP","enc":"A256GCM"}`) + ".a.b.c.d", false},
		"header-only":        {parts[0] + ".", false},
		"two-parts":          {parts[0] + "." + parts[1], false},
		"crit":               {handmade(`{"alg":"EdDSA","kid":"fuzz-ed","crit":["exp"]}`, fuzzClaims(nil), []byte("x")), false},
		"nscale-token":       {auth.UserTokenPrefix + "c2VjcmV0", false},
		"opaque":             {"not-a-jwt", false},
		"empty":              {"", false},
		"dots":               {"...", false},
	}
}

func signBytesTB(t testing.TB, key oidctest.Key, payload []byte) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: key.Alg, Key: jose.JSONWebKey{Key: key.Private, KeyID: key.ID}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newFuzzAuthenticator(t testing.TB) *oidc.Authenticator {
	cfg := baseConfig()
	cfg.JWKSFile = oidctest.WriteJWKS(t, t.TempDir(), fuzzKey, newKeys(t).rsa)
	cfg.GroupsClaim = "groups"
	a, err := oidc.New(cfg, oidc.WithNow(func() time.Time { return fuzzNow }))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// signedByTestKey is the oracle: does token carry a valid signature of a
// key of the fuzz IdP's set?
func signedByTestKey(token string) bool {
	sig, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.EdDSA, jose.RS256})
	if err != nil {
		return false
	}
	for _, k := range []oidctest.Key{fuzzKey, testKeys.rsa} {
		if _, err := sig.Verify(k.PublicKey()); err == nil {
			return true
		}
	}
	return false
}

// FuzzAuthenticate: arbitrary tokens never panic, are refused with
// ErrNotMine or an Unauthenticated error that does not repeat them, and
// are accepted only when validly signed by the test IdP.
func FuzzAuthenticate(f *testing.F) {
	a := newFuzzAuthenticator(f)
	// Seeds signed with the (random) RSA key cannot be committed.
	f.Add(newKeys(f).rsa.Sign(f, fuzzClaims(nil)))
	f.Add(newKeys(f).rsa.WithID("").Sign(f, fuzzClaims(nil)))
	f.Fuzz(func(t *testing.T, token string) {
		p, err := a.Authenticate(context.Background(), token)
		if err == nil {
			if !signedByTestKey(token) {
				t.Fatalf("accepted a token the test IdP did not sign: %q → %+v", token, p)
			}
			if p.User == "" || p.Method != oidc.Method || p.Bootstrap {
				t.Fatalf("accepted with principal %+v", p)
			}
			return
		}
		if errors.Is(err, auth.ErrNotMine) {
			return
		}
		if code := apierr.CodeOf(err); code != apierr.Unauthenticated {
			t.Fatalf("code %s (%v), want Unauthenticated", code, err)
		}
		if !strings.HasPrefix(err.Error(), "oidc: ") {
			t.Fatalf("error %q lacks the oidc: prefix", err)
		}
		for _, part := range strings.Split(token, ".") {
			if len(part) >= 24 && strings.Contains(err.Error(), part) {
				t.Fatalf("error %q repeats part of the token", err)
			}
		}
	})
}

// TestFuzzSeedCorpus keeps the committed seeds in step with fuzzSeeds
// (rewrite them with -update-fuzz-seeds) and checks that the valid ones
// are accepted, so that the fuzzer starts from the success path.
func TestFuzzSeedCorpus(t *testing.T) {
	seeds := fuzzSeeds(t)
	if *updateSeeds {
		if err := os.MkdirAll(fuzzCorpus, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, s := range seeds {
			body := "go test fuzz v1\nstring(" + strconv.Quote(s.token) + ")\n"
			if err := os.WriteFile(filepath.Join(fuzzCorpus, "seed-"+name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	a := newFuzzAuthenticator(t)
	for _, name := range slices.Sorted(maps.Keys(seeds)) {
		s := seeds[name]
		got, err := readSeed(filepath.Join(fuzzCorpus, "seed-"+name))
		if err != nil {
			t.Fatalf("%s: %v (run go test -run TestFuzzSeedCorpus -update-fuzz-seeds)", name, err)
		}
		if got != s.token {
			t.Errorf("seed-%s is stale: run go test -run TestFuzzSeedCorpus -update-fuzz-seeds", name)
		}
		_, err = a.Authenticate(context.Background(), got)
		if s.valid != (err == nil) {
			t.Errorf("seed-%s: err = %v, want valid=%v", name, err, s.valid)
		}
		if s.valid && !signedByTestKey(got) {
			t.Errorf("seed-%s: valid, but the oracle says it is not signed by the test IdP", name)
		}
	}
}

// readSeed reads a one-string corpus file in the "go test fuzz v1" format.
func readSeed(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if len(lines) != 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "string(") || !strings.HasSuffix(lines[1], ")") {
		return "", errors.New("not a one-string go test fuzz v1 file")
	}
	return strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
}
