package agentrpc_test

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// Plan sends a page that is not full once agentrpc.PageInterval has passed
// since its last message, so that the first tickets of a long plan do not
// wait for the whole page; the stream stays header, pages, one totals.
func TestPlanFlushesPagesByTime(t *testing.T) {
	for _, c := range []struct {
		name  string
		step  time.Duration // the clock advances this much at every reading
		sizes []int
	}{
		{"frozen clock: pages by size only", 0, []int{5}},
		{"a second per reading: every ticket its own page", time.Second, []int{1, 1, 1, 1, 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var mu sync.Mutex
			now := time.Now()
			clock := func() time.Time {
				mu.Lock()
				defer mu.Unlock()
				now = now.Add(c.step)
				return now
			}
			// One task per file: five tickets, under the default page size.
			p := newPlanBench(t, 5, planOptions{targetTaskBytes: 1, now: clock})
			got, err := p.plan()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.pageSizes, c.sizes) || got.totals.GetTasks() != 5 || got.totals.GetFiles() != 5 {
				t.Fatalf("pages of %v tickets, totals %v; want pages %v and 5 tasks of 5 files", got.pageSizes, got.totals, c.sizes)
			}
		})
	}
}
