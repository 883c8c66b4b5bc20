package agentrpc_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"

	"github.com/nscale/nscale/controlplane/enrol"
	"github.com/nscale/nscale/controlplane/enrol/awsiid"
	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/apierr/apierrtest"
	"github.com/nscale/nscale/internal/iidevidence"
)

// An EC2 instance enrols once with its identity document (signed with a
// certificate the test makes, standing in for AWS's); the same document
// again, while that agent's certificate lives, is a replay and refused.
func TestEnrollEC2DocumentOnce(t *testing.T) {
	e := newEnv(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "test aws region"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	certFile := filepath.Join(t.TempDir(), "aws.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	doc := []byte(`{"accountId":"123456789012","architecture":"x86_64","availabilityZone":"us-east-1a","imageId":"ami-0abcdef1234567890",` +
		`"instanceId":"i-0123456789abcdef0","instanceType":"m5.xlarge","pendingTime":"` + time.Now().UTC().Add(-time.Minute).Format(time.RFC3339) +
		`","privateIp":"10.0.0.12","region":"us-east-1","version":"2017-09-30"}`)
	sd, err := pkcs7.NewSignedData(doc)
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(cert, key, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	p7, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	evidence, err := iidevidence.Evidence{Document: doc, PKCS7: p7}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	att, err := awsiid.New(awsiid.Config{CertificateFiles: []string{certFile}, AllowedAccounts: []string{"123456789012"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := newServiceWith(t, e, e.ca, map[string]enrol.Attestor{enrol.AWSIID: att})
	client := dial(t, serve(t, svc, e.ca), e.ca, nil)
	_, csr := newCSR(t)
	resp, err := client.Enroll(context.Background(), &agentapi.EnrollRequest{Method: enrol.AWSIID, Evidence: evidence, Csr: csr, Node: "ip-10-0-0-12"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.AgentId != "aws-123456789012-i-0123456789abcdef0" || resp.SpiffeId != "spiffe://test/nscale/agent/aws_iid/aws-123456789012-i-0123456789abcdef0" {
		t.Fatalf("enrolled as %s (%s)", resp.AgentId, resp.SpiffeId)
	}
	_, csr2 := newCSR(t)
	_, err = client.Enroll(context.Background(), &agentapi.EnrollRequest{Method: enrol.AWSIID, Evidence: evidence, Csr: csr2, Node: "elsewhere"})
	apierrtest.Code(t, "replayed document", err, apierr.FailedPrecondition, "already enrolled")
	// One changed byte of the document: the signature no longer holds.
	tampered, _ := iidevidence.Evidence{Document: []byte(string(doc[:len(doc)-3]) + `1"}`), PKCS7: p7}.Marshal()
	_, err = client.Enroll(context.Background(), &agentapi.EnrollRequest{Method: enrol.AWSIID, Evidence: tampered, Csr: csr2})
	apierrtest.Code(t, "tampered document", err, apierr.Unauthenticated, "aws_iid")
}
