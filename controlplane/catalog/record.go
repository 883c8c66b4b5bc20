package catalog

import (
	"context"

	"github.com/nscale/nscale/controlplane/store"
)

// Record appends an audit event about data access (query plans, task
// reports from agents), stamped with the current policy version. It runs
// even when ctx is cancelled: an agent that reports and goes away still
// leaves its record.
func (s *Service) Record(ctx context.Context, e store.AuditEvent) error {
	ctx = context.WithoutCancel(ctx)
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		v, err := tx.PolicyVersion(ctx)
		if err != nil {
			return err
		}
		e.PolicyVersionBefore, e.PolicyVersionAfter = v, v
		_, err = tx.AppendAudit(ctx, e)
		return err
	})
}
