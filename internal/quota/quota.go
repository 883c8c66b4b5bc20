// Package quota counts what each caller holds against a per-caller limit:
// agent streams per user, API requests per principal. A caller at its
// limit is refused (Acquire) or waits for one of its own slots to free
// (Wait), never for another caller's.
package quota

import (
	"context"
	"errors"
	"sync"
)

// ErrQueueFull is Wait's refusal when the key already has as many callers
// waiting as MaxWaiting allows: waiting costs the agent a goroutine and a
// stream each, and one caller must not pile up without bound.
var ErrQueueFull = errors.New("quota: too many callers waiting for this key")

// PerKey bounds how many slots each key holds at once. It is safe for
// concurrent use.
type PerKey struct {
	mu         sync.Mutex
	limit      int
	maxWaiting int // 0: no bound
	n          map[string]int
	waiting    map[string]int
	freed      chan struct{} // closed and replaced on every Release
}

// NewPerKey allows each key limit slots.
func NewPerKey(limit int) *PerKey {
	return &PerKey{limit: limit, n: make(map[string]int), waiting: make(map[string]int), freed: make(chan struct{})}
}

// NewQueue allows each key limit slots and at most maxWaiting callers
// waiting in Wait for one.
func NewQueue(limit, maxWaiting int) *PerKey {
	q := NewPerKey(limit)
	q.maxWaiting = maxWaiting
	return q
}

// Limit is the slots each key may hold.
func (q *PerKey) Limit() int { return q.limit }

// Acquire takes a slot for key, or reports false when key holds its limit.
func (q *PerKey) Acquire(key string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n[key] >= q.limit {
		return false
	}
	q.n[key]++
	return true
}

// Wait takes a slot for key, waiting while key holds its limit, until ctx
// ends (then it returns ctx's error and takes nothing). When key already
// has MaxWaiting callers waiting it returns ErrQueueFull at once.
func (q *PerKey) Wait(ctx context.Context, key string) error {
	q.mu.Lock()
	if q.n[key] < q.limit {
		q.n[key]++
		q.mu.Unlock()
		return nil
	}
	if q.maxWaiting > 0 && q.waiting[key] >= q.maxWaiting {
		q.mu.Unlock()
		return ErrQueueFull
	}
	q.waiting[key]++
	defer func() {
		q.mu.Lock()
		if q.waiting[key]--; q.waiting[key] <= 0 {
			delete(q.waiting, key)
		}
		q.mu.Unlock()
	}()
	for {
		freed := q.freed
		q.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return ctx.Err()
		}
		q.mu.Lock()
		if q.n[key] < q.limit {
			q.n[key]++
			q.mu.Unlock()
			return nil
		}
	}
}

// Release gives back a slot Acquire or Wait took; a key holding none is
// forgotten.
func (q *PerKey) Release(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n[key]--; q.n[key] <= 0 {
		delete(q.n, key)
	}
	close(q.freed)
	q.freed = make(chan struct{})
}

// Held is the slots key holds now.
func (q *PerKey) Held(key string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n[key]
}
