package engineio

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/internal/timers"
	"github.com/parley-chat/parley/wstransport"
)

// Close reasons a Handler is told, as Node's engine.io names them.
const (
	ReasonTransportClose = "transport close" // the client closed the transport or went away
	ReasonTransportError = "transport error" // a transport failed or the client broke its rules
	ReasonPingTimeout    = "ping timeout"    // no pong within PingTimeout
	ReasonParseError     = "parse error"     // a packet the protocol does not know
	ReasonForcedClose    = "forced close"    // the server closed the session
)

// Handler receives a session's messages and its end. The Socket.IO server
// is Parley's handler.
type Handler interface {
	// OnMessage is called for every message packet, in order, one at a time
	// per session. data is only valid during the call.
	OnMessage(c *Conn, data []byte, binary bool)
	// OnClose is called once when the session has ended, with one of the
	// Reason constants (or "server shutting down" on Server.Shutdown).
	OnClose(c *Conn, reason string)
}

// UpgradeHandler is a Handler told when its session moves from long
// polling to WebSocket (Node's "upgrade" event of a session). OnUpgrade runs
// once the WebSocket carries the session, on the goroutine that reads it,
// in order with OnMessage. The Server looks for it with a type assertion
// at each upgrade: a Handler without it costs nothing more.
type UpgradeHandler interface {
	Handler
	OnUpgrade(c *Conn)
}

type state uint8

const (
	stateOpen    state = iota
	stateClosing       // an orderly close waits for the client's next poll
	stateClosed
)

// Conn is one Engine.IO session ("socket" in Node's engine.io). Its methods
// are safe for concurrent use.
type Conn struct {
	id  string
	srv *Server
	req Request
	h   Handler

	// ws is the WebSocket writes go to: from the start, or once an upgrade
	// has completed. Writers that find it set need no lock.
	ws atomic.Pointer[wstransport.Conn]
	// inMu serialises inbound packets: during an upgrade a polling request
	// and the new WebSocket may both carry some.
	inMu sync.Mutex

	mu          sync.Mutex // guards what follows
	state       state
	poll        *polling // the polling transport; nil on WebSocket
	up          *upgrade // an upgrade in progress
	upgraded    bool
	hb          timers.Timer // heartbeat, then the orderly close's deadline
	waitingPong bool
}

// ID returns the session id.
func (c *Conn) ID() string { return c.id }

// Request returns what the session kept of the request that opened it.
func (c *Conn) Request() *Request { return &c.req }

// Transport returns the name of the current transport.
func (c *Conn) Transport() string {
	if c.ws.Load() != nil {
		return WebSocket
	}
	return Polling
}

// Request is what a session keeps of the request that opened it: what the
// Socket.IO handshake shows, in a compact form (an idle session keeps a few
// strings, not the http.Request).
type Request struct {
	// URL is the request's path and query, as sent.
	URL string
	// RemoteAddr is the client's address (host:port).
	RemoteAddr string
	// Secure is set when the request came over TLS.
	Secure bool
	// Issued is when the session opened.
	Issued time.Time
	// header holds the request's headers as "Name: value\n" lines.
	header string
}

func newRequest(r *http.Request) Request {
	var b strings.Builder
	size := len(r.Host) + 8
	for k, vs := range r.Header {
		for _, v := range vs {
			size += len(k) + len(v) + 3
		}
	}
	b.Grow(size)
	for k, vs := range r.Header {
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	if r.Host != "" && r.Header.Get("Host") == "" {
		b.WriteString("Host: ")
		b.WriteString(r.Host)
		b.WriteByte('\n')
	}
	return Request{URL: r.URL.RequestURI(), RemoteAddr: r.RemoteAddr, Secure: r.TLS != nil, Issued: time.Now(), header: b.String()}
}

// Header returns the request's headers (a new map each call).
func (r *Request) Header() http.Header {
	h := http.Header{}
	for line := range strings.SplitSeq(r.header, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			h[k] = append(h[k], v)
		}
	}
	return h
}

