package engineio

import (
	"bytes"
	"net/http"

	"github.com/parley-chat/parley/internal/timers"
	"github.com/parley-chat/parley/wstransport"
)

// wsHandler is the Conn seen by its WebSockets: the session's transport, or
// one that is upgrading it.
type wsHandler Conn

var _ wstransport.Handler = (*wsHandler)(nil)

// OnMessage implements wstransport.Handler.
func (h *wsHandler) OnMessage(ws *wstransport.Conn, binary bool, payload []byte) {
	c := (*Conn)(h)
	if c.ws.Load() != ws {
		c.upgradeMessage(ws, binary, payload)
		return
	}
	if binary {
		c.receive(packet{typ: Message, data: payload, binary: true})
		return
	}
	p, err := decodeText(payload, false)
	if err != nil {
		c.srv.log.Info("engineio: invalid packet, closing the session", "sid", c.id, "bytes", len(payload))
		c.closeNow(ReasonParseError, false)
		return
	}
	c.receive(p)
}

// OnClose implements wstransport.Handler.
func (h *wsHandler) OnClose(ws *wstransport.Conn, err error) {
	c := (*Conn)(h)
	if c.ws.Load() == ws {
		reason := ReasonTransportClose
		if err != nil {
			c.srv.log.Info("engineio: WebSocket failed, closing the session", "sid", c.id, "err", err)
			reason = ReasonTransportError
		}
		c.closeNow(reason, false)
		return
	}
	c.mu.Lock()
	up := c.up
	if up != nil && up.ws == ws {
		c.up = nil
		c.srv.timers.Stop(&up.timer)
		if c.poll != nil {
			c.poll.noopOnPoll = false
		}
	}
	c.mu.Unlock()
}

// upgrade is a WebSocket on its way to replacing a session's polling.
type upgrade struct {
	c     *Conn
	ws    *wstransport.Conn
	timer timers.Timer
	done  chan struct{} // closed when the upgrade completes
}

// Expire implements timers.Expirer: the client did not complete the
// upgrade in time.
func (u *upgrade) Expire() {
	c := u.c
	c.mu.Lock()
	current := c.up == u
	if current {
		c.up = nil
		if c.poll != nil {
			c.poll.noopOnPoll = false
		}
	}
	c.mu.Unlock()
	if current {
		c.srv.log.Debug("engineio: upgrade not completed in time", "sid", c.id)
		u.ws.Close()
	}
}

// cancel drops an upgrade whose session ended.
func (u *upgrade) cancel(s *Server) {
	s.timers.Stop(&u.timer)
	u.ws.Close()
}

var probe = []byte("2probe")

// probeAnswer is the WebSocket frame of the probe's pong; shared.
var probeAnswer = wstransport.AppendFrame(nil, false, []byte("3probe"))

// upgradeMessage handles what an upgrading WebSocket sends: the probe, then
// the upgrade packet. Anything else ends the upgrade (the session stays on
// polling).
func (c *Conn) upgradeMessage(ws *wstransport.Conn, binary bool, payload []byte) {
	c.inMu.Lock()
	defer c.inMu.Unlock()
	c.mu.Lock()
	up := c.up
	if up == nil || up.ws != ws || c.state != stateOpen {
		c.mu.Unlock()
		ws.Close()
		return
	}
	switch {
	case !binary && bytes.Equal(payload, probe):
		ws.Send(probeAnswer, wstransport.Data)
		// The client's poll in progress must end before it can send the
		// upgrade packet: answer it, and any other until the upgrade ends,
		// with a noop.
		c.poll.noopOnPoll = true
		if c.poll.waiting() {
			c.poll.add(c, Noop, nil, false)
		}
		c.mu.Unlock()
	case !binary && len(payload) == 1 && PacketType(payload[0]) == Upgrade:
		c.completeUpgrade(up)
		c.mu.Unlock()
		if u, ok := c.h.(UpgradeHandler); ok {
			u.OnUpgrade(c)
		}
	default:
		c.up = nil
		c.poll.noopOnPoll = false
		c.srv.timers.Stop(&up.timer)
		c.mu.Unlock()
		c.srv.log.Debug("engineio: unexpected packet during an upgrade, dropping the WebSocket", "sid", c.id)
		ws.Close()
	}
}

