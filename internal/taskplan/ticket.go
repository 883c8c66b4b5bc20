package taskplan

import (
	"bytes"
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/base64"
	"maps"
	"sync"
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

// ticketPrefix starts every version 1 ticket.
const ticketPrefix = "nst1."

// Clock skew allowed by a Verifier.
const (
	DefaultClockSkew = 30 * time.Second
	MaxClockSkew     = 5 * time.Minute
)

var b64 = base64.RawURLEncoding.Strict()

// Caller-facing errors of Verify. They never say which part was wrong.
var (
	errMalformed   = apierr.New(apierr.InvalidArgument, "malformed ticket")
	errVersion     = apierr.New(apierr.InvalidArgument, "unsupported ticket version")
	errSignature   = apierr.New(apierr.PermissionDenied, "ticket signature invalid")
	errExpired     = apierr.New(apierr.Unauthenticated, "ticket expired")
	errNotYetValid = apierr.New(apierr.Unauthenticated, "ticket not yet valid")
	errPrincipal   = apierr.New(apierr.PermissionDenied, "ticket issued to another principal")
)

// ValidKeyID reports whether id can name a key: 1 to 64 characters from
// A-Z a-z 0-9 _ -.
func ValidKeyID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Signer signs tasks with the current of its Ed25519 keys. It is safe for
// concurrent use; rotation is AddKey, SetCurrent, and later RemoveKey of the
// old key once agents no longer need it.
type Signer struct {
	mu      sync.RWMutex
	keys    map[string]ed25519.PrivateKey
	current string
}

// NewSigner returns a signer whose current key is priv, named id.
func NewSigner(id string, priv ed25519.PrivateKey) (*Signer, error) {
	s := &Signer{keys: map[string]ed25519.PrivateKey{}}
	if err := s.AddKey(id, priv); err != nil {
		return nil, err
	}
	s.current = id
	return s, nil
}

// AddKey adds a key without making it current. Adding an id twice fails.
func (s *Signer) AddKey(id string, priv ed25519.PrivateKey) error {
	if !ValidKeyID(id) {
		return apierr.New(apierr.InvalidArgument, "invalid signing key id %q", id)
	}
	if len(priv) != ed25519.PrivateKeySize {
		return apierr.New(apierr.InvalidArgument, "signing key %s is not an Ed25519 private key", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		s.keys = map[string]ed25519.PrivateKey{}
	}
	if _, ok := s.keys[id]; ok {
		return apierr.New(apierr.AlreadyExists, "signing key %s already exists", id)
	}
	s.keys[id] = append(ed25519.PrivateKey(nil), priv...)
	return nil
}

// SetCurrent makes the key named id the one Sign uses.
func (s *Signer) SetCurrent(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[id]; !ok {
		return apierr.New(apierr.NotFound, "signing key %s not found", id)
	}
	s.current = id
	return nil
}

// RemoveKey forgets a key. The current key cannot be removed.
func (s *Signer) RemoveKey(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == s.current {
		return apierr.New(apierr.FailedPrecondition, "signing key %s is current; make another key current first", id)
	}
	if _, ok := s.keys[id]; !ok {
		return apierr.New(apierr.NotFound, "signing key %s not found", id)
	}
	delete(s.keys, id)
	return nil
}

// Current returns the id of the current key.
func (s *Signer) Current() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.current
}

// PublicKeys returns the public half of every key, by id, for agents.
func (s *Signer) PublicKeys() map[string]ed25519.PublicKey {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]ed25519.PublicKey, len(s.keys))
	for id, k := range s.keys {
		out[id] = k.Public().(ed25519.PublicKey)
	}
	return out
}

// Sign sets t.KeyID (and t.Version when zero), checks the task and returns
// its ticket.
func (s *Signer) Sign(t Task) ([]byte, error) {
	s.mu.RLock()
	id, priv := s.current, s.keys[s.current]
	s.mu.RUnlock()
	if priv == nil {
		return nil, apierr.New(apierr.FailedPrecondition, "task signer has no current key")
	}
	if t.Version == 0 {
		t.Version = Version
	}
	t.KeyID = id
	payload, err := Canonical(t)
	if err != nil {
		return nil, err
	}
	sig := ed25519.Sign(priv, payload)
	n := len(ticketPrefix) + len(id) + 1 + b64.EncodedLen(len(payload)) + 1 + b64.EncodedLen(len(sig))
	if n > MaxTicketBytes {
		return nil, apierr.New(apierr.InvalidArgument, "task: ticket of %d bytes exceeds the limit of %d; split the task", n, MaxTicketBytes)
	}
	out := make([]byte, 0, n)
	out = append(out, ticketPrefix...)
	out = append(out, id...)
	out = append(out, '.')
	out = b64.AppendEncode(out, payload)
	out = append(out, '.')
	out = b64.AppendEncode(out, sig)
	return out, nil
}

// Verifier checks tickets against the public keys it holds. It is safe for
// concurrent use.
type Verifier struct {
	mu   sync.RWMutex
	keys map[string]ed25519.PublicKey
	skew time.Duration
}

