package awsiid_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"

	"github.com/nscale/nscale/controlplane/enrol"
	"github.com/nscale/nscale/controlplane/enrol/awsiid"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/configfile"
	"github.com/nscale/nscale/internal/iidevidence"
)

const (
	testAccount  = "123456789012"
	testInstance = "i-1234567890abcdef0"
)

var pendingTime = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// iidFields is a realistic document, in the order and spacing IMDS uses.
// A nil value renders as JSON null; a missing key is left out.
type iidField struct {
	key string
	val any // string or nil
}

func iidDoc(override map[string]any) []byte {
	fields := []iidField{
		{"accountId", testAccount},
		{"architecture", "x86_64"},
		{"availabilityZone", "us-east-1a"},
		{"billingProducts", nil},
		{"devpayProductCodes", nil},
		{"marketplaceProductCodes", nil},
		{"imageId", "ami-0abcdef1234567890"},
		{"instanceId", testInstance},
		{"instanceType", "m5.xlarge"},
		{"kernelId", nil},
		{"pendingTime", pendingTime.Format(time.RFC3339)},
		{"privateIp", "10.0.1.23"},
		{"ramdiskId", nil},
		{"region", "us-east-1"},
		{"version", "2017-09-30"},
	}
	var b strings.Builder
	b.WriteString("{\n")
	first := true
	for _, f := range fields {
		v := f.val
		if o, ok := override[f.key]; ok {
			if o == deleteField {
				continue
			}
			v = o
		}
		if !first {
			b.WriteString(",\n")
		}
		first = false
		switch v := v.(type) {
		case nil:
			fmt.Fprintf(&b, "  %q : null", f.key)
		case string:
			fmt.Fprintf(&b, "  %q : %q", f.key, v)
		default:
			fmt.Fprintf(&b, "  %q : %v", f.key, v)
		}
	}
	b.WriteString("\n}")
	return []byte(b.String())
}

type deleted struct{}

var deleteField = deleted{}

