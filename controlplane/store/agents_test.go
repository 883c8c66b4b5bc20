package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
	"github.com/nscale/nscale/internal/apierr"
)

func TestAgents(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		now := time.Now()
		enrol := func(a store.Agent, replace bool) (store.Agent, error) {
			var out store.Agent
			err := s.InTx(ctx, func(tx *store.Tx) error {
				var err error
				out, err = tx.EnrolAgent(ctx, a, replace, now)
				return err
			})
			return out, err
		}
		count := func(since time.Time) int {
			t.Helper()
			n, err := s.CountAgents(ctx, since)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count(time.Time{}); n != 0 {
			t.Fatalf("fresh store has %d agents", n)
		}
		pod := store.Agent{ID: "k8s-uid-1", NodeName: "node-a", Method: "kubernetes", Subject: "sa pod=x", AgentVersion: "0.1.0",
			CertSerial: "01", CertNotAfter: now.Add(time.Hour)}
		a1, err := enrol(pod, true)
		if err != nil {
			t.Fatal(err)
		}
		if a1.Version != 1 || a1.NodeName != "node-a" || a1.Method != "kubernetes" || a1.CertSerial != "01" || a1.EnrolledAt.IsZero() || a1.RevokedAt != nil {
			t.Fatalf("first enrolment = %+v", a1)
		}
		// The same evidence again while the first certificate is live: refused.
		if _, err := enrol(pod, true); apierr.CodeOf(err) != apierr.FailedPrecondition || !strings.Contains(err.Error(), "already enrolled") {
			t.Fatalf("second enrolment of a live agent: %v", err)
		}
		// Without replace (join tokens), an existing ID is never replaced.
		if _, err := enrol(store.Agent{ID: "k8s-uid-1", Method: "join_token"}, false); apierr.CodeOf(err) != apierr.FailedPrecondition {
			t.Fatalf("enrol over an existing id without replace: %v", err)
		}
		// Renewal moves the certificate on.
		var renewed store.Agent
		if err := s.InTx(ctx, func(tx *store.Tx) error {
			renewed, err = tx.RenewAgent(ctx, "k8s-uid-1", "02", now.Add(2*time.Hour))
			return err
		}); err != nil || renewed.CertSerial != "02" || !renewed.CertNotAfter.Equal(now.Add(2*time.Hour).UTC().Truncate(time.Microsecond)) {
			t.Fatalf("renew = %+v, %v", renewed, err)
		}
		if err := s.HeartbeatAgent(ctx, "k8s-uid-1", "0.2.0", "127.0.0.1:7443", "ok"); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetAgent(ctx, "k8s-uid-1")
		if err != nil || got.AgentVersion != "0.2.0" || got.Listeners != "127.0.0.1:7443" || got.Health != "ok" || got.LastSeenAt.Before(a1.LastSeenAt) {
			t.Fatalf("after heartbeat = %+v, %v", got, err)
		}
		// An expired certificate lets the same pod or instance enrol again.
		expired := store.Agent{ID: "aws-1-i-1", NodeName: "i-1", Method: "aws_iid", CertSerial: "03", CertNotAfter: now.Add(-time.Minute)}
		if _, err := enrol(expired, true); err != nil {
			t.Fatal(err)
		}
		expired.CertSerial, expired.CertNotAfter = "04", now.Add(time.Hour)
		if again, err := enrol(expired, true); err != nil || again.CertSerial != "04" || again.Version != 2 {
			t.Fatalf("re-enrol after expiry = %+v, %v", again, err)
		}
		if n := count(time.Time{}); n != 2 {
			t.Fatalf("%d agents, want 2", n)
		}
		if n := count(time.Now().Add(time.Hour)); n != 0 {
			t.Fatalf("%d agents seen in the future", n)
		}
		// Revocation: counted out, listed, never renewed or re-enrolled.
		var rev store.Agent
		if err := s.InTx(ctx, func(tx *store.Tx) error { rev, err = tx.RevokeAgent(ctx, "aws-1-i-1"); return err }); err != nil || rev.RevokedAt == nil {
			t.Fatalf("revoke = %+v, %v", rev, err)
		}
		if ids, err := s.RevokedAgents(ctx); err != nil || len(ids) != 1 || ids[0] != "aws-1-i-1" {
			t.Fatalf("revoked = %v, %v", ids, err)
		}
		if n := count(time.Time{}); n != 1 {
			t.Fatalf("%d unrevoked agents, want 1", n)
		}
		if err := s.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.RenewAgent(ctx, "aws-1-i-1", "05", now.Add(time.Hour))
			return err
		}); apierr.CodeOf(err) != apierr.FailedPrecondition {
			t.Fatalf("renew a revoked agent: %v", err)
		}
		expired.CertNotAfter = now.Add(-time.Hour)
		if _, err := enrol(expired, true); apierr.CodeOf(err) != apierr.FailedPrecondition || !strings.Contains(err.Error(), "revoked") {
			t.Fatalf("re-enrol a revoked agent: %v", err)
		}
		if err := s.InTx(ctx, func(tx *store.Tx) error { _, err := tx.RevokeAgent(ctx, "nope"); return err }); apierr.CodeOf(err) != apierr.NotFound {
			t.Fatalf("revoke a missing agent: %v", err)
		}
		list, next, err := s.ListAgents(ctx, store.Page{PageSize: 1})
		if err != nil || len(list) != 1 || list[0].ID != "aws-1-i-1" || next == "" {
			t.Fatalf("list page 1 = %+v %q %v", list, next, err)
		}
		list, next, err = s.ListAgents(ctx, store.Page{PageSize: 1, PageToken: next})
		if err != nil || len(list) != 1 || list[0].ID != "k8s-uid-1" {
			t.Fatalf("list page 2 = %+v %q %v", list, next, err)
		}
		if _, err := enrol(store.Agent{NodeName: "x"}, false); apierr.CodeOf(err) != apierr.InvalidArgument {
			t.Fatalf("agent without id: %v", err)
		}
	})
}

