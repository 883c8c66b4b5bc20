package flight

import (
	"context"
	"errors"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/logging"
)

// toStatus is the one place where an error leaves the agent towards a Flight
// SQL client: apierr codes map through apierr.GRPCStatus (caller-safe
// message, never a cause, a stack or a URL), a call the client cancelled or
// let expire says so, and internal errors are logged here, once.
func (s *Server) toStatus(ctx context.Context, method string, err error) error {
	if err == nil {
		return nil
	}
	var st *status.Status
	switch {
	case ctx.Err() != nil && context.Cause(ctx) != ctx.Err():
		// The agent cut the stream itself (streamCtl) and said why.
		st, _ = status.FromError(apierr.GRPCStatus(context.Cause(ctx)))
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		st = status.New(codes.Canceled, "call cancelled by the client")
	case ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded):
		st = status.New(codes.DeadlineExceeded, "call deadline exceeded")
	default:
		st, _ = status.FromError(apierr.GRPCStatus(err))
	}
	s.m.errors.WithLabelValues(st.Code().String()).Inc()
	switch st.Code() {
	case codes.Internal, codes.Unknown:
		s.log.Error("flight call failed", logging.KeyMethod, method, logging.KeyError, err)
	default:
		s.log.Debug("flight call refused", logging.KeyMethod, method, logging.KeyCode, st.Code().String(), logging.KeyError, st.Message())
	}
	return st.Err()
}

func (s *Server) unaryErrors(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	return resp, s.toStatus(ctx, info.FullMethod, err)
}

func (s *Server) streamErrors(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return s.toStatus(ss.Context(), info.FullMethod, handler(srv, ss))
}
