package fetch

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// Small sequential reads of interleaved regions (a Parquet scan reading
// several column chunks) become a few large range requests, and return
// exactly the object's bytes, up to its end.
func TestReadAheadCoalesces(t *testing.T) {
	obj := make([]byte, 3<<20+12345)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range obj {
		obj[i] = byte(rng.IntN(256))
	}
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.ServeContent(w, r, "obj", time.Time{}, bytes.NewReader(obj))
	}))
	defer srv.Close()
	src := func(context.Context) (string, time.Time, error) { return srv.URL, time.Now().Add(time.Hour), nil }
	r, err := NewReader(context.Background(), src, int64(len(obj)), Config{ReadAhead: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	const piece = 16 << 10
	regions := []int64{0, 1 << 20, 2 << 20}
	reads := 0
	for step := int64(0); step < 1<<20; step += piece {
		for _, base := range regions {
			off := base + step
			p := make([]byte, piece)
			n, err := r.ReadAt(p, off)
			if err != nil && !(err == io.EOF && off+piece > int64(len(obj))) {
				t.Fatalf("ReadAt(%d): %v", off, err)
			}
			if !bytes.Equal(p[:n], obj[off:off+int64(n)]) {
				t.Fatalf("ReadAt(%d) returned other bytes", off)
			}
			reads++
		}
	}
	// The tail, shorter than a window.
	p := make([]byte, 20000)
	n, err := r.ReadAt(p, int64(len(obj))-12345)
	if n != 12345 || err != io.EOF || !bytes.Equal(p[:n], obj[len(obj)-12345:]) {
		t.Fatalf("tail: %d bytes, %v", n, err)
	}
	if got := requests.Load(); got > 16 {
		t.Fatalf("%d reads took %d range requests; want them coalesced into about 12", reads, got)
	}
	if st := r.Stats(); st.Requests != requests.Load() {
		t.Fatalf("stats count %d requests, the server saw %d", st.Requests, requests.Load())
	}
}
