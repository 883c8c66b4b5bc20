package flight

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"

	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/apierr"
)

var errTransactions = apierr.New(apierr.InvalidArgument, "transactions are not supported: nscale is read-only")

// plan is what the control plane answered for one SQL statement.
type plan struct {
	header  *agentapi.PlanHeader
	schema  *arrow.Schema
	tickets [][]byte
}

// plan asks the control plane to plan sql for the caller. With schemaOnly
// it reads just the header. Otherwise it reads the whole stream: header,
// ticket pages, totals, end of stream. A stream that ends without totals,
// or whose totals disagree with the tickets received, is refused: serving
// part of a plan would silently return part of the data.
func (s *Server) plan(ctx context.Context, sql string, schemaOnly bool) (p plan, err error) {
	defer func() { s.m.plans.WithLabelValues(outcome(err)).Inc() }()
	c, err := callerOf(ctx)
	if err != nil {
		return plan{}, err
	}
	if n := len(sql); n > agentapi.MaxStatementBytes {
		// A user mistake, not a transport failure: say so before the
		// control plane's message limit does.
		return plan{}, apierr.New(apierr.InvalidArgument, "the statement is %d bytes; at most %d are accepted", n, agentapi.MaxStatementBytes)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The whole stream may take long for a big table; what must not take
	// long is the wait for the next message.
	var idle atomic.Bool
	watchdog := time.AfterFunc(s.cfg.CallTimeout, func() { idle.Store(true); cancel() })
	defer watchdog.Stop()
	recvErr := func(err error) error {
		if idle.Load() {
			return apierr.New(apierr.Unavailable, "control plane did not answer the plan within %s", s.cfg.CallTimeout)
		}
		return relay(err)
	}

	stream, err := s.cp.Plan(ctx, &agentapi.PlanRequest{UserToken: c.token, Sql: sql, PageSize: s.cfg.PageSize, SchemaOnly: schemaOnly})
	if err != nil {
		return plan{}, recvErr(err)
	}
	first, err := stream.Recv()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return plan{}, apierr.New(apierr.Unavailable, "control plane ended the plan before its header")
		}
		return plan{}, recvErr(err)
	}
	watchdog.Reset(s.cfg.CallTimeout)
	if p.header = first.GetHeader(); p.header == nil {
		return plan{}, apierr.New(apierr.Internal, "control plane sent a plan without a header")
	}
	if p.header.GetPrincipal() != c.principal {
		// Tickets would be bound to someone else; the DoGet would refuse them.
		return plan{}, apierr.New(apierr.Internal, "control plane planned for another principal than the caller")
	}
	if p.schema, err = columnsSchema(p.header.GetColumns()); err != nil {
		return plan{}, err
	}
	var totals *agentapi.PlanTotals
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return plan{}, recvErr(err)
		}
		watchdog.Reset(s.cfg.CallTimeout)
		if totals != nil {
			return plan{}, apierr.New(apierr.Internal, "control plane sent plan messages after the totals")
		}
		switch m := msg.GetPage().(type) {
		case *agentapi.PlanPage_Tickets:
			p.tickets = append(p.tickets, m.Tickets.GetTickets()...)
		case *agentapi.PlanPage_Totals:
			totals = m.Totals
		default:
			return plan{}, apierr.New(apierr.Internal, "control plane sent an unexpected plan message")
		}
	}
	// The totals come after the control plane has audited the plan: a plan
	// (or a schema probe) without them is not served.
	if totals == nil {
		return plan{}, apierr.New(apierr.Unavailable, "control plane ended the plan without its totals; plan again")
	}
	if schemaOnly {
		return p, nil
	}
	if totals.GetTasks() != int64(len(p.tickets)) {
		return plan{}, apierr.New(apierr.Internal, "control plane planned %d tasks but sent %d tickets", totals.GetTasks(), len(p.tickets))
	}
	return p, nil
}

// flightInfo lists one endpoint per signed task. Endpoints carry no
// location: the client reads from this agent, on the connection it has.
func (s *Server) flightInfo(p plan, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	eps := make([]*flight.FlightEndpoint, 0, len(p.tickets))
	for _, t := range p.tickets {
		tkt, err := flightsql.CreateStatementQueryTicket(t)
		if err != nil {
			return nil, apierr.Wrap(apierr.Internal, err, "encode ticket")
		}
		eps = append(eps, &flight.FlightEndpoint{Ticket: &flight.Ticket{Ticket: tkt}})
	}
	return &flight.FlightInfo{
		Schema:           flight.SerializeSchema(p.schema, s.mem),
		FlightDescriptor: desc,
		Endpoint:         eps,
		TotalRecords:     -1,
		TotalBytes:       -1,
	}, nil
}

// GetFlightInfoStatement plans a query.
func (s *Server) GetFlightInfoStatement(ctx context.Context, cmd flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	if len(cmd.GetTransactionId()) > 0 {
		return nil, errTransactions
	}
	p, err := s.plan(ctx, cmd.GetQuery(), false)
	if err != nil {
		return nil, err
	}
	return s.flightInfo(p, desc)
}

// GetSchemaStatement answers a query's schema without planning tasks.
func (s *Server) GetSchemaStatement(ctx context.Context, cmd flightsql.StatementQuery, _ *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	if len(cmd.GetTransactionId()) > 0 {
		return nil, errTransactions
	}
	p, err := s.plan(ctx, cmd.GetQuery(), true)
	if err != nil {
		return nil, err
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(p.schema, s.mem)}, nil
}

// outcome is a metric label: OK, CANCELLED or the error's apierr code.
func outcome(err error) string {
	switch {
	case err == nil:
		return outcomeOK
	case errors.Is(err, context.Canceled):
		return outcomeCancelled
	}
	return string(apierr.CodeOf(err))
}
