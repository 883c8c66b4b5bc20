package taskplan

import (
	"bytes"
	"sync"

	"github.com/nscale/nscale/internal/apierr"
)

// Sealer seals tickets with its current key and opens them with the
// current key or a retired one, so that the key can rotate with an
// overlap: a ticket sealed just before the rotation still opens. The
// control plane seals every ticket it signs; agents and the control plane
// open a ticket before they verify its signature. A client holding a
// sealed ticket learns nothing of what is inside (paths, partition values,
// columns, filters). It is safe for concurrent use.
type Sealer struct {
	mu   sync.RWMutex
	keys [][]byte // keys[0] seals
}

// NewSealer returns a Sealer sealing with current and opening with current
// and the retired keys.
func NewSealer(current []byte, retired ...[]byte) (*Sealer, error) {
	s := &Sealer{}
	if err := s.SetKeys(append([][]byte{current}, retired...)); err != nil {
		return nil, err
	}
	return s, nil
}

// NewSealerFromList returns a Sealer over keys, keys[0] sealing: the list
// SealingKeys hands agents.
func NewSealerFromList(keys [][]byte) (*Sealer, error) {
	s := &Sealer{}
	if err := s.SetKeys(keys); err != nil {
		return nil, err
	}
	return s, nil
}

// SetKeys replaces the keys: keys[0] seals, all of them open. An agent
// calls it with the control plane's list on every refresh.
func (s *Sealer) SetKeys(keys [][]byte) error {
	if len(keys) == 0 {
		return apierr.New(apierr.InvalidArgument, "no sealing key")
	}
	cp := make([][]byte, 0, len(keys))
	for _, k := range keys {
		if len(k) != SealKeySize {
			return apierr.New(apierr.InvalidArgument, "sealing key must be %d bytes, got %d", SealKeySize, len(k))
		}
		cp = append(cp, bytes.Clone(k))
	}
	s.mu.Lock()
	s.keys = cp
	s.mu.Unlock()
	return nil
}

// Keys returns copies of the keys, the sealing one first.
func (s *Sealer) Keys() [][]byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([][]byte, len(s.keys))
	for i, k := range s.keys {
		out[i] = bytes.Clone(k)
	}
	return out
}

// Seal seals a signed ticket with the current key.
func (s *Sealer) Seal(ticket []byte) ([]byte, error) {
	s.mu.RLock()
	key := s.keys[0]
	s.mu.RUnlock()
	return Seal(ticket, key)
}

// errNotSealed refuses anything but a sealed ticket: the control plane
// seals every ticket it issues, so an unsealed one was not issued by it.
var errNotSealed = apierr.New(apierr.InvalidArgument, "malformed ticket: not a sealed nscale ticket")

// Open opens a sealed ticket with any of the keys. A ticket that is not
// sealed is InvalidArgument; one that no key opens (tampered, or sealed
// with a key retired past its overlap) is PermissionDenied.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	if !IsSealed(sealed) {
		return nil, errNotSealed
	}
	s.mu.RLock()
	keys := s.keys
	s.mu.RUnlock()
	var err error
	for _, k := range keys {
		var t []byte
		if t, err = Open(sealed, k); err == nil {
			return t, nil
		}
	}
	return nil, err
}

// IsSealed reports whether ticket has the sealed form's prefix.
func IsSealed(ticket []byte) bool { return bytes.HasPrefix(ticket, []byte(sealPrefix)) }
