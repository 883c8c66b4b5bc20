package taskplan_test

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/taskplan"
)

// FuzzVerify feeds arbitrary bytes to Verify. It must never panic, must
// classify every refusal as a caller-facing apierr code without echoing the
// input, and must accept exactly one input: the valid ticket, unchanged.
func FuzzVerify(f *testing.F) {
	s, v := setup(f)
	valid := mustSign(f, s, sampleTask())
	other := sampleTask()
	other.Principal = "mallory"
	otherTk := mustSign(f, s, other)
	f.Add(valid)
	f.Add(otherTk)
	f.Add(valid[:len(valid)-1])
	f.Add(append(bytes.Clone(valid), '.'))
	f.Add([]byte("nst1.k1.e30.AAAA"))
	f.Add([]byte("nst2.k1.e30.AAAA"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, ticket []byte) {
		got, err := v.Verify(ticket, now0, "alice")
		if err == nil {
			if !bytes.Equal(ticket, valid) {
				t.Fatalf("accepted a ticket other than the valid one: %q", ticket)
			}
			if got.Principal != "alice" || got.KeyID != "k1" {
				t.Fatalf("accepted ticket decoded wrongly: %+v", got)
			}
			return
		}
		switch apierr.CodeOf(err) {
		case apierr.InvalidArgument, apierr.PermissionDenied, apierr.Unauthenticated:
		default:
			t.Fatalf("refusal %v has code %s", err, apierr.CodeOf(err))
		}
		msg := apierr.PublicMessage(err)
		if len(ticket) >= 12 && strings.Contains(msg, string(ticket)) {
			t.Fatalf("error message echoes the ticket: %q", msg)
		}
	})
}

// FuzzPayload reaches the strict payload decoder behind the signature: it
// signs arbitrary payloads with a known key. Verify must never panic, and a
// payload it accepts must be exactly the canonical encoding of the task it
// returns.
func FuzzPayload(f *testing.F) {
	priv := key(1)
	v, _ := taskplan.NewVerifier(map[string]ed25519.PublicKey{"k1": priv.Public().(ed25519.PublicKey)}, 0)
	task := sampleTask()
	task.Version, task.KeyID = 1, "k1"
	good, err := taskplan.Canonical(task)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":2,"id":"x"}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		tk := []byte("nst1.k1." + b64(payload) + "." + b64(ed25519.Sign(priv, payload)))
		got, err := v.Verify(tk, now0, "alice")
		if err != nil {
			if c := apierr.CodeOf(err); c == apierr.Internal || c == "" {
				t.Fatalf("refusal %v has code %s", err, c)
			}
			return
		}
		again, err := taskplan.Canonical(got)
		if err != nil || !bytes.Equal(again, payload) {
			t.Fatalf("accepted a non-canonical payload %q (re-encoded %q, %v)", payload, again, err)
		}
	})
}

func BenchmarkSign(b *testing.B) {
	s, _ := setup(b)
	task := sampleTask()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(task); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	s, v := setup(b)
	tk := mustSign(b, s, sampleTask())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(tk, now0, "alice"); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzOpen feeds arbitrary bytes to Sealer.Open, the first thing an agent
// and the control plane do with a ticket a client sends. It must never
// panic, must refuse with InvalidArgument or PermissionDenied without
// echoing the input, and must open only what was sealed with one of its
// keys (current or retired), giving back exactly what was sealed.
func FuzzOpen(f *testing.F) {
	current, retired := bytes.Repeat([]byte{1}, taskplan.SealKeySize), bytes.Repeat([]byte{2}, taskplan.SealKeySize)
	s, err := taskplan.NewSealer(current, retired)
	if err != nil {
		f.Fatal(err)
	}
	inner := []byte("nst1.k1.e30.AAAA")
	sealed, err := s.Seal(inner)
	if err != nil {
		f.Fatal(err)
	}
	old, err := taskplan.Seal(inner, retired)
	if err != nil {
		f.Fatal(err)
	}
	foreign, err := taskplan.Seal(inner, bytes.Repeat([]byte{3}, taskplan.SealKeySize))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add(old)
	f.Add(foreign)
	f.Add(sealed[:len(sealed)-1])
	f.Add(inner)
	f.Add([]byte("nss1."))
	f.Add([]byte("nss1.AAAA"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, ticket []byte) {
		got, err := s.Open(ticket)
		if err == nil {
			// Seals have random nonces (each fuzz worker makes its own),
			// so the check is on what opens: only something sealed here.
			if !bytes.Equal(got, inner) {
				t.Fatalf("opened %q into %q", ticket, got)
			}
			return
		}
		switch apierr.CodeOf(err) {
		case apierr.InvalidArgument, apierr.PermissionDenied:
		default:
			t.Fatalf("refusal %v has code %s", err, apierr.CodeOf(err))
		}
		if msg := apierr.PublicMessage(err); len(ticket) >= 12 && strings.Contains(msg, string(ticket)) {
			t.Fatalf("error message echoes the ticket: %q", msg)
		}
	})
}
