package flight

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"

	"github.com/nscale/nscale/agent/task"
	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/logging"
	"github.com/nscale/nscale/internal/mask"
	"github.com/nscale/nscale/internal/redact"
	"github.com/nscale/nscale/internal/taskplan"
)

// maxReportMessage bounds the error text sent with a task report.
const maxReportMessage = 1024

// DoGetStatement runs one signed task. The statement handle is the ticket
// the control plane signed; it is verified for the caller's principal
// before anything is read, so a ticket of another user, a tampered one or
// an expired one reads nothing.
func (s *Server) DoGetStatement(ctx context.Context, cmd flightsql.StatementQueryTicket) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	c, err := callerOf(ctx)
	if err != nil {
		return nil, nil, err
	}
	ticket := cmd.GetStatementHandle()
	t, err := s.keys.Verify(ctx, ticket, c.principal)
	if err != nil {
		return nil, nil, err
	}
	if err := s.checkBinding(t); err != nil {
		return nil, nil, err
	}
	key, err := s.keys.MaskingKey()
	if err != nil {
		return nil, nil, err
	}
	schema, err := taskSchema(t)
	if err != nil {
		return nil, nil, err
	}
	// Admission after the checks: a ticket that cannot run never waits.
	release, err := s.admit(ctx, c.principal)
	if err != nil {
		return nil, nil, err
	}
	// One batch waits in the channel while the Flight writer sends another:
	// at most two per stream, and task.Run blocks when the client is slow.
	ch := make(chan flight.StreamChunk, 1)
	ctl := streamCtlOf(ctx)
	if ctl == nil {
		release()
		return nil, nil, apierr.New(apierr.Internal, "flight: stream without a stream control")
	}
	stall := s.cfg.StallTimeout
	watch := newSendWatch(stall, func() {
		s.m.streamsStalled.Inc()
		ctl.cancel(errStalled(stall))
	})
	go func() {
		// The slot is free before the client sees the end of the stream.
		defer close(ch)
		defer release()
		s.runTask(ctx, ticket, t, schema, key, watch, ch)
	}()
	go func() {
		// Once the handler has returned nobody sends or releases what
		// it left; the producer has stopped by then too (the stream's
		// context is done), and close(ch) above precedes the return.
		<-ctl.done
		watch.end()
	}()
	return schema, ch, nil
}

// runTask streams t's batches into ch, then reports the task in the
// background.
func (s *Server) runTask(ctx context.Context, ticket []byte, t taskplan.Task, schema *arrow.Schema, key mask.Key, watch *sendWatch, ch chan<- flight.StreamChunk) {
	start := s.cfg.Now()
	emit := func(rec arrow.RecordBatch) error {
		if !sameColumns(rec.Schema(), schema) {
			// Never stream a batch the announced schema does not describe.
			return apierr.New(apierr.Internal, "task %s produced a batch whose schema differs from the announced one", t.ID)
		}
		// The batch goes out under the announced schema, column metadata
		// included; it retains rec's columns, which task.Run releases
		// when emit returns.
		out := watch.track(array.NewRecordBatch(schema, rec.Columns(), rec.NumRows()))
		if out == nil {
			return context.Cause(ctx)
		}
		select {
		case ch <- flight.StreamChunk{Data: out}:
			return nil
		case <-ctx.Done():
			out.Release()
			return context.Cause(ctx)
		}
	}
	st, err := task.Run(ctx, t, s.signer(ticket), key, s.cfg.Fetch, s.mem, emit)
	elapsed := s.cfg.Now().Sub(start)
	if err != nil && ctx.Err() == nil {
		select {
		case ch <- flight.StreamChunk{Err: err}: // mapped by the error interceptor
		case <-ctx.Done():
		}
	}
	switch {
	case watch.wasCut():
		// Cut by the agent, not left by the client: the audit says so.
		err = context.Cause(ctx)
	case ctx.Err() != nil && err != nil:
		err = errors.Join(context.Canceled, err) // the client went away first
	}
	s.m.tasks.WithLabelValues(outcome(err)).Inc()
	s.m.rowsReturned.Add(float64(st.RowsReturned))
	s.m.bytesRead.Add(float64(st.BytesRead))
	s.m.urlRenewals.Add(float64(st.Renewals))
	s.m.taskDuration.Observe(elapsed.Seconds())
	s.report(ticket, t, st, elapsed, callerUID(ctx), err)
}

// signer backs task.URLs by the control plane's deferred signing: one URL
// per object, asked for just before the read and again on renewal.
func (s *Server) signer(ticket []byte) task.URLs {
	return func(ctx context.Context, obj taskplan.Object) (string, time.Time, error) {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
		defer cancel()
		resp, err := s.cp.SignURLs(cctx, &agentapi.SignURLsRequest{Ticket: ticket, Paths: []string{obj.Path}})
		if err != nil {
			return "", time.Time{}, relay(err)
		}
		for _, u := range resp.GetUrls() {
			if u.GetPath() != obj.Path {
				continue
			}
			if u.GetUrl() == "" || u.GetExpiresAt() == nil {
				break
			}
			return u.GetUrl(), u.GetExpiresAt().AsTime(), nil
		}
		return "", time.Time{}, apierr.New(apierr.Internal, "control plane sent no URL for object %s", obj.Path)
	}
}

// report tells the control plane what happened, in the background: the
// client's stream is already complete, and a lost report is logged, not
// fatal. Run waits for pending reports when it stops.
func (s *Server) report(ticket []byte, t taskplan.Task, st task.Stats, elapsed time.Duration, uid int64, err error) {
	req := &agentapi.ReportTaskRequest{
		Ticket:    ticket,
		CallerUid: uid,
		Stats: &agentapi.TaskStats{
			Objects:      st.Objects,
			RowsRead:     st.RowsRead,
			RowsReturned: st.RowsReturned,
			BytesRead:    st.BytesRead,
			UrlRenewals:  st.Renewals,
			DurationMs:   elapsed.Milliseconds(),
		},
	}
	if err != nil {
		req.ErrorCode, req.ErrorMessage = reportError(err)
	}
	s.reports.Add(1)
	go func() {
		defer s.reports.Done()
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ReportTimeout)
		defer cancel()
		if _, err := s.cp.ReportTask(ctx, req); err != nil {
			s.log.Warn("reporting a task failed", "task", t.ID, "query_id", t.QueryID, logging.KeyError, relay(err))
		}
	}()
}

// reportError renders err for the control plane's audit. A stream cut
// short (a client that stopped reading, as Spark does after a LIMIT, or the
// agent shutting down) is reported as UNAVAILABLE "stream cancelled ..." so
// that the audit tells it from a failure to read or enforce.
func reportError(err error) (code, message string) {
	if errors.Is(err, context.Canceled) {
		return string(apierr.Unavailable), "stream cancelled before its end (client gone or agent stopping)"
	}
	msg := redact.String(err.Error())
	if len(msg) > maxReportMessage {
		msg = msg[:maxReportMessage]
	}
	// Proto strings must be UTF-8; a cut rune or an odd path must not
	// make the report unmarshalable.
	return string(apierr.CodeOf(err)), strings.ToValidUTF8(msg, "\uFFFD")
}
