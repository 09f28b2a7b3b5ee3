// Package engine sets up Parley's Socket.IO server: the zishang520 library's
// engine with Parley's options, its fixes for the library's deviations from
// Node's engine.io (see http.go), its origin policy (origin.go), its HTTP
// handler with the release of what WebSocket upgrades leave behind
// (upgrade.go), Parley's WebSocket transport (package wstransport) and the
// one-node fan-out adapter (package fanout). It knows nothing about the
// chat: an application registers its own namespaces, middleware and events
// on IO() and mounts the Engine as the handler of /socket.io/.
//
// Concurrency: an Engine is safe for concurrent use once New returns. The
// library calls connection middleware and disconnect listeners on its own
// goroutines (transport readers, timers); handlers must not assume a caller.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	eio "github.com/zishang520/socket.io/servers/engine/v3"
	"github.com/zishang520/socket.io/servers/engine/v3/transports"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/parley-chat/parley/fanout"
	"github.com/parley-chat/parley/wstransport"
)

// Config configures an Engine. The zero value works.
type Config struct {
	// AllowedOrigins lists the origins (scheme://host[:port]) of pages on other
	// sites that may connect. A page served by the same host is always allowed.
	// default: none
	AllowedOrigins []string
	// PingInterval is how often the server pings each client. default: 25s
	PingInterval time.Duration
	// PingTimeout is how long a pong may take before the client is dropped.
	// default: 20s
	PingTimeout time.Duration
	// MaxPayload is the largest message a client may send, in bytes; larger
	// polling bodies get 413 and larger WebSocket frames close 1009.
	// default: 1,000,000
	MaxPayload int64
	// Adapter builds the adapter of every namespace. default: the one-node
	// adapter of package fanout (the library's in-memory adapter when
	// Recovery is on: recovery needs its session-aware adapter)
	Adapter socket.AdapterConstructor
	// Fanout delivers broadcasts to this node's sockets; give a cluster
	// adapter the same one so that its counters are the ones the engine
	// exports. default: fanout.New(fanout.Config{})
	Fanout *fanout.Fanout
	// WebSocket configures Parley's WebSocket transport. Its MaxPayload and
	// Logger default to the engine's. default: wstransport's defaults
	WebSocket wstransport.Config
	// StockWebSocket serves WebSocket with the library's own transport
	// instead of Parley's (for comparisons). default: false
	StockWebSocket bool
	// Recovery, when set, turns on connection state recovery: a client that
	// reconnects within the window gets its socket id, rooms and missed
	// packets back. default: off
	Recovery *Recovery
	// Logger receives the engine's log lines. default: slog.Default()
	Logger *slog.Logger
}

// Recovery configures connection state recovery.
type Recovery struct {
	// Window is how long a disconnected session can be recovered.
	// default: 2 minutes
	Window time.Duration
	// RunMiddlewares runs the connection middlewares for recovered sockets
	// too; socket.io skips them. An application whose middleware sets
	// socket data it relies on needs them: data restored on another node is
	// a decoded copy of what the middleware set, not the Go value itself.
	// default: false (skipped, as in Node)
	RunMiddlewares bool
}

