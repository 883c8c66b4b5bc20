package run_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nscale/nscale/internal/run"
)

func waitCtx(ctx context.Context) error { <-ctx.Done(); return nil }

func TestGroupFirstErrorCancelsOthers(t *testing.T) {
	boom := errors.New("boom")
	var stoppedCleanly atomic.Int32
	err := run.Group(context.Background(), time.Second,
		run.Task{Name: "a", Run: func(ctx context.Context) error { <-ctx.Done(); stoppedCleanly.Add(1); return nil }},
		run.Task{Name: "b", Run: func(ctx context.Context) error { <-ctx.Done(); stoppedCleanly.Add(1); return nil }},
		run.Task{Name: "failing", Run: func(ctx context.Context) error { return boom }},
	)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if !strings.Contains(err.Error(), "failing") {
		t.Errorf("error %q does not name the failing task", err)
	}
	if got := stoppedCleanly.Load(); got != 2 {
		t.Errorf("%d tasks saw cancellation, want 2", got)
	}
}

func TestGroupCancelReturnsNil(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run.Group(ctx, time.Second, run.Task{Name: "a", Run: waitCtx}, run.Task{Name: "b", Run: waitCtx})
	}()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Group after cancel = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Group did not return after cancel")
	}
}

func TestGroupCleanReturnStopsOthers(t *testing.T) {
	err := run.Group(context.Background(), time.Second,
		run.Task{Name: "quits", Run: func(context.Context) error { return nil }},
		run.Task{Name: "waits", Run: waitCtx},
	)
	if err != nil {
		t.Fatalf("err = %v", err)
	}
}

func TestGroupPanicBecomesError(t *testing.T) {
	err := run.Group(context.Background(), time.Second,
		run.Task{Name: "panicky", Run: func(context.Context) error { panic("kaboom") }},
		run.Task{Name: "waits", Run: waitCtx},
	)
	var pe *run.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want PanicError", err)
	}
	if pe.Task != "panicky" || pe.Value != "kaboom" || len(pe.Stack) == 0 {
		t.Errorf("panic error = %+v", pe)
	}
}

func TestGroupShutdownTimeoutNamesStuckTask(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	err := run.Group(ctx, 100*time.Millisecond,
		run.Task{Name: "stuck", Run: func(context.Context) error { <-release; return nil }},
		run.Task{Name: "fine", Run: waitCtx},
	)
	if !errors.Is(err, run.ErrShutdownTimeout) {
		t.Fatalf("err = %v, want ErrShutdownTimeout", err)
	}
	if !strings.Contains(err.Error(), "stuck") || strings.Contains(err.Error(), "fine") {
		t.Errorf("error %q should name only the stuck task", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("timeout took %s", time.Since(start))
	}
}

func TestSignalContext(t *testing.T) {
	forced := make(chan struct{}, 1)
	ctx, stop := run.SignalContext(context.Background(), nil, func() { forced <- struct{}{} })
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("first SIGTERM did not cancel the context")
	}
	select {
	case <-forced:
		t.Fatal("first signal forced exit")
	default:
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-forced:
	case <-time.After(5 * time.Second):
		t.Fatal("second signal did not force exit")
	}
}
