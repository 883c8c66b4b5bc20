package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/nscale/nscale/controlplane/apitypes"
	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/internal/apierr"
)

// SQLExecutor runs DDL/DCL for a principal. It stops at the first failing
// statement; each statement commits on its own, so the error says which
// statement failed and that the ones before it were applied.
type SQLExecutor interface {
	Exec(ctx context.Context, p auth.Principal, sql, requestID string) ([]apitypes.SQLResult, error)
}

func (s *server) sql(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.SQL == nil {
		return apierr.New(apierr.Unavailable, "this control plane has no SQL executor configured")
	}
	var req apitypes.SQLRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.SQL == "" {
		return apierr.New(apierr.InvalidArgument, "field sql is empty")
	}
	p, _ := auth.FromContext(r.Context())
	results, err := s.cfg.SQL.Exec(r.Context(), p, req.SQL, w.Header().Get(apitypes.RequestIDHeader))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apitypes.SQLResponse{Results: results})
	return nil
}

// decodeJSON reads a bounded, strictly-typed JSON body into dst, a pointer
// to a struct of the request types. Like the OpenAPI document, it requires
// every field without omitempty, and refuses null: encoding/json would read
// a missing field or a null as "" and act on it.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	// The body is already bounded by Limits.MaxBodyBytes (serve).
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return apierr.New(apierr.InvalidArgument, "request body is larger than %d bytes", tooBig.Limit)
		}
		return apierr.New(apierr.InvalidArgument, "request body: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return apierr.New(apierr.InvalidArgument, "request body: %v", err)
	}
	if dec.More() {
		return apierr.New(apierr.InvalidArgument, "request body: more than one JSON value")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return apierr.New(apierr.InvalidArgument, "request body: want a JSON object")
	}
	t := reflect.TypeOf(dst).Elem()
	for i := 0; i < t.NumField(); i++ {
		name, opts, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		v, ok := fields[name]
		switch {
		case !ok && !strings.Contains(opts, "omitempty"):
			return apierr.New(apierr.InvalidArgument, "request body: field %s is required", name)
		case ok && string(v) == "null":
			return apierr.New(apierr.InvalidArgument, "request body: field %s is null", name)
		}
	}
	return nil
}