// NewVerifier returns a verifier for keys that allows skew of clock
// difference (0..MaxClockSkew) on IssuedAt and ExpiresAt.
func NewVerifier(keys map[string]ed25519.PublicKey, skew time.Duration) (*Verifier, error) {
	if skew < 0 || skew > MaxClockSkew {
		return nil, apierr.New(apierr.InvalidArgument, "clock skew must be within 0..%s, got %s", MaxClockSkew, skew)
	}
	v := &Verifier{keys: map[string]ed25519.PublicKey{}, skew: skew}
	for id, k := range keys {
		if err := v.AddKey(id, k); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// AddKey adds or replaces the public key named id.
func (v *Verifier) AddKey(id string, pub ed25519.PublicKey) error {
	if !ValidKeyID(id) {
		return apierr.New(apierr.InvalidArgument, "invalid signing key id %q", id)
	}
	if len(pub) != ed25519.PublicKeySize {
		return apierr.New(apierr.InvalidArgument, "key %s is not an Ed25519 public key", id)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.keys == nil {
		v.keys = map[string]ed25519.PublicKey{}
	}
	v.keys[id] = append(ed25519.PublicKey(nil), pub...)
	return nil
}

// RemoveKey forgets the key named id; tickets signed with it no longer verify.
func (v *Verifier) RemoveKey(id string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.keys, id)
}

// KeyIDs returns the ids of the keys held.
func (v *Verifier) KeyIDs() []string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	ids := make([]string, 0, len(v.keys))
	for id := range maps.Keys(v.keys) {
		ids = append(ids, id)
	}
	return ids
}

// Verify checks ticket and returns its task: the envelope, the key id, the
// Ed25519 signature, the version, the validity window at now (allowing the
// verifier's clock skew) and that the ticket was issued to principal. See
// the package documentation for the error codes.
func (v *Verifier) Verify(ticket []byte, now time.Time, principal string) (Task, error) {
	t, err := v.VerifySignature(ticket)
	if err != nil {
		return Task{}, err
	}
	if err := v.checkWindow(t, now); err != nil {
		return Task{}, err
	}
	if subtle.ConstantTimeCompare([]byte(t.Principal), []byte(principal)) != 1 {
		return Task{}, errPrincipal
	}
	return t, nil
}

// VerifyValid is Verify without the principal check, for the control plane:
// it signed the task for its principal itself, and an agent asking for URLs
// or reporting acts for whichever user the ticket names.
func (v *Verifier) VerifyValid(ticket []byte, now time.Time) (Task, error) {
	t, err := v.VerifySignature(ticket)
	if err != nil {
		return Task{}, err
	}
	return t, v.checkWindow(t, now)
}

func (v *Verifier) checkWindow(t Task, now time.Time) error {
	v.mu.RLock()
	skew := v.skew
	v.mu.RUnlock()
	if !now.Before(t.ExpiresAt.Add(skew)) {
		return errExpired
	}
	if t.IssuedAt.After(now.Add(skew)) {
		return errNotYetValid
	}
	return nil
}

// VerifySignature checks the envelope, key id, signature and payload of
// ticket but neither its validity window nor its principal: for records
// about a task that may have expired since (task reports).
func (v *Verifier) VerifySignature(ticket []byte) (Task, error) {
	if len(ticket) > MaxTicketBytes {
		return Task{}, errMalformed
	}
	rest, ok := bytes.CutPrefix(ticket, []byte(ticketPrefix))
	if !ok {
		if otherVersion(ticket) {
			return Task{}, errVersion
		}
		return Task{}, errMalformed
	}
	kid, rest, ok1 := bytes.Cut(rest, []byte{'.'})
	encPayload, encSig, ok2 := bytes.Cut(rest, []byte{'.'})
	if !ok1 || !ok2 || !ValidKeyID(string(kid)) || len(encPayload) == 0 ||
		bytes.IndexByte(encSig, '.') >= 0 || b64.DecodedLen(len(encSig)) != ed25519.SignatureSize {
		return Task{}, errMalformed
	}
	payload, err := b64.AppendDecode(make([]byte, 0, b64.DecodedLen(len(encPayload))), encPayload)
	if err != nil {
		return Task{}, errMalformed
	}
	sig, err := b64.AppendDecode(make([]byte, 0, ed25519.SignatureSize), encSig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return Task{}, errMalformed
	}

	v.mu.RLock()
	pub, known := v.keys[string(kid)]
	v.mu.RUnlock()
	if !known {
		return Task{}, errSignature
	}
	if !ed25519.Verify(pub, payload, sig) {
		return Task{}, errSignature
	}

	// From here on the payload is what a control plane signed.
	t, err := decodeTask(payload)
	if err != nil {
		if version, ok := peekVersion(payload); ok && version != Version {
			return Task{}, errVersion
		}
		return Task{}, apierr.Wrap(apierr.InvalidArgument, err, "malformed ticket payload")
	}
	if subtle.ConstantTimeCompare([]byte(t.KeyID), kid) != 1 {
		return Task{}, errSignature
	}
	return t, nil
}

// otherVersion reports whether ticket starts like a ticket of another
// version: "nst", one to three digits, ".".
func otherVersion(ticket []byte) bool {
	rest, ok := bytes.CutPrefix(ticket, []byte("nst"))
	if !ok {
		return false
	}
	i := 0
	for i < len(rest) && i < 3 && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	return i > 0 && i < len(rest) && rest[i] == '.'
}
