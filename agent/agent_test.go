package agent

import (
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRefusesRootUnlessAllowed(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cases := []struct {
		name  string
		uid   int
		allow bool
		want  error
	}{
		{"root refused", 0, false, ErrRoot},
		{"root with --allow-root", 0, true, nil},
		{"unprivileged user", 1000, false, nil},
	}
	for _, tc := range cases {
		cfg := DefaultConfig()
		cfg.AllowRoot = tc.allow
		_, err := newAgent(cfg, log, prometheus.NewRegistry(), func() int { return tc.uid })
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	// The root refusal comes before any other configuration error.
	cfg := DefaultConfig()
	if _, err := newAgent(cfg, log, prometheus.NewRegistry(), func() int { return 0 }); !errors.Is(err, ErrRoot) {
		t.Errorf("root without a token: err = %v, want ErrRoot", err)
	}
}
