package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

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

// maxSQLBody bounds a request body: DDL scripts are small.
const maxSQLBody = 1 << 20

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

// decodeJSON reads a bounded, strictly-typed JSON body.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSQLBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return apierr.New(apierr.InvalidArgument, "request body is larger than %d bytes", tooBig.Limit)
		}
		return apierr.New(apierr.InvalidArgument, "request body: %v", err)
	}
	if dec.More() {
		return apierr.New(apierr.InvalidArgument, "request body: more than one JSON value")
	}
	return nil
}
