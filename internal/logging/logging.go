// Package logging builds the slog.Logger a daemon injects into its parts.
// Every string attribute passes through a redactor so a pre-signed URL, a
// token or a key that slips into a log line is masked before it is written.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Attribute keys shared by both daemons.
const (
	KeyComponent = "component"
	KeyRequestID = "request_id"
	KeyError     = "error"
	KeyCode      = "code"
	KeyMethod    = "method"
	KeyPath      = "path"
	KeyStatus    = "status"
	KeyDuration  = "duration"
	KeyUser      = "user"
)

// Config selects the format and level.
type Config struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json or text
}

// Validate reports a level or format that New would refuse.
func (c Config) Validate() error {
	if _, err := parseLevel(c.Level); err != nil {
		return err
	}
	switch c.Format {
	case "json", "text":
		return nil
	}
	return fmt.Errorf("log format %q: want json or text", c.Format)
}

// New returns a logger writing to w. redact, if not nil, rewrites every
// string value (and error text) before it is written.
func New(w io.Writer, c Config, redact func(string) string) (*slog.Logger, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	lvl, _ := parseLevel(c.Level)
	opts := &slog.HandlerOptions{Level: lvl}
	if redact != nil {
		opts.ReplaceAttr = func(_ []string, a slog.Attr) slog.Attr {
			switch a.Value.Kind() {
			case slog.KindString:
				return slog.String(a.Key, redact(a.Value.String()))
			case slog.KindAny:
				if err, ok := a.Value.Any().(error); ok {
					return slog.String(a.Key, redact(err.Error()))
				}
				if s, ok := a.Value.Any().(fmt.Stringer); ok {
					return slog.String(a.Key, redact(s.String()))
				}
			}
			return a
		}
	}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(w, opts)), nil
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
}
