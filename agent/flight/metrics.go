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
	// streamsRefused counts DoGets refused for want of a slot, by reason
	// (user_quota, user_queue or max_streams): never by user, to keep
	// labels bounded.
	streamsRefused *prometheus.CounterVec
	streamsStalled prometheus.Counter
	// peerRefused counts calls of local users outside the allow-list, by
	// uid (a node has few).
	peerRefused *prometheus.CounterVec
	// ticketsRefused counts valid tickets refused on this agent.
	ticketsRefused *prometheus.CounterVec
	errors         *prometheus.CounterVec
	plans          *prometheus.CounterVec
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
		streamsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nscale_agent_flight_streams_refused_total",
			Help: "DoGet streams refused for want of a slot, by reason: user_quota (flight.max_streams_per_user), user_queue (too many of the user's streams waiting) or max_streams (flight.max_streams).",
		}, []string{"reason"}),
		ticketsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nscale_agent_tickets_refused_total",
			Help: "DoGets refused for a ticket that verified, by reason: other_agent (bound to another agent), replayed (single-use ticket used before on this agent), too_many (the set of used tickets is full).",
		}, []string{"reason"}),
		peerRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nscale_agent_peer_refused_total",
			Help: "Flight SQL calls refused because the calling local user is not in flight.allowed_uids, allowed_users or allowed_groups, by uid (\"unknown\" when it could not be read).",
		}, []string{"uid"}),
		streamsStalled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nscale_agent_flight_streams_stalled_total",
			Help: "DoGet streams cut because the client took no data for flight.stall_timeout.",
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
			m.activeStreams, m.streamsRefused, m.streamsStalled, m.errors, m.plans, m.peerRefused, m.ticketsRefused)
	}
	return m
}
