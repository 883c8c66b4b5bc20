package flight

import (
	"sync"
	"time"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/taskplan"
)

// maxUsedTickets bounds the memory of single-use tickets seen: beyond it
// the oldest expired ones go first, and a full set of unexpired ones
// refuses new single-use tickets (fail closed) rather than forget one.
const maxUsedTickets = 1 << 20

// usedTickets remembers single-use task ids until their ticket expires.
type usedTickets struct {
	mu   sync.Mutex
	seen map[string]time.Time // task id -> ticket expiry
	next time.Time            // when to sweep expired entries
}

// first reports whether this is the first use of t on this agent, and
// records it.
func (u *usedTickets) first(t taskplan.Task, now time.Time) (bool, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.seen == nil {
		u.seen = map[string]time.Time{}
	}
	if now.After(u.next) || len(u.seen) >= maxUsedTickets {
		for id, exp := range u.seen {
			if !now.Before(exp) {
				delete(u.seen, id)
			}
		}
		u.next = now.Add(time.Minute)
	}
	if _, ok := u.seen[t.ID]; ok {
		return false, nil
	}
	if len(u.seen) >= maxUsedTickets {
		return false, apierr.New(apierr.Unavailable, "too many single-use tickets in flight on this agent; try again")
	}
	u.seen[t.ID] = t.ExpiresAt
	return true, nil
}

// checkBinding refuses a ticket bound to another agent, and a single-use
// ticket run before on this one; each refusal is counted by reason.
func (s *Server) checkBinding(t taskplan.Task) error {
	if t.Agent != "" {
		if s.cfg.AgentID == nil || t.Agent != s.cfg.AgentID() {
			s.m.ticketsRefused.WithLabelValues("other_agent").Inc()
			return apierr.New(apierr.PermissionDenied, "ticket planned by another agent: run the query on this node's agent")
		}
	}
	if t.SingleUse {
		ok, err := s.used.first(t, s.cfg.Now())
		if err != nil {
			s.m.ticketsRefused.WithLabelValues("too_many").Inc()
			return err
		}
		if !ok {
			s.m.ticketsRefused.WithLabelValues("replayed").Inc()
			return apierr.New(apierr.PermissionDenied, "ticket already used: run the query again for a new one")
		}
	}
	return nil
}
