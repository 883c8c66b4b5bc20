package flight

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"

	"github.com/nscale/nscale/internal/apierr"
)

// A prepared statement keeps no state on the agent: its handle is the SQL
// text itself, and each execution plans it again with the caller's token,
// so a handle is worth nothing without a credential that may run it.

var (
	errParameters = apierr.New(apierr.InvalidArgument, "parameters are not supported: inline the values in the SQL")
	errReadOnly   = apierr.New(apierr.InvalidArgument, "nscale is read-only: only SELECT queries are supported")
	errEmptySQL   = apierr.New(apierr.InvalidArgument, "prepared statement handle is empty")
)

// CreatePreparedStatement checks the query with a schema-only plan and
// returns its dataset schema.
func (s *Server) CreatePreparedStatement(ctx context.Context, req flightsql.ActionCreatePreparedStatementRequest) (flightsql.ActionCreatePreparedStatementResult, error) {
	if len(req.GetTransactionId()) > 0 {
		return flightsql.ActionCreatePreparedStatementResult{}, errTransactions
	}
	p, err := s.plan(ctx, req.GetQuery(), true)
	if err != nil {
		return flightsql.ActionCreatePreparedStatementResult{}, err
	}
	isUpdate := false
	return flightsql.ActionCreatePreparedStatementResult{
		Handle:        []byte(req.GetQuery()),
		DatasetSchema: p.schema,
		IsUpdate:      &isUpdate,
	}, nil
}

// ClosePreparedStatement has nothing to release.
func (s *Server) ClosePreparedStatement(context.Context, flightsql.ActionClosePreparedStatementRequest) error {
	return nil
}

func preparedSQL(cmd flightsql.PreparedStatementQuery) (string, error) {
	h := cmd.GetPreparedStatementHandle()
	if len(h) == 0 {
		return "", errEmptySQL
	}
	return string(h), nil
}

// GetFlightInfoPreparedStatement plans the statement like a query.
func (s *Server) GetFlightInfoPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	sql, err := preparedSQL(cmd)
	if err != nil {
		return nil, err
	}
	p, err := s.plan(ctx, sql, false)
	if err != nil {
		return nil, err
	}
	return s.flightInfo(p, desc)
}

// GetSchemaPreparedStatement answers the statement's schema.
func (s *Server) GetSchemaPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, _ *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	sql, err := preparedSQL(cmd)
	if err != nil {
		return nil, err
	}
	p, err := s.plan(ctx, sql, true)
	if err != nil {
		return nil, err
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(p.schema, s.mem)}, nil
}

// DoPutPreparedStatementQuery would bind parameters.
func (s *Server) DoPutPreparedStatementQuery(context.Context, flightsql.PreparedStatementQuery, flight.MessageReader, flight.MetadataWriter) ([]byte, error) {
	return nil, errParameters
}

// DoPutPreparedStatementUpdate would run an update.
func (s *Server) DoPutPreparedStatementUpdate(context.Context, flightsql.PreparedStatementUpdate, flight.MessageReader) (int64, error) {
	return 0, errReadOnly
}

// DoPutCommandStatementUpdate would run an update.
func (s *Server) DoPutCommandStatementUpdate(context.Context, flightsql.StatementUpdate) (int64, error) {
	return 0, errReadOnly
}

// DoPutCommandStatementIngest would write rows.
func (s *Server) DoPutCommandStatementIngest(context.Context, flightsql.StatementIngest, flight.MessageReader) (int64, error) {
	return 0, errReadOnly
}
