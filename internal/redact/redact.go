// Package redact renders pre-signed URLs and texts that contain them safe
// for logs: the values of signature, credential and token parameters are
// replaced with "REDACTED". It knows the SigV4 query parameters
// (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token), the local
// signer's (X-Nscale-Signature) and, to fail safe, any parameter whose name
// mentions a signature, credential, token, secret or password, SigV2's
// Signature/AWSAccessKeyId and SAS "sig".
//
// Parameter names are matched case-insensitively after percent-decoding (at
// any depth), separators may be literal or percent-encoded (a URL nested in
// another URL's parameter is redacted too), and every occurrence of a
// repeated parameter is redacted. A sensitive value runs to the next '&' at
// its own encoding depth or shallower, so the redaction may cover more than
// the value, never less.
package redact

import (
	"net/url"
	"strings"
)

// Redacted replaces every secret value.
const Redacted = "REDACTED"

// URL renders one URL for logs: sensitive parameter values and any user
// info are replaced with Redacted. A string that does not parse as a URL is
// replaced whole: it is never echoed.
func URL(raw string) string {
	if _, err := url.Parse(raw); err != nil {
		return Redacted
	}
	return params(userinfo(raw))
}

// String redacts every URL-like or parameter-like run inside a longer text,
// such as an error from net/http that embeds the URL
// (`Get "https://...?X-Amz-Signature=...": dial tcp ...`), or an
// Authorization header. Runs are split at whitespace, quotes and angle
// brackets; text without sensitive parameters is returned unchanged.
func String(s string) string {
	if !strings.ContainsAny(s, "=%\\@") {
		return s // fast path: nothing that could hold a parameter or user info
	}
	var b strings.Builder
	start := -1
	flush := func(end int) {
		if start >= 0 {
			b.WriteString(params(userinfo(s[start:end])))
			start = -1
		}
	}
	for i := 0; i < len(s); i++ {
		if isDelim(s[i]) {
			flush(i)
			b.WriteByte(s[i])
		} else if start < 0 {
			start = i
		}
	}
	flush(len(s))
	return b.String()
}

func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f', '"', '\'', '`', '<', '>':
		return true
	}
	return false
}

// userinfo replaces the user info of "scheme://user:pass@host/..." in a run.
func userinfo(run string) string {
	i := strings.Index(run, "://")
	if i < 0 {
		return run
	}
	auth := run[i+3:]
	if end := strings.IndexAny(auth, "/?#"); end >= 0 {
		auth = auth[:end]
	}
	at := strings.LastIndexByte(auth, '@')
	if at < 0 {
		return run
	}
	return run[:i+3] + Redacted + run[i+3+at:]
}

// sep describes a possibly percent-encoded character at s[i]: the decoded
// byte, the encoding depth (0 literal, 1 for %XX, 2 for %25XX, ...) and the
// length of its encoding. JSON's \u0026 and \u003d count as literal & and =.
func sep(s string, i int) (c byte, depth, n int) {
	switch {
	case s[i] == '\\' && len(s) >= i+6 && (s[i:i+6] == `\u0026` || s[i:i+6] == `\u003d` || s[i:i+6] == `\u003D`):
		if s[i+5] == '6' {
			return '&', 0, 6
		}
		return '=', 0, 6
	case s[i] != '%':
		return s[i], 0, 1
	}
	j := i + 1
	d := 1
	for len(s) >= j+4 && s[j:j+2] == "25" && isHex(s[j+2]) && isHex(s[j+3]) {
		j += 2
		d++
	}
	if len(s) >= j+2 && isHex(s[j]) && isHex(s[j+1]) {
		return unhex(s[j])<<4 | unhex(s[j+1]), d, j + 2 - i
	}
	return '%', 0, 1
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// nameChar reports the literal characters a parameter name may be written
// with (percent escapes included); anything else ends a name when scanning
// backwards from its '='.
func nameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~' || c == '+' || c == '%' || c >= 0x80
}

// params redacts the values of sensitive parameters in one run.
func params(run string) string {
	var out strings.Builder
	copied := 0 // run[:copied] is already in out
	nameStart := 0
	for i := 0; i < len(run); {
		c, depth, n := sep(run, i)
		if c != '=' {
			if n == 1 && !nameChar(run[i]) || c == '&' || c == '?' || c == '#' || c == ';' || c == '/' {
				nameStart = i + n
			}
			i += n
			continue
		}
		valStart := i + n
		if !sensitive(run[nameStart:i]) {
			// Keep scanning inside the value: it may hold an encoded URL.
			i, nameStart = valStart, valStart
			continue
		}
		valEnd := valueEnd(run, valStart, depth)
		if valEnd > valStart {
			if out.Len() == 0 {
				out.Grow(len(run))
			}
			out.WriteString(run[copied:valStart])
			out.WriteString(Redacted)
			copied = valEnd
		}
		i, nameStart = valEnd, valEnd
	}
	if copied == 0 {
		return run
	}
	out.WriteString(run[copied:])
	return out.String()
}

// valueEnd returns where a value that starts at i ends: at the next '&'
// encoded at most depth times, or at the end of the run.
func valueEnd(run string, i, depth int) int {
	for i < len(run) {
		c, d, n := sep(run, i)
		if c == '&' && d <= depth {
			return i
		}
		i += n
	}
	return len(run)
}

// sensitive decides on a raw (possibly percent-encoded) parameter name.
func sensitive(raw string) bool {
	name := decodeAll(raw)
	// A decoded name may still carry an encoded prefix such as "p?" or
	// "a&": keep what follows the last non-name character.
	last := strings.LastIndexFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '~' || r == ' ' || r >= 0x80)
	})
	name = strings.ToLower(strings.TrimSpace(name[last+1:]))
	switch name {
	case "x-amz-signature", "x-amz-credential", "x-amz-security-token", "x-nscale-signature",
		"signature", "awsaccesskeyid", "sig", "x-goog-signature", "x-goog-credential":
		return true
	}
	for _, w := range []string{"signature", "credential", "token", "secret", "password", "passwd"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// decodeAll percent-decodes (and turns '+' into ' ') until nothing changes,
// leaving malformed escapes as they are.
func decodeAll(s string) string {
	for range 8 {
		if !strings.ContainsAny(s, "%+") {
			return s
		}
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			switch {
			case s[i] == '+':
				b.WriteByte(' ')
			case s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
				b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
				i += 2
			default:
				b.WriteByte(s[i])
			}
		}
		if b.String() == s {
			return s
		}
		s = b.String()
	}
	return s
}
