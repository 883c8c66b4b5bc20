package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/nscale/nscale/controlplane/apitypes"
	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/logging"
)

// statusWriter remembers the status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// wrap adds the request id, authentication, the error edge, logs and metrics.
// route is the pattern, not the raw path, so metric labels stay bounded.
func (s *server) wrap(route string, public bool, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// The request id is always ours: a client-chosen id could forge or
		// collide with entries in the audit trail.
		id := newRequestID()
		rw.Header().Set(apitypes.RequestIDHeader, id)
		w := &statusWriter{ResponseWriter: rw}

		err := s.serve(w, r, public, h)
		if err != nil {
			s.writeError(w, r, id, err)
		}
		if w.status == 0 {
			w.status = http.StatusOK
		}
		elapsed := time.Since(start)
		if s.metrics != nil {
			s.metrics.observe(route, r.Method, w.status, elapsed)
		}
		s.cfg.Logger.Debug("request", logging.KeyRequestID, id, logging.KeyMethod, r.Method,
			logging.KeyPath, route, logging.KeyStatus, w.status, logging.KeyDuration, elapsed)
	})
}

// serve applies the limits, authenticates and runs h. The global slot is
// taken before authentication, so a flood of bad tokens is bounded too;
// the principal's slot after it.
func (s *server) serve(w http.ResponseWriter, r *http.Request, public bool, h handlerFunc) error {
	if err := s.gate.enter(); err != nil {
		return err
	}
	defer s.gate.leave()
	r, cancel := s.gate.bound(w, r)
	defer cancel()
	if !public {
		var err error
		if r, err = s.authenticate(r); err != nil {
			return err
		}
		p, _ := auth.FromContext(r.Context())
		leave, err := s.gate.enterPrincipal(p.Name())
		if err != nil {
			return err
		}
		defer leave()
	}
	if err := singleValued(r); err != nil {
		return err
	}
	return s.call(h, w, r)
}

// call runs h, turning a panic into an internal error so the caller gets
// the usual JSON answer and the stack stays in the log.
func (s *server) call(h handlerFunc, w http.ResponseWriter, r *http.Request) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = apierr.New(apierr.Internal, "panic: %v\n%s", v, debug.Stack())
		}
	}()
	return h(w, r)
}

// authenticate reads the bearer token and asks the authenticators.
func (s *server) authenticate(r *http.Request) (*http.Request, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return r, apierr.New(apierr.Unauthenticated, "missing bearer token: send Authorization: Bearer <token>")
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return r, apierr.New(apierr.Unauthenticated, "malformed Authorization header: want Bearer <token>")
	}
	p, err := s.cfg.Auth.Authenticate(r.Context(), strings.TrimSpace(tok))
	if err != nil {
		return r, err
	}
	return r.WithContext(auth.WithPrincipal(r.Context(), p)), nil
}

// writeError is the one place API errors become HTTP answers. Internal errors
// are logged here, once, and the caller sees only a generic message with the
// request id to quote.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, id string, err error) {
	code := apierr.CodeOf(err)
	msg := apierr.PublicMessage(err)
	if code == apierr.Internal {
		s.cfg.Logger.Error("internal error", logging.KeyRequestID, id, logging.KeyMethod, r.Method,
			logging.KeyPath, r.URL.Path, logging.KeyError, err)
		msg = "internal error; quote request id " + id + " to your operator"
	} else if b := (errBusy{}); errors.As(err, &b) {
		// Load shedding, not a failure: counted, not logged per request.
		if s.metrics != nil {
			s.metrics.refused.WithLabelValues(b.reason).Inc()
		}
		w.Header().Set("Retry-After", "1")
	} else if code == apierr.Unavailable {
		s.cfg.Logger.Warn("dependency unavailable", logging.KeyRequestID, id, logging.KeyPath, r.URL.Path, logging.KeyError, err)
	}
	status := apierr.HTTPStatus(code)
	if code == apierr.Unauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="nscale"`)
	}
	writeJSON(w, status, apitypes.Error{Code: string(code), Message: msg, RequestID: id})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// singleValued refuses a query string that gives a parameter twice: every
// parameter of the API has one value, and the handlers would silently read
// the first.
func singleValued(r *http.Request) error {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return apierr.New(apierr.InvalidArgument, "query string: %v", err)
	}
	for name, vs := range q {
		if len(vs) > 1 {
			return apierr.New(apierr.InvalidArgument, "query parameter %s is given %d times; give it once", name, len(vs))
		}
	}
	return nil
}

// boolParam parses an optional boolean query parameter; present, it must
// be a boolean ("detail=" is not).
func boolParam(r *http.Request, name string) (bool, error) {
	q := r.URL.Query()
	v := q.Get(name)
	if !q.Has(name) {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, apierr.New(apierr.InvalidArgument, "query parameter %s=%q: want true or false", name, v)
	}
	return b, nil
}
