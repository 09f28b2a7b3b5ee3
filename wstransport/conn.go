package wstransport

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"syscall"
)

// Handler receives what a Conn reads.
type Handler interface {
	// OnMessage is called for every complete message, on the reading
	// goroutine: one at a time per connection, in order. payload is only
	// valid during the call. While it runs, the connection is not read, so
	// a handler that blocks delays only its own connection.
	OnMessage(c *Conn, binary bool, payload []byte)
	// OnClose is called once, when the connection has ended: err is nil
	// after the client's close frame, the end of its stream, or Close; it
	// says what failed otherwise (a protocol error, a write failure, a slow
	// consumer). It never runs on a goroutine that is writing to the
	// connection.
	OnClose(c *Conn, err error)
}

// Conn is one WebSocket connection of a Server, from the moment Upgrade
// returns it. Its write methods are safe for concurrent use.
type Conn struct {
	outbound
	pollEntry

	h          Handler
	fr         frameReader // its partial frame holds, until Start, what the client sent with its request
	discarding bool        // after a protocol error: read until the client closes
	finished   atomic.Bool
	reason     error // why the connection ended, set once before finish
}

// Start begins reading; h receives the connection's messages and its end.
// Call it once, after the caller is ready for h's first call.
func (c *Conn) Start(h Handler) {
	c.h = h
	if len(c.fr.partial) > 0 && !c.consume(nil) {
		return
	}
	if c.raw != nil && c.srv.poller.add(c) == nil {
		return
	}
	go c.readLoop()
}

// Send writes b, one or more complete frames (AppendFrame builds them), or
// queues what the socket does not take at once; see Kind. b must not be
// modified afterwards: it may stay queued, and callers may share it
// between connections. Send reports whether b was written or queued; false
// when it was dropped (Volatile behind a backlog) or the connection is
// closing.
func (c *Conn) Send(b []byte, kind Kind) bool { return c.send(b, kind) }

// Backlogged reports whether writes are waiting for the socket.
func (c *Conn) Backlogged() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue) > 0 || c.flushing
}

// Close sends a close frame without a status, as Node's ws does when
// engine.io closes a connection (clients see 1005), and ends the connection
// once the client answers, or after Config.CloseTimeout.
func (c *Conn) Close() {
	if !c.sendClose(closeNoStatus) {
		c.finish() // nothing can be written any more: drop it
	}
}

// Abort drops the connection at once, without a close frame.
func (c *Conn) Abort() { c.finish() }

// RemoteAddr returns the client's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// readLoop is the goroutine reader: TLS, other systems, or when configured.
func (c *Conn) readLoop() {
	buf := make([]byte, 4096)
	for {
		n, err := c.nc.Read(buf)
		if n > 0 && !c.consume(buf[:n]) {
			return
		}
		if err != nil {
			c.readFailed(err)
			return
		}
	}
}

// consume parses bytes read from the client. It returns false once reading
// should stop.
func (c *Conn) consume(data []byte) bool {
	if c.discarding || c.finished.Load() {
		return !c.finished.Load()
	}
	err := c.fr.feed(data, c)
	if err == nil {
		return true
	}
	if errors.Is(err, errPeerClosed) {
		return false
	}
	var ce *closeError
	if errors.As(err, &ce) {
		c.srv.log.Info("wstransport: closing connection", "remote", c.nc.RemoteAddr().String(), "code", ce.code, "reason", ce.msg)
		c.discarding = true
		c.setReason(err)
		if !c.sendClose(ce.code) {
			c.finish()
			return false
		}
		return true
	}
	c.setReason(err)
	c.readFailed(err)
	return false
}

// errPeerClosed stops reading after the client's close frame.
var errPeerClosed = errors.New("wstransport: peer closed")

// readFailed ends the connection after a read error or the end of its
// stream. A client that goes away without a close frame ends it normally.
func (c *Conn) readFailed(err error) {
	if !c.finished.Load() && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, syscall.ECONNRESET) {
		c.srv.log.Debug("wstransport: read failed", "remote", c.nc.RemoteAddr().String(), "err", err)
		c.setReason(err)
	}
	c.finish()
}

// message implements frameSink.
func (c *Conn) message(op opcode, payload []byte) {
	if c.closing() {
		return // after the close frame, data is ignored (RFC 6455 §5.5.1)
	}
	c.h.OnMessage(c, op == opBinary, payload)
}

// control implements frameSink: ping, pong and close frames.
func (c *Conn) control(op opcode, payload []byte) error {
	switch op {
	case opPing:
		c.send(appendFrame(make([]byte, 0, 2+len(payload)), opPong, payload), Priority)
	case opClose:
		code, err := parseClose(payload)
		if err != nil {
			return err
		}
		// Echo the client's code, as ws does, unless the server's close
		// went out first; end once the answer is written.
		c.sendClose(code)
		c.afterFlush()
		return errPeerClosed
	}
	return nil
}

// setReason records why the connection ends; the first reason stands.
func (c *Conn) setReason(err error) {
	c.mu.Lock()
	if c.reason == nil && !c.done {
		c.reason = err
	}
	c.mu.Unlock()
}

// abort ends the connection after a write failure. Writing stops at once; the rest of
// the end (the handler's OnClose among it) runs on its own goroutine,
// because abort is called on write paths and a broadcast must not wait for
// the handler.
func (c *Conn) abort(msg string, err error) {
	c.setReason(err)
	c.mu.Lock()
	c.done = true // nothing more is written, the close frame included
	c.mu.Unlock()
	go c.finish()
}

// finish closes the connection once and tells the handler.
func (c *Conn) finish() {
	if !c.finished.CompareAndSwap(false, true) {
		return
	}
	c.mu.Lock()
	reason := c.reason
	c.mu.Unlock()
	if timer := c.stop(); timer != nil {
		timer.Stop()
	}
	c.srv.poller.remove(c)
	_ = c.nc.Close()
	c.srv.conns.remove(c.id)
	if c.h != nil {
		c.h.OnClose(c, reason)
	}
}

// logID names the connection in logs.
func (c *Conn) logID() string { return c.nc.RemoteAddr().String() }
