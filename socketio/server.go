package socketio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/engineio"
	"github.com/parley-chat/parley/internal/timers"
)

// Config configures a Server. The zero value works and gives Node's
// socket.io 4.8 defaults.
type Config struct {
	// Engine configures the Engine.IO server under the Socket.IO server
	// (heartbeat, maximum payload, transports, CORS, AllowRequest).
	Engine engineio.Config
	// ConnectTimeout is how long a client may stay connected to Engine.IO
	// without joining a namespace before it is closed. default: 45s
	ConnectTimeout time.Duration
	// Adapter builds each namespace's adapter. default: NewMemoryAdapter
	Adapter AdapterFunc
	// Recovery, when set, turns connection state recovery on: a client that
	// reconnects within Recovery.MaxDisconnection gets its socket id, rooms,
	// data and the packets it missed back. default: off
	Recovery *Recovery
	// CleanupEmptyChildNamespaces removes a dynamic namespace (see
	// OfFunc) when its last socket leaves. default: false
	CleanupEmptyChildNamespaces bool
	// MaxAttachments is the most binary attachments a client packet may
	// announce; more closes the connection. default: 10
	MaxAttachments int
	// Metrics, when set, counts broadcasts and deliveries (see
	// NewMetrics). default: none
	Metrics *Metrics
	// Logger receives the server's log lines. default: slog.Default()
	Logger *slog.Logger
}

// Recovery configures connection state recovery.
type Recovery struct {
	// MaxDisconnection is how long a disconnected session can be
	// recovered. default: 2 minutes
	MaxDisconnection time.Duration
	// RunMiddlewares runs the namespace middlewares for recovered sockets
	// too; socket.io skips them. default: false (skipped)
	RunMiddlewares bool
}

func (c Config) withDefaults() Config {
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 45 * time.Second
	}
	if c.Adapter == nil {
		c.Adapter = func(nsp *Namespace) Adapter { return NewMemoryAdapter(nsp) }
	}
	if c.MaxAttachments <= 0 {
		c.MaxAttachments = 10
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Engine.Logger == nil {
		c.Engine.Logger = c.Logger
	}
	if c.Engine.Timers == nil {
		c.Engine.Timers = timers.New()
	}
	if r := c.Recovery; r != nil && r.MaxDisconnection <= 0 {
		cp := *r
		cp.MaxDisconnection = 2 * time.Minute
		c.Recovery = &cp
	}
	return c
}

// Server is a Socket.IO 5 server: an http.Handler to mount at /socket.io/.
// Its own methods act on the main namespace "/".
type Server struct {
	cfg    Config
	log    *slog.Logger
	engine *engineio.Server
	timers *timers.Heap

	mu      sync.RWMutex
	nsps    map[string]*Namespace
	parents []*ParentNamespace
	onNew   []func(*Namespace)
	closed  bool

	// obs holds the hooks of tools watching the server (see observe.go);
	// nil until one is added.
	obs atomic.Pointer[observers]

	main *Namespace
}

// New returns a Server.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger, timers: cfg.Engine.Timers, nsps: make(map[string]*Namespace)}
	s.engine = engineio.New(cfg.Engine)
	s.engine.OnConnection(s.newClient)
	s.main = s.Of("/")
	return s
}

// ServeHTTP serves Socket.IO requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// Engine returns the Engine.IO server underneath.
func (s *Server) Engine() *engineio.Server { return s.engine }

// Config returns the server's configuration, defaults applied.
func (s *Server) Config() Config { return s.cfg }

// Of returns the namespace name, creating it on first use. Names start with
// "/" (one is added otherwise).
func (s *Server) Of(name string) *Namespace {
	if name == "" || name[0] != '/' {
		name = "/" + name
	}
	s.mu.Lock()
	if n, ok := s.nsps[name]; ok {
		s.mu.Unlock()
		return n
	}
	n := newNamespace(s, name, nil)
	s.nsps[name] = n
	hooks := s.onNew
	s.mu.Unlock()
	for _, h := range hooks {
		h(n)
	}
	return n
}

// OnNewNamespace adds a handler of namespaces created from now on, dynamic
// ones included (Node's "new_namespace" event).
func (s *Server) OnNewNamespace(h func(*Namespace)) {
	s.mu.Lock()
	s.onNew = append(s.onNew, h)
	s.mu.Unlock()
}

