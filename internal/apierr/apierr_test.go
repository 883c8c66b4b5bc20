package apierr_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/nscale/nscale/internal/apierr"
)

func TestMappingsAreTotalAndDistinct(t *testing.T) {
	want := map[apierr.Code]struct {
		http int
		grpc codes.Code
	}{
		apierr.InvalidArgument:    {http.StatusBadRequest, codes.InvalidArgument},
		apierr.NotFound:           {http.StatusNotFound, codes.NotFound},
		apierr.AlreadyExists:      {http.StatusConflict, codes.AlreadyExists},
		apierr.PermissionDenied:   {http.StatusForbidden, codes.PermissionDenied},
		apierr.Unauthenticated:    {http.StatusUnauthorized, codes.Unauthenticated},
		apierr.FailedPrecondition: {http.StatusPreconditionFailed, codes.FailedPrecondition},
		apierr.Conflict:           {http.StatusConflict, codes.Aborted},
		apierr.Unavailable:        {http.StatusServiceUnavailable, codes.Unavailable},
		apierr.Internal:           {http.StatusInternalServerError, codes.Internal},
	}
	if len(want) != len(apierr.Codes) {
		t.Fatalf("test covers %d codes, package has %d", len(want), len(apierr.Codes))
	}
	for _, c := range apierr.Codes {
		w := want[c]
		if got := apierr.HTTPStatus(c); got != w.http {
			t.Errorf("HTTPStatus(%s) = %d, want %d", c, got, w.http)
		}
		if got := apierr.GRPCCode(c); got != w.grpc {
			t.Errorf("GRPCCode(%s) = %v, want %v", c, got, w.grpc)
		}
		if got := apierr.FromGRPCCode(w.grpc); got != c {
			t.Errorf("FromGRPCCode(%v) = %s, want %s", w.grpc, got, c)
		}
	}
	if got := apierr.FromHTTPStatus(http.StatusConflict); got != apierr.Conflict {
		t.Errorf("FromHTTPStatus(409) = %s", got)
	}
	if got := apierr.HTTPStatus("BOGUS"); got != http.StatusInternalServerError {
		t.Errorf("unknown code maps to %d", got)
	}
}

func TestCodeOfWalksWrapChain(t *testing.T) {
	base := apierr.New(apierr.NotFound, "table db.t not found")
	wrapped := fmt.Errorf("planning: %w", base)
	if apierr.CodeOf(wrapped) != apierr.NotFound || !apierr.Is(wrapped, apierr.NotFound) {
		t.Errorf("CodeOf(wrapped) = %s", apierr.CodeOf(wrapped))
	}
	if apierr.CodeOf(errors.New("plain")) != apierr.Internal {
		t.Error("plain error should be Internal")
	}
	if apierr.CodeOf(nil) != "" {
		t.Error("nil should have no code")
	}
}

func TestPublicMessageHidesPrivateCauses(t *testing.T) {
	secret := errors.New("dial tcp: postgres://admin:hunter2@db:5432")
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"plain error", secret, "internal error"},
		{"internal with message", apierr.Wrap(apierr.Internal, secret, "loading grants"), "internal error"},
		{"unavailable keeps message, hides cause", apierr.Wrap(apierr.Unavailable, secret, "store unavailable"), "store unavailable"},
		{"nested classified cause", apierr.Wrap(apierr.InvalidArgument, apierr.New(apierr.InvalidArgument, "column x unknown"), "filter"), "filter: column x unknown"},
		{"wrapped with fmt", fmt.Errorf("ctx: %w", apierr.New(apierr.NotFound, "no such role r")), "no such role r"},
	}
	for _, tc := range cases {
		got := apierr.PublicMessage(tc.err)
		if got != tc.want {
			t.Errorf("%s: PublicMessage = %q, want %q", tc.name, got, tc.want)
		}
		if strings.Contains(got, "hunter2") {
			t.Errorf("%s: leaked the secret: %q", tc.name, got)
		}
	}
}

func TestGRPCRoundTrip(t *testing.T) {
	for _, c := range apierr.Codes {
		err := apierr.GRPCStatus(apierr.New(c, "thing %d went wrong", 7))
		back := apierr.FromGRPC(err)
		if apierr.CodeOf(back) != c {
			t.Errorf("%s: round trip gives %s", c, apierr.CodeOf(back))
		}
		want := "thing 7 went wrong"
		if c == apierr.Internal {
			want = "internal error"
		}
		if apierr.PublicMessage(back) != want {
			t.Errorf("%s: message %q, want %q", c, apierr.PublicMessage(back), want)
		}
	}
	secret := errors.New("dsn postgres://u:hunter2@db")
	if s := apierr.GRPCStatus(apierr.Wrap(apierr.Internal, secret, "store failed")); strings.Contains(s.Error(), "hunter2") {
		t.Fatalf("internal cause leaked: %v", s)
	}
	if s := apierr.GRPCStatus(secret); strings.Contains(s.Error(), "hunter2") {
		t.Fatalf("unclassified error leaked: %v", s)
	}
	if apierr.GRPCStatus(nil) != nil || apierr.FromGRPC(nil) != nil {
		t.Fatal("nil must stay nil")
	}
	if !errors.Is(apierr.FromGRPC(context.Canceled), context.Canceled) {
		t.Fatal("context.Canceled lost its identity")
	}
}
