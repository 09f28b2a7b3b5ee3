package wstransport

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	"github.com/zishang520/socket.io/parsers/engine/v3/parser"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// writeKind says how a write is treated when the socket cannot take it.
type writeKind int

const (
	kindData     writeKind = iota // queued, up to Config.MaxQueue
	kindVolatile                  // dropped while a backlog exists
	kindClose                     // queued regardless of the limit; ends data
	kindDeferred                  // like data, but always written by the queue's goroutine
	kindPing                      // the heartbeat: goes ahead of the backlog
)

// maxBatch bounds one vectored write of the backlog, so that a heartbeat
// queued meanwhile waits for at most this much data.
const maxBatch = 64 << 10

// send writes b (one or more complete frames) or queues what the socket
// does not take at once. It reports whether b was written or queued. b must
// not be modified afterwards: it may stay queued, and fan-out shares it
// between connections.
func (t *Transport) send(b []byte, kind writeKind) bool {
	t.mu.Lock()
	if t.done || t.closeSent {
		t.mu.Unlock()
		return false
	}
	if kind == kindClose {
		t.closeSent = true
	}
	if len(t.queue) == 0 && !t.flushing && kind != kindDeferred {
		n, err := t.tryWrite(b)
		if err != nil {
			t.mu.Unlock()
			t.abort("write error", fmt.Errorf("wstransport: write: %w", err))
			return false
		}
		if n == len(b) {
			t.mu.Unlock()
			return true
		}
		if n > 0 {
			t.headPartial = true // nothing may be queued before the rest
		}
		b = b[n:] // the rest of a frame already begun must follow
	} else if kind == kindVolatile {
		t.mu.Unlock()
		t.b.metrics.volatileDrops.Inc()
		return false
	} else if kind == kindPing {
		// The heartbeat tests that the client is alive, not how far it is
		// behind (MaxQueue and WriteTimeout bound that): a ping behind
		// seconds of backlog would time out a client that reads.
		at := 0
		if t.headPartial {
			at = 1
		}
		t.queue = slices.Insert(t.queue, at, b)
		t.queued += len(b)
		t.b.metrics.queueBytes.Add(float64(len(b)))
		t.mu.Unlock()
		return true
	}
	if kind != kindClose && t.queued+len(b) > t.b.cfg.MaxQueue {
		queued := t.queued
		t.mu.Unlock()
		t.slowConsumer(reasonQueueFull, fmt.Errorf("wstransport: slow consumer: write queue would exceed %d bytes (%d queued)", t.b.cfg.MaxQueue, queued))
		return false
	}
	t.queue = append(t.queue, b)
	t.queued += len(b)
	t.b.metrics.queueBytes.Add(float64(len(b)))
	if !t.flushing {
		t.flushing = true
		t.b.metrics.backlogged.Inc()
		go t.flush()
	}
	t.mu.Unlock()
	return true
}

// flush drains the queue with vectored writes under the write deadline. It
// runs while a backlog exists, one per connection.
func (t *Transport) flush() {
	defer t.b.metrics.backlogged.Dec()
	for {
		t.mu.Lock()
		bufs, n := t.takeBatch()
		if len(bufs) == 0 || t.done {
			// Inline writes check the socket's deadline too: clear it
			// before they resume.
			_ = t.conn.SetWriteDeadline(time.Time{})
			t.flushing = false
			then := t.finishAfterFlush && !t.done
			t.mu.Unlock()
			if then {
				t.finish()
			}
			return
		}
		t.mu.Unlock()
		_ = t.conn.SetWriteDeadline(time.Now().Add(t.b.cfg.WriteTimeout))
		_, err := bufs.WriteTo(t.conn)
		t.mu.Lock()
		if !t.done {
			t.queued -= n
			t.b.metrics.queueBytes.Sub(float64(n))
		}
		t.mu.Unlock()
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			t.slowConsumer(reasonWriteTimeout, fmt.Errorf("wstransport: slow consumer: backlog of %d bytes not written within %s", n, t.b.cfg.WriteTimeout))
			return
		default:
			t.abort("write error", fmt.Errorf("wstransport: write: %w", err))
			return
		}
	}
}

// takeBatch takes up to maxBatch bytes of whole queue entries off the
// front of the queue (at least one entry). Called under mu.
func (t *Transport) takeBatch() (net.Buffers, int) {
	k, n := 0, 0
	for k < len(t.queue) && (k == 0 || n+len(t.queue[k]) <= maxBatch) {
		n += len(t.queue[k])
		k++
	}
	// The batch's capacity ends where the rest of the queue begins, and
	// writing it only touches its own entries: the two can share the array.
	// An emptied queue lets its array go: an idle connection keeps none.
	bufs := t.queue[:k:k]
	if k == len(t.queue) {
		t.queue = nil
	} else {
		t.queue = t.queue[k:]
	}
	t.headPartial = false
	return bufs, n
}

// slowConsumer closes a connection that cannot keep up. No close frame can
// get through its full socket: the TCP connection is dropped, and the engine
// hears a transport error with the reason.
func (t *Transport) slowConsumer(reason string, err error) {
	if t.finished.Load() {
		return
	}
	t.b.metrics.slowCloses.WithLabelValues(reason).Inc()
	t.b.log.Warn("wstransport: closing a slow consumer", "sid", t.Sid(), "reason", reason, "err", err)
	t.abort("slow consumer", err)
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
