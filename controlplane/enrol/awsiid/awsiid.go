// Package awsiid is the aws_iid enrolment attestor: an agent on an EC2
// instance (an EMR node) proves where it runs with the instance identity
// document that the instance metadata service (IMDS) hands out, and AWS's
// RSA-2048 PKCS#7 signature of it.
//
// Evidence is the JSON object defined in internal/iidevidence:
//
//	{"document": "<IID JSON text exactly as IMDS returned it>",
//	 "pkcs7":    "<base64 of the PKCS#7 from /latest/dynamic/instance-identity/rsa2048>"}
//
// The attestor trusts only the certificates named in its config (AWS's
// per-region RSA-2048 certificates): embedded certificates in the PKCS#7
// are ignored, no system root is consulted, and the signer must be one of
// the configured certificates. The signed content must be the document,
// byte for byte (or, for a detached signature, the signature must cover
// the document). Then the document's account, region and age are checked
// against the config.
//
// Not done here: the EMR cluster check (that the instance carries the
// aws:elasticmapreduce:job-flow-id tag of an allowed cluster, or is
// running at all) needs the EC2 DescribeInstances API and credentials
// for the agents' accounts. Until that exists, anything that can read
// IMDS on an instance of an allowed account and region can enrol, for as
// long as max_document_age allows; a stolen document is limited by
// Identity.Unique (one live identity per instance) and that age limit.
package awsiid

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/smallstep/pkcs7"

	"github.com/nscale/nscale/controlplane/enrol"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/iidevidence"
)

// Evidence is the aws_iid evidence an agent sends; see internal/iidevidence
// for the wire form. Agents build it with iidevidence directly (they may
// not import controlplane packages).
type Evidence = iidevidence.Evidence

// ParseEvidence decodes evidence strictly.
func ParseEvidence(b []byte) (Evidence, error) { return iidevidence.Parse(b) }

// Config configures the attestor (the aws_iid section of the control
// plane's enrolment config).
type Config struct {
	// CertificateFiles are PEM files holding AWS's RSA-2048 certificates,
	// one per region agents run in (AWS publishes them under "AWS public
	// certificates for instance identity document signatures", RSA-2048
	// tab). A file may hold several certificates. Required.
	CertificateFiles []string `yaml:"certificate_files"`
	// AllowedAccounts are the 12-digit AWS account ids whose instances may
	// enrol. Required.
	AllowedAccounts []string `yaml:"allowed_accounts"`
	// AllowedRegions, if not empty, limits enrolment to these regions.
	AllowedRegions []string `yaml:"allowed_regions"`
	// MaxDocumentAge, if not zero, refuses a document whose pendingTime
	// (when the instance last started) is longer ago than this. An agent
	// that restarts later keeps its identity by renewing its credential,
	// not by enrolling again.
	MaxDocumentAge time.Duration `yaml:"max_document_age"`
}

