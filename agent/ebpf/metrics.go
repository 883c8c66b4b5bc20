package ebpf

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Result label values of nscale_agent_ebpf_connects_total.
const (
	resultAllowed = "allowed"
	resultDenied  = "denied"
)

var connectsDesc = prometheus.NewDesc(
	"nscale_agent_ebpf_connects_total",
	"Connects to the agent's loopback port seen by the eBPF guard, by caller uid and result (allowed or denied with EPERM).",
	[]string{"uid", "result"}, nil,
)

// collector reads the guard's counters map at scrape time. The uid label is
// bounded by the map's size (4096) and in practice by the node's users.
type collector struct{ g *Guard }

// NewCollector exports nscale_agent_ebpf_connects_total{uid,result} from
// g's counters map at each scrape. A failed read is reported to the scraper
// as an invalid metric, never as a panic.
func NewCollector(g *Guard) prometheus.Collector { return collector{g: g} }

func (c collector) Describe(ch chan<- *prometheus.Desc) { ch <- connectsDesc }

func (c collector) Collect(ch chan<- prometheus.Metric) {
	counts, err := c.g.Counters()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(connectsDesc, err)
		return
	}
	for uid, n := range counts {
		u := strconv.FormatUint(uint64(uid), 10)
		for _, v := range []struct {
			result string
			n      uint64
		}{{resultAllowed, n.Allowed}, {resultDenied, n.Denied}} {
			m, err := prometheus.NewConstMetric(connectsDesc, prometheus.CounterValue, float64(v.n), u, v.result)
			if err != nil {
				m = prometheus.NewInvalidMetric(connectsDesc, err)
			}
			ch <- m
		}
	}
}

// NewEnabledGauge returns nscale_agent_ebpf_guard_enabled: 1 while enabled
// reports true (the guard's pins were opened), 0 otherwise (log the reason
// from Available or Open once, at startup).
func NewEnabledGauge(enabled func() bool) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "nscale_agent_ebpf_guard_enabled",
		Help: "1 when the eBPF connect guard is installed and opened by the agent, 0 otherwise.",
	}, func() float64 {
		if enabled != nil && enabled() {
			return 1
		}
		return 0
	})
}
