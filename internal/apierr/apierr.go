// Package apierr is nscale's one error vocabulary. Packages return *Error (or
// wrap one with %w); each transport maps Code to its own status in exactly one
// place (HTTPStatus, GRPCCode).
package apierr

import (
	"errors"
	"fmt"
)

// Code classifies an error for callers. The string form is what clients see.
type Code string

const (
	InvalidArgument    Code = "INVALID_ARGUMENT"
	NotFound           Code = "NOT_FOUND"
	AlreadyExists      Code = "ALREADY_EXISTS"
	PermissionDenied   Code = "PERMISSION_DENIED"
	Unauthenticated    Code = "UNAUTHENTICATED"
	FailedPrecondition Code = "FAILED_PRECONDITION"
	Conflict           Code = "CONFLICT"
	Unavailable        Code = "UNAVAILABLE"
	Internal           Code = "INTERNAL"
)

// Codes lists every code, for exhaustive tests and documentation.
var Codes = []Code{InvalidArgument, NotFound, AlreadyExists, PermissionDenied,
	Unauthenticated, FailedPrecondition, Conflict, Unavailable, Internal}

// Error is a classified error. Message is safe to show to the caller; Err is
// the cause, kept for logs and errors.Is, never shown for Internal errors.
type Error struct {
	Code    Code
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		if e.Message == "" {
			return e.Err.Error()
		}
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with a caller-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap classifies cause; message is what the caller sees.
func Wrap(code Code, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// CodeOf returns the code of the first *Error in err's chain, Internal for any
// other non-nil error, and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }

// PublicMessage is what a transport may show the caller. Internal errors and
// unclassified errors never expose their text: they may hold DSNs, paths or
// secrets.
func PublicMessage(err error) string {
	var e *Error
	if !errors.As(err, &e) || e.Code == Internal {
		return "internal error"
	}
	if e.Err != nil {
		// Classified causes (e.g. a nested *Error) are already caller-safe
		// only if they are themselves *Error; plain causes stay private.
		var inner *Error
		if errors.As(e.Err, &inner) && inner.Code != Internal {
			if e.Message == "" {
				return inner.Message
			}
			return e.Message + ": " + PublicMessage(e.Err)
		}
	}
	if e.Message == "" {
		return string(e.Code)
	}
	return e.Message
}