func evidence(tb testing.TB, doc, p7 []byte) []byte {
	tb.Helper()
	b, err := iidevidence.Evidence{Document: doc, PKCS7: p7}.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// signed is evidence for doc, signed by s over doc itself.
func signed(tb testing.TB, doc []byte, s signer, o signOpts) []byte {
	return evidence(tb, doc, signIID(tb, doc, s, o))
}

func newAttestor(tb testing.TB, cfg awsiid.Config, now time.Time) *awsiid.Attestor {
	tb.Helper()
	a, err := awsiid.New(cfg, func() time.Time { return now })
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func baseConfig(tb testing.TB) awsiid.Config {
	tb.Helper()
	signers(tb)
	dir := tb.TempDir()
	return awsiid.Config{
		CertificateFiles: []string{
			writePEM(tb, dir, "us-east-1.pem", certBlock(awsSigner.cert)),
			writePEM(tb, dir, "us-west-2.pem", certBlock(awsSigner2.cert)),
		},
		AllowedAccounts: []string{"210987654321", testAccount},
		AllowedRegions:  []string{"us-east-1", "us-west-2"},
		MaxDocumentAge:  time.Hour,
	}
}

func TestMethod(t *testing.T) {
	a := newAttestor(t, baseConfig(t), pendingTime)
	if a.Method() != enrol.AWSIID {
		t.Fatalf("Method = %q", a.Method())
	}
}

func TestAttest(t *testing.T) {
	cfg := baseConfig(t)
	doc := iidDoc(nil)
	wantID := enrol.Identity{
		ID:      "aws-" + testAccount + "-" + testInstance,
		Node:    testInstance,
		Subject: "account=" + testAccount + " region=us-east-1 instance=" + testInstance,
		Unique:  true,
	}
	awsForm := signIID(t, doc, awsSigner, signOpts{})
	tampered := func(p7 []byte) []byte {
		p7 = append([]byte(nil), p7...)
		// The RSA signature is the last element of the last SignerInfo.
		p7[len(p7)-1] ^= 0x01
		return p7
	}
	oneFieldChanged := iidDoc(map[string]any{"instanceType": "m5.24xlarge"})
	otherInstance := iidDoc(map[string]any{"instanceId": "i-0fedcba9876543210"})
	degenerate, err := pkcs7.DegenerateCertificate(awsSigner.cert.Raw)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		evidence []byte
		node     string
		age      time.Duration // now - pendingTime; default 10 minutes
		cfg      func(*awsiid.Config)
		want     enrol.Identity
		reason   string // refusal reason; "" means accepted
		detail   string // also in the message
	}{
		{name: "aws form: attached, no embedded certificate", evidence: evidence(t, doc, awsForm), want: wantID},
		{name: "attached with the configured certificate embedded", evidence: signed(t, doc, awsSigner, signOpts{embedCert: true}), want: wantID},
		{name: "detached, document is the external content", evidence: signed(t, doc, awsSigner, signOpts{detached: true}), want: wantID},
		{name: "second configured region's certificate",
			evidence: signed(t, iidDoc(map[string]any{"region": "us-west-2", "availabilityZone": "us-west-2b"}), awsSigner2, signOpts{}),
			want: enrol.Identity{ID: wantID.ID, Node: testInstance, Unique: true,
				Subject: "account=" + testAccount + " region=us-west-2 instance=" + testInstance}},
		{name: "claimed node is the instance id", evidence: evidence(t, doc, awsForm), node: testInstance, want: wantID},
		{name: "claimed node differs: recorded, not trusted", evidence: evidence(t, doc, awsForm), node: "ip-10-0-1-23.ec2.internal",
			want: enrol.Identity{ID: wantID.ID, Node: testInstance, Unique: true,
				Subject: wantID.Subject + " claimed_node=ip-10-0-1-23.ec2.internal"}},
		{name: "claimed node is not a host name", evidence: evidence(t, doc, awsForm), node: "n1 account=999999999999",
			want: enrol.Identity{ID: wantID.ID, Node: testInstance, Unique: true,
				Subject: wantID.Subject + " claimed_node=(invalid)"}},
		{name: "no region limit", evidence: signed(t, iidDoc(map[string]any{"region": "eu-west-1"}), awsSigner, signOpts{}),
			cfg: func(c *awsiid.Config) { c.AllowedRegions = nil },
			want: enrol.Identity{ID: wantID.ID, Node: testInstance, Unique: true,
				Subject: "account=" + testAccount + " region=eu-west-1 instance=" + testInstance}},
		{name: "no age limit", evidence: evidence(t, doc, awsForm), age: 1000 * time.Hour,
			cfg: func(c *awsiid.Config) { c.MaxDocumentAge = 0 }, want: wantID},
		{name: "age exactly at the limit", evidence: evidence(t, doc, awsForm), age: time.Hour, want: wantID},
		{name: "pendingTime slightly in the future (clock skew)", evidence: evidence(t, doc, awsForm), age: -time.Minute, want: wantID},
		{name: "document without privateIp (IPv6-only)", evidence: signed(t, iidDoc(map[string]any{"privateIp": nil}), awsSigner, signOpts{}), want: wantID},

		{name: "tampered document, attached signature", evidence: evidence(t, oneFieldChanged, awsForm),
			reason: "signed content is not the document"},
		{name: "pkcs7 signs another instance's document", evidence: evidence(t, doc, signIID(t, otherInstance, awsSigner, signOpts{})),
			reason: "signed content is not the document"},
		{name: "tampered document, detached signature", evidence: evidence(t, oneFieldChanged, signIID(t, doc, awsSigner, signOpts{detached: true})),
			reason: "signature does not verify against the configured AWS certificates", detail: "signature is invalid"},
		{name: "tampered signature bytes", evidence: evidence(t, doc, tampered(awsForm)),
			reason: "signature does not verify against the configured AWS certificates", detail: "signature is invalid"},
		{name: "tampered signature bytes, detached", evidence: evidence(t, doc, tampered(signIID(t, doc, awsSigner, signOpts{detached: true}))),
			reason: "signature does not verify against the configured AWS certificates", detail: "signature is invalid"},
		{name: "wrong signer naming the configured certificate", evidence: signed(t, doc, impostor, signOpts{}),
			reason: "signature does not verify against the configured AWS certificates", detail: "signature is invalid"},
		{name: "wrong signer embedding its own look-alike certificate", evidence: signed(t, doc, impostor, signOpts{embedCert: true}),
			reason: "signature does not verify against the configured AWS certificates", detail: "signature is invalid"},
		{name: "certificate not configured (embedded)", evidence: signed(t, doc, stranger, signOpts{embedCert: true}),
			reason: "signature does not verify against the configured AWS certificates", detail: "signer is not one of certificate_files"},
		{name: "certificate not configured (region missing from config)", evidence: signed(t, doc, awsSigner2, signOpts{}),
			cfg:    func(c *awsiid.Config) { c.CertificateFiles = c.CertificateFiles[:1] },
			reason: "signature does not verify against the configured AWS certificates", detail: "signer is not one of"},
		{name: "no signer (certificates only)", evidence: evidence(t, doc, degenerate),
			reason: "signature does not verify against the configured AWS certificates", detail: "no signer"},
		{name: "two signers", evidence: signed(t, doc, awsSigner, signOpts{also: &stranger}),
			reason: "signature does not verify against the configured AWS certificates", detail: "2 signers"},
		{name: "SHA-1 digest", evidence: signed(t, doc, awsSigner, signOpts{sha1: true}),
			reason: "signature does not verify against the configured AWS certificates", detail: "digest algorithm 1.3.14.3.2.26 is not SHA-256"},

		{name: "account not allowed", evidence: signed(t, iidDoc(map[string]any{"accountId": "999999999999"}), awsSigner, signOpts{}),
			reason: "account not allowed", detail: "account 999999999999"},
		{name: "region not allowed", evidence: signed(t, iidDoc(map[string]any{"region": "eu-west-1"}), awsSigner, signOpts{}),
			reason: "region not allowed", detail: "region eu-west-1"},
		{name: "document too old", evidence: evidence(t, doc, awsForm), age: time.Hour + time.Second,
			reason: "document too old", detail: "pendingTime 2026-03-01T10:00:00Z is 1h0m1s ago"},

		{name: "signed document missing instanceId", evidence: signed(t, iidDoc(map[string]any{"instanceId": deleteField}), awsSigner, signOpts{}),
			reason: "malformed instance identity document", detail: "instanceId is missing"},
		{name: "signed document missing pendingTime", evidence: signed(t, iidDoc(map[string]any{"pendingTime": deleteField}), awsSigner, signOpts{}),
			reason: "malformed instance identity document", detail: "pendingTime is missing"},
		{name: "signed document with a short account id", evidence: signed(t, iidDoc(map[string]any{"accountId": "12345"}), awsSigner, signOpts{}),
			reason: "malformed instance identity document", detail: "accountId is not 12 digits"},
		{name: "signed document with a bad instance id", evidence: signed(t, iidDoc(map[string]any{"instanceId": "i-XYZ"}), awsSigner, signOpts{}),
			reason: "malformed instance identity document", detail: "instanceId is not"},
		{name: "signed document with a numeric account id", evidence: signed(t, iidDoc(map[string]any{"accountId": 123456789012}), awsSigner, signOpts{}),
			reason: "malformed instance identity document", detail: "accountId is not a string"},
		{name: "signed document with a bad pendingTime", evidence: signed(t, iidDoc(map[string]any{"pendingTime": "yesterday"}), awsSigner, signOpts{}),
			reason: "malformed instance identity document", detail: "pendingTime is not"},
		{name: "signed document that is not JSON", evidence: signed(t, []byte("accountId=123456789012"), awsSigner, signOpts{}),
			reason: "malformed instance identity document", detail: "not a JSON object"},

		{name: "malformed JSON", evidence: []byte(`{"document": "x", "pkcs7": `), reason: "malformed evidence", detail: "not valid JSON"},
		{name: "not JSON", evidence: []byte("i-1234567890abcdef0"), reason: "malformed evidence", detail: "not JSON"},
		{name: "empty evidence", evidence: nil, reason: "malformed evidence"},
		{name: "unknown field", evidence: []byte(`{"document":"x","pkcs7":"AA==","signature":"AA=="}`),
			reason: "malformed evidence", detail: `unknown member "signature"`},
		{name: "bad base64", evidence: []byte(`{"document":` + jsonString(doc) + `,"pkcs7":"not base64!"}`),
			reason: "malformed evidence", detail: "not standard base64"},
		{name: "pkcs7 garbage", evidence: evidence(t, doc, []byte("this is not DER at all")),
			reason: "malformed evidence", detail: "not a valid PKCS#7"},
		{name: "pkcs7 truncated", evidence: evidence(t, doc, awsForm[:len(awsForm)/2]),
			reason: "malformed evidence", detail: "not a valid PKCS#7"},
		{name: "pkcs7 is PEM, not base64 DER", evidence: evidence(t, doc, pem.EncodeToMemory(&pem.Block{Type: "PKCS7", Bytes: awsForm})),
			reason: "malformed evidence", detail: "not a valid PKCS#7"},
		{name: "oversized evidence", evidence: []byte(`{"document":"` + strings.Repeat(" ", iidevidence.MaxSize) + `","pkcs7":"AA=="}`),
			reason: "malformed evidence", detail: "more than the 65536 allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			c.CertificateFiles = append([]string(nil), cfg.CertificateFiles...)
			if tc.cfg != nil {
				tc.cfg(&c)
			}
			age := tc.age
			if age == 0 {
				age = 10 * time.Minute
			}
			a := newAttestor(t, c, pendingTime.Add(age))
			got, err := a.Attest(context.Background(), enrol.Request{Method: enrol.AWSIID, Evidence: tc.evidence, Node: tc.node})
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("Attest: %v", err)
				}
				if got != tc.want {
					t.Fatalf("Attest =\n %+v\nwant\n %+v", got, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Attest accepted it: %+v", got)
			}
			if code := apierr.CodeOf(err); code != apierr.Unauthenticated {
				t.Fatalf("code %s, want %s (%v)", code, apierr.Unauthenticated, err)
			}
			msg := apierr.PublicMessage(err)
			if !strings.HasPrefix(msg, "aws_iid: "+tc.reason) {
				t.Fatalf("message %q does not start with %q", msg, "aws_iid: "+tc.reason)
			}
			if !strings.Contains(msg, tc.detail) {
				t.Fatalf("message %q does not say %q", msg, tc.detail)
			}
			for _, secretish := range []string{"ami-0abcdef1234567890", "x86_64", "\"accountId\""} {
				if strings.Contains(err.Error(), secretish) {
					t.Fatalf("error %q echoes the document", err)
				}
			}
			if got != (enrol.Identity{}) {
				t.Fatalf("refusal returned an identity: %+v", got)
			}
		})
	}
}

