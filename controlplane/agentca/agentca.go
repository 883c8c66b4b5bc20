// Package agentca is the control plane's own certificate authority for
// agents. It signs short-lived client certificates whose one URI SAN is the
// agent's SPIFFE ID (internal/agentid), the serving certificate of the
// agent API when the operator gives none, and verifies agent certificates
// on every call. Its key never leaves the control plane; agents receive
// only the CA certificate.
package agentca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/nscale/nscale/internal/secretfile"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nscale/nscale/internal/agentid"
	"github.com/nscale/nscale/internal/apierr"
)

// Config locates the CA's files and sets certificate lifetimes.
type Config struct {
	// KeyFile (PEM, ECDSA P-256 or any key x509 signs with) and CertFile
	// (PEM) are created on first start when both are missing. Every
	// replica must share them.
	KeyFile  string `yaml:"key_file"`
	CertFile string `yaml:"cert_file"`
	// PreviousCertFiles are CA certificates still trusted for agent
	// certificates during a rotation (their agents renew under the new CA
	// within one CertTTL); they sign nothing.
	PreviousCertFiles []string `yaml:"previous_cert_files"`
	// TrustDomain is the host part of agents' SPIFFE IDs.
	TrustDomain string `yaml:"trust_domain"`
	// CertTTL is the lifetime of an agent certificate; agents renew at two
	// thirds of it.
	CertTTL time.Duration `yaml:"cert_ttl"`
}

// Defaults of Config.
const (
	DefaultTrustDomain = "nscale"
	DefaultCertTTL     = time.Hour
	// caLifetime is the lifetime of a CA this package creates; rotate
	// well before (docs/security.md).
	caLifetime = 5 * 365 * 24 * time.Hour
	// serverTTL is the lifetime of the agent API's own certificate; it is
	// reissued in memory at two thirds.
	serverTTL = 24 * time.Hour
	// backdate covers clocks a little behind the control plane's.
	backdate = 5 * time.Minute
)

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.KeyFile == "" || c.CertFile == "" {
		errs = append(errs, errors.New("agent_ca.key_file and agent_ca.cert_file are required"))
	}
	if !agentid.ValidPart(c.TrustDomain) {
		errs = append(errs, fmt.Errorf("agent_ca.trust_domain %q: want 1 to 128 of [A-Za-z0-9._-]", c.TrustDomain))
	}
	if c.CertTTL < 30*time.Second || c.CertTTL > 30*24*time.Hour {
		errs = append(errs, fmt.Errorf("agent_ca.cert_ttl %s must be between 30s and 720h", c.CertTTL))
	}
	return errors.Join(errs...)
}

// CA signs and verifies agent certificates.
type CA struct {
	cfg    Config
	cert   *x509.Certificate
	key    crypto.Signer
	pool   *x509.CertPool
	bundle []byte // PEM of the CA certificate and the previous ones
	now    func() time.Time

	mu     sync.Mutex
	server *tls.Certificate
	names  []string
}

// Load reads the CA, creating a new one when neither file exists. now may
// be nil.
func Load(cfg Config, now func() time.Time) (*CA, bool, error) {
	if now == nil {
		now = time.Now
	}
	if err := cfg.Validate(); err != nil {
		return nil, false, err
	}
	created := false
	_, kerr := os.Stat(cfg.KeyFile)
	_, cerr := os.Stat(cfg.CertFile)
	switch {
	case errors.Is(kerr, fs.ErrNotExist) && errors.Is(cerr, fs.ErrNotExist):
		if err := create(cfg, now()); err != nil {
			return nil, false, err
		}
		created = true
	case errors.Is(kerr, fs.ErrNotExist) || errors.Is(cerr, fs.ErrNotExist):
		return nil, false, fmt.Errorf("agent_ca: only one of %s and %s exists: restore the other, or remove both to create a new CA (every agent must then enrol again)",
			cfg.KeyFile, cfg.CertFile)
	}
	pair, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, false, fmt.Errorf("agent_ca: %w", err)
	}
	if err := checkKeyFile(cfg.KeyFile); err != nil {
		return nil, false, err
	}
	cert := pair.Leaf
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, false, fmt.Errorf("agent_ca.cert_file %s is not a CA certificate (basic constraints CA and key usage cert sign)", cfg.CertFile)
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, false, fmt.Errorf("agent_ca.key_file %s: the key cannot sign", cfg.KeyFile)
	}
	ca := &CA{cfg: cfg, cert: cert, key: signer, pool: x509.NewCertPool(), now: now}
	ca.pool.AddCert(cert)
	ca.bundle = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	for _, f := range cfg.PreviousCertFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, false, fmt.Errorf("agent_ca.previous_cert_files: %w", err)
		}
		n := 0
		for rest := data; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil || !c.IsCA {
				return nil, false, fmt.Errorf("agent_ca.previous_cert_files: %s holds a certificate that is not a CA", f)
			}
			ca.pool.AddCert(c)
			ca.bundle = append(ca.bundle, pem.EncodeToMemory(b)...)
			n++
		}
		if n == 0 {
			return nil, false, fmt.Errorf("agent_ca.previous_cert_files: %s holds no PEM certificate", f)
		}
	}
	return ca, created, nil
}

// checkKeyFile refuses a CA key other users may read.
func checkKeyFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("agent_ca.key_file: %w", err)
	}
	return secretfile.CheckMode("agent_ca.key_file "+path, fi)
}

