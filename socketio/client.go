package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"

	"github.com/parley-chat/parley/engineio"
	"github.com/parley-chat/parley/internal/timers"
)

// client is the Socket.IO side of one Engine.IO session: it decodes
// packets (reassembling binary ones) and hands them to the session's
// sockets, one per namespace.
type client struct {
	srv  *Server
	conn *engineio.Conn

	mu      sync.Mutex
	sockets []*Socket // connected, one per namespace
	partial *partialPacket
	timer   timers.Timer // the connect timeout
	closed  bool
}

// partialPacket is a binary packet waiting for its attachments.
type partialPacket struct {
	h   header
	att [][]byte
}

// newClient is the engine's OnConnection: the handler of a new session.
func (s *Server) newClient(conn *engineio.Conn) engineio.Handler {
	c := &client{srv: s, conn: conn}
	s.timers.Schedule(&c.timer, s.cfg.ConnectTimeout, (*connectTimeout)(c))
	if t := s.traffic(); t != nil {
		t.opened.Add(1)
	}
	return c
}

// connectTimeout is the client seen by the timer heap.
type connectTimeout client

// Expire implements timers.Expirer: the client joined no namespace in time.
func (t *connectTimeout) Expire() {
	c := (*client)(t)
	c.mu.Lock()
	idle := len(c.sockets) == 0 && !c.closed
	c.mu.Unlock()
	if idle {
		go c.close()
	}
}

// OnMessage implements engineio.Handler.
func (c *client) OnMessage(_ *engineio.Conn, data []byte, binary bool) {
	if t := c.srv.traffic(); t != nil {
		t.received(c.conn.ID(), len(data))
	}
	if binary {
		c.onAttachment(data)
		return
	}
	c.mu.Lock()
	reconstructing := c.partial != nil
	c.mu.Unlock()
	if reconstructing {
		c.onError(malformed("got plaintext data when reconstructing a packet"))
		return
	}
	h, err := parseHeader(data, c.srv.cfg.MaxAttachments)
	if err != nil {
		c.onError(err)
		return
	}
	if h.attachments > 0 {
		h.payload = bytes.Clone(h.payload) // data is only valid during the call
		c.mu.Lock()
		c.partial = &partialPacket{h: h, att: make([][]byte, 0, h.attachments)}
		c.mu.Unlock()
		return
	}
	c.dispatch(h, nil)
}

// onAttachment collects a binary attachment of the packet in progress.
func (c *client) onAttachment(data []byte) {
	c.mu.Lock()
	p := c.partial
	if p == nil {
		c.mu.Unlock()
		c.onError(malformed("got binary data when not reconstructing a packet"))
		return
	}
	p.att = append(p.att, bytes.Clone(data))
	done := len(p.att) == p.h.attachments
	if done {
		c.partial = nil
	}
	c.mu.Unlock()
	if done {
		c.dispatch(p.h, p.att)
	}
}

// dispatch routes a complete packet: CONNECT to a namespace the client is
// not in, anything else to its socket there.
func (c *client) dispatch(h header, att [][]byte) {
	s := c.socket(h.nsp)
	switch {
	case s == nil && h.typ == PacketConnect:
		c.connect(h)
	case s != nil && h.typ != PacketConnect && h.typ != PacketConnectError:
		if err := s.onPacket(h, att); err != nil {
			c.onError(err)
		}
	default:
		c.srv.log.Info("socketio: packet in an invalid state, closing", "sid", c.conn.ID(), "type", h.typ, "nsp", h.nsp)
		c.close()
	}
}

func (c *client) socket(nsp string) *Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.sockets {
		if s.nsp.name == nsp {
			return s
		}
	}
	return nil
}

// connect joins the namespace a CONNECT packet names.
func (c *client) connect(h header) {
	auth := map[string]any{}
	if h.payload != nil {
		if err := json.Unmarshal(h.payload, &auth); err != nil {
			c.onError(malformed("CONNECT payload: %v", err))
			return
		}
	}
	nsp := c.srv.namespace(h.nsp, auth)
	if nsp == nil {
		c.writePacket(&Packet{Type: PacketConnectError, Nsp: h.nsp, ID: noID, Data: []any{map[string]any{"message": "Invalid namespace"}}})
		return
	}
	s := newSocket(nsp, c, auth)
	if !nsp.connect(s) {
		return
	}
}

// attach records a socket that connected.
func (c *client) attach(s *Socket) {
	c.mu.Lock()
	c.sockets = append(c.sockets, s)
	c.mu.Unlock()
	c.srv.timers.Stop(&c.timer)
}

// detach forgets a socket that left.
func (c *client) detach(s *Socket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.sockets {
		if x == s {
			c.sockets = append(c.sockets[:i], c.sockets[i+1:]...)
			if len(c.sockets) == 0 {
				c.sockets = nil
			}
			return
		}
	}
}

// writePacket encodes and writes a packet to this client.
func (c *client) writePacket(p *Packet) bool {
	enc, err := encodePacket(p)
	if err != nil {
		c.srv.log.Error("socketio: encoding a packet", "sid", c.conn.ID(), "type", p.Type, "err", err)
		return false
	}
	return c.write(enc, false)
}

// write sends an encoded packet.
func (c *client) write(enc encoded, volatile bool) bool {
	if t := c.srv.traffic(); t != nil {
		t.sent(c.conn.ID(), 1+len(enc.att), enc.size())
	}
	if len(enc.att) == 0 {
		return c.conn.WriteText(enc.text, volatile)
	}
	return c.conn.Write(engineio.NewFrames(enc.text, enc.att...), volatile)
}

// onError reports a client's protocol error to its sockets, then closes
// its connection, as Node does.
func (c *client) onError(err error) {
	c.srv.log.Info("socketio: closing a client that sent a malformed packet", "sid", c.conn.ID(), "remote", c.conn.Request().RemoteAddr, "err", err)
	c.mu.Lock()
	sockets := append([]*Socket(nil), c.sockets...)
	c.mu.Unlock()
	for _, s := range sockets {
		s.emitError(err)
	}
	c.conn.Close()
}

// close ends the connection from the server's side ("forced server
// close").
func (c *client) close() {
	if c.conn.IsOpen() {
		c.conn.Close()
		c.closeSockets(ReasonForcedServerClose)
	}
}

// disconnectAll disconnects every socket of the client, then closes the
// connection (Socket.Disconnect(true)).
func (c *client) disconnectAll() {
	c.mu.Lock()
	sockets := append([]*Socket(nil), c.sockets...)
	c.mu.Unlock()
	for _, s := range sockets {
		s.Disconnect(false)
	}
	c.close()
}

// OnClose implements engineio.Handler.
func (c *client) OnClose(_ *engineio.Conn, reason string) {
	if t := c.srv.traffic(); t != nil {
		t.sessionClosed(reason)
	}
	c.closeSockets(DisconnectReason(reason))
}

func (c *client) closeSockets(reason DisconnectReason) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	sockets := c.sockets
	c.sockets = nil
	c.partial = nil
	c.mu.Unlock()
	c.srv.timers.Stop(&c.timer)
	for _, s := range sockets {
		s.onClose(reason)
	}
}

// errNotConnected is returned by writes to a socket that left.
var errNotConnected = errors.New("socketio: socket not connected")
