package planner

import (
	"context"
	"sync"

	"github.com/nscale/nscale/controlplane/schema"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/taskplan"
)

// splitFile divides a Parquet file larger than the target into objects of
// consecutive row groups of about the target each. A footer that cannot be
// read leaves the file whole: reading it whole is always correct, only
// less parallel, and the agent reports a corrupt file itself.
func (p *Planner) splitFile(ctx context.Context, loc string, f store.File, obj taskplan.Object) []taskplan.Object {
	groups, ok := p.footers.get(f)
	if !ok {
		var err error
		if groups, err = p.rowGroups.RowGroups(ctx, loc, f); err != nil {
			return nil
		}
		p.footers.put(f, groups)
	}
	if len(groups) < 2 {
		return nil
	}
	var out []taskplan.Object
	var cur []int
	var bytes int64
	for i, g := range groups {
		if len(cur) > 0 && bytes+g.TotalBytes > p.target {
			o := obj
			o.RowGroups = cur
			out = append(out, o)
			cur, bytes = nil, 0
		}
		cur = append(cur, i)
		bytes += g.TotalBytes
	}
	o := obj
	o.RowGroups = cur
	return append(out, o)
}

// footerCache keeps the row groups of recently split files; a file
// rewritten in place has another size or ETag and misses.
type footerCache struct {
	mu    sync.Mutex
	max   int
	items map[footerKey][]schema.RowGroup
}

type footerKey struct {
	path, etag string
	size       int64
}

func newFooterCache(max int) *footerCache {
	return &footerCache{max: max, items: map[footerKey][]schema.RowGroup{}}
}

func (c *footerCache) get(f store.File) ([]schema.RowGroup, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.items[footerKey{f.Path, f.ETag, f.Size}]
	return g, ok
}

func (c *footerCache) put(f store.File, g []schema.RowGroup) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.items) >= c.max {
		for k := range c.items { // drop an arbitrary entry; the cache only saves reads
			delete(c.items, k)
			break
		}
	}
	c.items[footerKey{f.Path, f.ETag, f.Size}] = g
}