// completeUpgrade switches the session to the WebSocket. What waits for
// the next poll goes out on the WebSocket first, then the new writes, which
// find the WebSocket set. Called under mu.
func (c *Conn) completeUpgrade(up *upgrade) {
	c.srv.timers.Stop(&up.timer)
	close(up.done)
	c.up = nil
	c.upgraded = true
	p := c.poll
	c.poll = nil
	pending := p.buf
	p.buf = nil
	p.closed = true
	if p.waiting() {
		// A poll still parked (the client did not wait for it to end before
		// upgrading) ends with the close packet, as Node's discarded polling
		// transport answers it.
		p.buf = appendPollPacket(nil, Close, nil, false)
		p.wake()
	}
	if frames := pollToFrames(pending); len(frames) > 0 {
		up.ws.Send(frames, wstransport.Data)
	}
	c.ws.Store(up.ws)
}

// pollToFrames re-encodes a polling payload as WebSocket frames.
func pollToFrames(payload []byte) []byte {
	if len(payload) == 0 {
		return nil
	}
	packets, _ := decodePayload(payload)
	var out []byte
	for _, p := range packets {
		if p.binary {
			out = wstransport.AppendFrame(out, true, p.data)
			continue
		}
		out = wstransport.AppendHeader(out, false, 1+len(p.data))
		out = append(append(out, byte(p.typ)), p.data...)
	}
	return out
}

// serveWebSocket handles a WebSocket request: a new session, or the upgrade
// of a polling one.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request, sid string) {
	if sid == "" {
		s.openWebSocket(w, r)
		return
	}
	c := s.conn(sid)
	if c == nil {
		s.fail(w, r, errUnknownSID)
		return
	}
	ws, err := s.ws.Upgrade(w, r, nil)
	if err != nil {
		s.log.Debug("engineio: WebSocket handshake failed", "sid", sid, "err", err)
		return
	}
	c.mu.Lock()
	if c.state != stateOpen || c.up != nil || c.upgraded || c.poll == nil {
		// Node completes the handshake, then closes such a WebSocket.
		c.mu.Unlock()
		ws.Close()
		ws.Start(discard{})
		return
	}
	up := &upgrade{c: c, ws: ws, done: make(chan struct{})}
	c.up = up
	s.timers.Schedule(&up.timer, s.cfg.UpgradeTimeout, up)
	c.mu.Unlock()
	ws.Start((*wsHandler)(c))
}

// openWebSocket opens a session directly over WebSocket.
func (s *Server) openWebSocket(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r) {
		return
	}
	sid := newID()
	extra := http.Header{}
	s.setCookie(extra, sid)
	ws, err := s.ws.Upgrade(w, r, extra)
	if err != nil {
		s.log.Debug("engineio: WebSocket handshake failed", "err", err)
		return
	}
	c := s.newConn(sid, r)
	c.ws.Store(ws)
	frames := wstransport.AppendFrame(nil, false, s.openPacket(c.id, WebSocket))
	if len(s.cfg.InitialPacket) > 0 {
		frames = append(frames, textFrame(s.cfg.InitialPacket)...)
	}
	ws.Send(frames, wstransport.Data)
	if !s.register(c) {
		ws.Close()
		ws.Start(discard{})
		return
	}
	ws.Start((*wsHandler)(c))
}

// discard is the Handler of a WebSocket that is being closed unused.
type discard struct{}

func (discard) OnMessage(*wstransport.Conn, bool, []byte) {}
func (discard) OnClose(*wstransport.Conn, error)          {}
