package awsiid_test

// Test signers and a PKCS#7 builder that produces what AWS's IMDS rsa2048
// endpoint returns: SignedData with the document as attached content,
// SHA-256, authenticated attributes and no embedded certificate.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
)

type signer struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

// awsSubject mimics the subject (and, being self-signed, the issuer) of
// AWS's per-region RSA-2048 certificates.
var awsSubject = pkix.Name{
	Country:      []string{"US"},
	Province:     []string{"Washington State"},
	Locality:     []string{"Seattle"},
	Organization: []string{"Amazon Web Services LLC"},
}

func newSigner(tb testing.TB, subject pkix.Name, serial int64) signer {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	return selfSign(tb, key, subject, serial)
}

func selfSign(tb testing.TB, key *rsa.PrivateKey, subject pkix.Name, serial int64) signer {
	tb.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               subject,
		NotBefore:             time.Date(2015, 8, 14, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2195, 1, 17, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return signer{cert: cert, key: key}
}

var (
	signersOnce sync.Once
	// awsSigner stands for AWS's us-east-1 certificate and key.
	awsSigner signer
	// awsSigner2 stands for a second configured region's certificate.
	awsSigner2 signer
	// impostor has its own key but copies awsSigner's subject, issuer
	// and serial, so a PKCS#7 it signs names awsSigner's certificate.
	impostor signer
	// stranger is a well-formed certificate that is not configured.
	stranger signer
)

func signers(tb testing.TB) {
	signersOnce.Do(func() {
		awsSigner = newSigner(tb, awsSubject, 0x00b169cc40155a419)
		awsSigner2 = newSigner(tb, awsSubject, 0x00cd3ba1e5f8c5ebd)
		impostor = newSigner(tb, awsSubject, 0x00b169cc40155a419)
		stranger = newSigner(tb, pkix.Name{Organization: []string{"Not AWS"}}, 7)
	})
}

func writePEM(tb testing.TB, dir, name string, blocks ...*pem.Block) string {
	tb.Helper()
	var out []byte
	for _, b := range blocks {
		out = append(out, pem.EncodeToMemory(b)...)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, out, 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

func certBlock(c *x509.Certificate) *pem.Block {
	return &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}
}

func ecdsaCert(tb testing.TB) *x509.Certificate {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: awsSubject,
		NotBefore: time.Unix(0, 0), NotAfter: time.Date(2195, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

type signOpts struct {
	detached  bool
	embedCert bool
	sha1      bool
	// also adds a second signer.
	also *signer
}

// contentInfo mirrors the PKCS#7 ContentInfo, to re-wrap SignedData
// without the certificates pkcs7.Finish always embeds.
type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

// signIID returns the DER PKCS#7 of content signed by s.
func signIID(tb testing.TB, content []byte, s signer, o signOpts) []byte {
	tb.Helper()
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		tb.Fatal(err)
	}
	if o.sha1 {
		sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA1)
	} else {
		sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	}
	if err := sd.AddSigner(s.cert, s.key, pkcs7.SignerInfoConfig{}); err != nil {
		tb.Fatal(err)
	}
	if o.also != nil {
		if err := sd.AddSigner(o.also.cert, o.also.key, pkcs7.SignerInfoConfig{}); err != nil {
			tb.Fatal(err)
		}
	}
	if o.detached {
		sd.Detach()
	}
	if o.embedCert {
		der, err := sd.Finish()
		if err != nil {
			tb.Fatal(err)
		}
		return der
	}
	raw := sd.GetSignedData()
	raw.Certificates.Raw = nil
	inner, err := asn1.Marshal(*raw)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := asn1.Marshal(contentInfo{
		ContentType: pkcs7.OIDSignedData,
		Content:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: inner, IsCompound: true},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return der
}
