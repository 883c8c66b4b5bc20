package flight

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/nscale/nscale/internal/apierr"
)

// Budget is an allocator that counts the bytes it holds, so that the agent
// admits a new stream only while its Arrow memory is under a budget. Each
// stream already holds at most a row group being decoded and two batches
// (the Flight writer blocks on a slow client, and the scan waits for it);
// the budget bounds how many such streams run at once by memory rather
// than by count alone.
type Budget struct {
	inner memory.Allocator
	limit int64
	used  atomic.Int64
}

// NewBudget counts inner's allocations against limit bytes (0: no limit).
func NewBudget(inner memory.Allocator, limit int64) *Budget {
	if inner == nil {
		inner = memory.NewGoAllocator()
	}
	return &Budget{inner: inner, limit: limit}
}

func (b *Budget) Allocate(size int) []byte {
	buf := b.inner.Allocate(size)
	b.used.Add(int64(len(buf)))
	return buf
}

func (b *Budget) Reallocate(size int, old []byte) []byte {
	n := len(old)
	buf := b.inner.Reallocate(size, old)
	b.used.Add(int64(len(buf) - n))
	return buf
}

func (b *Budget) Free(buf []byte) {
	b.used.Add(-int64(len(buf)))
	b.inner.Free(buf)
}

// InUse is the bytes allocated and not yet freed.
func (b *Budget) InUse() int64 { return b.used.Load() }

// admit waits while the memory in use is at or over the limit: the new
// stream's client waits (backpressure) rather than the node running out of
// memory. It gives up with Unavailable after wait.
func (b *Budget) admit(ctx context.Context, wait time.Duration) error {
	if b == nil || b.limit <= 0 || b.used.Load() < b.limit {
		return nil
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for b.used.Load() >= b.limit {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return apierr.New(apierr.Unavailable, "the agent's memory budget is in use (%d of %d bytes); retry later", b.used.Load(), b.limit)
		case <-tick.C:
		}
	}
	return nil
}
