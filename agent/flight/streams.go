package flight

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/tap"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/quota"
)

// Streams are bounded three ways so that one user cannot starve the
// others: a quota of concurrent streams per user, a global limit as the
// last resort, and a stall deadline that cuts a stream whose client takes
// no data (a client that never reads would otherwise hold its slot, its
// memory and its gRPC send forever).

// streamCtl lets the agent end a stream itself. gRPC cancels a stream's
// context only when the client goes away or the handler returns, and a
// handler blocked in Send to a client that reads nothing does neither; the
// tap handle below makes the stream's context one the agent can cancel,
// which unblocks that Send.
type streamCtl struct {
	cancel context.CancelCauseFunc
	done   chan struct{} // closed once the handler has returned
}

type streamCtlKey struct{}

// tapStream runs in the connection's reader goroutine before a stream
// exists, so it only allocates.
func tapStream(ctx context.Context, _ *tap.Info) (context.Context, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	return context.WithValue(ctx, streamCtlKey{}, &streamCtl{cancel: cancel, done: make(chan struct{})}), nil
}

func streamCtlOf(ctx context.Context) *streamCtl {
	c, _ := ctx.Value(streamCtlKey{}).(*streamCtl)
	return c
}

// streamEnd marks the end of every streaming handler, so that what a
// stream still holds can be released once nobody else can touch it.
func (s *Server) streamEnd(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if c := streamCtlOf(ss.Context()); c != nil {
		defer close(c.done)
	}
	return handler(srv, ss)
}

var errTooManyStreams = apierr.New(apierr.Unavailable, "too many concurrent streams (flight.max_streams): retry later")

// errUserStreams names the quota but not the other streams' users.
func errUserStreams(limit int) error {
	return apierr.New(apierr.Unavailable, "too many concurrent streams for this user (flight.max_streams_per_user is %d): retry later", limit)
}

// waitingPerSlot bounds how many of a user's streams may wait for one of
// the user's slots: generous for a client reading many endpoints at once,
// but a user cannot pile up waiting streams (a goroutine and a gRPC stream
// each) without end.
const waitingPerSlot = 8

// errUserQueue refuses a stream when the user already has the most
// streams waiting.
func errUserQueue(limit int) error {
	return apierr.New(apierr.Unavailable, "too many streams of this user waiting for a slot (flight.max_streams_per_user is %d, at most %d may wait): retry later",
		limit, waitingPerSlot*limit)
}

// admit takes a slot of the caller's quota, then a global one, then waits
// for the memory budget: each wait is bounded by AdmitWait, so that a
// client reading many endpoints at once (ADBC does) queues behind its own
// streams instead of failing, and gives up with UNAVAILABLE when the
// agent stays full. The user's slot comes first: a user at their quota
// holds no global slot while waiting for their own.
func (s *Server) admit(ctx context.Context, principal string) (release func(), err error) {
	wctx, cancel := context.WithTimeout(ctx, s.cfg.AdmitWait)
	defer cancel()
	if err := s.users.Wait(wctx, principal); err != nil {
		switch {
		case errors.Is(err, quota.ErrQueueFull):
			s.m.streamsRefused.WithLabelValues("user_queue").Inc()
			return nil, errUserQueue(s.cfg.MaxStreamsPerUser)
		case ctx.Err() != nil:
			return nil, ctx.Err()
		}
		s.m.streamsRefused.WithLabelValues("user_quota").Inc()
		return nil, errUserStreams(s.cfg.MaxStreamsPerUser)
	}
	select {
	case s.streams <- struct{}{}:
	case <-wctx.Done():
		s.users.Release(principal)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s.m.streamsRefused.WithLabelValues("max_streams").Inc()
		return nil, errTooManyStreams
	}
	s.m.activeStreams.Inc()
	release = func() { <-s.streams; s.users.Release(principal); s.m.activeStreams.Dec() }
	if err := s.cfg.Budget.admit(ctx, s.cfg.AdmitWait); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// errStalled is the cause of a stream cut for making no progress: what
// the client sees if it reads again, and what the task report says.
func errStalled(after time.Duration) error {
	return apierr.New(apierr.Unavailable, "stream cut: the client took no data for %s (flight.stall_timeout)", after)
}

// sendWatch follows the batches a stream handed to the Flight writer. A
// batch is pending from the moment it is queued until the writer releases
// it after sending; a release is progress. When batches are pending and
// none is released for the stall timeout, the stream is cut. When the
// handler has returned, the pending batches (the one whose send failed,
// the one still queued) are released here: the writer never will.
type sendWatch struct {
	mu          sync.Mutex
	stall       time.Duration
	cut         func()
	pending     map[*watchedBatch]struct{}
	timer       *time.Timer
	armed       time.Time // when the stall clock last started
	ended       bool
	cutForStall bool
}

func newSendWatch(stall time.Duration, cut func()) *sendWatch {
	return &sendWatch{stall: stall, cut: cut, pending: make(map[*watchedBatch]struct{})}
}

// track wraps rec so that its release by the writer counts as progress.
func (w *sendWatch) track(rec arrow.RecordBatch) arrow.RecordBatch {
	b := &watchedBatch{RecordBatch: rec, w: w}
	b.refs.Store(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		// Nobody will send it.
		rec.Release()
		return nil
	}
	w.pending[b] = struct{}{}
	if len(w.pending) == 1 {
		w.arm()
	}
	return b
}

// sent records that the writer is done with b.
func (w *sendWatch) sent(b *watchedBatch) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.pending[b]; !ok {
		return
	}
	delete(w.pending, b)
	b.RecordBatch.Release()
	// Progress: the clock starts again for what is still pending.
	w.timer.Stop()
	if len(w.pending) > 0 && !w.ended {
		w.arm()
	}
}

// arm starts (or restarts) the stall clock; w.mu is held.
func (w *sendWatch) arm() {
	w.armed = time.Now()
	if w.timer == nil {
		w.timer = time.AfterFunc(w.stall, w.fire)
		return
	}
	w.timer.Reset(w.stall)
}

func (w *sendWatch) fire() {
	w.mu.Lock()
	// A timer that fired just as progress restarted the clock is stale.
	stalled := len(w.pending) > 0 && !w.ended && time.Since(w.armed) >= w.stall
	w.cutForStall = w.cutForStall || stalled
	w.mu.Unlock()
	if stalled {
		w.cut()
	}
}

// wasCut reports whether the stream was cut for a stall.
func (w *sendWatch) wasCut() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cutForStall
}

// end releases what the writer left behind; call it once the handler
// has returned and the producer has stopped.
func (w *sendWatch) end() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ended = true
	if w.timer != nil {
		w.timer.Stop()
	}
	for b := range w.pending {
		delete(w.pending, b)
		b.RecordBatch.Release()
	}
}

// watchedBatch is a batch whose last release is reported to its watch.
type watchedBatch struct {
	arrow.RecordBatch
	w    *sendWatch
	refs atomic.Int64
}

func (b *watchedBatch) Retain() { b.refs.Add(1) }

func (b *watchedBatch) Release() {
	if b.refs.Add(-1) == 0 {
		b.w.sent(b)
	}
}
