// Package run starts the long-running parts of a daemon. Every part is a
// func(ctx) error that returns nil once ctx is cancelled; the first part to
// fail cancels the others, and a panic becomes an error instead of killing
// the process without a word.
package run

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// Task is a named long-running part of a daemon.
type Task struct {
	Name string
	Run  func(ctx context.Context) error
}

// ErrShutdownTimeout is returned when parts are still running after the
// shutdown timeout.
var ErrShutdownTimeout = errors.New("shutdown timed out")

// PanicError is what a panicking task returns.
type PanicError struct {
	Task  string
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("task %s panicked: %v", e.Task, e.Value) }

// Group runs tasks until ctx is cancelled or one of them fails. It returns the
// first error (nil if every task returned nil after cancellation). Once the
// group starts stopping, tasks get shutdownTimeout to return; after that
// Group returns ErrShutdownTimeout wrapped with the names still running.
func Group(ctx context.Context, shutdownTimeout time.Duration, tasks ...Task) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type result struct {
		name string
		err  error
	}
	results := make(chan result, len(tasks))
	var mu sync.Mutex
	running := make(map[string]int, len(tasks))
	for _, t := range tasks {
		mu.Lock()
		running[t.Name]++
		mu.Unlock()
		go func(t Task) {
			err := call(ctx, t)
			mu.Lock()
			if running[t.Name]--; running[t.Name] == 0 {
				delete(running, t.Name)
			}
			mu.Unlock()
			results <- result{t.Name, err}
		}(t)
	}

	var first error
	remaining := len(tasks)
	for remaining > 0 {
		select {
		case r := <-results:
			remaining--
			if r.err != nil && first == nil && !(errors.Is(r.err, context.Canceled) && ctx.Err() != nil) {
				first = fmt.Errorf("%s: %w", r.name, r.err)
			}
			// Any task returning, even cleanly, stops the daemon: a part
			// that quietly exits would leave the process half-alive.
			cancel()
		case <-ctx.Done():
			timer := time.NewTimer(shutdownTimeout)
			for remaining > 0 {
				select {
				case r := <-results:
					remaining--
					if r.err != nil && first == nil && !errors.Is(r.err, context.Canceled) {
						first = fmt.Errorf("%s: %w", r.name, r.err)
					}
				case <-timer.C:
					mu.Lock()
					names := make([]string, 0, len(running))
					for n := range running {
						names = append(names, n)
					}
					mu.Unlock()
					return fmt.Errorf("%w after %s; still running: %v", ErrShutdownTimeout, shutdownTimeout, names)
				}
			}
			timer.Stop()
		}
	}
	return first
}

func call(ctx context.Context, t Task) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Task: t.Name, Value: v, Stack: debug.Stack()}
		}
	}()
	return t.Run(ctx)
}
