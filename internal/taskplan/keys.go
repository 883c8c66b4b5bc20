package taskplan

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"github.com/nscale/nscale/internal/secretfile"
	"io"
	"io/fs"
	"os"

	"github.com/nscale/nscale/internal/apierr"
)

// Key files are PEM: a PKCS #8 block of type "PRIVATE KEY" (as openssl
// writes) or a PKIX block of type "PUBLIC KEY", each with a "Key-Id" header
// naming the key (for example "Key-Id: 3f1c0a9b7d2e4c18") before the base64
// body. The example is not spelled out as a PEM block here so that secret
// scanners stay quiet on the source.
//
// A private key file must follow internal/secretfile's rule (0600, or 0440
// with the service's group); ReadPrivateKeyFile refuses it otherwise.

const (
	pemPrivate  = "PRIVATE KEY"
	pemPublic   = "PUBLIC KEY"
	pemKeyIDHdr = "Key-Id"
	maxKeyFile  = 64 << 10
)

// KeyIDFor derives a key id from a public key: the first 8 bytes of its
// SHA-256, in hex.
func KeyIDFor(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// GenerateKey makes a new Ed25519 key from crypto/rand and names it with
// KeyIDFor.
func GenerateKey() (id string, priv ed25519.PrivateKey, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", nil, apierr.Wrap(apierr.Internal, err, "generate signing key")
	}
	return KeyIDFor(pub), priv, nil
}

// MarshalPrivateKey encodes a private key file.
func MarshalPrivateKey(id string, priv ed25519.PrivateKey) ([]byte, error) {
	if !ValidKeyID(id) {
		return nil, apierr.New(apierr.InvalidArgument, "invalid signing key id %q", id)
	}
	if len(priv) != ed25519.PrivateKeySize {
		return nil, apierr.New(apierr.InvalidArgument, "not an Ed25519 private key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, apierr.Wrap(apierr.Internal, err, "encode signing key")
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivate, Headers: map[string]string{pemKeyIDHdr: id}, Bytes: der}), nil
}

// MarshalPublicKey encodes a public key file, for agents.
func MarshalPublicKey(id string, pub ed25519.PublicKey) ([]byte, error) {
	if !ValidKeyID(id) {
		return nil, apierr.New(apierr.InvalidArgument, "invalid signing key id %q", id)
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, apierr.New(apierr.InvalidArgument, "not an Ed25519 public key")
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, apierr.Wrap(apierr.Internal, err, "encode public key")
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublic, Headers: map[string]string{pemKeyIDHdr: id}, Bytes: der}), nil
}

func decodePEM(data []byte, typ string) (id string, der []byte, err error) {
	b, rest := pem.Decode(data)
	if b == nil || b.Type != typ {
		return "", nil, apierr.New(apierr.InvalidArgument, "key file: no %s PEM block", typ)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return "", nil, apierr.New(apierr.InvalidArgument, "key file: data after the %s block", typ)
	}
	id = b.Headers[pemKeyIDHdr]
	if !ValidKeyID(id) {
		return "", nil, apierr.New(apierr.InvalidArgument, "key file: missing or invalid %s header", pemKeyIDHdr)
	}
	return id, b.Bytes, nil
}

// ParsePrivateKey decodes a private key file. Errors never include key bytes.
func ParsePrivateKey(data []byte) (string, ed25519.PrivateKey, error) {
	id, der, err := decodePEM(data, pemPrivate)
	if err != nil {
		return "", nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	priv, ok := k.(ed25519.PrivateKey)
	if err != nil || !ok {
		return "", nil, apierr.New(apierr.InvalidArgument, "key file: not an Ed25519 PKCS #8 private key")
	}
	return id, priv, nil
}

// ParsePublicKey decodes a public key file.
func ParsePublicKey(data []byte) (string, ed25519.PublicKey, error) {
	id, der, err := decodePEM(data, pemPublic)
	if err != nil {
		return "", nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	pub, ok := k.(ed25519.PublicKey)
	if err != nil || !ok {
		return "", nil, apierr.New(apierr.InvalidArgument, "key file: not an Ed25519 public key")
	}
	return id, pub, nil
}

// WritePrivateKeyFile creates path with mode 0600 and writes the key to it.
// It refuses to overwrite an existing file.
func WritePrivateKeyFile(path, id string, priv ed25519.PrivateKey) error {
	data, err := MarshalPrivateKey(id, priv)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return apierr.Wrap(apierr.AlreadyExists, err, "key file %s already exists", path)
		}
		return apierr.Wrap(apierr.FailedPrecondition, err, "create key file %s", path)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return apierr.Wrap(apierr.Internal, err, "write key file %s", path)
	}
	if err := f.Close(); err != nil {
		return apierr.Wrap(apierr.Internal, err, "write key file %s", path)
	}
	return nil
}

// ReadPrivateKeyFile reads a key written by WritePrivateKeyFile. It refuses a
// file that group or others may access, and anything but a regular file.
func ReadPrivateKeyFile(path string) (string, ed25519.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", nil, apierr.Wrap(apierr.FailedPrecondition, err, "open key file %s", path)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", nil, apierr.Wrap(apierr.FailedPrecondition, err, "stat key file %s", path)
	}
	if err := secretfile.CheckMode("key file "+path, st); err != nil {
		return "", nil, apierr.Wrap(apierr.FailedPrecondition, err, "")
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return "", nil, apierr.Wrap(apierr.FailedPrecondition, err, "read key file %s", path)
	}
	if len(data) > maxKeyFile {
		return "", nil, apierr.New(apierr.InvalidArgument, "key file %s is too large", path)
	}
	id, priv, err := ParsePrivateKey(data)
	if err != nil {
		return "", nil, apierr.Wrap(apierr.InvalidArgument, err, "key file %s", path)
	}
	return id, priv, nil
}
