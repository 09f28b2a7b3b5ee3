package socketio

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts a server's broadcasts; it is a prometheus.Collector.
// Counters are updated once per broadcast, not per recipient.
type Metrics struct {
	broadcasts prometheus.Counter
	deliveries prometheus.Counter
	bytes      prometheus.Counter
}

// NewMetrics returns the counters, to set as Config.Metrics and register.
func NewMetrics() *Metrics {
	return &Metrics{
		broadcasts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_fanout_broadcasts_total",
			Help: "Broadcasts delivered to this node's sockets.",
		}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_fanout_deliveries_total",
			Help: "Broadcast packets handed to local recipients.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_fanout_bytes_total",
			Help: "Bytes of broadcast packets (their data, once per recipient) handed to local recipients.",
		}),
	}
}

func (m *Metrics) delivered(recipients, size int) {
	if m == nil {
		return
	}
	m.broadcasts.Inc()
	m.deliveries.Add(float64(recipients))
	m.bytes.Add(float64(recipients * size))
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		ch <- c.Desc()
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		ch <- c
	}
}

func (m *Metrics) collectors() []prometheus.Counter {
	return []prometheus.Counter{m.broadcasts, m.deliveries, m.bytes}
}