func jsonString(b []byte) string {
	s := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(string(b))
	return `"` + s + `"`
}

// TestEvidenceFromIMDS builds evidence the way the agent will: from the two
// IMDS bodies, the rsa2048 one being wrapped base64 without PEM armour.
func TestEvidenceFromIMDS(t *testing.T) {
	cfg := baseConfig(t)
	doc := iidDoc(nil)
	b64 := base64.StdEncoding.EncodeToString(signIID(t, doc, awsSigner, signOpts{}))
	var wrapped strings.Builder
	for len(b64) > 64 {
		wrapped.WriteString(b64[:64] + "\n")
		b64 = b64[64:]
	}
	wrapped.WriteString(b64)
	ev, err := iidevidence.FromIMDS(doc, []byte(wrapped.String()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ev.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := awsiid.ParseEvidence(b)
	if err != nil || string(parsed.Document) != string(doc) {
		t.Fatalf("ParseEvidence = %v, %v", parsed, err)
	}
	a := newAttestor(t, cfg, pendingTime)
	id, err := a.Attest(context.Background(), enrol.Request{Method: enrol.AWSIID, Evidence: b})
	if err != nil {
		t.Fatal(err)
	}
	if id.ID != "aws-"+testAccount+"-"+testInstance {
		t.Fatalf("ID = %q", id.ID)
	}
}

func TestValidate(t *testing.T) {
	ok := awsiid.Config{CertificateFiles: []string{"/etc/nscale/aws/us-east-1.pem"}, AllowedAccounts: []string{testAccount}}
	tests := []struct {
		name string
		mod  func(*awsiid.Config)
		want string // "" means valid
	}{
		{"minimal", func(*awsiid.Config) {}, ""},
		{"full", func(c *awsiid.Config) {
			c.AllowedRegions = []string{"us-east-1", "us-gov-west-1", "cn-north-1", "ap-southeast-5"}
			c.MaxDocumentAge = 15 * time.Minute
		}, ""},
		{"no certificate files", func(c *awsiid.Config) { c.CertificateFiles = nil }, "certificate_files is required"},
		{"empty certificate path", func(c *awsiid.Config) { c.CertificateFiles = []string{"a.pem", ""} }, "certificate_files[1] is empty"},
		{"no accounts", func(c *awsiid.Config) { c.AllowedAccounts = nil }, "allowed_accounts is required"},
		{"short account", func(c *awsiid.Config) { c.AllowedAccounts = []string{"12345678901"} }, `allowed_accounts[0] "12345678901" is not a 12-digit AWS account id`},
		{"account with dashes", func(c *awsiid.Config) { c.AllowedAccounts = []string{"1234-5678-9012"} }, `allowed_accounts[0] "1234-5678-9012" is not a 12-digit`},
		{"duplicate account", func(c *awsiid.Config) { c.AllowedAccounts = []string{testAccount, testAccount} }, `allowed_accounts[1] "123456789012" is listed twice`},
		{"bad region", func(c *awsiid.Config) { c.AllowedRegions = []string{"us-east-1a"} }, `allowed_regions[0] "us-east-1a" is not an AWS region name`},
		{"upper-case region", func(c *awsiid.Config) { c.AllowedRegions = []string{"US-EAST-1"} }, `allowed_regions[0] "US-EAST-1" is not`},
		{"duplicate region", func(c *awsiid.Config) { c.AllowedRegions = []string{"us-east-1", "us-east-1"} }, `allowed_regions[1] "us-east-1" is listed twice`},
		{"negative age", func(c *awsiid.Config) { c.MaxDocumentAge = -time.Second }, "max_document_age -1s is negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("Validate accepted it")
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("Validate = %q, want it to say %q", err, tc.want)
			}
		})
	}
	if _, err := awsiid.New(awsiid.Config{}, nil); err == nil || !strings.Contains(err.Error(), "certificate_files is required") {
		t.Fatalf("New did not validate: %v", err)
	}
}

