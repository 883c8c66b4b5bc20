// Package iidevidence is the wire form of EC2 instance identity evidence:
// what an agent on an EC2 (EMR) node sends to enrol with the aws_iid
// method, and what the control plane's attestor parses. It imports no
// project package, so the agent and the control plane share it.
//
// The evidence is one JSON object with exactly two string members:
//
//	{
//	  "document": "<the instance identity document, exactly as IMDS returned it>",
//	  "pkcs7":    "<standard base64 (RFC 4648, padded) of the DER PKCS#7 from
//	               /latest/dynamic/instance-identity/rsa2048>"
//	}
//
// "document" is the body of
// http://169.254.169.254/latest/dynamic/instance-identity/document, byte for
// byte: the verifier compares it with the content AWS signed, so it must not
// be re-indented or re-encoded. "pkcs7" is the body of
// http://169.254.169.254/latest/dynamic/instance-identity/rsa2048, which IMDS
// returns as base64 without PEM armour and wrapped in lines; line breaks in
// it are ignored, any other whitespace or a PEM header is an error. Unknown,
// duplicate, missing, empty or non-string members are errors, and so is
// evidence larger than MaxSize.
package iidevidence

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// MaxSize bounds the encoded evidence. A real document is under 1 KiB and
// its rsa2048 PKCS#7 under 2 KiB, so this leaves ample room and still
// bounds what an unauthenticated caller can make the control plane parse.
const MaxSize = 64 << 10

// Member names, as they appear on the wire.
const (
	FieldDocument = "document"
	FieldPKCS7    = "pkcs7"
)

// Evidence is an instance identity document and its RSA-2048 PKCS#7
// signature.
type Evidence struct {
	// Document is the instance identity document exactly as IMDS returned
	// it. It must be valid UTF-8 (AWS's documents are ASCII JSON).
	Document []byte
	// PKCS7 is the DER PKCS#7 SignedData (base64-decoded IMDS rsa2048 body).
	PKCS7 []byte
}

// ParseError says why evidence was refused. Reason never quotes the
// document or the signature, so it is safe to show to the agent.
type ParseError struct {
	Reason string
}

func (e *ParseError) Error() string { return "iid evidence: " + e.Reason }

func fail(format string, args ...any) error {
	return &ParseError{Reason: fmt.Sprintf(format, args...)}
}

// FromIMDS builds evidence from the two IMDS bodies as fetched: the
// document and the rsa2048 endpoint's base64 text (line breaks allowed).
func FromIMDS(document, rsa2048 []byte) (Evidence, error) {
	p7, err := decodePKCS7(string(rsa2048))
	if err != nil {
		return Evidence{}, err
	}
	e := Evidence{Document: document, PKCS7: p7}
	if err := e.check(); err != nil {
		return Evidence{}, err
	}
	return e, nil
}

// Marshal encodes e in the wire form. It fails on evidence that Parse
// would refuse, so an agent learns of a problem before it sends.
func (e Evidence) Marshal() ([]byte, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(struct {
		Document string `json:"document"`
		PKCS7    string `json:"pkcs7"`
	}{string(e.Document), base64.StdEncoding.EncodeToString(e.PKCS7)})
	if err != nil {
		return nil, fmt.Errorf("iid evidence: %w", err)
	}
	if len(b) > MaxSize {
		return nil, fail("encoded evidence is %d bytes, more than the %d allowed", len(b), MaxSize)
	}
	return b, nil
}

func (e Evidence) check() error {
	if len(e.Document) == 0 {
		return fail("%q is empty", FieldDocument)
	}
	if !utf8.Valid(e.Document) {
		return fail("%q is not valid UTF-8", FieldDocument)
	}
	if len(e.PKCS7) == 0 {
		return fail("%q is empty", FieldPKCS7)
	}
	return nil
}

// Parse decodes evidence strictly (see the package comment).
func Parse(b []byte) (Evidence, error) {
	if len(b) > MaxSize {
		return Evidence{}, fail("evidence is %d bytes, more than the %d allowed", len(b), MaxSize)
	}
	// encoding/json would silently replace invalid UTF-8 with U+FFFD, which
	// would turn the document into something the agent did not send.
	if !utf8.Valid(b) {
		return Evidence{}, fail("evidence is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return Evidence{}, fail("evidence is not JSON")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return Evidence{}, fail("evidence is not a JSON object")
	}
	var document, pkcs7 *string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Evidence{}, fail("evidence is not valid JSON")
		}
		key, ok := tok.(string)
		if !ok {
			return Evidence{}, fail("evidence is not valid JSON")
		}
		var dst **string
		switch key {
		case FieldDocument:
			dst = &document
		case FieldPKCS7:
			dst = &pkcs7
		default:
			return Evidence{}, fail("unknown member %s", quoteShort(key))
		}
		if *dst != nil {
			return Evidence{}, fail("member %q appears twice", key)
		}
		tok, err = dec.Token()
		if err != nil {
			return Evidence{}, fail("evidence is not valid JSON")
		}
		s, ok := tok.(string)
		if !ok {
			return Evidence{}, fail("member %q is not a string", key)
		}
		*dst = &s
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return Evidence{}, fail("evidence is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return Evidence{}, fail("data after the evidence object")
	}
	if document == nil {
		return Evidence{}, fail("member %q is missing", FieldDocument)
	}
	if pkcs7 == nil {
		return Evidence{}, fail("member %q is missing", FieldPKCS7)
	}
	p7, err := decodePKCS7(*pkcs7)
	if err != nil {
		return Evidence{}, err
	}
	e := Evidence{Document: []byte(*document), PKCS7: p7}
	if err := e.check(); err != nil {
		return Evidence{}, err
	}
	return e, nil
}

func decodePKCS7(s string) ([]byte, error) {
	if len(s) == 0 {
		return nil, fail("%q is empty", FieldPKCS7)
	}
	// StdEncoding skips \r and \n, which is what IMDS wraps the body with.
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			return nil, fail("%q is not standard base64 (bad byte at offset %d)", FieldPKCS7, int64(ce))
		}
		return nil, fail("%q is not standard base64", FieldPKCS7)
	}
	return b, nil
}

// quoteShort quotes a caller-supplied name for an error message, cut short
// so that an error never carries much of what the caller sent.
func quoteShort(s string) string {
	const max = 32
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q…", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}
