package enrol

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	enrolments *prometheus.CounterVec
	renewals   *prometheus.CounterVec
	heartbeats *prometheus.CounterVec
	expiry     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		enrolments: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nscale_agent_enrolments_total",
			Help: "Enrolment attempts by result (a gRPC code, or evidence_error)."}, []string{"result"}),
		renewals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nscale_agent_certificate_renewals_total",
			Help: "Certificate renewals by result (a gRPC code)."}, []string{"result"}),
		heartbeats: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nscale_agent_heartbeats_total",
			Help: "Heartbeats by result (a gRPC code)."}, []string{"result"}),
		expiry: prometheus.NewGauge(prometheus.GaugeOpts{Name: "nscale_agent_certificate_expiry_timestamp_seconds",
			Help: "When the agent's current certificate expires (Unix time); 0 before enrolment."}),
	}
	if reg != nil {
		reg.MustRegister(m.enrolments, m.renewals, m.heartbeats, m.expiry)
	}
	return m
}
