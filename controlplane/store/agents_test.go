package store_test

import (
	"context"
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
		upsert := func(a store.Agent) (store.Agent, error) {
			var out store.Agent
			err := s.InTx(ctx, func(tx *store.Tx) error {
				var err error
				out, err = tx.UpsertAgent(ctx, a)
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
		old := time.Date(2024, 1, 2, 3, 4, 5, 678901000, time.UTC)
		a1, err := upsert(store.Agent{ID: "agent-1", NodeName: "node-a", IdentityKind: "join-token", Identity: "jt-1", AgentVersion: "0.1.0", LastSeenAt: old})
		if err != nil {
			t.Fatal(err)
		}
		if a1.Version != 1 || !a1.LastSeenAt.Equal(old) || a1.NodeName != "node-a" || a1.CreatedAt.IsZero() {
			t.Fatalf("first upsert = %+v", a1)
		}
		a1b, err := upsert(store.Agent{ID: "agent-1", NodeName: "node-b", IdentityKind: "k8s-sat", Identity: "system:serviceaccount:nscale:agent", AgentVersion: "0.2.0"})
		if err != nil {
			t.Fatal(err)
		}
		if a1b.Version != 2 || a1b.NodeName != "node-b" || a1b.AgentVersion != "0.2.0" || a1b.IdentityKind != "k8s-sat" ||
			!a1b.CreatedAt.Equal(a1.CreatedAt) || !a1b.LastSeenAt.After(old) {
			t.Fatalf("second upsert = %+v (first %+v)", a1b, a1)
		}
		if _, err := upsert(store.Agent{ID: "agent-2", NodeName: "node-c", LastSeenAt: old}); err != nil {
			t.Fatal(err)
		}
		if n := count(time.Time{}); n != 2 {
			t.Fatalf("%d agents, want 2", n)
		}
		if n := count(old.Add(time.Microsecond)); n != 1 {
			t.Fatalf("%d agents seen after %v, want 1", n, old)
		}
		if n := count(old); n != 2 {
			t.Fatalf("%d agents seen at or after %v, want 2", n, old)
		}
		got, err := s.GetAgent(ctx, "agent-1")
		if err != nil || got != a1b {
			t.Fatalf("get = %+v, %v; want %+v", got, err, a1b)
		}
		if _, err := s.GetAgent(ctx, "agent-9"); apierr.CodeOf(err) != apierr.NotFound {
			t.Fatalf("missing agent: %v", err)
		}
		if _, err := upsert(store.Agent{NodeName: "x"}); apierr.CodeOf(err) != apierr.InvalidArgument {
			t.Fatalf("agent without id: %v", err)
		}
	})
}
