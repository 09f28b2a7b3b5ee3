package server

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns the registry a node serves at /metrics: the Go runtime
// and process collectors; the server adds the engine's, and a cluster
// adapter's go there too.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// registerMetrics adds the Socket.IO server's collectors to the registry:
// open sessions, broadcasts and deliveries, and the WebSocket transport's
// queues and slow consumers. A collector that is already there (a registry
// shared between servers in one process) is logged and skipped: metrics
// must not stop a node.
func (s *Server) registerMetrics() {
	clients := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "parley_engine_clients",
		Help: "Open Engine.IO sessions (connected clients) on this node.",
	}, func() float64 { return float64(s.io.Engine().ClientsCount()) })
	for _, c := range []prometheus.Collector{clients, s.cfg.SocketIO.Metrics, s.io.Engine().WebSocket()} {
		if err := s.cfg.Registry.Register(c); err != nil {
			s.log.Warn("server: metrics collector not registered", "err", err)
		}
	}
}

// metricsHandler serves the registry in the Prometheus text format.
func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}
