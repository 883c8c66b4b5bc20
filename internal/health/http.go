package health

import (
	"encoding/json"
	"net/http"
)

// LiveHandler answers 200 while the process can serve HTTP at all.
func LiveHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// ReadyHandler answers 200 when every component is READY or DEGRADED, 503
// when any is NOT_READY, with the report as JSON either way.
func (c *Checker) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := c.Check(r.Context())
		status := http.StatusOK
		if rep.Code == NotReady {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, rep)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// OpsHandler serves the ops listener: /livez, /readyz and /metrics.
func (c *Checker) OpsHandler(metrics http.Handler) http.Handler {
	m := http.NewServeMux()
	m.Handle("GET /livez", LiveHandler())
	m.Handle("GET /readyz", c.ReadyHandler())
	m.Handle("GET /metrics", metrics)
	return m
}