func TestNewCertificateFiles(t *testing.T) {
	signers(t)
	dir := t.TempDir()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		file string
		want string // "" means loads
	}{
		{"two certificates and text in one file", writePEM(t, dir, "two.pem", certBlock(awsSigner.cert), certBlock(awsSigner2.cert)), ""},
		{"AWS's real us-east-1 RSA-2048 certificate", filepath.Join("testdata", "aws-rsa2048-us-east-1.pem"), ""},
		{"missing file", filepath.Join(dir, "nope.pem"), "no such file"},
		{"not PEM", writePEM(t, dir, "empty.pem"), "no PEM CERTIFICATE block"},
		{"private key block", writePEM(t, dir, "key.pem", &pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte{1}}), `PEM block 1 is "RSA PRIVATE KEY", want CERTIFICATE`},
		{"garbage certificate", writePEM(t, dir, "bad.pem", &pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}), "certificate 1:"},
		{"ECDSA certificate", writePEM(t, dir, "ec.pem", certBlock(ecdsaCert(t))), "has a ECDSA key: want AWS's RSA-2048 certificate"},
		{"1024-bit RSA certificate", writePEM(t, dir, "rsa1024.pem", certBlock(selfSign(t, small, awsSubject, 9).cert)), "has a 1024-bit RSA key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := awsiid.New(awsiid.Config{CertificateFiles: []string{tc.file}, AllowedAccounts: []string{testAccount}}, nil)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.want != "" && err == nil:
				t.Fatal("New accepted it")
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("New = %q, want it to say %q", err, tc.want)
			case tc.want != "" && !strings.HasPrefix(err.Error(), "certificate_files: "):
				t.Fatalf("New = %q, want it to name the key", err)
			}
		})
	}
}