func TestJoinTokens(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		now := time.Now()
		create := func(hash string, uses int, exp time.Time) store.JoinToken {
			t.Helper()
			var j store.JoinToken
			if err := s.InTx(ctx, func(tx *store.Tx) error {
				var err error
				j, err = tx.CreateJoinToken(ctx, store.JoinToken{SHA256: hash, MaxUses: uses, ExpiresAt: exp, Comment: "test"})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return j
		}
		h := func(c string) string { return strings.Repeat(c, 64) }
		create(h("a"), 1, now.Add(time.Hour))
		if _, err := s.UseJoinToken(ctx, h("a"), now); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UseJoinToken(ctx, h("a"), now); apierr.CodeOf(err) != apierr.Unauthenticated || !strings.Contains(err.Error(), "used up") {
			t.Fatalf("second use of a single-use token: %v", err)
		}
		create(h("b"), 3, now.Add(time.Minute))
		if _, err := s.UseJoinToken(ctx, h("b"), now.Add(2*time.Minute)); apierr.CodeOf(err) != apierr.Unauthenticated || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("expired token: %v", err)
		}
		if _, err := s.UseJoinToken(ctx, h("c"), now); apierr.CodeOf(err) != apierr.Unauthenticated || !strings.Contains(err.Error(), "unknown") {
			t.Fatalf("unknown token: %v", err)
		}
		if _, err := s.UseJoinToken(ctx, "zz", now); apierr.CodeOf(err) != apierr.Unauthenticated {
			t.Fatalf("malformed hash: %v", err)
		}
		// N uses, raced from many goroutines: exactly N succeed.
		create(h("d"), 3, now.Add(time.Hour))
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for range 8 {
			wg.Go(func() {
				if _, err := s.UseJoinToken(ctx, h("d"), now); err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if ok != 3 {
			t.Fatalf("%d of 8 racing uses of a 3-use token succeeded", ok)
		}
		var rev store.JoinToken
		create(h("e"), 5, now.Add(time.Hour))
		list, _, err := s.ListJoinTokens(ctx, store.Page{})
		if err != nil || len(list) != 4 {
			t.Fatalf("list = %+v, %v", list, err)
		}
		e := list[3]
		if err := s.InTx(ctx, func(tx *store.Tx) error { rev, err = tx.RevokeJoinToken(ctx, e.ID); return err }); err != nil || rev.RevokedAt == nil {
			t.Fatalf("revoke = %+v, %v", rev, err)
		}
		if _, err := s.UseJoinToken(ctx, h("e"), now); apierr.CodeOf(err) != apierr.Unauthenticated || !strings.Contains(err.Error(), "revoked") {
			t.Fatalf("revoked token: %v", err)
		}
		if err := s.InTx(ctx, func(tx *store.Tx) error { _, err := tx.RevokeJoinToken(ctx, "missing"); return err }); apierr.CodeOf(err) != apierr.NotFound {
			t.Fatalf("revoke missing: %v", err)
		}
		if err := s.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.CreateJoinToken(ctx, store.JoinToken{SHA256: h("f"), MaxUses: 0, ExpiresAt: now})
			return err
		}); apierr.CodeOf(err) != apierr.InvalidArgument {
			t.Fatalf("zero uses: %v", err)
		}

	})
}