// OfFunc registers a group of dynamic namespaces: a client that connects to
// a namespace that does not exist gets it created when match accepts its
// name and auth payload (the first matching group wins, in order of
// registration). The children share the group's middlewares and handlers.
func (s *Server) OfFunc(match func(name string, auth map[string]any) bool) *ParentNamespace {
	p := &ParentNamespace{srv: s, match: match, children: make(map[string]*Namespace)}
	s.mu.Lock()
	s.parents = append(s.parents, p)
	s.mu.Unlock()
	return p
}

// namespace returns an existing namespace, or the dynamic one created for
// name, or nil.
func (s *Server) namespace(name string, auth map[string]any) *Namespace {
	s.mu.RLock()
	n, ok := s.nsps[name]
	parents := s.parents
	s.mu.RUnlock()
	if ok {
		return n
	}
	for _, p := range parents {
		if !p.match(name, auth) {
			continue
		}
		s.mu.Lock()
		if n, ok := s.nsps[name]; ok { // created meanwhile
			s.mu.Unlock()
			return n
		}
		n = newNamespace(s, name, p)
		s.nsps[name] = n
		hooks := s.onNew
		s.mu.Unlock()
		p.addChild(n)
		for _, h := range hooks {
			h(n)
		}
		return n
	}
	return nil
}

// removeNamespace drops an empty child namespace.
func (s *Server) removeNamespace(n *Namespace) {
	s.mu.Lock()
	if s.nsps[n.name] == n {
		delete(s.nsps, n.name)
	}
	s.mu.Unlock()
	if n.parent != nil {
		n.parent.removeChild(n)
	}
	if err := n.adapter.Close(); err != nil {
		s.log.Warn("socketio: closing the adapter of a removed namespace", "nsp", n.name, "err", err)
	}
}

// Namespaces returns the existing namespaces.
func (s *Server) Namespaces() []*Namespace {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Namespace, 0, len(s.nsps))
	for _, n := range s.nsps {
		out = append(out, n)
	}
	return out
}

// Use adds a middleware to the main namespace.
func (s *Server) Use(m Middleware) { s.main.Use(m) }

// OnConnection adds a handler of the main namespace's new sockets.
func (s *Server) OnConnection(h func(*Socket)) { s.main.OnConnection(h) }

// Sockets returns the main namespace.
func (s *Server) Sockets() *Namespace { return s.main }

// Emit broadcasts an event to every socket of the main namespace.
func (s *Server) Emit(ev string, args ...any) error { return s.main.Emit(ev, args...) }

// To selects sockets of the main namespace by room; see BroadcastOperator.
func (s *Server) To(rooms ...string) BroadcastOperator { return s.main.To(rooms...) }

// In is To.
func (s *Server) In(rooms ...string) BroadcastOperator { return s.main.In(rooms...) }

// Except leaves the sockets of rooms out.
func (s *Server) Except(rooms ...string) BroadcastOperator { return s.main.Except(rooms...) }

// Local keeps the operation on this node.
func (s *Server) Local() BroadcastOperator { return s.main.Local() }

// Volatile drops the event for clients that cannot take it at once.
func (s *Server) Volatile() BroadcastOperator { return s.main.Volatile() }

// Timeout bounds EmitWithAck.
func (s *Server) Timeout(d time.Duration) BroadcastOperator { return s.main.Timeout(d) }

// FetchSockets returns the sockets of the main namespace on every node.
func (s *Server) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return s.main.FetchSockets(ctx)
}

// ServerSideEmit sends an event to the main namespace of the other nodes.
func (s *Server) ServerSideEmit(ev string, args ...any) error {
	return s.main.ServerSideEmit(ev, args...)
}

// ErrServerClosed is returned by operations on a closed server.
var ErrServerClosed = errors.New("socketio: server closed")

// Close disconnects every socket ("server shutting down"), closes the
// Engine.IO sessions and the namespaces' adapters, and stops the timers.
// Disconnect handlers have run when it returns.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	nsps := make([]*Namespace, 0, len(s.nsps))
	for _, n := range s.nsps {
		nsps = append(nsps, n)
	}
	s.mu.Unlock()
	for _, n := range nsps {
		for _, sock := range n.allSockets() {
			sock.onClose(ReasonServerShuttingDown)
		}
	}
	var errs []error
	if err := s.engine.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, n := range nsps {
		if err := n.adapter.Close(); err != nil {
			errs = append(errs, fmt.Errorf("socketio: closing the adapter of %s: %w", n.name, err))
		}
	}
	s.timers.Close()
	return errors.Join(errs...)
}
