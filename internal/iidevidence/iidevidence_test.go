package iidevidence_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/nscale/nscale/internal/iidevidence"
)

const doc = `{
  "accountId" : "123456789012",
  "instanceId" : "i-1234567890abcdef0",
  "region" : "us-east-1"
}`

var p7 = []byte{0x30, 0x82, 0x01, 0x02, 0xff, 0x00, 0x10}

func TestRoundTrip(t *testing.T) {
	e := iidevidence.Evidence{Document: []byte(doc), PKCS7: p7}
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := iidevidence.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Document, e.Document) || !bytes.Equal(got.PKCS7, e.PKCS7) {
		t.Fatalf("round trip changed the evidence: %+v", got)
	}
}

func TestFromIMDS(t *testing.T) {
	// IMDS wraps the base64 body at 64 columns.
	enc := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xab}, 100))
	wrapped := enc[:64] + "\n" + enc[64:] + "\r\n"
	e, err := iidevidence.FromIMDS([]byte(doc), []byte(wrapped))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.PKCS7, bytes.Repeat([]byte{0xab}, 100)) || string(e.Document) != doc {
		t.Fatalf("FromIMDS = %+v", e)
	}
	if _, err := iidevidence.FromIMDS([]byte(doc), []byte("-----BEGIN PKCS7-----\n"+wrapped+"-----END PKCS7-----\n")); err == nil {
		t.Fatal("PEM armour accepted")
	}
}

func TestMarshalRefuses(t *testing.T) {
	for name, e := range map[string]iidevidence.Evidence{
		"no document":  {PKCS7: p7},
		"no pkcs7":     {Document: []byte(doc)},
		"invalid utf8": {Document: []byte("{\xff}"), PKCS7: p7},
		"too large":    {Document: []byte(strings.Repeat("a", iidevidence.MaxSize)), PKCS7: p7},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := e.Marshal(); err == nil {
				t.Fatal("Marshal accepted it")
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString(p7)
	tests := []struct {
		name, in, reason string
	}{
		{"empty", ``, "not JSON"},
		{"not json", `hello`, "not JSON"},
		{"array", `["a"]`, "not a JSON object"},
		{"string", `"a"`, "not a JSON object"},
		{"truncated", `{"document":"x","pkcs7":"` + b64 + `"`, "not valid JSON"},
		{"unknown member", `{"document":"x","pkcs7":"` + b64 + `","extra":"y"}`, `unknown member "extra"`},
		{"case-folded member", `{"Document":"x","pkcs7":"` + b64 + `"}`, `unknown member "Document"`},
		{"long unknown member is cut", `{"` + strings.Repeat("k", 100) + `":"x"}`, `unknown member "` + strings.Repeat("k", 32) + `"…`},
		{"duplicate member", `{"document":"x","document":"y","pkcs7":"` + b64 + `"}`, `"document" appears twice`},
		{"missing document", `{"pkcs7":"` + b64 + `"}`, `"document" is missing`},
		{"missing pkcs7", `{"document":"x"}`, `"pkcs7" is missing`},
		{"empty document", `{"document":"","pkcs7":"` + b64 + `"}`, `"document" is empty`},
		{"empty pkcs7", `{"document":"x","pkcs7":""}`, `"pkcs7" is empty`},
		{"null document", `{"document":null,"pkcs7":"` + b64 + `"}`, `"document" is not a string`},
		{"object document", `{"document":{"accountId":"1"},"pkcs7":"` + b64 + `"}`, `"document" is not a string`},
		{"number pkcs7", `{"document":"x","pkcs7":12}`, `"pkcs7" is not a string`},
		{"bad base64", `{"document":"x","pkcs7":"!!!!"}`, `"pkcs7" is not standard base64`},
		{"url base64", `{"document":"x","pkcs7":"-_-_"}`, `"pkcs7" is not standard base64`},
		{"space in base64", `{"document":"x","pkcs7":"MII BAg=="}`, `"pkcs7" is not standard base64`},
		{"trailing data", `{"document":"x","pkcs7":"` + b64 + `"} {}`, "data after the evidence object"},
		{"invalid utf8", "{\"document\":\"\xff\",\"pkcs7\":\"" + b64 + "\"}", "not valid UTF-8"},
		{"too large", `{"document":"` + strings.Repeat("a", iidevidence.MaxSize) + `","pkcs7":"` + b64 + `"}`, "more than the 65536 allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := iidevidence.Parse([]byte(tc.in))
			var pe *iidevidence.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse = %v, want a *ParseError", err)
			}
			if !strings.Contains(pe.Reason, tc.reason) {
				t.Fatalf("reason %q does not say %q", pe.Reason, tc.reason)
			}
		})
	}
}

func TestParseAcceptsWrappedBase64(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString(p7)
	in := `{"pkcs7":"` + b64[:4] + `\n` + b64[4:] + `\r\n", "document":"x"}`
	e, err := iidevidence.Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.PKCS7, p7) {
		t.Fatalf("pkcs7 = %x", e.PKCS7)
	}
}