// HeaderValue returns the first value of the header name (canonical form,
// e.g. "User-Agent"), or "".
func (r *Request) HeaderValue(name string) string {
	for line := range strings.SplitSeq(r.header, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok && k == name {
			return v
		}
	}
	return ""
}

// Query returns the request's query parameters.
func (r *Request) Query() map[string][]string {
	_, q, _ := strings.Cut(r.URL, "?")
	v, _ := parseQuery(q)
	return v
}

// heartbeat is the Conn seen by the timer heap.
type heartbeat Conn

// Expire implements timers.Expirer: the heartbeat timer of an open session
// sends a ping, then waits for the pong; the one of a closing session ends
// the wait for the client's last poll.
func (hb *heartbeat) Expire() {
	c := (*Conn)(hb)
	c.mu.Lock()
	switch {
	case c.state == stateClosing:
		c.mu.Unlock()
		c.closeNow(ReasonForcedClose, false)
		return
	case c.state != stateOpen:
		c.mu.Unlock()
		return
	case c.waitingPong:
		c.mu.Unlock()
		// The close runs the application's disconnect handlers; the timer
		// goroutine must not wait for them.
		go c.closeNow(ReasonPingTimeout, false)
		return
	}
	c.waitingPong = true
	c.srv.timers.Schedule(&c.hb, c.srv.cfg.PingTimeout, hb)
	ws := c.ws.Load()
	if ws == nil {
		c.poll.add(c, Ping, nil, false)
	}
	c.mu.Unlock()
	if ws != nil {
		ws.Send(pingFrame, wstransport.Priority)
	}
}

// pingFrame is the WebSocket frame of a ping packet; shared, never
// modified.
var pingFrame = wstransport.AppendFrame(nil, false, []byte{byte(Ping)})

// onPong restarts the ping interval, as Node does on every pong.
func (c *Conn) onPong() {
	c.mu.Lock()
	if c.state == stateOpen {
		c.waitingPong = false
		c.srv.timers.Schedule(&c.hb, c.srv.cfg.PingInterval, (*heartbeat)(c))
	}
	c.mu.Unlock()
}

// receive handles one packet from the client's current transport. It
// reports false once the session is over (later packets of the same request
// are not looked at).
func (c *Conn) receive(p packet) bool {
	c.inMu.Lock()
	defer c.inMu.Unlock()
	if !c.isOpen() {
		return false
	}
	switch p.typ {
	case Message:
		c.h.OnMessage(c, p.data, p.binary)
	case Pong:
		c.onPong()
	case Ping:
		// Engine.IO 4 pings from the server only.
		c.srv.log.Info("engineio: client sent a ping, closing", "sid", c.id)
		c.closeNow(ReasonTransportError, false)
		return false
	case Close:
		c.closeNow(ReasonTransportClose, true)
		return false
	}
	return true
}

// IsOpen reports whether the session is open (not closing or closed).
func (c *Conn) IsOpen() bool { return c.isOpen() }

func (c *Conn) isOpen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == stateOpen
}

// Write sends f to the client: at once on WebSocket (queued when the socket
// is busy), with the next poll on long polling. A volatile write is dropped
// when the transport cannot take it at once (a WebSocket with a backlog, a
// polling session with no request waiting). Write reports false when f was
// dropped or the session is closing.
func (c *Conn) Write(f *Frames, volatile bool) bool {
	if ws := c.ws.Load(); ws != nil {
		return ws.Send(f.wsFrames(), kindOf(volatile))
	}
	return c.writePolling(f.pollSegment(), volatile, func(ws *wstransport.Conn) bool {
		return ws.Send(f.wsFrames(), kindOf(volatile))
	})
}

// WriteText sends one text message (a Socket.IO packet without
// attachments); see Write.
func (c *Conn) WriteText(text []byte, volatile bool) bool {
	if ws := c.ws.Load(); ws != nil {
		return ws.Send(textFrame(text), kindOf(volatile))
	}
	seg := appendPollPacket(nil, Message, text, false)
	return c.writePolling(seg, volatile, func(ws *wstransport.Conn) bool {
		return ws.Send(textFrame(text), kindOf(volatile))
	})
}

