package wstransport

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/zishang520/socket.io/servers/engine/v3/transports"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// Config configures the transport. The zero value works.
type Config struct {
	// MaxPayload is the largest message a client may send, in bytes; a
	// larger one closes the connection with 1009. Use the engine's
	// maxHttpBufferSize. default: 1,000,000
	MaxPayload int64
	// MaxQueue is the most bytes a connection may have waiting to be
	// written; above it the connection is closed as a slow consumer.
	// default: 1 MiB
	MaxQueue int
	// WriteTimeout is how long a connection's backlog may take to drain
	// before it is closed as a slow consumer. default: 10s
	WriteTimeout time.Duration
	// CloseTimeout is how long the server waits for the client's close frame
	// after sending its own before it drops the TCP connection. default: 5s
	CloseTimeout time.Duration
	// Workers is the number of long-lived goroutines reading ready
	// connections (Linux, plain TCP). While all are busy more are started;
	// those stop after a minute without work. default: 4 × GOMAXPROCS, at
	// least 16
	Workers int
	// GoroutineReader makes every connection read with its own goroutine,
	// even where the readiness loop is available. default: false
	GoroutineReader bool
	// Inbound, when set, sees every text message of a session before the
	// engine does, on the reading goroutine. It may hold the message back
	// for a moment by blocking, or drop it (deliver false); a non-nil done
	// is called once the engine has handled the message (the engine uses
	// this to close races in the library). default: every message is
	// delivered
	Inbound func(sid string, message []byte) (deliver bool, done func())
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
		c.Workers = max(16, 4*runtime.GOMAXPROCS(0))
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

// Builder creates the transport for each WebSocket connection of an engine.
// It implements the library's transports.TransportCtor under the name
// "websocket", and prometheus.Collector for the transport's metrics.
type Builder struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	poller  *poller // nil where the readiness loop is not available
	conns   registry
}

var _ transports.TransportCtor = (*Builder)(nil)

// NewBuilder returns a Builder. Call Shutdown when the engine stops.
func NewBuilder(cfg Config) *Builder {
	cfg = cfg.withDefaults()
	b := &Builder{cfg: cfg, log: cfg.Logger}
	if !cfg.GoroutineReader {
		b.poller = newPoller(cfg.Workers, cfg.Logger, &b.conns)
	}
	b.metrics = newMetrics(
		func() float64 { return float64(b.conns.len()) },
		func() float64 { return float64(b.poller.workerCount()) },
	)
	return b
}

// Name returns "websocket": the engine looks transports up by this name for
// direct connections and for upgrades.
func (b *Builder) Name() string { return transports.WEBSOCKET }

// HandlesUpgrades reports that the transport takes upgraded connections.
func (b *Builder) HandlesUpgrades() bool { return true }

// UpgradesTo returns nil: WebSocket is the last step.
func (b *Builder) UpgradesTo() []string { return nil }

// New creates the transport of one upgraded connection. The engine calls it.
func (b *Builder) New(ctx *types.HttpContext) transports.Transport {
	t := &Transport{b: b, fr: frameReader{max: b.cfg.MaxPayload}}
	t.Transport = transports.MakeTransport()
	t.Prototype(t)
	t.Construct(ctx)
	// The engine names only the transport a session starts with; an upgrade
	// transport learns its session from the request.
	t.upgradeSid = ctx.Query().Peek("sid")
	return t
}

// session returns the id of the Engine.IO session the transport serves.
func (t *Transport) session() string {
	if sid := t.Sid(); sid != "" {
		return sid
	}
	return t.upgradeSid
}

// Describe implements prometheus.Collector.
func (b *Builder) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range b.metrics.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (b *Builder) Collect(ch chan<- prometheus.Metric) {
	for _, c := range b.metrics.collectors() {
		c.Collect(ch)
	}
}

// Shutdown drops the connections still open (the engine has normally closed
// them already) and stops the readiness loop and its workers, waiting for
// them until ctx is done.
func (b *Builder) Shutdown(ctx context.Context) error {
	for _, t := range b.conns.all() {
		t.finish()
	}
	return b.poller.shutdown(ctx)
}

