// Package quota counts what each caller holds against a per-caller limit:
// agent streams per user, API requests per principal. A caller at its
// limit is refused at once rather than queued, so that waiting callers
// cannot pile up either.
package quota

import "sync"

// PerKey bounds how many slots each key holds at once. It is safe for
// concurrent use.
type PerKey struct {
	mu    sync.Mutex
	limit int
	n     map[string]int
}

// NewPerKey allows each key limit slots.
func NewPerKey(limit int) *PerKey {
	return &PerKey{limit: limit, n: make(map[string]int)}
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

// Release gives back a slot Acquire took; a key holding none is forgotten.
func (q *PerKey) Release(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n[key]--; q.n[key] <= 0 {
		delete(q.n, key)
	}
}

// Held is the slots key holds now.
func (q *PerKey) Held(key string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n[key]
}