// TestConfigYAML decodes the operator-doc example with the control plane's
// strict decoder.
func TestConfigYAML(t *testing.T) {
	const y = `
certificate_files:
  - /etc/nscale/aws/rsa2048-us-east-1.pem
  - /etc/nscale/aws/rsa2048-eu-west-1.pem
allowed_accounts: ["123456789012"]
allowed_regions: [us-east-1, eu-west-1]
max_document_age: 15m
`
	var c awsiid.Config
	if err := configfile.Decode("aws_iid.yaml", []byte(y), &c); err != nil {
		t.Fatal(err)
	}
	if c.MaxDocumentAge != 15*time.Minute || len(c.CertificateFiles) != 2 || c.AllowedRegions[1] != "eu-west-1" {
		t.Fatalf("decoded %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := configfile.Decode("aws_iid.yaml", []byte("allowed_account: []\n"), &c); err == nil {
		t.Fatal("unknown key accepted")
	}
}

// TestConcurrentAttest runs attestations in parallel (for -race).
func TestConcurrentAttest(t *testing.T) {
	cfg := baseConfig(t)
	a := newAttestor(t, cfg, pendingTime)
	good := signed(t, iidDoc(nil), awsSigner, signOpts{})
	bad := signed(t, iidDoc(nil), impostor, signOpts{})
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			ev := good
			if i%2 == 1 {
				ev = bad
			}
			_, err := a.Attest(context.Background(), enrol.Request{Method: enrol.AWSIID, Evidence: ev})
			if (err == nil) != (i%2 == 0) {
				errs <- fmt.Errorf("attempt %d: %v", i, err)
				return
			}
			errs <- nil
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestAttestWrongMethod(t *testing.T) {
	a := newAttestor(t, baseConfig(t), pendingTime)
	_, err := a.Attest(context.Background(), enrol.Request{Method: enrol.Kubernetes, Evidence: []byte("x")})
	if apierr.CodeOf(err) != apierr.InvalidArgument {
		t.Fatalf("Attest = %v, want InvalidArgument", err)
	}
}
