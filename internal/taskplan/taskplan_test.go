package taskplan_test

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

var (
	t0   = time.Date(2026, 11, 23, 12, 0, 0, 123456789, time.UTC)
	now0 = t0.Add(time.Minute)
)

func key(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func sampleTask() taskplan.Task {
	return taskplan.Task{
		ID:            "task-1",
		QueryID:       "q-1",
		Principal:     "alice",
		Table:         "sales.orders",
		Format:        "parquet",
		FormatOptions: map[string]string{"b": "2", "a": "1", "z": "<&>"},
		Location:      "s3://bucket/warehouse/sales/orders/",
		Objects: []taskplan.Object{
			{Path: "dt=2026-11-01/part-0.parquet", Size: 1000, ETag: `"abc"`, RowGroups: []int{0, 2}},
			{Path: "dt=2026-11-02/part-0.parquet", Size: 500, Ranges: []taskplan.Range{{Offset: 4, Length: 100}}},
		},
		Columns: []taskplan.Column{
			{Name: "id", Type: "int64"},
			{Name: "email", Type: "string", Mask: &sqlsubset.Mask{Func: "show_last", Args: []int64{4}}},
			{Name: "region", Type: "string", CellFilter: sqlsubset.Tree{Expr: &sqlsubset.Compare{
				Op: sqlsubset.Eq, Left: &sqlsubset.Column{Name: "region"}, Right: sqlsubset.StringLiteral("eu")}}},
		},
		RowFilter: sqlsubset.Tree{Expr: &sqlsubset.Compare{
			Op: sqlsubset.Eq, Left: &sqlsubset.Column{Name: "owner"}, Right: sqlsubset.StringLiteral("alice")}},
		Predicate:     sqlsubset.Tree{Expr: &sqlsubset.Compare{Op: sqlsubset.Gt, Left: &sqlsubset.Column{Name: "id"}, Right: sqlsubset.Int64Literal(10)}},
		Limit:         100,
		PolicyVersion: 7,
		PolicyHash:    "sha256:00ff",
		IssuedAt:      t0,
		ExpiresAt:     t0.Add(15 * time.Minute),
	}
}

func setup(t testing.TB) (*taskplan.Signer, *taskplan.Verifier) {
	t.Helper()
	s, err := taskplan.NewSigner("k1", key(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddKey("k2", key(2)); err != nil {
		t.Fatal(err)
	}
	v, err := taskplan.NewVerifier(s.PublicKeys(), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func mustSign(t testing.TB, s *taskplan.Signer, task taskplan.Task) []byte {
	t.Helper()
	tk, err := s.Sign(task)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return tk
}

// parts splits a ticket into prefix, key id, payload and signature.
func parts(t *testing.T, tk []byte) []string {
	t.Helper()
	p := strings.Split(string(tk), ".")
	if len(p) != 4 || p[0] != "nst1" {
		t.Fatalf("ticket has unexpected shape: %d parts", len(p))
	}
	return p
}

func TestRoundTrip(t *testing.T) {
	s, v := setup(t)
	task := sampleTask()
	tk := mustSign(t, s, task)
	got, err := v.Verify(tk, now0, "alice")
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := task
	want.Version = taskplan.Version
	want.KeyID = "k1"
	if !got.IssuedAt.Equal(want.IssuedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("times changed: %v %v", got.IssuedAt, got.ExpiresAt)
	}
	got.IssuedAt, got.ExpiresAt = want.IssuedAt, want.ExpiresAt
	// Trees round-trip by value; compare them with sqlsubset.Equal.
	if !sqlsubset.Equal(got.RowFilter.Expr, want.RowFilter.Expr) || !sqlsubset.Equal(got.Predicate.Expr, want.Predicate.Expr) ||
		!sqlsubset.Equal(got.Columns[2].CellFilter.Expr, want.Columns[2].CellFilter.Expr) {
		t.Fatal("filters changed in transit")
	}
	a, _ := taskplan.Canonical(got)
	b, _ := taskplan.Canonical(want)
	if !bytes.Equal(a, b) {
		t.Fatalf("decoded task differs:\n%s\n%s", a, b)
	}
	if !reflect.DeepEqual(got.Objects, want.Objects) || !reflect.DeepEqual(got.FormatOptions, want.FormatOptions) ||
		!reflect.DeepEqual(got.Columns[1].Mask, want.Columns[1].Mask) {
		t.Fatalf("objects, options or masks differ: %+v", got)
	}
	if got.KeyID != "k1" || got.Version != 1 {
		t.Fatalf("KeyID %q Version %d", got.KeyID, got.Version)
	}
}

func TestCanonicalStable(t *testing.T) {
	a := sampleTask()
	a.Version = 1
	b := sampleTask()
	b.Version = 1
	// Same content, maps built in another order, times in another zone,
	// nil versus empty optional slices.
	b.FormatOptions = map[string]string{}
	for _, k := range []string{"z", "a", "b"} {
		b.FormatOptions[k] = a.FormatOptions[k]
	}
	b.IssuedAt = a.IssuedAt.In(time.FixedZone("X", 5*3600))
	b.ExpiresAt = a.ExpiresAt.In(time.FixedZone("Y", -7*3600))
	a.Objects[1].RowGroups = nil
	b.Objects[1].RowGroups = []int{}
	ca, err := taskplan.Canonical(a)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		cb, err := taskplan.Canonical(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ca, cb) {
			t.Fatalf("canonical bytes differ:\n%s\n%s", ca, cb)
		}
	}
	if !bytes.Contains(ca, []byte(`"format_options":{"a":"1","b":"2","z":"\u003c\u0026\u003e"}`)) {
		t.Fatalf("map keys not sorted or not escaped: %s", ca)
	}
	if !bytes.Contains(ca, []byte(`"issued_at":"2026-11-23T12:00:00.123456789Z"`)) {
		t.Fatalf("time not UTC RFC3339Nano: %s", ca)
	}
	// A different task gives different bytes.
	b.Limit = 101
	cb, _ := taskplan.Canonical(b)
	if bytes.Equal(ca, cb) {
		t.Fatal("different tasks share canonical bytes")
	}
	// Signing the same task twice gives the same ticket (Ed25519 is deterministic).
	s, _ := setup(t)
	if !bytes.Equal(mustSign(t, s, a), mustSign(t, s, b2(a))) {
		t.Fatal("same task signed twice gives different tickets")
	}
}

func b2(t taskplan.Task) taskplan.Task { return t }

func TestSignRefusesInvalidTasks(t *testing.T) {
	s, _ := setup(t)
	for _, tc := range []struct {
		name string
		mod  func(*taskplan.Task)
	}{
		{"no principal", func(t *taskplan.Task) { t.Principal = "" }},
		{"no id", func(t *taskplan.Task) { t.ID = "" }},
		{"bad format", func(t *taskplan.Task) { t.Format = "orc" }},
		{"bad location", func(t *taskplan.Task) { t.Location = "http://x/" }},
		{"version 2", func(t *taskplan.Task) { t.Version = 2 }},
		{"no columns", func(t *taskplan.Task) { t.Columns = nil }},
		{"duplicate column", func(t *taskplan.Task) { t.Columns = append(t.Columns, t.Columns[0]) }},
		{"bad type", func(t *taskplan.Task) { t.Columns[0].Type = "int65" }},
		{"mask on wrong type", func(t *taskplan.Task) { t.Columns[0].Mask = &sqlsubset.Mask{Func: "show_last", Args: []int64{4}} }},
		{"unknown mask", func(t *taskplan.Task) { t.Columns[1].Mask = &sqlsubset.Mask{Func: "nope"} }},
		{"negative limit", func(t *taskplan.Task) { t.Limit = -1 }},
		{"expires before issued", func(t *taskplan.Task) { t.ExpiresAt = t.IssuedAt }},
		{"no expiry", func(t *taskplan.Task) { t.ExpiresAt = time.Time{} }},
		{"absolute path", func(t *taskplan.Task) { t.Objects[0].Path = "/etc/passwd" }},
		{"dotdot path", func(t *taskplan.Task) { t.Objects[0].Path = "a/../../b" }},
		{"range beyond size", func(t *taskplan.Task) { t.Objects[1].Ranges[0].Length = 1000 }},
		{"zero range", func(t *taskplan.Task) { t.Objects[1].Ranges[0].Length = 0 }},
		{"row groups on csv", func(t *taskplan.Task) { t.Format = "csv" }},
		{"invalid utf8", func(t *taskplan.Task) { t.Principal = "al\xffice" }},
		{"invalid tree", func(t *taskplan.Task) { t.RowFilter = sqlsubset.Tree{Expr: &sqlsubset.And{}} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task := sampleTask()
			tc.mod(&task)
			_, err := s.Sign(task)
			if !apierr.Is(err, apierr.InvalidArgument) {
				t.Fatalf("Sign = %v, want InvalidArgument", err)
			}
		})
	}
}

func TestTamperingRefused(t *testing.T) {
	s, v := setup(t)
	task := sampleTask()
	tk := mustSign(t, s, task)
	p := parts(t, tk)

	other := sampleTask()
	other.Principal = "mallory"
	otherTk := mustSign(t, s, other)
	op := parts(t, otherTk)

	// resign re-encodes a modified task and pairs it with the original
	// signature: what an attacker who edits the payload produces.
	resign := func(mod func(*taskplan.Task)) string {
		m := sampleTask()
		m.Version = 1
		m.KeyID = "k1"
		mod(&m)
		b, err := taskplan.Canonical(m)
		if err != nil {
			t.Fatalf("Canonical: %v", err)
		}
		return "nst1.k1." + b64(b) + "." + p[3]
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	join := func(xs ...string) string { return strings.Join(xs, ".") }

	for _, tc := range []struct {
		name   string
		ticket string
		codes  []apierr.Code
	}{
		{"flip payload byte", join(p[0], p[1], flip(p[2], len(p[2])/2), p[3]), sig},
		{"flip first payload byte", join(p[0], p[1], flip(p[2], 0), p[3]), sig},
		{"flip signature byte", join(p[0], p[1], p[2], flip(p[3], 10)), sig},
		{"flip last signature char", join(p[0], p[1], p[2], flip(p[3], len(p[3])-1)), sigOrMalformed},
		{"change principal", resign(func(t *taskplan.Task) { t.Principal = "mallory" }), sig},
		{"drop a column", resign(func(t *taskplan.Task) { t.Columns = t.Columns[:1] }), sig},
		{"add a column", resign(func(t *taskplan.Task) { t.Columns = append(t.Columns, taskplan.Column{Name: "ssn", Type: "string"}) }), sig},
		{"remove row filter", resign(func(t *taskplan.Task) { t.RowFilter = sqlsubset.Tree{} }), sig},
		{"remove mask", resign(func(t *taskplan.Task) { t.Columns[1].Mask = nil }), sig},
		{"weaken mask", resign(func(t *taskplan.Task) { t.Columns[1].Mask.Args = []int64{100} }), sig},
		{"extend expiry", resign(func(t *taskplan.Task) { t.ExpiresAt = t.ExpiresAt.Add(24 * time.Hour) }), sig},
		{"change payload key id", resign(func(t *taskplan.Task) { t.KeyID = "k2" }), sig},
		{"unknown key id", join(p[0], "k9", p[2], p[3]), sig},
		{"other known key id", join(p[0], "k2", p[2], p[3]), sig},
		{"invalid key id", join(p[0], "k 1", p[2], p[3]), malformed},
		{"swap payload from other ticket", join(p[0], p[1], op[2], p[3]), sig},
		{"swap signature from other ticket", join(p[0], p[1], p[2], op[3]), sig},
		{"truncate by one", string(tk[:len(tk)-1]), sigOrMalformed},
		{"truncate signature", join(p[0], p[1], p[2], p[3][:40]), malformed},
		{"truncate payload", join(p[0], p[1], p[2][:len(p[2])-4], p[3]), sig},
		{"append byte", string(tk) + "A", malformed},
		{"append part", string(tk) + ".AAAA", malformed},
		{"padding", join(p[0], p[1], p[2]+"==", p[3]), malformed},
		{"standard base64", join(p[0], p[1], strings.NewReplacer("-", "+", "_", "/").Replace(p[2])+"+", p[3]), malformed},
		{"no prefix", join(p[1], p[2], p[3]), malformed},
		{"future version", join("nst2", p[1], p[2], p[3]), version},
		{"empty", "", malformed},
		{"prefix only", "nst1.", malformed},
		{"empty payload", join(p[0], p[1], "", p[3]), malformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.ticket == string(tk) {
				t.Fatal("test case did not change the ticket")
			}
			_, err := v.Verify([]byte(tc.ticket), now0, "alice")
			checkRefused(t, err, tc.codes, tc.ticket)
		})
	}
	// The untouched ticket still verifies (the cases above did not mutate it).
	if _, err := v.Verify(tk, now0, "alice"); err != nil {
		t.Fatalf("original ticket: %v", err)
	}
}

var (
	sig            = []apierr.Code{apierr.PermissionDenied}
	malformed      = []apierr.Code{apierr.InvalidArgument}
	version        = []apierr.Code{apierr.InvalidArgument}
	sigOrMalformed = []apierr.Code{apierr.PermissionDenied, apierr.InvalidArgument}
)

func checkRefused(t *testing.T, err error, codes []apierr.Code, ticket string) {
	t.Helper()
	if err == nil {
		t.Fatal("tampered ticket verified")
	}
	ok := false
	for _, c := range codes {
		ok = ok || apierr.Is(err, c)
	}
	if !ok {
		t.Fatalf("error %v has code %s, want one of %v", err, apierr.CodeOf(err), codes)
	}
	msg := apierr.PublicMessage(err)
	if len(ticket) > 8 && strings.Contains(msg, ticket[8:min(len(ticket), 40)]) {
		t.Fatalf("error message echoes the ticket: %q", msg)
	}
	if msg == "internal error" {
		t.Fatalf("error is not classified: %v", err)
	}
}

func TestValidityWindowAndPrincipal(t *testing.T) {
	s, v := setup(t)
	tk := mustSign(t, s, sampleTask())
	exp := t0.Add(15 * time.Minute)
	for _, tc := range []struct {
		name      string
		now       time.Time
		principal string
		code      apierr.Code // "" = accepted
		msg       string
	}{
		{"valid", now0, "alice", "", ""},
		{"at issue", t0, "alice", "", ""},
		{"expired", exp.Add(time.Hour), "alice", apierr.Unauthenticated, "ticket expired"},
		{"expired just beyond skew", exp.Add(30 * time.Second), "alice", apierr.Unauthenticated, "ticket expired"},
		{"expired within skew", exp.Add(29 * time.Second), "alice", "", ""},
		{"issued in the future", t0.Add(-time.Hour), "alice", apierr.Unauthenticated, "ticket not yet valid"},
		{"issued in the future beyond skew", t0.Add(-31 * time.Second), "alice", apierr.Unauthenticated, "ticket not yet valid"},
		{"issued in the future within skew", t0.Add(-30 * time.Second), "alice", "", ""},
		{"replay by another principal", now0, "mallory", apierr.PermissionDenied, "ticket issued to another principal"},
		{"principal prefix", now0, "alic", apierr.PermissionDenied, "ticket issued to another principal"},
		{"principal extended", now0, "alice2", apierr.PermissionDenied, "ticket issued to another principal"},
		{"empty principal", now0, "", apierr.PermissionDenied, "ticket issued to another principal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(tk, tc.now, tc.principal)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !apierr.Is(err, tc.code) || apierr.PublicMessage(err) != tc.msg {
				t.Fatalf("Verify = %v (%s), want %s %q", err, apierr.CodeOf(err), tc.code, tc.msg)
			}
		})
	}
	// Zero skew is exact.
	v0, err := taskplan.NewVerifier(s.PublicKeys(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v0.Verify(tk, exp, "alice"); !apierr.Is(err, apierr.Unauthenticated) {
		t.Fatalf("at expiry with zero skew: %v", err)
	}
	if _, err := v0.Verify(tk, t0.Add(-time.Nanosecond), "alice"); !apierr.Is(err, apierr.Unauthenticated) {
		t.Fatalf("before issue with zero skew: %v", err)
	}
	for _, skew := range []time.Duration{-time.Second, time.Hour} {
		if _, err := taskplan.NewVerifier(nil, skew); !apierr.Is(err, apierr.InvalidArgument) {
			t.Fatalf("skew %s accepted: %v", skew, err)
		}
	}
}

func TestKeyRotation(t *testing.T) {
	s, err := taskplan.NewSigner("old", key(1))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := taskplan.NewVerifier(s.PublicKeys(), 0)
	oldTk := mustSign(t, s, sampleTask())

	if err := s.AddKey("new", key(2)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddKey("new", key(3)); !apierr.Is(err, apierr.AlreadyExists) {
		t.Fatalf("duplicate AddKey: %v", err)
	}
	if err := s.SetCurrent("missing"); !apierr.Is(err, apierr.NotFound) {
		t.Fatalf("SetCurrent(missing): %v", err)
	}
	if err := s.SetCurrent("new"); err != nil {
		t.Fatal(err)
	}
	newTk := mustSign(t, s, sampleTask())
	if parts(t, newTk)[1] != "new" {
		t.Fatal("Sign did not use the current key")
	}
	// The agent has not fetched the new key yet.
	if _, err := v.Verify(newTk, now0, "alice"); !apierr.Is(err, apierr.PermissionDenied) {
		t.Fatalf("unknown new key: %v", err)
	}
	for id, pub := range s.PublicKeys() {
		if err := v.AddKey(id, pub); err != nil {
			t.Fatal(err)
		}
	}
	for name, tk := range map[string][]byte{"old": oldTk, "new": newTk} {
		got, err := v.Verify(tk, now0, "alice")
		if err != nil || got.KeyID != name {
			t.Fatalf("%s ticket: KeyID %q err %v", name, got.KeyID, err)
		}
	}
	if err := s.RemoveKey("new"); !apierr.Is(err, apierr.FailedPrecondition) {
		t.Fatalf("removing the current key: %v", err)
	}
	if err := s.RemoveKey("old"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.PublicKeys()["old"]; ok {
		t.Fatal("removed key still published")
	}
	v.RemoveKey("old")
	if _, err := v.Verify(oldTk, now0, "alice"); !apierr.Is(err, apierr.PermissionDenied) {
		t.Fatalf("removed key still verifies: %v", err)
	}
	if _, err := v.Verify(newTk, now0, "alice"); err != nil {
		t.Fatalf("new key after removal of old: %v", err)
	}
	var zero taskplan.Signer
	if _, err := zero.Sign(sampleTask()); !apierr.Is(err, apierr.FailedPrecondition) {
		t.Fatalf("zero Signer: %v", err)
	}
	// A public key registered under another key's id does not verify.
	v2, _ := taskplan.NewVerifier(map[string]ed25519.PublicKey{"new": key(1).Public().(ed25519.PublicKey)}, 0)
	if _, err := v2.Verify(newTk, now0, "alice"); !apierr.Is(err, apierr.PermissionDenied) {
		t.Fatalf("wrong public key: %v", err)
	}
}

func TestConcurrentSignVerifyRotate(t *testing.T) {
	s, v := setup(t)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if i == 0 {
					_ = s.SetCurrent([]string{"k1", "k2"}[j%2])
					continue
				}
				tk, err := s.Sign(sampleTask())
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := v.Verify(tk, now0, "alice"); err != nil {
					t.Error(err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
}

func TestSeal(t *testing.T) {
	s, v := setup(t)
	tk := mustSign(t, s, sampleTask())
	k := bytes.Repeat([]byte{7}, 32)
	sealed, err := taskplan.Seal(tk, k)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, tk[5:40]) {
		t.Fatal("sealed ticket shows the ticket")
	}
	again, _ := taskplan.Seal(tk, k)
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals share a nonce")
	}
	opened, err := taskplan.Open(sealed, k)
	if err != nil || !bytes.Equal(opened, tk) {
		t.Fatalf("Open: %v", err)
	}
	if _, err := v.Verify(opened, now0, "alice"); err != nil {
		t.Fatalf("opened ticket: %v", err)
	}
	flipped := func(i int) []byte {
		b := bytes.Clone(sealed)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return b
	}
	for _, tc := range []struct {
		name   string
		sealed []byte
		key    []byte
		code   apierr.Code
	}{
		{"flip nonce", flipped(8), k, apierr.PermissionDenied},
		{"flip ciphertext", flipped(len(sealed) / 2), k, apierr.PermissionDenied},
		{"flip tag", flipped(len(sealed) - 3), k, apierr.PermissionDenied},
		{"truncate", truncSealed(t, sealed, 3), k, apierr.PermissionDenied},
		{"truncate to nonce and tag", truncSealed(t, sealed, len(sealed)*3/4-5-28), k, apierr.PermissionDenied},
		{"wrong key", sealed, bytes.Repeat([]byte{8}, 32), apierr.PermissionDenied},
		{"short key", sealed, k[:16], apierr.InvalidArgument},
		{"no prefix", sealed[5:], k, apierr.InvalidArgument},
		{"not base64", append(bytes.Clone(sealed), '!'), k, apierr.InvalidArgument},
		{"too short", []byte("nss1.AAAA"), k, apierr.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := taskplan.Open(tc.sealed, tc.key)
			if err == nil || out != nil || !apierr.Is(err, tc.code) {
				t.Fatalf("Open = %v (%s), want %s", err, apierr.CodeOf(err), tc.code)
			}
		})
	}
	if _, err := taskplan.Seal(tk, k[:31]); !apierr.Is(err, apierr.InvalidArgument) {
		t.Fatalf("Seal with short key: %v", err)
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	id, priv, err := taskplan.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if !taskplan.ValidKeyID(id) || id != taskplan.KeyIDFor(priv.Public().(ed25519.PublicKey)) {
		t.Fatalf("generated key id %q", id)
	}
	path := filepath.Join(dir, "signing.pem")
	if err := taskplan.WritePrivateKeyFile(path, id, priv); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode().Perm())
	}
	if err := taskplan.WritePrivateKeyFile(path, id, priv); !apierr.Is(err, apierr.AlreadyExists) {
		t.Fatalf("overwrite: %v", err)
	}
	gotID, gotPriv, err := taskplan.ReadPrivateKeyFile(path)
	if err != nil || gotID != id || !gotPriv.Equal(priv) {
		t.Fatalf("ReadPrivateKeyFile: %q %v", gotID, err)
	}
	for _, mode := range []os.FileMode{0o644, 0o604, 0o660, 0o620} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, _, err := taskplan.ReadPrivateKeyFile(path)
		if !apierr.Is(err, apierr.FailedPrecondition) {
			t.Fatalf("mode %04o accepted: %v", mode, err)
		}
	}
	// 0440 is how the kubelet mounts a Secret for a non-root pod's fsGroup.
	for _, mode := range []os.FileMode{0o400, 0o440} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, _, err := taskplan.ReadPrivateKeyFile(path); err != nil {
			t.Fatalf("mode %04o: %v", mode, err)
		}
	}

	pubPEM, err := taskplan.MarshalPublicKey(id, priv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	pid, pub, err := taskplan.ParsePublicKey(pubPEM)
	if err != nil || pid != id || !pub.Equal(priv.Public()) {
		t.Fatalf("ParsePublicKey: %v", err)
	}
	privPEM, _ := taskplan.MarshalPrivateKey(id, priv)
	for name, data := range map[string][]byte{
		"empty":          nil,
		"public as priv": pubPEM,
		"no key id":      bytes.Replace(privPEM, []byte("Key-Id"), []byte("Key-Xx"), 1),
		"trailing data":  append(bytes.Clone(privPEM), "junk"...),
	} {
		_, _, err := taskplan.ParsePrivateKey(data)
		if !apierr.Is(err, apierr.InvalidArgument) {
			t.Fatalf("%s: %v", name, err)
		}
		if err != nil && bytes.Contains([]byte(err.Error()), privPEM[60:90]) {
			t.Fatalf("%s: error echoes key material", name)
		}
	}
}

func TestDecodeStrict(t *testing.T) {
	// A payload the control plane signed but that is not strict (unknown
	// field, non-canonical layout) is refused even with a valid signature.
	priv := key(1)
	v, _ := taskplan.NewVerifier(map[string]ed25519.PublicKey{"k1": priv.Public().(ed25519.PublicKey)}, 0)
	task := sampleTask()
	task.Version, task.KeyID = 1, "k1"
	good, err := taskplan.Canonical(task)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(payload []byte) []byte {
		return []byte("nst1.k1." + b64(payload) + "." + b64(ed25519.Sign(priv, payload)))
	}
	if _, err := v.Verify(sign(good), now0, "alice"); err != nil {
		t.Fatalf("hand-signed canonical payload: %v", err)
	}
	for name, payload := range map[string][]byte{
		"unknown field":  bytes.Replace(good, []byte(`{"version":1,`), []byte(`{"version":1,"extra":1,`), 1),
		"whitespace":     bytes.Replace(good, []byte(`{"version":1,`), []byte(`{"version": 1,`), 1),
		"trailing data":  append(bytes.Clone(good), ` {}`...),
		"local time":     bytes.Replace(good, []byte(`12:00:00.123456789Z`), []byte(`13:00:00.123456789+01:00`), 1),
		"not json":       []byte("hello"),
		"future version": bytes.Replace(good, []byte(`{"version":1,`), []byte(`{"version":2,`), 1),
	} {
		_, err := v.Verify(sign(payload), now0, "alice")
		if !apierr.Is(err, apierr.InvalidArgument) {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestObjectLimit(t *testing.T) {
	task := sampleTask()
	task.Version = 1
	task.Objects = make([]taskplan.Object, taskplan.MaxObjects+1)
	for i := range task.Objects {
		task.Objects[i] = taskplan.Object{Path: "p", Size: 1}
	}
	if _, err := taskplan.Canonical(task); !apierr.Is(err, apierr.InvalidArgument) {
		t.Fatalf("too many objects: %v", err)
	}
	_, v := setup(t)
	big := make([]byte, taskplan.MaxTicketBytes+1)
	copy(big, "nst1.k1.")
	if _, err := v.Verify(big, now0, "alice"); !apierr.Is(err, apierr.InvalidArgument) {
		t.Fatalf("oversized ticket: %v", err)
	}
}

// VerifyValid skips only the principal; VerifySignature skips the window
// too, but neither accepts a forged ticket.
func TestVerifyValidAndSignature(t *testing.T) {
	s, v := setup(t)
	tk := mustSign(t, s, sampleTask())
	late := t0.Add(time.Hour)
	if task, err := v.VerifyValid(tk, now0); err != nil || task.Principal != "alice" {
		t.Fatalf("VerifyValid: %v %q", err, task.Principal)
	}
	if _, err := v.VerifyValid(tk, late); !apierr.Is(err, apierr.Unauthenticated) {
		t.Fatalf("VerifyValid after expiry: %v", err)
	}
	if _, err := v.VerifySignature(tk); err != nil {
		t.Fatalf("VerifySignature after expiry: %v", err)
	}
	forged := append([]byte(nil), tk...)
	i := len(forged) - 3
	forged[i] = map[bool]byte{true: 'A', false: 'B'}[forged[i] != 'A']
	for name, f := range map[string]func([]byte) error{
		"VerifyValid":     func(b []byte) error { _, err := v.VerifyValid(b, now0); return err },
		"VerifySignature": func(b []byte) error { _, err := v.VerifySignature(b); return err },
	} {
		if err := f(forged); !apierr.Is(err, apierr.PermissionDenied) {
			t.Errorf("%s accepted a forged signature: %v", name, err)
		}
	}
}

func strp(s string) *string { return &s }

// Partition values, NULL included, survive signing and verification.
func TestPartitionRoundTrip(t *testing.T) {
	s, v := setup(t)
	task := sampleTask()
	task.PartitionColumns = map[string]string{"dt": "date32", "hour": "int32"}
	task.Objects[0].Partition = map[string]*string{"dt": strp("2026-11-01"), "hour": nil}
	tk := mustSign(t, s, task)
	got, err := v.Verify(tk, now0, "alice")
	if err != nil {
		t.Fatal(err)
	}
	p := got.Objects[0].Partition
	if len(p) != 2 || p["dt"] == nil || *p["dt"] != "2026-11-01" || p["hour"] != nil {
		t.Fatalf("partition = %v", p)
	}
	if _, ok := p["hour"]; !ok {
		t.Fatal("a NULL partition value was dropped")
	}
	if got.PartitionColumns["hour"] != "int32" {
		t.Fatalf("partition columns = %v", got.PartitionColumns)
	}
	task.Objects[0].Partition = map[string]*string{"": strp("x")}
	if _, err := s.Sign(task); !apierr.Is(err, apierr.InvalidArgument) {
		t.Fatalf("an empty partition column name was signed: %v", err)
	}
	task.Objects[0].Partition = map[string]*string{"minute": strp("1")}
	if _, err := s.Sign(task); !apierr.Is(err, apierr.InvalidArgument) {
		t.Fatalf("a value of an undeclared partition column was signed: %v", err)
	}
}