// Transport is the transport of one WebSocket connection.
type Transport struct {
	transports.Transport // the library's base: parser, state, events

	b           *Builder
	conn        net.Conn
	raw         syscall.RawConn // set when writes can be tried without blocking
	idleTimeout time.Duration
	upgradeSid  string      // the session an upgrade transport is for
	id          uint64      // in the Builder's registry
	polled      atomic.Bool // registered in the readiness loop

	// Reader state, used by one goroutine at a time.
	fr         frameReader
	discarding bool // after a protocol error: read until the client closes

	// active is set once the engine writes through this transport: from the
	// start for direct connections, after the upgrade packet otherwise.
	// Until then pre-framed writes are refused so that they cannot overtake
	// packets the engine still holds for the old transport.
	active   atomic.Bool
	finished atomic.Bool

	// probeMu is held while the upgrade probe is handed to the engine, and
	// taken (as a barrier) before the transport reports an error or its
	// close from another goroutine. The library's upgrade stores a 100 ms
	// check interval while it handles the probe; if the upgrade's clean-up
	// (run on this transport's error or close) ran in the middle, the
	// interval and its goroutine would live for the rest of the process.
	// The probe's handling never reports an error or close synchronously,
	// so this cannot deadlock.
	probeMu sync.Mutex

	mu               sync.Mutex // guards the write state below
	queue            net.Buffers
	queued           int
	headPartial      bool // queue[0] is the rest of a frame begun on the wire
	flushing         bool
	closeSent        bool
	finishAfterFlush bool
	done             bool
	closeTimer       *time.Timer
	wbuf             []byte // argument and results of writeFn, under mu
	wn               int
	werr             error
	writeFn          func(fd uintptr) bool
}

// Construct takes the upgraded connection over from the engine's gorilla
// Conn. It is called once, by New.
func (t *Transport) Construct(ctx *types.HttpContext) {
	t.Transport.Construct(ctx)
	wsc := ctx.Websocket
	if wsc == nil || wsc.Conn == nil {
		t.b.log.Error("wstransport: request has no upgraded connection", "remote", ctx.Request().RemoteAddr)
		t.SetReadyState("closed")
		return
	}
	t.conn = wsc.NetConn()
	// The engine then takes the client's address from the request, and the
	// gorilla Conn with its buffers becomes garbage once the engine's
	// initialization returns.
	ctx.Websocket = nil
	_ = t.conn.SetDeadline(time.Time{})
	// The engine closes the gorilla Conn (hence our socket) when the
	// initialization fails or times out.
	_ = wsc.Once("close", func(...any) { t.finish() })
	t.idleTimeout = ctx.IdleTimeout
	t.active.Store(!ctx.Query().Has("sid"))
	t.SetWritable(true)
	t.SetPerMessageDeflate(nil)
	t.setupRaw()
	t.id = t.b.conns.add(t)
	transports.StartReader(t, ctx.TransportReadPermission(), t.startReading)
}

// Name returns "websocket".
func (t *Transport) Name() string { return transports.WEBSOCKET }

// HandlesUpgrades reports true, as the library's WebSocket transport does.
func (t *Transport) HandlesUpgrades() bool { return true }

// startReading runs once the engine allows reading.
func (t *Transport) startReading() {
	if t.raw != nil && t.b.poller.add(t) == nil {
		return
	}
	t.readLoop()
}

// readLoop is the goroutine reader: TLS, other systems, or when configured.
func (t *Transport) readLoop() {
	buf := make([]byte, 4096)
	for {
		if t.idleTimeout > 0 {
			_ = t.conn.SetReadDeadline(time.Now().Add(t.idleTimeout))
		}
		n, err := t.conn.Read(buf)
		if n > 0 && !t.consume(buf[:n]) {
			return
		}
		if err != nil {
			t.readFailed(err)
			return
		}
	}
}

// consume parses bytes read from the client. It returns false once reading
// should stop.
func (t *Transport) consume(data []byte) bool {
	if t.discarding || t.finished.Load() {
		return !t.finished.Load()
	}
	err := t.fr.feed(data, t)
	if err == nil {
		return true
	}
	if errors.Is(err, errPeerClosed) {
		return false
	}
	var ce *closeError
	if errors.As(err, &ce) {
		t.b.log.Info("wstransport: closing connection", "sid", t.Sid(), "code", ce.code, "reason", ce.msg)
		t.discarding = true
		t.sendClose(ce.code)
		t.OnError("websocket error", err)
		return true
	}
	t.readFailed(err)
	return false
}

