package awsiid_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"

	"github.com/nscale/nscale/controlplane/enrol"
	"github.com/nscale/nscale/controlplane/enrol/awsiid"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/iidevidence"
)

// The FuzzAttest corpus is signed by a key that exists only while
// TestWriteFuzzSeeds runs with -update-fuzz-seeds; only its certificate is
// kept, so the committed seeds verify and nothing else can be made to.
var updateFuzzSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite testdata/fuzz-signer.pem and the FuzzAttest seed corpus with a new key")

const fuzzCertFile = "testdata/fuzz-signer.pem"

// fuzzDocs are the only documents the fuzz corpus has signatures for: an
// input FuzzAttest accepts must carry one of them.
func fuzzDocs() [][]byte {
	return [][]byte{
		iidDoc(nil),
		iidDoc(map[string]any{"region": "eu-west-1", "availabilityZone": "eu-west-1c", "instanceId": "i-0fedcba9876543210"}),
	}
}

func TestWriteFuzzSeeds(t *testing.T) {
	if !*updateFuzzSeeds {
		t.Skip("run with -update-fuzz-seeds to regenerate the FuzzAttest corpus")
	}
	s := newSigner(t, awsSubject, 0x5eed)
	other := newSigner(t, pkix.Name{Organization: []string{"Not AWS"}}, 8)
	if err := os.WriteFile(fuzzCertFile, pem.EncodeToMemory(certBlock(s.cert)), 0o644); err != nil {
		t.Fatal(err)
	}
	docs := fuzzDocs()
	seeds := map[string][]byte{
		"valid-attached":          signed(t, docs[0], s, signOpts{}),
		"valid-attached-embedded": signed(t, docs[0], s, signOpts{embedCert: true}),
		"valid-detached":          signed(t, docs[0], s, signOpts{detached: true}),
		"valid-eu-west-1":         signed(t, docs[1], s, signOpts{}),
		"content-mismatch":        evidence(t, docs[0], signIID(t, docs[1], s, signOpts{})),
		"other-signer":            signed(t, docs[0], other, signOpts{embedCert: true}),
		"sha1":                    signed(t, docs[0], s, signOpts{sha1: true}),
		"two-signers":             signed(t, docs[0], s, signOpts{also: &other}),
		"not-json":                []byte("{"),
		"unknown-member":          []byte(`{"document":"x","pkcs7":"AA==","x":"y"}`),
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzAttest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range seeds {
		if err := os.WriteFile(filepath.Join(dir, name), fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzAttest feeds arbitrary evidence to the attestor. It must never
// panic, must refuse with Unauthenticated, and must accept only evidence
// whose document is one the corpus signer signed and whose PKCS#7 verifies
// against that signer's certificate when checked independently.
func FuzzAttest(f *testing.F) {
	pemBytes, err := os.ReadFile(fuzzCertFile)
	if err != nil {
		f.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		f.Fatalf("%s: no PEM block", fuzzCertFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		f.Fatal(err)
	}
	a, err := awsiid.New(awsiid.Config{
		CertificateFiles: []string{fuzzCertFile},
		AllowedAccounts:  []string{testAccount},
	}, func() time.Time { return pendingTime.Add(time.Minute) })
	if err != nil {
		f.Fatal(err)
	}
	docs := fuzzDocs()
	f.Add([]byte(`{"document":"x","pkcs7":"MIAGCSqGSIb3DQEHAqCAMIACAQEx"}`))
	f.Add([]byte(`{"document":"x","pkcs7":"MAA="}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		id, err := a.Attest(context.Background(), enrol.Request{Method: enrol.AWSIID, Evidence: in, Node: "n1"})
		if err != nil {
			if code := apierr.CodeOf(err); code != apierr.Unauthenticated {
				t.Fatalf("refusal with code %s: %v", code, err)
			}
			return
		}
		ev, err := iidevidence.Parse(in)
		if err != nil {
			t.Fatalf("accepted evidence that does not parse: %v", err)
		}
		known := false
		for _, d := range docs {
			known = known || bytes.Equal(d, ev.Document)
		}
		if !known {
			t.Fatalf("accepted a document nobody signed:\n%s", ev.Document)
		}
		p7, err := pkcs7.Parse(ev.PKCS7)
		if err != nil {
			t.Fatalf("accepted a PKCS#7 that does not parse: %v", err)
		}
		if len(p7.Content) == 0 {
			p7.Content = ev.Document
		} else if !bytes.Equal(p7.Content, ev.Document) {
			t.Fatal("accepted a PKCS#7 whose content is not the document")
		}
		p7.Certificates = []*x509.Certificate{cert}
		if err := p7.Verify(); err != nil {
			t.Fatalf("accepted a PKCS#7 that does not verify: %v", err)
		}
		var d struct{ AccountID, InstanceID string }
		if err := json.Unmarshal(ev.Document, &d); err != nil {
			t.Fatal(err)
		}
		if id.ID != "aws-"+d.AccountID+"-"+d.InstanceID || id.Node != d.InstanceID || !id.Unique {
			t.Fatalf("identity %+v does not match the document", id)
		}
	})
}

// TestFuzzCorpus checks that the committed corpus still means what its
// names say, so FuzzAttest's accepting path is exercised from the start.
func TestFuzzCorpus(t *testing.T) {
	a, err := awsiid.New(awsiid.Config{CertificateFiles: []string{fuzzCertFile}, AllowedAccounts: []string{testAccount}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzAttest")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitN(string(raw), "\n", 3)
		if len(lines) < 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "[]byte(") || !strings.HasSuffix(lines[1], ")") {
			t.Fatalf("%s: not a one-[]byte corpus file", e.Name())
		}
		in, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		_, err = a.Attest(context.Background(), enrol.Request{Method: enrol.AWSIID, Evidence: []byte(in)})
		if want := strings.HasPrefix(e.Name(), "valid-"); want != (err == nil) {
			t.Errorf("%s: Attest error %v", e.Name(), err)
		}
	}
}
