package agentrpc

import (
	"context"
	"encoding/json"
	"time"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/redact"
)

// ReportTask stores what an agent did with a task as a task.read audit
// event. Who read which table under which policy comes from the signed
// ticket; only the counts and the outcome are the agent's word. A ticket
// that expired since is accepted (long scans finish after expiry); a
// forged one is not.
func (s *Service) ReportTask(ctx context.Context, req *agentapi.ReportTaskRequest) (*agentapi.ReportTaskResponse, error) {
	v, err := s.verifier()
	if err != nil {
		return nil, err
	}
	raw, err := s.open(req.GetTicket())
	if err != nil {
		return nil, err
	}
	task, err := v.VerifySignature(raw)
	if err != nil {
		return nil, err
	}
	st := req.GetStats()
	if st == nil {
		return nil, apierr.New(apierr.InvalidArgument, "a task report needs stats")
	}
	for _, n := range []int64{st.Objects, st.RowsRead, st.RowsReturned, st.BytesRead, st.UrlRenewals, st.DurationMs} {
		if n < 0 {
			return nil, apierr.New(apierr.InvalidArgument, "task stats must not be negative")
		}
	}
	code := req.GetErrorCode()
	if code != "" && !known(code) {
		return nil, apierr.New(apierr.InvalidArgument, "unknown error code %q", code)
	}
	masks := map[string]string{}
	for _, c := range task.Columns {
		if c.Mask != nil {
			masks[c.Name] = c.Mask.String()
		}
	}
	detail := map[string]any{
		"query_id": task.QueryID, "task_id": task.ID, "policy_version": task.PolicyVersion, "policy_hash": task.PolicyHash,
		"objects": st.Objects, "rows_read": st.RowsRead, "rows_returned": st.RowsReturned, "bytes_read": st.BytesRead,
		"url_renewals": st.UrlRenewals, "duration_ms": st.DurationMs, "masks": masks,
		// Who read it on the node: the agent (its certificate) and the
		// local uid of the process it served (SO_PEERCRED, sock_diag).
		"caller_uid": req.GetCallerUid(),
	}
	if id, ok := agentOf(ctx); ok {
		detail["agent"] = id.Agent
	}
	if task.RowFilter.Expr != nil {
		detail["row_filter"] = task.RowFilter.Expr.String()
	}
	if task.Predicate.Expr != nil {
		detail["predicate"] = task.Predicate.Expr.String()
	}
	e := store.AuditEvent{Actor: task.Principal, Action: "task.read", Target: "table " + task.Table, Outcome: "ok", RequestID: task.QueryID}
	label := "OK"
	if code != "" {
		detail["code"], detail["message"] = code, truncate(redact.String(req.GetErrorMessage()), 2000)
		e.Outcome = "failed"
		if apierr.Code(code) == apierr.PermissionDenied || apierr.Code(code) == apierr.Unauthenticated {
			e.Outcome = "denied"
		}
		label = code
	}
	e.Detail, _ = json.Marshal(detail)
	if err := s.cfg.Catalog.Record(ctx, e); err != nil {
		return nil, err
	}
	s.m.taskReports.WithLabelValues(label).Inc()
	s.m.rowsReturned.Add(float64(st.RowsReturned))
	s.m.bytesRead.Add(float64(st.BytesRead))
	s.m.taskSeconds.Observe((time.Duration(st.DurationMs) * time.Millisecond).Seconds())
	return &agentapi.ReportTaskResponse{}, nil
}

func known(code string) bool {
	for _, c := range apierr.Codes {
		if string(c) == code {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
