// Package server is the private-messaging chat of Parley: the protocol of the
// socket.io "private-messaging" example (auth middleware, session, users,
// user connected / disconnected, private message) on Parley's Socket.IO
// server (package socketio), plus the HTTP routes of the binary (/healthz,
// /readyz, /metrics, the page).
//
// Stores, presence and the adapter are injected through Config; their
// in-memory implementations are the defaults, so a zero Config runs one node.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-chat/parley/admin"
	"github.com/parley-chat/parley/engineio"
	"github.com/parley-chat/parley/message"
	"github.com/parley-chat/parley/presence"
	"github.com/parley-chat/parley/session"
	"github.com/parley-chat/parley/socketio"
)

// Config configures a Server. The zero value runs one node on in-memory
// stores.
type Config struct {
	// Addr is the TCP address Run listens on. default: ":3000"
	Addr string
	// AllowedOrigins lists the origins (scheme://host[:port]) of pages on
	// other sites that may connect; a page served by the host the request
	// is addressed to is always allowed, and a request from any other
	// origin is refused (403, or 400 for a WebSocket). default: none
	AllowedOrigins []string
	// SocketIO configures the Socket.IO server: heartbeat and payload
	// limits (its Engine), the adapter of a cluster, connection state
	// recovery. Its CORS and AllowRequest come from AllowedOrigins, and
	// recovered sockets always run the authentication middleware.
	SocketIO socketio.Config
	// MaxMessageChars is the longest private message accepted, in
	// characters. default: 4096
	MaxMessageChars int
	// Sessions stores login sessions. default: an in-memory store
	Sessions session.Store
	// Messages stores private messages. default: an in-memory store
	Messages message.Store
	// Presence counts live sockets per user. A tracker that is also a
	// presence.Watcher is watched while the server runs. default:
	// presence.NewMemory()
	Presence presence.Tracker
	// Announcer delivers presence events to every socket of the chat. For a
	// cluster it must order them the same way on every node (see
	// Announcer). default: emits through this node's Socket.IO server
	Announcer Announcer
	// Page serves everything outside the API routes (the chat page).
	// default: 404
	Page http.Handler
	// Ready reports whether the node's dependencies (Redis subscriptions,
	// stores) work; /readyz answers 503 while it returns an error.
	// default: always ready
	Ready func(context.Context) error
	// Registry receives the node's metrics, served at /metrics: the
	// engine's (clients, fan-out, WebSocket queues and slow consumers);
	// register the adapter's there too. default: a new registry with the
	// Go runtime and process collectors
	Registry *prometheus.Registry
	// Admin turns on the Socket.IO Admin UI: the admin namespace on the
	// chat's Socket.IO server while Serve runs, and the dashboard at
	// /admin/. default: nil, off (nothing instrumented, no /admin/)
	Admin *AdminConfig
	// ShutdownTimeout bounds the graceful shutdown. default: 8s
	ShutdownTimeout time.Duration
	// Logger receives the server's log lines. default: slog.Default()
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = ":3000"
	}
	if c.MaxMessageChars <= 0 {
		c.MaxMessageChars = DefaultMaxMessageChars
	}
	if c.Sessions == nil {
		c.Sessions, _ = session.NewMemory(session.MemoryConfig{}) // a zero config never fails
	}
	if c.Messages == nil {
		c.Messages, _ = message.NewMemory(message.MemoryConfig{})
	}
	if c.Presence == nil {
		c.Presence = presence.NewMemory()
	}
	if c.Page == nil {
		c.Page = http.NotFoundHandler()
	}
	if c.Registry == nil {
		c.Registry = NewRegistry()
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 8 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.SocketIO.Logger == nil {
		c.SocketIO.Logger = c.Logger
	}
	if r := c.SocketIO.Recovery; r != nil {
		// The authentication middleware puts the user, session id
		// included, on the socket; a session recovered on another node
		// carries only a decoded copy of that data.
		withMiddlewares := *r
		withMiddlewares.RunMiddlewares = true
		c.SocketIO.Recovery = &withMiddlewares
	}
	origins := c.AllowedOrigins
	if c.Admin != nil && c.Admin.HostedDashboard {
		origins = append(slices.Clip(origins), admin.HostedDashboard)
	}
	policy := newOriginPolicy(origins)
	c.SocketIO.Engine.CORS = &engineio.CORS{AllowOrigin: policy.allowed, Credentials: true}
	c.SocketIO.Engine.AllowRequest = policy.check
	if c.SocketIO.Metrics == nil {
		c.SocketIO.Metrics = socketio.NewMetrics()
	}
	return c
}

// Server is one Parley node serving the chat.
type Server struct {
	cfg     Config
	log     *slog.Logger
	io      *socketio.Server
	chat    *chat
	handler http.Handler
	// admin is the admin UI while Serve runs with Config.Admin set.
	admin *admin.Admin
}

// New builds a Server from cfg.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger, io: socketio.New(cfg.SocketIO)}
	announcer := cfg.Announcer
	if announcer == nil {
		announcer = localAnnouncer{s.io}
	}
	s.chat = &chat{
		io:        s.io,
		sessions:  cfg.Sessions,
		messages:  cfg.Messages,
		presence:  cfg.Presence,
		announcer: announcer,
		maxChars:  cfg.MaxMessageChars,
		refresh:   sessionRefresh,
		log:       cfg.Logger,
	}
	s.chat.register()
	s.registerMetrics()
	s.handler = s.routes()
	return s
}

// Handler returns the node's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// IO returns the node's Socket.IO server.
func (s *Server) IO() *socketio.Server { return s.io }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", s.io)
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metricsHandler())
	if s.cfg.Admin != nil {
		adminRoutes(mux)
	}
	mux.Handle("/", s.cfg.Page)
	return mux
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "clients": s.io.Engine().ClientsCount()})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.cfg.Ready(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "error": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// watchPresence runs the tracker's Watch, if it has one, until the returned
// function is called.
func (s *Server) watchPresence() (stop func()) {
	w, ok := s.cfg.Presence.(presence.Watcher)
	if !ok {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Watch(ctx, s.chat.presenceChanged)
	}()
	return func() { cancel(); <-done }
}

// Run listens on Config.Addr and serves until ctx is done, then shuts down
// gracefully.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is done. Then it stops accepting connections,
// disconnects every client (their disconnect handlers run, so presence is
// right on the other nodes) and returns within Config.ShutdownTimeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := s.startAdmin(); err != nil {
		_ = ln.Close()
		return err
	}
	hs := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	stopWatch := s.watchPresence()
	defer stopWatch()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	s.log.Info("parley: listening", "addr", ln.Addr().String())
	select {
	case err := <-served:
		return errors.Join(err, s.closeAdmin())
	case <-ctx.Done():
	}
	s.log.Info("parley: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	// Shutdown closes the listener at once, then waits for requests in
	// flight; long-polling requests among them end when the engine closes
	// their sessions.
	stopped := make(chan error, 1)
	go func() { stopped <- hs.Shutdown(sctx) }()
	// The admin UI closes after the engine: its dashboards then see the
	// transport close, as the chat's clients do, and reconnect (to another
	// node behind a load balancer) instead of taking admin.Close's
	// namespace disconnect as final.
	errEngine := s.io.Close(sctx)
	errAdmin := s.closeAdmin()
	errHTTP := <-stopped
	if errors.Is(errHTTP, context.DeadlineExceeded) {
		_ = hs.Close()
	}
	<-served
	return errors.Join(errAdmin, errEngine, errHTTP)
}