// readFailed ends the connection after a read error or end of stream.
func (t *Transport) readFailed(err error) {
	if !t.finished.Load() && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		t.b.log.Debug("wstransport: read failed", "sid", t.Sid(), "err", err)
	}
	t.finish()
}

var errPeerClosed = errors.New("wstransport: peer closed")

// message implements frameSink: a complete text or binary message.
func (t *Transport) message(op opcode, payload []byte) {
	if t.isClosing() {
		return // after the close frame, data is ignored (RFC 6455 §5.5.1)
	}
	// The engine's parser copies the payload, so the read buffer can be
	// handed over as it is.
	if op == opText {
		if isProbe(payload) {
			// See probeMu.
			t.probeMu.Lock()
			defer t.probeMu.Unlock()
		}
		deliver, done := true, (func())(nil)
		if in := t.b.cfg.Inbound; in != nil {
			deliver, done = in(t.session(), payload)
		}
		if deliver {
			t.OnData(types.NewStringBuffer(payload))
		}
		if done != nil {
			done()
		}
		// The engine switches to this transport and flushes what it held
		// for the old one while it handles the upgrade packet.
		if len(payload) == 1 && payload[0] == '5' {
			t.active.Store(true)
		}
		return
	}
	t.OnData(types.NewBytesBuffer(payload))
}

// control implements frameSink: ping, pong and close frames.
func (t *Transport) control(op opcode, payload []byte) error {
	switch op {
	case opPing:
		t.send(appendFrame(make([]byte, 0, 2+len(payload)), opPong, payload), kindData)
	case opClose:
		code, err := parseClose(payload)
		if err != nil {
			return err
		}
		t.peerClosed(code)
		return errPeerClosed
	}
	return nil
}

// peerClosed answers the client's close frame (echoing its code, as ws
// does) unless the server's went out first, then ends the connection once
// the answer is written.
func (t *Transport) peerClosed(code int) {
	t.sendClose(code)
	t.mu.Lock()
	pending := t.flushing
	if pending {
		t.finishAfterFlush = true
	}
	t.mu.Unlock()
	if !pending {
		t.finish()
	}
}

func (t *Transport) isClosing() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closeSent || t.done
}

// DoClose is called by the engine to close the transport: it sends a close
// frame without a status, as Node's engine.io does (clients see 1005), and
// waits for the client's answer in the background.
func (t *Transport) DoClose(fn types.Callable) {
	t.sendClose(closeNoStatus)
	if fn != nil {
		fn()
	}
}

// sendClose queues a close frame once and bounds the wait for the client's.
func (t *Transport) sendClose(code int) {
	if !t.send(closeFrame(code, ""), kindClose) {
		return
	}
	timer := time.AfterFunc(t.b.cfg.CloseTimeout, t.finish)
	t.mu.Lock()
	if t.done {
		timer.Stop()
	} else {
		t.closeTimer = timer
	}
	t.mu.Unlock()
}

// abort ends the connection after a failure the engine must hear about as a
// transport error. Writes stop at once; the engine's close (and with it the
// application's disconnect handlers) runs on its own goroutine, because
// abort is called on write paths: a broadcast must not wait for them.
func (t *Transport) abort(msg string, err error) {
	t.mu.Lock()
	t.done = true // nothing more is written, the close frame included
	t.mu.Unlock()
	go func() {
		t.probeBarrier()
		t.OnError(msg, err)
		t.finish()
	}()
}

// isProbe reports whether a message is the upgrade probe ("2probe").
func isProbe(m []byte) bool { return string(m) == "2probe" }

// probeBarrier waits until no upgrade probe is being handed to the engine.
func (t *Transport) probeBarrier() {
	t.probeMu.Lock()
	//lint:ignore SA2001 the empty critical section is the point: see probeMu
	t.probeMu.Unlock()
}

// finish closes the connection once and tells the engine.
func (t *Transport) finish() {
	if !t.finished.CompareAndSwap(false, true) {
		return
	}
	t.mu.Lock()
	t.done = true
	dropped := t.queued
	t.queue, t.queued = nil, 0
	timer := t.closeTimer
	t.mu.Unlock()
	t.b.metrics.queueBytes.Sub(float64(dropped))
	if timer != nil {
		timer.Stop()
	}
	t.b.poller.remove(t)
	if t.conn != nil {
		_ = t.conn.Close()
		t.b.conns.remove(t.id)
	}
	t.probeBarrier()
	t.OnClose()
}
