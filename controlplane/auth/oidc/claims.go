package oidc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
)

// maxGroups bounds the groups a token may list.
const maxGroups = 1000

// refusal is why a token is refused: a metrics result and a message.
type refusal struct {
	result string
	msg    string
}

func refuse(result, format string, args ...any) *refusal {
	return &refusal{result: result, msg: fmt.Sprintf(format, args...)}
}

// claims are a verified token's claims, members looked up by their exact
// name (encoding/json would match struct fields regardless of case).
type claims map[string]any

func decodeClaims(payload []byte) (claims, *refusal) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var c claims
	if err := dec.Decode(&c); err != nil || c == nil {
		return nil, refuse(resultMalformed, "malformed token: the claims are not a JSON object")
	}
	if dec.More() {
		return nil, refuse(resultMalformed, "malformed token: data after the claims")
	}
	return c, nil
}

// check applies the registered claims: iss, aud, exp (required), nbf and
// iat, with skew of leeway on the times.
func (c claims) check(cfg Config, now time.Time) *refusal {
	iss, ok := c["iss"].(string)
	if !ok {
		return refuse(resultIssuer, "wrong issuer: the token has no string iss claim, want %s", quote(cfg.Issuer))
	}
	if iss != cfg.Issuer {
		return refuse(resultIssuer, "wrong issuer %s, want %s", quote(iss), quote(cfg.Issuer))
	}

	switch aud := c["aud"].(type) {
	case nil:
		return refuse(resultAudience, "wrong audience: the token has no aud claim, want %s", quote(cfg.Audience))
	case string:
		if aud != cfg.Audience {
			return refuse(resultAudience, "wrong audience %s, want %s", quote(aud), quote(cfg.Audience))
		}
	case []any:
		found := false
		for _, v := range aud {
			s, ok := v.(string)
			if !ok {
				return refuse(resultMalformed, "malformed token: aud holds %s, want strings", jsonKind(v))
			}
			found = found || s == cfg.Audience
		}
		if !found {
			return refuse(resultAudience, "wrong audience: none of the %d in aud is %s", len(aud), quote(cfg.Audience))
		}
	default:
		return refuse(resultMalformed, "malformed token: aud is %s, want a string or an array of strings", jsonKind(aud))
	}

	skew := cfg.ClockSkew
	exp, ok, r := c.date("exp")
	switch {
	case r != nil:
		return r
	case !ok:
		return refuse(resultMissingClaim, "missing claim \"exp\": tokens without an expiry are refused")
	case !now.Add(-skew).Before(exp):
		return refuse(resultExpired, "token expired at %s", exp.UTC().Format(time.RFC3339))
	}
	nbf, ok, r := c.date("nbf")
	switch {
	case r != nil:
		return r
	case ok && now.Add(skew).Before(nbf):
		return refuse(resultNotYetValid, "token not valid yet: nbf is %s", nbf.UTC().Format(time.RFC3339))
	}
	iat, ok, r := c.date("iat")
	switch {
	case r != nil:
		return r
	case ok && now.Add(skew).Before(iat):
		return refuse(resultNotYetValid, "token not valid yet: issued in the future (iat %s)", iat.UTC().Format(time.RFC3339))
	}
	return nil
}

// Unix seconds of 0001-01-01 and 9999-12-31T23:59:59Z: the range dates
// are clamped to, so that a huge number cannot overflow.
const (
	minUnix = -62135596800
	maxUnix = 253402300799
)

// date reads a NumericDate claim (seconds since the epoch, maybe
// fractional).
func (c claims) date(name string) (time.Time, bool, *refusal) {
	v, ok := c[name]
	if !ok || v == nil {
		return time.Time{}, false, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false, refuse(resultMalformed, "malformed token: %s is %s, want a number of seconds", name, jsonKind(v))
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) {
		// Float64 fails only on overflow: ±Inf is clamped below.
		if !math.IsInf(f, 0) {
			return time.Time{}, false, refuse(resultMalformed, "malformed token: %s is not a number", name)
		}
	}
	f = math.Max(minUnix, math.Min(maxUnix, math.Floor(f)))
	return time.Unix(int64(f), 0), true, nil
}

// user returns the user name from the configured claim.
func (c claims) user(claim string) (string, *refusal) {
	v, ok := c[claim]
	if !ok || v == nil {
		return "", refuse(resultMissingClaim, "missing user claim %q", claim)
	}
	s, ok := v.(string)
	if !ok {
		return "", refuse(resultBadClaim, "user claim %q is %s, want a string", claim, jsonKind(v))
	}
	if s == "" {
		return "", refuse(resultMissingClaim, "missing user claim %q: it is empty", claim)
	}
	if err := checkName(s); err != nil {
		return "", refuse(resultBadClaim, "user claim %q %v", claim, err)
	}
	return s, nil
}

// groups returns the token's groups, mapped by groupMap: with an empty
// map every valid group name passes unchanged, otherwise only the mapped
// ones pass, renamed. The claim may be an array of strings or one string
// of names separated by spaces or commas.
func (c claims) groups(claim string, groupMap map[string]string) ([]string, *refusal) {
	if claim == "" {
		return nil, nil
	}
	var names []string
	switch v := c[claim].(type) {
	case nil:
		return nil, nil
	case string:
		names = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	case []any:
		names = make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, refuse(resultBadClaim, "groups claim %q holds %s: want an array of strings", claim, jsonKind(e))
			}
			names = append(names, s)
		}
	default:
		return nil, refuse(resultBadClaim, "groups claim %q is %s: want an array of strings or a string of names separated by spaces or commas",
			claim, jsonKind(v))
	}
	if len(names) > maxGroups {
		return nil, refuse(resultBadClaim, "groups claim %q lists %d groups, more than %d", claim, len(names), maxGroups)
	}
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		if len(groupMap) > 0 {
			mapped, ok := groupMap[n]
			if !ok {
				continue
			}
			n = mapped
		} else if checkName(n) != nil {
			continue // not a name nscale can hold: it grants nothing
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// tokenID returns jti when it is a usable identifier for audit.
func (c claims) tokenID() string {
	s, ok := c["jti"].(string)
	if !ok || checkName(s) != nil {
		return ""
	}
	return s
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}
