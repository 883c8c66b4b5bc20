package redact

import (
	"strings"
	"testing"
)

// FuzzURL: URL never panics; its output is REDACTED or a URL in which every
// parameter Go's query parser reads as sensitive holds REDACTED; and it is
// idempotent.
func FuzzURL(f *testing.F) {
	f.Add(sigV4)
	f.Add("http://127.0.0.1:8080/blob/t/a.parquet?X-Nscale-Expires=1700000000&X-Nscale-Signature=0f1e2d3c4b5a")
	f.Add("https://h/p?X%2DAmz%2DSignature=a&x-amz-signature=b&X-AMZ-CREDENTIAL=c")
	f.Add("https://u:p@h/p?next=https%3A%2F%2Fh%2Fk%3FX-Amz-Signature%3Dd%26b%3D2&c=3")
	f.Add("http://[::1/p?X-Amz-Signature=x")
	f.Fuzz(func(t *testing.T, in string) {
		out := URL(in)
		checkParsedQuery(t, out)
		if again := URL(out); again != out {
			t.Fatalf("not idempotent:\n in %q\nout %q\nagain %q", in, out, again)
		}
	})
}

// FuzzString plants a signed URL inside arbitrary text and checks that its
// secrets never survive String, whatever surrounds them.
func FuzzString(f *testing.F) {
	f.Add("error: Get \"", "\": dial tcp: refused", uint8(0))
	f.Add("", "", uint8(1))
	f.Add("x=", "&y=1", uint8(2))
	f.Add("%3F", "%26", uint8(3))
	f.Fuzz(func(t *testing.T, before, after string, variant uint8) {
		const sig, token = "Zq9SIGNATUREVALUEx", "Zq9TOKENVALUEx"
		if strings.Contains(before+after, "Zq9") {
			return
		}
		names := []string{"X-Amz-Signature", "x-amz-signature", "X%2DAmz%2DSignature", "X-Nscale-Signature", "X-AMZ-SIGNATURE"}
		u := "https://h.example/b/k?X-Amz-Security-Token=" + token + "&" + names[int(variant)%len(names)] + "=" + sig
		if variant&0x80 != 0 {
			u = "https://p/?u=" + strings.NewReplacer("?", "%3F", "&", "%26", "=", "%3D").Replace(u)
		}
		in := before + " " + u + " " + after
		if variant&0x40 != 0 {
			in = before + u + after // glued to the surrounding text
		}
		out := String(in)
		if strings.Contains(out, sig) || strings.Contains(out, token) {
			t.Fatalf("secret survived:\n in %q\nout %q", in, out)
		}
	})
}
