package agentrpc

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	calls        *prometheus.CounterVec
	planSeconds  prometheus.Histogram
	tasksPlanned prometheus.Counter
	urlsSigned   *prometheus.CounterVec
	urlsRefused  *prometheus.CounterVec
	taskReports  *prometheus.CounterVec
	rowsReturned prometheus.Counter
	bytesRead    prometheus.Counter
	taskSeconds  prometheus.Histogram
	enrolments   *prometheus.CounterVec
	renewals     *prometheus.CounterVec
	agentRefused *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nscale_controlplane_agent_calls_total",
			Help: "Agent API calls by method and result code."}, []string{"method", "code"}),
		planSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "nscale_controlplane_plan_seconds",
			Help: "Time to plan a query, first ticket to last.", Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12)}),
		tasksPlanned: prometheus.NewCounter(prometheus.CounterOpts{Name: "nscale_controlplane_tasks_planned_total",
			Help: "Signed tasks handed to agents."}),
		urlsSigned: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nscale_controlplane_urls_signed_total",
			Help: "Pre-signed URLs issued to agents, by store."}, []string{"store"}),
		urlsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nscale_controlplane_urls_refused_total",
			Help: "SignURLs calls refused for a valid ticket, by reason (policy_changed: the user's policy on the table changed since the plan)."}, []string{"reason"}),
		taskReports: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nscale_controlplane_task_reports_total",
			Help: "Task reports from agents by outcome code (OK for success)."}, []string{"code"}),
		rowsReturned: prometheus.NewCounter(prometheus.CounterOpts{Name: "nscale_controlplane_task_rows_returned_total",
			Help: "Rows agents reported returning to users."}),
		bytesRead: prometheus.NewCounter(prometheus.CounterOpts{Name: "nscale_controlplane_task_bytes_read_total",
			Help: "Object bytes agents reported reading."}),
		taskSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "nscale_controlplane_task_seconds",
			Help: "Task durations reported by agents.", Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 12)}),
		enrolments: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nscale_controlplane_agent_enrolments_total",
			Help: "Agent enrolments by method and result code."}, []string{"method", "code"}),
		renewals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nscale_controlplane_agent_renewals_total",
			Help: "Agent certificate renewals by result code."}, []string{"code"}),
		agentRefused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nscale_controlplane_agent_refused_total",
			Help: "Agent calls refused before reaching a method, by reason (no_tls, no_certificate, bad_certificate, revoked, revocations_stale)."}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.calls, m.planSeconds, m.tasksPlanned, m.urlsSigned, m.urlsRefused, m.taskReports, m.rowsReturned, m.bytesRead, m.taskSeconds,
			m.enrolments, m.renewals, m.agentRefused)
	}
	return m
}
