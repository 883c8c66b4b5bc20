package taskplan_test

import (
	"encoding/base64"
	"testing"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// truncSealed drops n bytes from the end of a sealed ticket's binary body,
// keeping the encoding valid.
func truncSealed(t *testing.T, sealed []byte, n int) []byte {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(string(sealed[5:]))
	if err != nil || n > len(raw) {
		t.Fatalf("truncSealed: %v", err)
	}
	return []byte("nss1." + b64(raw[:len(raw)-n]))
}