var (
	accountRE  = regexp.MustCompile(`^[0-9]{12}$`)
	regionRE   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	instanceRE = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)
	// nodeRE is what a claimed node name may look like to be recorded
	// verbatim in Subject (hostnames and instance ids).
	nodeRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,253}$`)
)

// Validate checks the config without reading the certificate files; each
// message names the key at fault. The caller prefixes the section's own
// path.
func (c Config) Validate() error {
	var errs []error
	if len(c.CertificateFiles) == 0 {
		errs = append(errs, errors.New("certificate_files is required: list PEM files with AWS's RSA-2048 instance identity certificate of each region agents run in"))
	}
	for i, f := range c.CertificateFiles {
		if f == "" {
			errs = append(errs, fmt.Errorf("certificate_files[%d] is empty", i))
		}
	}
	if len(c.AllowedAccounts) == 0 {
		errs = append(errs, errors.New("allowed_accounts is required: list the 12-digit AWS account ids whose instances may enrol"))
	}
	seen := map[string]bool{}
	for i, a := range c.AllowedAccounts {
		switch {
		case !accountRE.MatchString(a):
			errs = append(errs, fmt.Errorf("allowed_accounts[%d] %q is not a 12-digit AWS account id", i, a))
		case seen[a]:
			errs = append(errs, fmt.Errorf("allowed_accounts[%d] %q is listed twice", i, a))
		}
		seen[a] = true
	}
	seen = map[string]bool{}
	for i, r := range c.AllowedRegions {
		switch {
		case !regionRE.MatchString(r):
			errs = append(errs, fmt.Errorf("allowed_regions[%d] %q is not an AWS region name such as us-east-1", i, r))
		case seen[r]:
			errs = append(errs, fmt.Errorf("allowed_regions[%d] %q is listed twice", i, r))
		}
		seen[r] = true
	}
	if c.MaxDocumentAge < 0 {
		errs = append(errs, fmt.Errorf("max_document_age %s is negative: want 0 (no limit) or a positive duration such as 15m", c.MaxDocumentAge))
	}
	return errors.Join(errs...)
}

// Attestor checks EC2 instance identity evidence. It is safe for
// concurrent use.
type Attestor struct {
	certs    []*x509.Certificate
	accounts map[string]bool
	regions  map[string]bool // empty: any
	maxAge   time.Duration
	now      func() time.Time
}

var _ enrol.Attestor = (*Attestor)(nil)

// New validates cfg and loads the certificates. now is the clock used for
// max_document_age (nil: time.Now).
func New(cfg Config, now func() time.Time) (*Attestor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	a := &Attestor{
		accounts: map[string]bool{},
		regions:  map[string]bool{},
		maxAge:   cfg.MaxDocumentAge,
		now:      now,
	}
	for _, f := range cfg.CertificateFiles {
		certs, err := loadCertificates(f)
		if err != nil {
			return nil, fmt.Errorf("certificate_files: %w", err)
		}
		for _, c := range certs {
			if !a.hasCert(c) {
				a.certs = append(a.certs, c)
			}
		}
	}
	for _, acct := range cfg.AllowedAccounts {
		a.accounts[acct] = true
	}
	for _, r := range cfg.AllowedRegions {
		a.regions[r] = true
	}
	return a, nil
}

func (a *Attestor) hasCert(c *x509.Certificate) bool {
	for _, have := range a.certs {
		if bytes.Equal(have.Raw, c.Raw) {
			return true
		}
	}
	return false
}

// loadCertificates reads every CERTIFICATE block of a PEM file. Text
// around the blocks is ignored; any other block type is an error (a key or
// a PKCS7 in the wrong place is a mistake worth reporting).
func loadCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for n := 1; ; n++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%s: PEM block %d is %q, want CERTIFICATE", path, n, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %w", path, n, err)
		}
		pub, ok := c.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%s: certificate %d has a %s key: want AWS's RSA-2048 certificate (not the DSA one, which is for the pkcs7 endpoint)", path, n, c.PublicKeyAlgorithm)
		}
		if bits := pub.N.BitLen(); bits < 2048 {
			return nil, fmt.Errorf("%s: certificate %d has a %d-bit RSA key: want AWS's RSA-2048 certificate (not the RSA one, which is for the signature endpoint)", path, n, bits)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no PEM CERTIFICATE block", path)
	}
	return certs, nil
}

// Method is enrol.AWSIID.
func (a *Attestor) Method() string { return enrol.AWSIID }

// Refusal reasons. Each message starts "aws_iid: <reason>" so operators and
// tests can tell them apart.
const (
	reasonMalformedEvidence = "malformed evidence"
	reasonBadSignature      = "signature does not verify against the configured AWS certificates"
	reasonContent           = "signed content is not the document"
	reasonMalformedDocument = "malformed instance identity document"
	reasonAccount           = "account not allowed"
	reasonRegion            = "region not allowed"
	reasonTooOld            = "document too old"
)

func refuse(reason, detailFormat string, args ...any) error {
	if detailFormat == "" {
		return apierr.New(apierr.Unauthenticated, "aws_iid: %s", reason)
	}
	return apierr.New(apierr.Unauthenticated, "aws_iid: %s: %s", reason, fmt.Sprintf(detailFormat, args...))
}

// Attest verifies the evidence and returns the instance's identity:
// ID "aws-<account>-<instance id>", Node the instance id, Unique.
//
// req.Node is not trusted: the instance id is the proven node. When the
// agent claims a different node name (usually its hostname), Subject
// records it as claimed_node=<name> (or claimed_node=(invalid) when it is
// not a plain host name), so the audit trail shows what the agent said
// without anything depending on it.
func (a *Attestor) Attest(_ context.Context, req enrol.Request) (enrol.Identity, error) {
	if req.Method != "" && req.Method != enrol.AWSIID {
		return enrol.Identity{}, apierr.New(apierr.InvalidArgument, "aws_iid attestor asked to check %q evidence", req.Method)
	}
	if len(req.Evidence) > iidevidence.MaxSize {
		return enrol.Identity{}, refuse(reasonMalformedEvidence, "evidence is %d bytes, more than the %d allowed", len(req.Evidence), iidevidence.MaxSize)
	}
	ev, err := iidevidence.Parse(req.Evidence)
	if err != nil {
		var pe *iidevidence.ParseError
		if errors.As(err, &pe) {
			return enrol.Identity{}, refuse(reasonMalformedEvidence, "%s", pe.Reason)
		}
		return enrol.Identity{}, refuse(reasonMalformedEvidence, "")
	}
	if err := a.verify(ev); err != nil {
		return enrol.Identity{}, err
	}
	doc, err := parseDocument(ev.Document)
	if err != nil {
		return enrol.Identity{}, refuse(reasonMalformedDocument, "%s", err)
	}
	if !a.accounts[doc.AccountID] {
		return enrol.Identity{}, refuse(reasonAccount, "account %s is not in allowed_accounts", doc.AccountID)
	}
	if len(a.regions) > 0 && !a.regions[doc.Region] {
		return enrol.Identity{}, refuse(reasonRegion, "region %s is not in allowed_regions", doc.Region)
	}
	if a.maxAge > 0 {
		age := a.now().Sub(doc.PendingTime)
		if age > a.maxAge {
			return enrol.Identity{}, refuse(reasonTooOld, "pendingTime %s is %s ago, more than max_document_age %s (the instance started too long ago to enrol)",
				doc.PendingTime.UTC().Format(time.RFC3339), age.Round(time.Second), a.maxAge)
		}
	}
	subject := fmt.Sprintf("account=%s region=%s instance=%s", doc.AccountID, doc.Region, doc.InstanceID)
	if req.Node != "" && req.Node != doc.InstanceID {
		if nodeRE.MatchString(req.Node) {
			subject += " claimed_node=" + req.Node
		} else {
			subject += " claimed_node=(invalid)"
		}
	}
	return enrol.Identity{
		ID:      "aws-" + doc.AccountID + "-" + doc.InstanceID,
		Node:    doc.InstanceID,
		Subject: subject,
		Unique:  true,
	}, nil
}

// verify checks that ev.PKCS7 is a signature by one of the configured
// certificates over exactly ev.Document.
func (a *Attestor) verify(ev Evidence) (err error) {
	defer func() {
		// The PKCS#7 and ASN.1 parsers are third-party code fed by an
		// unauthenticated caller; a panic in them must refuse the evidence,
		// not take down the request.
		if r := recover(); r != nil {
			err = refuse(reasonMalformedEvidence, "pkcs7 is not a valid PKCS#7 structure")
		}
	}()
	p7, err := pkcs7.Parse(ev.PKCS7)
	if err != nil {
		return refuse(reasonMalformedEvidence, "pkcs7 is not a valid PKCS#7 structure")
	}
	switch n := len(p7.Signers); n {
	case 0:
		return refuse(reasonBadSignature, "the PKCS#7 has no signer")
	case 1:
	default:
		return refuse(reasonBadSignature, "the PKCS#7 has %d signers, want 1", n)
	}
	// x509.Certificate.CheckSignature, which pkcs7 ends in, still accepts
	// SHA-1. AWS signs with SHA-256; refuse anything weaker.
	if d := p7.Signers[0].DigestAlgorithm.Algorithm; !allowedDigest(d) {
		return refuse(reasonBadSignature, "digest algorithm %s is not SHA-256, SHA-384 or SHA-512", d)
	}
	attached := len(p7.Content) > 0
	if !attached {
		// Detached signature: the document is the external content.
		p7.Content = ev.Document
	}
	// Ignore whatever certificates the PKCS#7 carries: try each configured
	// certificate the signer names (issuer and serial), and nothing else.
	named, verified := false, false
	for _, c := range a.certs {
		p7.Certificates = []*x509.Certificate{c}
		if p7.GetOnlySigner() == nil {
			continue
		}
		named = true
		// A nil trust store: no chain building, no system roots; the
		// configured certificate is the trust anchor itself.
		if p7.VerifyWithChainAtTime(nil, a.now()) == nil {
			verified = true
			break
		}
	}
	switch {
	case !named:
		return refuse(reasonBadSignature, "the signer is not one of certificate_files (is this region's RSA-2048 certificate configured?)")
	case !verified:
		return refuse(reasonBadSignature, "the signature is invalid")
	}
	if attached && !bytes.Equal(p7.Content, ev.Document) {
		return refuse(reasonContent, "the document differs from the content AWS signed")
	}
	return nil
}

func allowedDigest(oid asn1.ObjectIdentifier) bool {
	return oid.Equal(pkcs7.OIDDigestAlgorithmSHA256) ||
		oid.Equal(pkcs7.OIDDigestAlgorithmSHA384) ||
		oid.Equal(pkcs7.OIDDigestAlgorithmSHA512)
}
