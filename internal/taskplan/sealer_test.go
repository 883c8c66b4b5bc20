package taskplan

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/nscale/nscale/internal/apierr"
)

func randomKey(t *testing.T) []byte {
	k := make([]byte, SealKeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSealerRotation: a ticket sealed under the old key opens after the
// rotation while the old key is retired, and not once it is dropped; an
// unsealed or tampered ticket never opens; the sealed form shows nothing
// of the ticket, however it is decoded.
func TestSealerRotation(t *testing.T) {
	k1, k2 := randomKey(t), randomKey(t)
	s, err := NewSealer(k1)
	if err != nil {
		t.Fatal(err)
	}
	inner := []byte(`nst1.kid.{"path":"dt=2024-01-01/part-0.parquet","filter":"country = 'DE'"}.sig`)
	old, err := s.Seal(inner)
	if err != nil {
		t.Fatal(err)
	}
	for _, probe := range []string{"dt=", "part-0", "country", "parquet", "nst1"} {
		if bytes.Contains(old, []byte(probe)) {
			t.Fatalf("sealed ticket shows %q", probe)
		}
		for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
			if d, err := enc.DecodeString(strings.TrimPrefix(string(old), sealPrefix)); err == nil && bytes.Contains(d, []byte(probe)) {
				t.Fatalf("decoded sealed ticket shows %q", probe)
			}
		}
	}
	if err := s.SetKeys([][]byte{k2, k1}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Open(old); err != nil || !bytes.Equal(got, inner) {
		t.Fatalf("a ticket of the retired key: %q, %v", got, err)
	}
	fresh, _ := s.Seal(inner)
	if err := s.SetKeys([][]byte{k2}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(old); !apierr.Is(err, apierr.PermissionDenied) {
		t.Fatalf("a ticket of a dropped key: %v, want PermissionDenied", err)
	}
	if got, err := s.Open(fresh); err != nil || !bytes.Equal(got, inner) {
		t.Fatalf("a ticket of the new key: %q, %v", got, err)
	}
	if _, err := s.Open(inner); !apierr.Is(err, apierr.InvalidArgument) || !strings.Contains(err.Error(), "not a sealed nscale ticket") {
		t.Fatalf("an unsealed ticket: %v", err)
	}
	bad := bytes.Clone(fresh)
	// Another valid base64 character: a flipped bit may make one that is
	// not base64, which is a malformed ticket rather than a bad seal.
	if bad[len(bad)-3] == 'A' {
		bad[len(bad)-3] = 'B'
	} else {
		bad[len(bad)-3] = 'A'
	}
	if _, err := s.Open(bad); !apierr.Is(err, apierr.PermissionDenied) {
		t.Fatalf("a tampered ticket: %v", err)
	}
	if err := s.SetKeys([][]byte{k1[:5]}); err == nil {
		t.Fatal("a short key was accepted")
	}
}
