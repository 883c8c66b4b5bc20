package api

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type apiMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	refused  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *apiMetrics {
	m := &apiMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nscale_controlplane_api_requests_total",
			Help: "REST admin API requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nscale_controlplane_api_request_duration_seconds",
			Help:    "REST admin API request latency by route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nscale_controlplane_api_refused_total",
			Help: "REST admin API requests refused by a limit: max_concurrent (api.max_concurrent_requests) or per_principal (api.max_concurrent_requests_per_principal).",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency, m.refused)
	}
	return m
}

func (m *apiMetrics) observe(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}
