package quota

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
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

// Wait takes a slot as soon as one of the key's own frees, and gives up at
// its deadline; another key's slots do not count.
func TestPerKeyWait(t *testing.T) {
	q := NewPerKey(1)
	if err := q.Wait(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := q.Wait(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a at its limit: %v, want the deadline", err)
	}
	if q.Held("a") != 1 {
		t.Fatalf("a timed-out wait took a slot: %d held", q.Held("a"))
	}
	if err := q.Wait(context.Background(), "b"); err != nil {
		t.Fatalf("b waited for a's slot: %v", err)
	}
	got := make(chan error, 1)
	go func() { got <- q.Wait(context.Background(), "a") }()
	select {
	case err := <-got:
		t.Fatalf("a took a slot while holding its limit: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	q.Release("b") // not a's: a keeps waiting
	select {
	case err := <-got:
		t.Fatalf("a took a slot b freed: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	q.Release("a")
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a's waiter did not get the slot a freed")
	}
}

// Callers beyond MaxWaiting are refused at once instead of piling up.
func TestQueueBound(t *testing.T) {
	q := NewQueue(1, 2)
	if err := q.Wait(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- q.Wait(ctx, "a") }()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		q.mu.Lock()
		w := q.waiting["a"]
		q.mu.Unlock()
		if w == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiting, want 2", w)
		}
		time.Sleep(time.Millisecond)
	}
	begin := time.Now()
	if err := q.Wait(context.Background(), "a"); !errors.Is(err, ErrQueueFull) || time.Since(begin) > time.Second {
		t.Fatalf("a third waiter: %v after %s, want ErrQueueFull at once", err, time.Since(begin))
	}
	if err := q.Wait(context.Background(), "b"); err != nil {
		t.Fatalf("another key is refused for a's queue: %v", err)
	}
	cancel()
	for range 2 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Fatalf("a cancelled waiter: %v", err)
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.waiting) != 0 || q.n["a"] != 1 {
		t.Fatalf("after the waiters left: waiting %v, held %d", q.waiting, q.n["a"])
	}
}
