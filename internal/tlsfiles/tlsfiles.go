// Package tlsfiles turns the certificate, key and CA files of the
// configuration into tls.Configs: servers whose certificate is reloaded
// when its files change (a renewal by cert-manager or an operator needs no
// restart), and clients that verify the server against a CA bundle, never
// skipping verification.
package tlsfiles

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Files names a certificate chain and its key, both PEM.
type Files struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether a certificate is configured.
func (f Files) Enabled() bool { return f.CertFile != "" || f.KeyFile != "" }

// Check says what is missing when only one of the two is set.
func (f Files) Check(key string) error {
	if (f.CertFile == "") != (f.KeyFile == "") {
		return fmt.Errorf("%s.cert_file and %s.key_file go together: set both or neither", key, key)
	}
	return nil
}

// reloadCheck bounds how often the files are looked at: at most once a
// second, on a handshake.
const reloadCheck = time.Second

// Reloader serves the certificate of Files, reading the files again when
// their size or modification time changes. A change that does not load (a
// half-written file, a key that does not match) keeps the previous
// certificate and is logged, so that a bad renewal does not take the
// listener down.
type Reloader struct {
	files Files
	log   *slog.Logger
	now   func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string
	checked time.Time
}

// NewReloader loads the certificate once; an error names the file.
func NewReloader(f Files, log *slog.Logger) (*Reloader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{files: f, log: log, now: time.Now}
	stamp, err := r.fileStamp()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("loading %s and %s: %w", f.CertFile, f.KeyFile, err)
	}
	r.cert, r.stamp, r.checked = &cert, stamp, r.now()
	return r, nil
}

// stamp identifies the files' current contents cheaply.
func (r *Reloader) fileStamp() (string, error) {
	var b bytes.Buffer
	for _, name := range []string{r.files.CertFile, r.files.KeyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%s:%d:%d;", name, fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String(), nil
}

// GetCertificate is tls.Config.GetCertificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); now.Sub(r.checked) >= reloadCheck {
		r.checked = now
		if stamp, err := r.fileStamp(); err == nil && stamp != r.stamp {
			cert, err := tls.LoadX509KeyPair(r.files.CertFile, r.files.KeyFile)
			if err != nil {
				r.log.Warn("the changed certificate files do not load; keeping the previous certificate",
					"cert_file", r.files.CertFile, "key_file", r.files.KeyFile, "error", err)
			} else {
				r.cert, r.stamp = &cert, stamp
				r.log.Info("certificate reloaded", "cert_file", r.files.CertFile)
			}
		}
	}
	return r.cert, nil
}

// ServerConfig is a TLS 1.2+ server configuration (Go's default cipher
// suites) serving r's certificate.
func ServerConfig(r *Reloader) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}

// CAPool reads a PEM bundle of CA certificates; a file without one is an
// error, not an empty pool that would trust nothing silently.
func CAPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// SystemPoolWith is the system roots plus the CAs in file: for clients
// that reach both the control plane (its own CA) and public endpoints
// (S3).
func SystemPoolWith(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// ClientConfig verifies servers against the CA bundle in caFile (the
// system roots when caFile is empty), as serverName when it is set
// (otherwise the host dialled).
func ClientConfig(caFile, serverName string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if caFile != "" {
		pool, err := CAPool(caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
