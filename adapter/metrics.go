package adapter

import (
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the adapter's Prometheus collectors.
type metrics struct {
	published      *prometheus.CounterVec // by kind
	publishErrors  prometheus.Counter
	publishDropped prometheus.Counter
	received       *prometheus.CounterVec // by kind
	malformed      prometheus.Counter
	reconnects     prometheus.Counter
	subscribed     prometheus.Gauge
	requests       prometheus.Gauge
	timeouts       prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, log *slog.Logger) *metrics {
	m := &metrics{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_adapter_published_total", Help: "Messages published to the cluster, by kind.",
		}, []string{"kind"}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_adapter_publish_errors_total", Help: "Publishes Redis refused or that could not reach it.",
		}),
		publishDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_adapter_publish_dropped_total", Help: "Publishes dropped because the publish queue was full.",
		}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_adapter_received_total", Help: "Messages received from the cluster, by kind.",
		}, []string{"kind"}),
		malformed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_adapter_malformed_total", Help: "Messages dropped because they could not be decoded.",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_adapter_redis_reconnects_total", Help: "Times the Redis subscription came back after a loss.",
		}),
		subscribed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parley_adapter_subscribed", Help: "1 while the Redis subscription is up, 0 while it is down.",
		}),
		requests: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parley_adapter_pending_requests", Help: "Cluster requests waiting for responses.",
		}),
		timeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_adapter_request_timeouts_total", Help: "Cluster requests that timed out.",
		}),
	}
	if reg != nil {
		m.published = register(reg, log, m.published)
		m.publishErrors = register(reg, log, m.publishErrors)
		m.publishDropped = register(reg, log, m.publishDropped)
		m.received = register(reg, log, m.received)
		m.malformed = register(reg, log, m.malformed)
		m.reconnects = register(reg, log, m.reconnects)
		m.subscribed = register(reg, log, m.subscribed)
		m.requests = register(reg, log, m.requests)
		m.timeouts = register(reg, log, m.timeouts)
	}
	return m
}

// register registers c, or returns the collector already registered under
// its name, so several Nodes in one process (tests, or one per Redis) share
// their counters instead of failing.
func register[T prometheus.Collector](reg prometheus.Registerer, log *slog.Logger, c T) T {
	err := reg.Register(c)
	var dup prometheus.AlreadyRegisteredError
	switch {
	case err == nil:
		return c
	case errors.As(err, &dup):
		if existing, ok := dup.ExistingCollector.(T); ok {
			return existing
		}
	}
	log.Warn("adapter: registering a metric failed", "err", err)
	return c
}
