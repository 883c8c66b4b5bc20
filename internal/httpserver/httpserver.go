// Package httpserver gives an http.Server the Run(ctx) lifecycle: it serves
// until ctx is cancelled, then drains connections within a timeout.
package httpserver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server serves Handler on Listener.
type Server struct {
	Name            string
	Listener        net.Listener
	Handler         http.Handler
	Logger          *slog.Logger
	ShutdownTimeout time.Duration
}

// Run serves until ctx is cancelled and returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	srv := &http.Server{
		Handler:           s.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	s.Logger.Info("listening", "server", s.Name, "addr", s.Listener.Addr().String())
	go func() { errc <- srv.Serve(s.Listener) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	if err != nil {
		_ = srv.Close()
		return err
	}
	return nil
}
