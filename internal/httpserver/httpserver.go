// Package httpserver gives an http.Server the Run(ctx) lifecycle: it serves
// until ctx is cancelled, then drains connections within a timeout.
package httpserver

import (
	"cmp"
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
	// ReadTimeout bounds reading a whole request (default 30 s) and
	// IdleTimeout an idle keep-alive connection (default 120 s), so that
	// slow or idle clients hold no connection for long. There is no write
	// timeout: /blob/ streams objects for as long as the agent reads.
	ReadTimeout time.Duration
	IdleTimeout time.Duration
}

// maxHeaderBytes bounds request headers; bearer tokens are short.
const maxHeaderBytes = 64 << 10

// Run serves until ctx is cancelled and returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	srv := &http.Server{
		Handler:           s.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cmp.Or(s.ReadTimeout, 30*time.Second),
		IdleTimeout:       cmp.Or(s.IdleTimeout, 120*time.Second),
		MaxHeaderBytes:    maxHeaderBytes,
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
