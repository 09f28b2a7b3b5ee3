package wstransport

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	"github.com/zishang520/socket.io/parsers/engine/v3/parser"
	"github.com/zishang520/socket.io/servers/engine/v3/transports"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// Builder creates the transport for each WebSocket connection of the
// zishang520 library's engine. It implements the library's
// transports.TransportCtor under the name "websocket", and (through its
// Server) prometheus.Collector for the transport's metrics.
type Builder struct {
	*Server
}

var _ transports.TransportCtor = (*Builder)(nil)

// NewBuilder returns a Builder. Call Shutdown when the engine stops.
func NewBuilder(cfg Config) *Builder { return &Builder{Server: New(cfg)} }

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
	t.outbound.srv, t.outbound.owner = b.Server, t
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

// Transport is the transport of one WebSocket connection.
type Transport struct {
	transports.Transport // the library's base: parser, state, events

	outbound
	pollEntry

	b           *Builder
	conn        net.Conn
	idleTimeout time.Duration
	upgradeSid  string // the session an upgrade transport is for

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
	t.nc = t.conn
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
	t.raw = rawConnOf(t.conn)
	t.b.conns.add(t)
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
	t.afterFlush()
}

func (t *Transport) isClosing() bool { return t.closing() }

// Library-transport sides of the readiness loop's and the write path's
// interfaces.
func (t *Transport) rawConn() syscall.RawConn { return t.raw }
func (t *Transport) isFinished() bool         { return t.finished.Load() }
func (t *Transport) logID() string            { return t.session() }

// DoClose is called by the engine to close the transport: it sends a close
// frame without a status, as Node's engine.io does (clients see 1005), and
// waits for the client's answer in the background.
func (t *Transport) DoClose(fn types.Callable) {
	t.sendClose(closeNoStatus)
	if fn != nil {
		fn()
	}
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
	if timer := t.stop(); timer != nil {
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

// Send writes the engine's packets. The engine calls it under its flush
// lock; "drain" tells it the packets are handed over ("ready" must not be
// emitted here: the engine would flush again and deadlock).
func (t *Transport) Send(packets []*packet.Packet) {
	frames, err := t.frame(packets)
	if err != nil {
		t.OnError("encode error", err)
		return
	}
	kind := kindData
	if len(packets) == 1 && packets[0].Type == packet.PING {
		kind = kindPing
	} else if t.Protocol() == 4 && hasConnectAnswer(packets) {
		// The library writes a namespace's CONNECT answer before it
		// registers the namespace socket for incoming packets; an event the
		// client sends at once can land in between and close the client
		// ("invalid state"). Handing the write to another goroutine lets the
		// connecting goroutine finish first (Node has no such gap).
		kind = kindDeferred
	}
	t.send(frames, kind)
	t.Emit("drain")
}

// hasConnectAnswer reports whether packets hold a Socket.IO CONNECT packet
// (an Engine.IO message whose data starts with '0').
func hasConnectAnswer(packets []*packet.Packet) bool {
	for _, p := range packets {
		if p.Type != packet.MESSAGE {
			continue
		}
		if b, ok := p.Data.(types.BufferInterface); ok && b.Len() > 0 && b.Bytes()[0] == '0' {
			return true
		}
	}
	return false
}

// frame encodes and frames packets into one buffer, written at once.
func (t *Transport) frame(packets []*packet.Packet) ([]byte, error) {
	size := 0
	for _, p := range packets {
		size += maxHeaderLen + 1 + dataLen(p)
	}
	out := make([]byte, 0, size)
	for _, p := range packets {
		var err error
		if out, err = t.appendPacket(out, p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func dataLen(p *packet.Packet) int {
	if p.Options != nil && p.Options.WsPreEncodedFrame != nil {
		return p.Options.WsPreEncodedFrame.Len()
	}
	if b, ok := p.Data.(types.BufferInterface); ok {
		return b.Len()
	}
	return 64
}

// appendPacket appends one packet as one frame. Engine.IO 4 text and binary
// messages are framed straight from their buffers; anything else goes
// through the engine's parser.
func (t *Transport) appendPacket(dst []byte, p *packet.Packet) ([]byte, error) {
	if c, ok := p.Data.(io.Closer); ok {
		defer func() { _ = c.Close() }()
	}
	if p.Options != nil && p.Options.WsPreEncodedFrame != nil {
		return appendBuffer(dst, p.Options.WsPreEncodedFrame, 0), nil
	}
	if t.Protocol() == 4 {
		tb, ok := parser.PACKET_TYPES[p.Type]
		switch d := p.Data.(type) {
		case nil:
			if ok {
				return appendFrame(dst, opText, []byte{tb}), nil
			}
		case *types.StringBuffer:
			if ok {
				return appendBuffer(dst, d, tb), nil
			}
		case *strings.Reader:
			if ok {
				s := make([]byte, d.Len())
				_, _ = d.Read(s)
				dst = appendHeader(dst, opText, 1+len(s))
				return append(append(dst, tb), s...), nil
			}
		case *types.BytesBuffer:
			if t.SupportsBinary() {
				return appendBuffer(dst, d, 0), nil
			}
		}
	}
	enc, err := t.Parser().EncodePacket(p, t.SupportsBinary())
	if err != nil {
		return nil, fmt.Errorf("wstransport: encode %s packet: %w", p.Type, err)
	}
	return appendBuffer(dst, enc, 0), nil
}

// appendBuffer frames an encoded buffer: text for a StringBuffer, binary
// otherwise; prefix, when not 0, is the packet type character.
func appendBuffer(dst []byte, b types.BufferInterface, prefix byte) []byte {
	op := opBinary
	if _, ok := b.(*types.StringBuffer); ok {
		op = opText
	}
	data := b.Bytes()
	if prefix == 0 {
		return appendFrame(dst, op, data)
	}
	dst = appendHeader(dst, op, 1+len(data))
	return append(append(dst, prefix), data...)
}

// Message is a Socket.IO packet encoded and framed once, to be written as
// it is to many connections: a text frame ("4" and the packet), followed by
// one binary frame per attachment for binary packets.
type Message struct {
	frames []byte
	binary bool
}

// NewMessage frames the buffers the Socket.IO encoder returned for one
// packet.
func NewMessage(encoded []types.BufferInterface) *Message {
	size := 0
	for _, b := range encoded {
		size += maxHeaderLen + 1 + b.Len()
	}
	m := &Message{frames: make([]byte, 0, size)}
	for i, b := range encoded {
		if _, text := b.(*types.StringBuffer); text && i == 0 {
			m.frames = appendBuffer(m.frames, b, '4')
			continue
		}
		m.binary = true
		m.frames = appendFrame(m.frames, opBinary, b.Bytes())
	}
	return m
}

// Len returns the number of bytes written per recipient.
func (m *Message) Len() int { return len(m.frames) }

// WriteMessage writes m to the connection, for fan-out. It returns false
// when the caller must deliver through the engine instead: the connection
// is not yet the session's active transport (during an upgrade), or it
// cannot take the message's binary frames (Engine.IO 3 or base64 clients).
// A volatile message is dropped while the connection has a backlog. Once
// the connection is closing, the message is discarded and true returned.
func (t *Transport) WriteMessage(m *Message, volatile bool) bool {
	if !t.active.Load() {
		return false
	}
	if m.binary && (t.Protocol() != 4 || !t.SupportsBinary()) {
		return false
	}
	kind := kindData
	if volatile {
		kind = kindVolatile
	}
	t.send(m.frames, kind)
	return true
}
