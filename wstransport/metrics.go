package wstransport

import "github.com/prometheus/client_golang/prometheus"

// metrics are the transport's Prometheus metrics, shared by its connections.
type metrics struct {
	conns         prometheus.GaugeFunc
	queueBytes    prometheus.Gauge
	backlogged    prometheus.Gauge
	volatileDrops prometheus.Counter
	slowCloses    *prometheus.CounterVec
	workers       prometheus.GaugeFunc
}

// conns and workers are read when the metrics are collected: the number
// of registered connections and of reader workers.
func newMetrics(conns, workers func() float64) *metrics {
	m := &metrics{
		conns: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "parley_ws_connections",
			Help: "Open WebSocket connections on Parley's transport.",
		}, conns),
		queueBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parley_ws_write_queue_bytes",
			Help: "Bytes waiting in WebSocket write queues (sockets that could not take them at once).",
		}),
		backlogged: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parley_ws_write_queue_connections",
			Help: "WebSocket connections with a non-empty write queue.",
		}),
		volatileDrops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_ws_volatile_drops_total",
			Help: "Volatile messages dropped because the connection had a write backlog.",
		}),
		slowCloses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_ws_slow_consumer_closes_total",
			Help: "Connections closed as slow consumers, by reason (queue_full, write_timeout).",
		}, []string{"reason"}),
		workers: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "parley_ws_reader_workers",
			Help: "Goroutines of the readiness loop's worker pool.",
		}, workers),
	}
	// Make both reasons visible from the start.
	m.slowCloses.WithLabelValues(reasonQueueFull)
	m.slowCloses.WithLabelValues(reasonWriteTimeout)
	return m
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.conns, m.queueBytes, m.backlogged, m.volatileDrops, m.slowCloses, m.workers}
}
