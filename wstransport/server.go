package wstransport

import (
	"context"
	"log/slog"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Server. The zero value works.
type Config struct {
	// MaxPayload is the largest message a client may send, in bytes; a
	// larger one closes the connection with 1009. Use the engine's
	// maxHttpBufferSize. default: 1,000,000
	MaxPayload int64
	// MaxQueue bounds a connection's backlog: a message written while
	// MaxQueue bytes or more wait closes the connection as a slow
	// consumer. A message larger than MaxQueue still goes to a connection
	// that is not that far behind (the bound is on falling behind, not on
	// message size). default: 1 MiB
	MaxQueue int
	// WriteTimeout is how long a connection's backlog may take to drain
	// before it is closed as a slow consumer. default: 10s
	WriteTimeout time.Duration
	// CloseTimeout is how long the server waits for the client's close frame
	// after sending its own before it drops the TCP connection. default: 5s
	CloseTimeout time.Duration
	// Workers is the number of long-lived goroutines that wait for ready
	// connections and read them (Linux, plain TCP). While all are busy
	// for a while (handlers blocked on a store) more are started; those
	// stop after ten seconds without work. default: GOMAXPROCS, at least 2
	Workers int
	// GoroutineReader makes every connection read with its own goroutine,
	// even where the readiness loop is available. default: false
	GoroutineReader bool
	// Logger receives the transport's log lines. default: slog.Default()
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MaxPayload <= 0 {
		c.MaxPayload = 1_000_000
	}
	if c.MaxQueue <= 0 {
		c.MaxQueue = 1 << 20
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = 5 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = max(2, runtime.GOMAXPROCS(0))
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Slow-consumer close reasons, as counted.
const (
	reasonQueueFull    = "queue_full"
	reasonWriteTimeout = "write_timeout"
)

// Server reads and writes the WebSocket connections it upgrades (see
// Upgrade). It is a prometheus.Collector for the transport's metrics.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	poller  *poller // nil where the readiness loop is not available
	conns   registry
}

// New returns a Server. Call Shutdown when it is no longer needed.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger}
	if !cfg.GoroutineReader {
		s.poller = newPoller(cfg.Workers, cfg.Logger, &s.conns)
	}
	s.metrics = newMetrics(
		func() float64 { return float64(s.conns.len()) },
		func() float64 { return float64(s.poller.workerCount()) },
	)
	return s
}

// MaxPayload returns the largest message a client may send.
func (s *Server) MaxPayload() int64 { return s.cfg.MaxPayload }

// Describe implements prometheus.Collector.
func (s *Server) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range s.metrics.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (s *Server) Collect(ch chan<- prometheus.Metric) {
	for _, c := range s.metrics.collectors() {
		c.Collect(ch)
	}
}

// Shutdown drops the connections still open (their owners have normally
// closed them already) and stops the readiness loop and its workers,
// waiting for them until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	for _, c := range s.conns.all() {
		c.finish()
	}
	return s.poller.shutdown(ctx)
}

// AwaitIdle waits until no connection is open, at most d or until ctx is
// done (a graceful shutdown lets clients answer the close frames first).
func (s *Server) AwaitIdle(ctx context.Context, d time.Duration) {
	deadline := time.Now().Add(d)
	for s.conns.len() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
}
