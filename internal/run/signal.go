package run

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// SignalContext returns a context cancelled by the first SIGINT or SIGTERM.
// A second signal calls forceExit (os.Exit(1) in production) so an operator
// can always stop a daemon whose shutdown hangs. The returned stop function
// releases the signal handler.
func SignalContext(parent context.Context, onSignal func(os.Signal), forceExit func()) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	stopped := make(chan struct{})
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		for n := 0; ; n++ {
			select {
			case sig := <-ch:
				if onSignal != nil {
					onSignal(sig)
				}
				if n == 0 {
					cancel()
					continue
				}
				forceExit()
				return
			case <-stopped:
				return
			}
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(ch)
			close(stopped)
			cancel()
		})
	}
}
