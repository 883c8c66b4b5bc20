package apierr

import (
	"net/http"

	"google.golang.org/grpc/codes"
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