func (c *Config) withDefaults() Config {
	out := *c
	if out.PingInterval <= 0 {
		out.PingInterval = 25 * time.Second
	}
	if out.PingTimeout <= 0 {
		out.PingTimeout = 20 * time.Second
	}
	if out.MaxPayload <= 0 {
		out.MaxPayload = 1_000_000
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	if out.Fanout == nil {
		out.Fanout = fanout.New(fanout.Config{})
	}
	if out.WebSocket.MaxPayload <= 0 {
		out.WebSocket.MaxPayload = out.MaxPayload
	}
	if out.WebSocket.Logger == nil {
		out.WebSocket.Logger = out.Logger
	}
	if out.Recovery != nil && out.Recovery.Window <= 0 {
		r := *out.Recovery // the caller's other recovery settings stand
		r.Window = 2 * time.Minute
		out.Recovery = &r
	}
	return out
}

// Engine is a Socket.IO server with Parley's protocol fixes in front of it.
type Engine struct {
	cfg     Config
	log     *slog.Logger
	io      *socket.Server
	handler http.Handler
	base    eio.BaseServer
	origins originPolicy
	ws      *wstransport.Builder // nil with StockWebSocket
	gate    *connectGate

	// sessions maps the id of an Engine.IO session that started on long
	// polling to its pollingSession.
	sessions sync.Map
}

// New builds an Engine. Register namespaces and handlers on IO() before
// serving requests.
func New(cfg Config) *Engine {
	cfg = cfg.withDefaults()
	e := &Engine{cfg: cfg, log: cfg.Logger, origins: newOriginPolicy(cfg.AllowedOrigins), gate: newConnectGate()}
	if !cfg.StockWebSocket {
		ws := cfg.WebSocket
		ws.Inbound = e.inbound
		e.ws = wstransport.NewBuilder(ws)
	}
	e.io = socket.NewServer(nil, e.options())
	e.gate.watch(e.io)
	e.handler = e.io.ServeHandler(nil)
	e.base = e.io.Engine()
	_ = e.base.On("connection", e.trackSession)
	return e
}

func (e *Engine) options() *socket.ServerOptions {
	opts := socket.DefaultServerOptions()
	opts.SetPingInterval(e.cfg.PingInterval)
	opts.SetPingTimeout(e.cfg.PingTimeout)
	opts.SetMaxHttpBufferSize(e.cfg.MaxPayload)
	opts.SetServeClient(false)
	opts.SetParser(nodeParser{parser.NewParser()})
	// The origin policy is enforced in ServeHTTP; the library only has to
	// answer allowed cross-origin requests with the CORS headers and let
	// their WebSocket upgrades through.
	opts.SetCors(&types.Cors{Origin: e.origins.allowed, Credentials: true})
	if e.ws != nil {
		// Registered under "websocket", it serves direct connections and
		// the upgrade from polling.
		opts.SetTransports(types.NewSet[transports.TransportCtor](&transports.PollingBuilder{}, e.ws))
	}
	switch {
	case e.cfg.Adapter != nil:
		opts.SetAdapter(e.cfg.Adapter)
	case e.cfg.Recovery == nil:
		opts.SetAdapter(&fanout.Builder{Fanout: e.cfg.Fanout})
	}
	if r := e.cfg.Recovery; r != nil {
		csr := &socket.ConnectionStateRecovery{}
		// Set both explicitly: with a custom adapter the library would
		// otherwise leave them unset and sessions would expire at once.
		csr.SetMaxDisconnectionDuration(r.Window.Milliseconds())
		csr.SetSkipMiddlewares(!r.RunMiddlewares)
		opts.SetConnectionStateRecovery(csr)
	}
	return opts
}

// IO returns the Socket.IO server, to register namespaces, middleware and
// event handlers on.
func (e *Engine) IO() *socket.Server { return e.io }

// ClientCount returns the number of open Engine.IO sessions on this node.
func (e *Engine) ClientCount() uint64 { return e.base.ClientsCount() }

// Collectors returns the engine's Prometheus collectors: connected clients,
// fan-out deliveries and the WebSocket transport's queues and slow-consumer
// counters.
func (e *Engine) Collectors() []prometheus.Collector {
	out := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "parley_engine_clients",
			Help: "Open Engine.IO sessions (connected clients) on this node.",
		}, func() float64 { return float64(e.ClientCount()) }),
		e.cfg.Fanout,
	}
	if e.ws != nil {
		out = append(out, e.ws)
	}
	return out
}