func create(cfg Config, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          newSerial(),
		Subject:               pkix.Name{Organization: []string{"nscale"}, CommonName: "nscale agent CA " + cfg.TrustDomain},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caLifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		URIs:                  []*url.URL{{Scheme: "spiffe", Host: cfg.TrustDomain}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("agent_ca: create the CA certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeNew(cfg.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return fmt.Errorf("agent_ca.key_file: %w", err)
	}
	if err := writeNew(cfg.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		os.Remove(cfg.KeyFile)
		return fmt.Errorf("agent_ca.cert_file: %w", err)
	}
	return nil
}

// writeNew writes a file that must not exist yet, whole or not at all.
func writeNew(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	if err := errors.Join(werr, serr, f.Close()); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

func newSerial() *big.Int {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	b[0] &= 0x7f
	return new(big.Int).SetBytes(b)
}

// TrustDomain is the configured trust domain.
func (ca *CA) TrustDomain() string { return ca.cfg.TrustDomain }

// CertTTL is the lifetime of agent certificates.
func (ca *CA) CertTTL() time.Duration { return ca.cfg.CertTTL }

// Bundle is the PEM of the CA certificates agents should trust.
func (ca *CA) Bundle() []byte { return ca.bundle }

// Pool holds the CA certificates that verify agent certificates.
func (ca *CA) Pool() *x509.CertPool { return ca.pool }

// Issued is a signed agent certificate.
type Issued struct {
	DER      []byte
	Serial   string
	NotAfter time.Time
}

// ParseCSR checks a certificate request: well formed, its signature made
// by the key it names (proof that the agent holds it), a key type and size
// this CA signs. Enroll checks it before spending a join token's use.
func ParseCSR(csrDER []byte) (*x509.CertificateRequest, error) {
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, apierr.New(apierr.InvalidArgument, "malformed certificate request: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, apierr.New(apierr.InvalidArgument, "the certificate request's signature does not verify: the agent must sign it with its key")
	}
	switch k := csr.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if k.Curve.Params().BitSize < 256 {
			return nil, apierr.New(apierr.InvalidArgument, "ECDSA keys of at least 256 bits only")
		}
	case ed25519.PublicKey:
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, apierr.New(apierr.InvalidArgument, "RSA keys of at least 2048 bits only")
		}
	default:
		return nil, apierr.New(apierr.InvalidArgument, "unsupported public key type %T", csr.PublicKey)
	}
	return csr, nil
}

// SignAgent signs a certificate for the public key of csrDER (a PKCS#10
// request, whose signature proves the agent holds the private key; nothing
// else in it is used) naming id.
func (ca *CA) SignAgent(csrDER []byte, id agentid.ID) (Issued, error) {
	csr, err := ParseCSR(csrDER)
	if err != nil {
		return Issued{}, err
	}
	id.TrustDomain = ca.cfg.TrustDomain
	now := ca.now()
	notAfter := now.Add(ca.cfg.CertTTL)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	serial := newSerial()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"nscale"}, CommonName: id.Agent},
		NotBefore:    now.Add(-backdate),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		URIs:         []*url.URL{id.URI()},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, csr.PublicKey, ca.key)
	if err != nil {
		return Issued{}, fmt.Errorf("sign agent certificate: %w", err)
	}
	return Issued{DER: der, Serial: hex.EncodeToString(serial.Bytes()), NotAfter: notAfter}, nil
}

// Verify checks an agent's certificate chain (leaf first) against the CA
// and previous CAs at now and returns the agent's ID. Refusals are
// Unauthenticated and say why (expired, another CA, not an agent).
func (ca *CA) Verify(chain []*x509.Certificate) (agentid.ID, *x509.Certificate, error) {
	if len(chain) == 0 {
		return agentid.ID{}, nil, apierr.New(apierr.Unauthenticated, "no agent certificate: agents call over mTLS with the certificate they got at enrolment")
	}
	leaf := chain[0]
	now := ca.now()
	if now.After(leaf.NotAfter) {
		return agentid.ID{}, nil, apierr.New(apierr.Unauthenticated, "agent certificate expired at %s: the agent must renew, or enrol again", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return agentid.ID{}, nil, apierr.New(apierr.Unauthenticated, "agent certificate not valid before %s (check the agent's clock)", leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.pool, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return agentid.ID{}, nil, apierr.New(apierr.Unauthenticated, "agent certificate not signed by this control plane's agent CA")
	}
	id, err := agentid.FromCertificate(leaf, ca.cfg.TrustDomain)
	if err != nil {
		return agentid.ID{}, nil, apierr.New(apierr.Unauthenticated, "not an agent certificate: %v", err)
	}
	return id, leaf, nil
}

// SetServerNames sets the DNS names and IPs of the agent API's own
// certificate (issued by this CA when the operator gives none); the next
// handshake gets a certificate for them.
func (ca *CA) SetServerNames(names []string) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.names, ca.server = names, nil
}

// GetCertificate serves the agent API's own certificate, reissued in
// memory at two thirds of its lifetime.
func (ca *CA) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	now := ca.now()
	if ca.server != nil && now.Before(ca.server.Leaf.NotBefore.Add(backdate+serverTTL*2/3)) {
		return ca.server, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: newSerial(),
		Subject:      pkix.Name{Organization: []string{"nscale"}, CommonName: "nscale control plane"},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(serverTTL),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if tmpl.NotAfter.After(ca.cert.NotAfter) {
		tmpl.NotAfter = ca.cert.NotAfter
	}
	for _, n := range ca.names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ca.server = &tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key, Leaf: leaf}
	return ca.server, nil
}
