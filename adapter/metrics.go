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
	encodeErrors   *prometheus.CounterVec // by kind
	received       *prometheus.CounterVec // by kind
	malformed      prometheus.Counter
	reconnects     prometheus.Counter
	subscribed     prometheus.Gauge
	requests       prometheus.Gauge
	timeouts       prometheus.Counter
	readErrors     prometheus.Counter
	restores       *prometheus.CounterVec // by result
}

// Results of a session restore, the label of parley_adapter_session_restores_total.
const (
	restoreRecovered = "recovered"
	// restoreNotFound: no session under the pid (expired, never persisted,
	// already restored).
	restoreNotFound = "not_found"
	// restoreOffsetGone: the offset is not (or no longer) in the stream.
	restoreOffsetGone = "offset_gone"
	// restoreInvalid: the client's offset is not a stream id.
	restoreInvalid = "invalid_offset"
	// restoreTooFar: more missed entries than the restore reads.
	restoreTooFar = "too_far_behind"
	// restoreError: Redis failed or the session could not be read.
	restoreError = "error"
)

func (m *metrics) setSubscribed(up bool) {
	if up {
		m.subscribed.Set(1)
		return
	}
	m.subscribed.Set(0)
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
		encodeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_adapter_encode_errors_total",
			Help: "Messages refused because a value in them cannot be represented on the cluster (a broadcast refused so is delivered nowhere), by kind.",
		}, []string{"kind"}),
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
		readErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_adapter_stream_read_errors_total", Help: "Failed XREADs of the stream readers (each retried from the last entry read).",
		}),
		restores: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_adapter_session_restores_total",
			Help: "Connection state recoveries attempted, by result: recovered, not_found, offset_gone, invalid_offset, too_far_behind, error.",
		}, []string{"result"}),
	}
	if reg != nil {
		m.published = register(reg, log, m.published)
		m.publishErrors = register(reg, log, m.publishErrors)
		m.publishDropped = register(reg, log, m.publishDropped)
		m.encodeErrors = register(reg, log, m.encodeErrors)
		m.received = register(reg, log, m.received)
		m.malformed = register(reg, log, m.malformed)
		m.reconnects = register(reg, log, m.reconnects)
		m.subscribed = register(reg, log, m.subscribed)
		m.requests = register(reg, log, m.requests)
		m.timeouts = register(reg, log, m.timeouts)
		m.readErrors = register(reg, log, m.readErrors)
		m.restores = register(reg, log, m.restores)
	}
	m.subscribed.Set(0)
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
