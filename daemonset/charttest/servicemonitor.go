package charttest

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

const serviceMonitorGroup = "monitoring.coreos.com"

// ServiceMonitor is the part of the Prometheus Operator's
// monitoring.coreos.com/v1 ServiceMonitor the chart renders, with the
// upstream field names and types (github.com/prometheus-operator/
// prometheus-operator/pkg/apis/monitoring/v1), so that a strict decode
// catches a misspelt field without linking the operator's module.
// testdata/servicemonitor-crd.yaml is the matching schema the API server
// checks.
type ServiceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ServiceMonitorSpec `json:"spec"`
}

// ServiceMonitorSpec selects the Services to scrape and how.
type ServiceMonitorSpec struct {
	JobLabel          string               `json:"jobLabel,omitempty"`
	Selector          metav1.LabelSelector `json:"selector"`
	NamespaceSelector NamespaceSelector    `json:"namespaceSelector,omitempty"`
	Endpoints         []Endpoint           `json:"endpoints"`
}

// NamespaceSelector is the namespaces whose Services are selected.
type NamespaceSelector struct {
	Any        bool     `json:"any,omitempty"`
	MatchNames []string `json:"matchNames,omitempty"`
}

// Endpoint is one scraped port of the selected Services.
type Endpoint struct {
	Port     string `json:"port,omitempty"`
	Path     string `json:"path,omitempty"`
	Scheme   string `json:"scheme,omitempty"`
	Interval string `json:"interval,omitempty"`
}
