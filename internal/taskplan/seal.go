package taskplan

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"

	"github.com/nscale/nscale/internal/apierr"
)

// A sealed ticket is "nss1." + base64url(nonce || AES-256-GCM ciphertext),
// with the prefix as additional data. Sealing hides a ticket that carries
// pre-signed URLs from anyone without the key (user code, logs); it does not
// replace the signature, which the agent still checks after Open.

const (
	sealPrefix = "nss1."
	// SealKeySize is the length of a sealing key.
	SealKeySize = 32
)

var errSealed = apierr.New(apierr.PermissionDenied, "sealed ticket invalid")

func gcm(key []byte) (cipher.AEAD, error) {
	if len(key) != SealKeySize {
		return nil, apierr.New(apierr.InvalidArgument, "sealing key must be %d bytes", SealKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, apierr.Wrap(apierr.Internal, err, "sealing key")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, apierr.Wrap(apierr.Internal, err, "sealing key")
	}
	return aead, nil
}

// Seal encrypts ticket with a 32-byte key and a random nonce.
func Seal(ticket, key []byte) ([]byte, error) {
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	if len(ticket) > MaxTicketBytes {
		return nil, apierr.New(apierr.InvalidArgument, "ticket exceeds %d bytes", MaxTicketBytes)
	}
	buf := make([]byte, aead.NonceSize(), aead.NonceSize()+len(ticket)+aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return nil, apierr.Wrap(apierr.Internal, err, "sealing nonce")
	}
	buf = aead.Seal(buf, buf, ticket, []byte(sealPrefix))
	return b64.AppendEncode([]byte(sealPrefix), buf), nil
}

// Open decrypts a sealed ticket. Any change to it fails with
// PermissionDenied "sealed ticket invalid".
func Open(sealed, key []byte) ([]byte, error) {
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) > b64.EncodedLen(MaxTicketBytes+64)+len(sealPrefix) {
		return nil, errMalformed
	}
	rest, ok := bytes.CutPrefix(sealed, []byte(sealPrefix))
	if !ok {
		return nil, errMalformed
	}
	raw, err := b64.AppendDecode(nil, rest)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, errMalformed
	}
	nonce, ct := raw[:aead.NonceSize()], raw[aead.NonceSize():]
	ticket, err := aead.Open(ct[:0], nonce, ct, []byte(sealPrefix))
	if err != nil {
		return nil, errSealed
	}
	return ticket, nil
}
