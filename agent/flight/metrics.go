package flight

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Outcome labels besides the apierr codes. Label values stay bounded: an
// apierr code, OK or CANCELLED.
const (
	outcomeOK        = "OK"
	outcomeCancelled = "CANCELLED"
)

type metrics struct {
	tasks         *prometheus.CounterVec
	rowsReturned  prometheus.Counter
	bytesRead     prometheus.Counter
	taskDuration  prometheus.Histogram
	urlRenewals   prometheus.Counter
	activeStreams prometheus.Gauge
	errors        *prometheus.CounterVec
	plans         *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		tasks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nscale_agent_tasks_total",
			Help: "Signed tasks executed by DoGet, by outcome (OK, CANCELLED or an error code).",
		}, []string{"code"}),
		rowsReturned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nscale_agent_rows_returned_total",
			Help: "Rows streamed to Flight SQL clients after filters and masks.",
		}),
		bytesRead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nscale_agent_bytes_read_total",
			Help: "Object bytes fetched through pre-signed URLs.",
		}),
		taskDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nscale_agent_task_duration_seconds",
			Help:    "Time from the start of a task's DoGet to its last batch.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 10), // 5 ms .. ~22 min
		}),
		urlRenewals: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nscale_agent_url_renewals_total",
			Help: "Pre-signed URLs renewed mid-scan (ahead of expiry or after a 403).",
		}),
		activeStreams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nscale_agent_flight_active_streams",
			Help: "DoGet streams of signed tasks in progress.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nscale_agent_flight_errors_total",
			Help: "Errors returned to Flight SQL clients, by gRPC code.",
		}, []string{"code"}),
		plans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nscale_agent_plans_total",
			Help: "Plans requested from the control plane, by outcome (OK or an error code).",
		}, []string{"code"}),
	}
	if reg != nil {
		reg.MustRegister(m.tasks, m.rowsReturned, m.bytesRead, m.taskDuration, m.urlRenewals,
			m.activeStreams, m.errors, m.plans)
	}
	return m
}
