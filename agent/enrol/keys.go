package enrol

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/nscale/nscale/internal/secretfile"
	"os"
	"path/filepath"

	"github.com/nscale/nscale/internal/agentapi"
)

// State files in Config.StateDir.
const (
	keyFile  = "agent.key"
	certFile = "agent.crt"
)

// newKey makes a fresh key for each certificate (renewal rotates it too)
// and the certificate request that proves the agent holds it.
func newKey() (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	return key, csr, err
}

// install makes a signed certificate current: checks it is for the key,
// saves it, and opens the connection that presents it.
func (id *Identity) install(resp *agentapi.CertificateResponse, key *ecdsa.PrivateKey) error {
	chain := resp.GetCertificateChain()
	if len(chain) == 0 {
		return errors.New("the control plane sent no certificate")
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return fmt.Errorf("the control plane sent a malformed certificate: %w", err)
	}
	if !key.PublicKey.Equal(leaf.PublicKey) {
		return errors.New("the control plane sent a certificate for another key")
	}
	cert := &tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}
	if id.o.Config.StateDir != "" {
		if err := saveState(id.o.Config.StateDir, cert, key); err != nil {
			// Serving matters more than surviving a restart: log, go on.
			id.log.Warn("cannot save the agent certificate; a restart will enrol again", "state_dir", id.o.Config.StateDir, "error", err)
		}
	}
	if err := id.dialWith(cert); err != nil {
		return err
	}
	id.set(cert, resp.GetAgentId(), resp.GetSpiffeId())
	return nil
}

func (id *Identity) set(cert *tls.Certificate, agentID, spiffeID string) {
	id.mu.Lock()
	id.cert, id.agentID, id.spiffeID = cert, agentID, spiffeID
	// The lifetime counts from now, not from NotBefore, which the CA
	// backdates for clock skew.
	id.notBefore, id.notAfter, id.lastErr = id.now(), cert.Leaf.NotAfter, ""
	id.mu.Unlock()
	id.enrolledOnce.Do(func() { close(id.enrolled) })
	id.m.expiry.Set(float64(cert.Leaf.NotAfter.Unix()))
}

// saveState writes the key and chain, each whole or not at all.
func saveState(dir string, cert *tls.Certificate, key *ecdsa.PrivateKey) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	var chain []byte
	for _, c := range cert.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})...)
	}
	// The certificate last: a crash between the two leaves a new key with
	// an old certificate, which loadState refuses (they do not match).
	if err := writeAtomic(filepath.Join(dir, keyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, certFile), chain)
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	_, werr := tmp.Write(data)
	serr := tmp.Sync()
	if err := errors.Join(werr, serr, tmp.Close()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// loadState uses a saved certificate that has not expired.
func (id *Identity) loadState() error {
	dir := id.o.Config.StateDir
	certPEM, err := os.ReadFile(filepath.Join(dir, certFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	fi, err := os.Stat(filepath.Join(dir, keyFile))
	if err != nil {
		return err
	}
	if err := secretfile.CheckMode(filepath.Join(dir, keyFile), fi); err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, keyFile))
	if err != nil {
		return err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return err
	}
	if !id.now().Before(cert.Leaf.NotAfter) {
		return fmt.Errorf("the saved certificate expired at %s", cert.Leaf.NotAfter)
	}
	agentID := ""
	spiffeID := ""
	if len(cert.Leaf.URIs) == 1 {
		spiffeID = cert.Leaf.URIs[0].String()
		agentID = filepath.Base(cert.Leaf.URIs[0].Path)
	}
	id.set(&cert, agentID, spiffeID)
	id.log.Info("using the saved agent certificate", "spiffe_id", spiffeID, "expires_at", cert.Leaf.NotAfter)
	return nil
}