// trackSession runs for every new Engine.IO session: it logs the session's
// end, and gives polling sessions the context the polling guard waits on
// (http.go). Sessions opened directly over WebSocket never make polling
// requests, so they get no context: one per idle connection is memory the
// guard never uses.
func (e *Engine) trackSession(args ...any) {
	conn, ok := args[0].(eio.Socket)
	if !ok {
		return
	}
	id := conn.Id()
	if conn.Transport().Name() != "polling" {
		_ = conn.Once("close", func(args ...any) {
			e.gate.forget(id)
			e.logClose(id, args)
		})
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	ps := &pollingSession{ctx: ctx}
	e.sessions.Store(id, ps)
	// Registered before any upgrade starts, so it runs before the library's
	// own upgrade clean-up (see pollingSession).
	_ = conn.Once("close", func(args ...any) {
		ps.close()
		e.sessions.Delete(id)
		cancel()
		e.gate.forget(id)
		e.logClose(id, args)
	})
}

// pollingSession is what Parley keeps about a session that started on long
// polling: a context the polling guard waits on (http.go), cancelled when
// the session closes, and the guard of its upgrade probe.
//
// The probe guard closes a leak in the library: when a session closes while
// the WebSocket probe of its upgrade is being handled, the library stores a
// 100 ms upgrade-check interval after its close clean-up ran, and the
// interval's goroutine lives for the rest of the process. The probe is
// handed to the engine under mu, and the session's close takes mu first:
// either the probe is handled before the clean-up (which then stops the
// interval) or it is dropped, the session being closed already.
type pollingSession struct {
	ctx    context.Context
	mu     sync.Mutex
	closed bool
	// polls counts the session's long-polling GETs in progress.
	polls atomic.Int32
}

// upgradeWait bounds how long the upgrade packet waits for a poll in
// progress to end.
const upgradeWait = time.Second

// awaitPolls returns once no poll of the session is in progress, or after
// upgradeWait. The library hands packets to the polling transport on a
// queue of its own; if the transport is switched while a poll is pending
// and such a write is queued, the packets are lost. socket.io clients stop
// polling before they send the upgrade packet, so this only waits for
// clients that do not.
func (ps *pollingSession) awaitPolls() {
	deadline := time.Now().Add(upgradeWait)
	for ps.polls.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}

func (ps *pollingSession) close() {
	ps.mu.Lock()
	ps.closed = true
	ps.mu.Unlock()
}

// probe is the Inbound answer for an upgrade probe: deliver it unless the
// session has closed, holding mu until the engine has handled it.
func (ps *pollingSession) probe() (deliver bool, done func()) {
	ps.mu.Lock()
	if ps.closed {
		ps.mu.Unlock()
		return false, nil
	}
	return true, ps.mu.Unlock
}

// inbound sees every text message read by Parley's WebSocket transport
// before the engine does (wstransport.Config.Inbound).
func (e *Engine) inbound(sid string, msg []byte) (deliver bool, done func()) {
	switch string(msg) {
	case "2probe":
		if v, ok := e.sessions.Load(sid); ok {
			return v.(*pollingSession).probe()
		}
	case "5":
		if v, ok := e.sessions.Load(sid); ok {
			v.(*pollingSession).awaitPolls()
		}
	}
	e.gate.inbound(sid, msg)
	return true, nil
}

// logClose records why a session ended. A client that breaks the protocol
// (a garbled packet, a transport error) is worth a line at info level; the
// ordinary ends (the client left, a ping timeout, a shutdown) only at debug.
func (e *Engine) logClose(sid string, args []any) {
	reason, _ := firstArg(args).(string)
	switch reason {
	case "parse error", "encode error", "transport error":
		detail := ""
		if len(args) > 1 && args[1] != nil {
			detail = fmt.Sprint(args[1])
		}
		e.log.Info("engine: session closed on a protocol error", "sid", sid, "reason", reason, "detail", detail)
	default:
		e.log.Debug("engine: session closed", "sid", sid, "reason", reason)
	}
}

func firstArg(args []any) any {
	if len(args) == 0 {
		return nil
	}
	return args[0]
}

// Shutdown disconnects every client and closes the namespaces' adapters.
// Clients that can be told are asked to close (a close packet or frame, so
// they reconnect elsewhere at once); a long-polling client with no request
// pending cannot be told and is dropped at once, as are clients still open
// when half of ctx's time is gone. Disconnect handlers have run when Shutdown
// returns.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.base.Clients().Range(func(_ string, conn eio.Socket) bool {
		// A polling close waits for the client's next request, up to the
		// library's close timeout; nobody will make it.
		conn.Close(!conn.Transport().Writable())
		return true
	})
	graceful := time.Second * 2
	if dl, ok := ctx.Deadline(); ok {
		graceful = time.Until(dl) / 2
	}
	wait, cancel := context.WithTimeout(ctx, graceful)
	defer cancel()
	for e.base.ClientsCount() > 0 && wait.Err() == nil {
		select {
		case <-wait.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	if n := e.base.ClientsCount(); n > 0 {
		e.log.Warn("engine: dropping clients that did not close in time", "clients", n)
		e.base.Clients().Range(func(_ string, conn eio.Socket) bool {
			conn.Close(true)
			return true
		})
	}
	done := make(chan struct{})
	go func() {
		e.io.Close(nil)
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return errors.New("engine: shutdown: " + ctx.Err().Error())
	}
	if e.ws != nil {
		if err := e.ws.Shutdown(ctx); err != nil {
			return fmt.Errorf("engine: shutdown: %w", err)
		}
	}
	return nil
}
