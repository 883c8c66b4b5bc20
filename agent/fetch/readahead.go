package fetch

import (
	"context"
	"sync"
)

// windows keeps the last few read-ahead windows of a Reader. A Parquet
// scan reads each column of a row group sequentially in small pieces, the
// columns interleaved; one window per column in flight turns those pieces
// into a few large range requests (coalescing), and holds at most
// maxWindows × ReadAhead bytes.
type windows struct {
	mu   sync.Mutex
	list []window // most recently used last
}

type window struct {
	off  int64
	data []byte
}

const maxWindows = 8

// copy fills p from a window that holds all of [off, off+len(p)).
func (w *windows) copy(p []byte, off int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, win := range w.list {
		if off >= win.off && off+int64(len(p)) <= win.off+int64(len(win.data)) {
			copy(p, win.data[off-win.off:])
			if i != len(w.list)-1 { // move to the back: recently used
				w.list = append(append(w.list[:i:i], w.list[i+1:]...), win)
			}
			return true
		}
	}
	return false
}

func (w *windows) add(off int64, data []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.list) >= maxWindows {
		w.list = append(w.list[:0:0], w.list[1:]...)
	}
	w.list = append(w.list, window{off: off, data: data})
}

// readAhead serves a read smaller than cfg.ReadAhead from a window, fetching
// one window of ReadAhead bytes (or to the end of the object) at off when
// no window holds it. want is len(p) capped at the object's end.
func (r *Reader) readAhead(ctx context.Context, p []byte, off int64) (int, error) {
	if r.win.copy(p, off) {
		return len(p), nil
	}
	n := int64(r.cfg.ReadAhead)
	if rest := r.size - off; n > rest {
		n = rest
	}
	buf := make([]byte, n)
	got, err := r.readRange(ctx, buf, off)
	if err != nil {
		return 0, err
	}
	r.win.add(off, buf[:got])
	return copy(p, buf), nil
}
