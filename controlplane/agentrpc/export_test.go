package agentrpc

import "context"

// RefreshRevocations reads the revoked agents now (Run does it on a timer).
func (s *Service) RefreshRevocations(ctx context.Context) { s.refreshRevocations(ctx) }
