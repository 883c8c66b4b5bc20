// Package apierrtest holds the tests' one way to say "this call must fail
// with this code and a message saying this", for errors of the apierr
// vocabulary and for the gRPC statuses they become on the wire.
package apierrtest

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/nscale/nscale/internal/apierr"
)

// Code fails the test unless err has code (directly, or as the gRPC
// status apierr maps it to) and, when msg is not empty, its message
// contains msg. An empty code wants no error, so that a table of cases can
// mix successes and failures.
func Code(tb testing.TB, what string, err error, code apierr.Code, msg string) {
	tb.Helper()
	if code == "" {
		if err != nil {
			tb.Fatalf("%s: %v, want no error", what, err)
		}
		return
	}
	if err == nil {
		tb.Fatalf("%s: no error, want %s containing %q", what, code, msg)
	}
	got := err
	if _, ok := status.FromError(err); ok {
		got = apierr.FromGRPC(err)
	}
	if !apierr.Is(got, code) || !strings.Contains(got.Error(), msg) {
		tb.Fatalf("%s: err = %v (%s), want %s containing %q", what, err, apierr.CodeOf(got), code, msg)
	}
}

// Status fails the test unless err is a gRPC status of code whose message
// contains msg: for codes outside the apierr vocabulary (Canceled,
// ResourceExhausted) and clients that see only the wire.
func Status(tb testing.TB, what string, err error, code codes.Code, msg string) {
	tb.Helper()
	st, ok := status.FromError(err)
	if err == nil || !ok || st.Code() != code || !strings.Contains(st.Message(), msg) {
		tb.Fatalf("%s: err = %v; want %s containing %q", what, err, code, msg)
	}
}
