package flight

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/apierr"
)

// A stream waits while the budget is in use and starts when memory frees;
// it gives up with Unavailable after the wait.
func TestBudgetAdmission(t *testing.T) {
	b := NewBudget(memory.NewGoAllocator(), 1<<20)
	if err := b.admit(context.Background(), time.Second); err != nil {
		t.Fatalf("empty budget: %v", err)
	}
	buf := b.Allocate(2 << 20)
	if b.InUse() < 2<<20 {
		t.Fatalf("in use = %d after allocating 2 MiB", b.InUse())
	}
	err := b.admit(context.Background(), 50*time.Millisecond)
	if !apierr.Is(err, apierr.Unavailable) {
		t.Fatalf("over budget: %v, want UNAVAILABLE", err)
	}
	done := make(chan error, 1)
	go func() { done <- b.admit(context.Background(), 5*time.Second) }()
	select {
	case err := <-done:
		t.Fatalf("admitted while over budget: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	buf = b.Reallocate(4<<20, buf)
	b.Free(buf)
	if b.InUse() != 0 {
		t.Fatalf("in use = %d after freeing everything", b.InUse())
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("after memory freed: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a waiting stream was not admitted after memory was freed")
	}
	var none *Budget
	if err := none.admit(context.Background(), 0); err != nil {
		t.Fatalf("no budget: %v", err)
	}
}
