package apierr

import (
	"context"
	"errors"
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// HTTPStatus is the one mapping from Code to an HTTP status.
func HTTPStatus(c Code) int {
	switch c {
	case InvalidArgument:
		return http.StatusBadRequest
	case NotFound:
		return http.StatusNotFound
	case AlreadyExists, Conflict:
		return http.StatusConflict
	case PermissionDenied:
		return http.StatusForbidden
	case Unauthenticated:
		return http.StatusUnauthorized
	case FailedPrecondition:
		return http.StatusPreconditionFailed
	case Unavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// GRPCCode is the one mapping from Code to a gRPC status code.
func GRPCCode(c Code) codes.Code {
	switch c {
	case InvalidArgument:
		return codes.InvalidArgument
	case NotFound:
		return codes.NotFound
	case AlreadyExists:
		return codes.AlreadyExists
	case PermissionDenied:
		return codes.PermissionDenied
	case Unauthenticated:
		return codes.Unauthenticated
	case FailedPrecondition:
		return codes.FailedPrecondition
	case Conflict:
		return codes.Aborted
	case Unavailable:
		return codes.Unavailable
	default:
		return codes.Internal
	}
}

// FromGRPCCode is the inverse of GRPCCode, for clients of a gRPC service.
func FromGRPCCode(c codes.Code) Code {
	for _, code := range Codes {
		if GRPCCode(code) == c {
			return code
		}
	}
	return Internal
}

// FromHTTPStatus maps a status back to a code, for REST clients.
func FromHTTPStatus(status int) Code {
	switch status {
	case http.StatusPreconditionFailed:
		return FailedPrecondition
	case http.StatusConflict:
		return Conflict
	}
	for _, code := range Codes {
		if HTTPStatus(code) == status {
			return code
		}
	}
	return Internal
}

// GRPCStatus converts err for a gRPC handler to return: the code mapped by
// GRPCCode and the caller-safe PublicMessage. A status error passes through
// (it already crossed a transport and is caller-safe), and nil stays nil.
func GRPCStatus(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if !errors.As(err, &e) {
		if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
			return s.Err()
		}
	}
	return status.Error(GRPCCode(CodeOf(err)), PublicMessage(err))
}

// FromGRPC turns an error from a gRPC call back into an *Error with the
// same code and the server's message, so that a relay (the agent) passes the
// control plane's answer on unchanged. Context errors keep their identity.
func FromGRPC(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	s, ok := status.FromError(err)
	if !ok {
		return Wrap(Unavailable, err, "control plane call failed")
	}
	switch s.Code() {
	case codes.Canceled:
		return Wrap(Unavailable, context.Canceled, "%s", s.Message())
	case codes.DeadlineExceeded:
		return New(Unavailable, "control plane did not answer in time: %s", s.Message())
	case codes.Unknown:
		return New(Internal, "%s", s.Message())
	}
	return New(FromGRPCCode(s.Code()), "%s", s.Message())
}
