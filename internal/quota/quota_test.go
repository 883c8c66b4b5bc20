package quota

import (
	"sync"
	"testing"
)

func TestPerKey(t *testing.T) {
	q := NewPerKey(2)
	for i := range 2 {
		if !q.Acquire("a") {
			t.Fatalf("a could not take slot %d of 2", i+1)
		}
	}
	if q.Acquire("a") {
		t.Fatal("a took a third slot")
	}
	if !q.Acquire("b") {
		t.Fatal("b was refused while a is at its limit")
	}
	q.Release("a")
	if !q.Acquire("a") {
		t.Fatal("a could not take back a released slot")
	}
	q.Release("a")
	q.Release("a")
	q.Release("b")
	if len(q.n) != 0 {
		t.Fatalf("keys holding nothing are kept: %v", q.n)
	}
}

// Concurrent callers never hold more than the limit.
func TestPerKeyConcurrent(t *testing.T) {
	q := NewPerKey(3)
	var wg sync.WaitGroup
	var mu sync.Mutex
	max := 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if q.Acquire("k") {
					mu.Lock()
					max = maxInt(max, q.Held("k"))
					mu.Unlock()
					q.Release("k")
				}
			}
		}()
	}
	wg.Wait()
	if max > 3 {
		t.Fatalf("held %d slots at once, limit 3", max)
	}
	if q.Held("k") != 0 {
		t.Fatalf("%d slots left held", q.Held("k"))
	}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