func textFrame(text []byte) []byte {
	b := make([]byte, 0, wstransport.MaxHeaderLen+1+len(text))
	b = wstransport.AppendHeader(b, false, 1+len(text))
	return append(append(b, byte(Message)), text...)
}

func kindOf(volatile bool) wstransport.Kind {
	if volatile {
		return wstransport.Volatile
	}
	return wstransport.Data
}

// writePolling queues a payload segment for the next poll; if the session
// upgraded meanwhile, onWS writes to the WebSocket instead.
func (c *Conn) writePolling(seg []byte, volatile bool, onWS func(*wstransport.Conn) bool) bool {
	c.mu.Lock()
	if ws := c.ws.Load(); ws != nil {
		c.mu.Unlock()
		return onWS(ws)
	}
	if c.state != stateOpen || c.poll == nil {
		c.mu.Unlock()
		return false
	}
	if volatile && !c.poll.waiting() {
		c.mu.Unlock()
		return false
	}
	// Between two polls a client is not behind: it gets what came at the
	// next poll, however large. Only a backlog that has reached MaxQueue
	// (a client that stopped polling) closes it.
	if len(c.poll.buf) >= c.srv.cfg.MaxQueue {
		c.mu.Unlock()
		c.srv.log.Warn("engineio: closing a slow polling client", "sid", c.id, "queued", len(c.poll.buf), "max", c.srv.cfg.MaxQueue)
		go c.closeNow(ReasonTransportError, false)
		return false
	}
	c.poll.addSegment(seg)
	c.mu.Unlock()
	return true
}

// Close ends the session in order: what was written before goes out, then
// the client is told to close (a close frame, or a close packet with the
// next poll, or with the one after when packets wait for the next, waited
// for at most PingInterval + PingTimeout). The handler hears "forced close".
func (c *Conn) Close() {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	if c.ws.Load() == nil && c.poll != nil && !c.poll.waiting() {
		c.state = stateClosing
		if len(c.poll.buf) == 0 {
			c.poll.add(c, Close, nil, false)
		} else {
			// As Node: the packets waiting go out with the next poll, the
			// close packet with the one after, so that the client has
			// handled them before its transport closes.
			c.poll.closeNext = true
		}
		c.srv.timers.Schedule(&c.hb, c.srv.cfg.PingInterval+c.srv.cfg.PingTimeout, (*heartbeat)(c))
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.closeNow(ReasonForcedClose, false)
}

// closeNow ends the session at once with reason. byClient is set when the
// client asked (its close packet): a waiting poll is then answered with a
// noop, as Node does, instead of a close packet.
func (c *Conn) closeNow(reason string, byClient bool) {
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		return
	}
	c.state = stateClosed
	c.srv.timers.Stop(&c.hb)
	ws := c.ws.Swap(nil)
	up := c.up
	c.up = nil
	linger := false
	if p := c.poll; p != nil {
		if byClient {
			// A poll the client sent before its close packet may reach
			// the server after it (they travel on two connections); Node,
			// handling requests in order of arrival, would have answered it
			// with a noop, and so does the session for a moment.
			linger = !p.waiting()
			p.add(c, Noop, nil, false)
		} else {
			p.add(c, Close, nil, false)
		}
		p.closed = true
	}
	if linger {
		c.srv.timers.Schedule(&c.hb, lingerAfterClose, (*lingering)(c))
	}
	c.mu.Unlock()
	if up != nil {
		up.cancel(c.srv)
	}
	if ws != nil {
		ws.Close()
	}
	if !linger {
		c.srv.remove(c)
	}
	c.h.OnClose(c, reason)
}

// lingerAfterClose is how long a session the client closed over long
// polling still answers one late poll.
const lingerAfterClose = time.Second

// lingering is a closed session waiting for a late poll.
type lingering Conn

// Expire implements timers.Expirer: no late poll came.
func (l *lingering) Expire() { l.srv.remove((*Conn)(l)) }
