package store

import (
	"context"
	"log/slog"
)

// OpenAtVersion opens cfg's database like Open but migrates it only up to
// schema version version, for upgrade tests.
func OpenAtVersion(ctx context.Context, cfg Config, version int) (*Store, error) {
	return open(ctx, cfg, slog.New(slog.DiscardHandler), version)
}
