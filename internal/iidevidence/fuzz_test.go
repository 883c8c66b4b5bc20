package iidevidence_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nscale/nscale/internal/iidevidence"
)

// FuzzParseEvidence checks that Parse never panics, that it refuses with a
// *ParseError, and that whatever it accepts survives Marshal and Parse
// unchanged. Seeds are in testdata/fuzz/FuzzParseEvidence.
func FuzzParseEvidence(f *testing.F) {
	f.Add([]byte(`{"document":"{\"accountId\":\"123456789012\"}","pkcs7":"MIAGCSqGSIb3DQEHAqCAMIACAQEx"}`))
	f.Add([]byte(`{"document":"x","pkcs7":"AA=="}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := iidevidence.Parse(in)
		if err != nil {
			var pe *iidevidence.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error %v is not a *ParseError", err)
			}
			return
		}
		if len(in) > iidevidence.MaxSize {
			t.Fatalf("accepted %d bytes", len(in))
		}
		if len(e.Document) == 0 || len(e.PKCS7) == 0 || !utf8.Valid(e.Document) {
			t.Fatalf("accepted evidence with an empty or invalid member: %+v", e)
		}
		b, err := e.Marshal()
		if err != nil {
			// Re-encoding can grow the evidence (json.Marshal writes <, >
			// and & as \u escapes), so only the size limit may refuse it.
			var pe *iidevidence.ParseError
			if errors.As(err, &pe) && strings.Contains(pe.Reason, "allowed") {
				return
			}
			t.Fatalf("Marshal of parsed evidence: %v", err)
		}
		again, err := iidevidence.Parse(b)
		if err != nil {
			t.Fatalf("Parse(Marshal(e)): %v", err)
		}
		if !bytes.Equal(again.Document, e.Document) || !bytes.Equal(again.PKCS7, e.PKCS7) {
			t.Fatalf("round trip changed the evidence")
		}
	})
}
