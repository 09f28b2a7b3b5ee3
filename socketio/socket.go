package socketio

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/engineio"
)

// DisconnectReason says why a socket disconnected, as Node's socket.io
// words it.
type DisconnectReason string

// Disconnect reasons.
const (
	ReasonTransportError            DisconnectReason = "transport error"
	ReasonTransportClose            DisconnectReason = "transport close"
	ReasonForcedClose               DisconnectReason = "forced close"
	ReasonPingTimeout               DisconnectReason = "ping timeout"
	ReasonParseError                DisconnectReason = "parse error"
	ReasonServerShuttingDown        DisconnectReason = "server shutting down"
	ReasonForcedServerClose         DisconnectReason = "forced server close"
	ReasonServerNamespaceDisconnect DisconnectReason = "server namespace disconnect"
	ReasonClientNamespaceDisconnect DisconnectReason = "client namespace disconnect"
)

// recoverable reports whether a socket that disconnected for r may be
// recovered (the client did not leave on purpose).
func (r DisconnectReason) recoverable() bool {
	switch r {
	case ReasonTransportError, ReasonTransportClose, ReasonForcedClose, ReasonPingTimeout, ReasonServerShuttingDown, ReasonForcedServerClose:
		return true
	}
	return false
}

// EventHandler handles an event a client sent: its arguments, and ack,
// which answers the client when it asked for an answer.
type EventHandler func(args Args, ack Ack)

// Socket is a client's membership of a namespace. Its methods are safe for
// concurrent use. Its handlers run on the goroutine that reads the
// client's connection, one at a time and in order; an event is not handled
// before the previous one's handler returned.
type Socket struct {
	id        string
	pid       string
	nsp       *Namespace
	cl        *client
	auth      map[string]any
	recovered bool

	mu        sync.Mutex
	connected bool
	closing   bool // onClose is running or has run
	data      any
	hooks     []hook               // handlers of every kind, in order of registration
	acks      map[int64]*ackWaiter // pending acks of emits, made on first use
	// rooms are the rooms joined besides the socket's own, guarded by the
	// MemoryAdapter's lock.
	rooms []string
	// watchesOutgoing is set once an OnAnyOutgoing handler exists:
	// broadcasts check it without the lock.
	watchesOutgoing atomic.Bool
	// restored is a recovered session until its rooms and missed packets
	// are applied on connect.
	restored *Session
}

// hook is one handler of a socket. One list holds every kind: a socket has
// a few handlers, and one small slice costs an idle socket less than a
// table of lists.
type hook struct {
	kind hookKind
	name string // the event of a hookEvent
	fn   any    // the handler, of the kind's type
}

type hookKind uint8

const (
	hookEvent         hookKind = iota // EventHandler
	hookAny                           // func(string, Args)
	hookAnyOutgoing                   // func(string, []any)
	hookUse                           // func(string, Args) error
	hookDisconnecting                 // func(DisconnectReason)
	hookDisconnect                    // func(DisconnectReason)
	hookError                         // func(error)
)

// addHook registers a handler.
func (s *Socket) addHook(h hook) {
	s.mu.Lock()
	s.hooks = append(s.hooks, h)
	s.mu.Unlock()
}

// hooksOf returns the handlers of one kind, in order.
func hooksOf[F any](s *Socket, kind hookKind) []F {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []F
	for _, h := range s.hooks {
		if h.kind == kind {
			out = append(out, h.fn.(F))
		}
	}
	return out
}

func newSocket(nsp *Namespace, cl *client, auth map[string]any) *Socket {
	s := &Socket{nsp: nsp, cl: cl, auth: auth}
	if len(auth) == 0 {
		s.auth = nil // an empty auth costs an idle socket no map
	}
	if nsp.srv.cfg.Recovery != nil {
		if sess := s.restore(); sess != nil {
			return s
		}
		s.pid = engineio.NewID()
	}
	s.id = engineio.NewID()
	return s
}

// ID returns the socket's id.
func (s *Socket) ID() string { return s.id }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Conn returns the socket's Engine.IO session.
func (s *Socket) Conn() *engineio.Conn { return s.cl.conn }

// Recovered reports whether the socket's state was recovered after a
// temporary disconnection.
func (s *Socket) Recovered() bool { return s.recovered }

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Auth returns the auth payload the client sent with CONNECT (nil when
// empty). It must not be modified.
func (s *Socket) Auth() map[string]any { return s.auth }

// Data returns the value set with SetData.
func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// SetData sets the socket's application data (shown to other nodes by
// FetchSockets, in its JSON form).
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = v
	s.mu.Unlock()
	if o := s.nsp.srv.obs.Load(); o != nil {
		for _, h := range o.dataSet {
			h(s)
		}
	}
}

// Handshake returns the handshake details, in Node's shape.
func (s *Socket) Handshake() Handshake { return newHandshake(s.cl.conn.Request(), s.auth) }

// On adds a handler of the event ev.
func (s *Socket) On(ev string, h EventHandler) { s.addHook(hook{kind: hookEvent, name: ev, fn: h}) }

// Off removes every handler of ev.
func (s *Socket) Off(ev string) {
	s.mu.Lock()
	s.hooks = slices.DeleteFunc(s.hooks, func(h hook) bool { return h.kind == hookEvent && h.name == ev })
	s.mu.Unlock()
}

// OnAny adds a handler of every event, called before the event's own.
func (s *Socket) OnAny(h func(ev string, args Args)) { s.addHook(hook{kind: hookAny, fn: h}) }

// OnAnyOutgoing adds a handler of every event sent to the client.
func (s *Socket) OnAnyOutgoing(h func(ev string, args []any)) {
	s.addHook(hook{kind: hookAnyOutgoing, fn: h})
	s.watchesOutgoing.Store(true)
}

// Use adds a middleware of incoming events: an error stops the event and
// goes to the OnError handlers.
func (s *Socket) Use(m func(ev string, args Args) error) { s.addHook(hook{kind: hookUse, fn: m}) }

// OnDisconnecting adds a handler called when the socket is about to
// disconnect, still in its rooms.
func (s *Socket) OnDisconnecting(h func(DisconnectReason)) {
	s.addHook(hook{kind: hookDisconnecting, fn: h})
}

// OnDisconnect adds a handler called once the socket has disconnected (a
// handler added after that is never called: check Connected after adding
// one from another goroutine than the socket's).
func (s *Socket) OnDisconnect(h func(DisconnectReason)) {
	s.addHook(hook{kind: hookDisconnect, fn: h})
}

// OnError adds a handler of the socket's errors: a malformed packet from the
// client (the connection then closes) or an error of an event middleware.
func (s *Socket) OnError(h func(error)) { s.addHook(hook{kind: hookError, fn: h}) }

func (s *Socket) emitError(err error) {
	for _, h := range hooksOf[func(error)](s, hookError) {
		h(err)
	}
}

// onConnect makes the socket connected: in its own room, known to its
// client, and told so with a CONNECT packet.
func (s *Socket) onConnect() {
	s.mu.Lock()
	s.connected = true
	s.mu.Unlock()
	s.nsp.adapter.AddAll(s.id, []string{s.id})
	s.cl.attach(s)
	data := map[string]any{"sid": s.id}
	if s.pid != "" {
		data["pid"] = s.pid
	}
	s.cl.writePacket(&Packet{Type: PacketConnect, Nsp: s.nsp.name, ID: noID, Data: []any{data}})
}

// onPacket handles a packet for this socket.
func (s *Socket) onPacket(h header, att [][]byte) error {
	switch h.typ {
	case PacketEvent, PacketBinaryEvent:
		if h.payload == nil {
			return nil // no name: Node dispatches it to no handler
		}
		var buf [4][2]int
		spans, err := splitArray(buf[:0], h.payload)
		if err != nil {
			return err
		}
		if len(spans) == 0 {
			return malformed("EVENT without a name")
		}
		name, ok := eventName(h.payload, spans[0])
		if !ok || reservedEvents[name] {
			return malformed("invalid event name")
		}
		if err := checkPlaceholders(h.payload, att); err != nil {
			return err
		}
		s.onEvent(name, newArgs(h.payload, spans, 1, att), h.id)
	case PacketAck, PacketBinaryAck:
		// Without data, the callback gets no arguments; without an id,
		// no callback is found: both as in Node.
		var spans [][2]int
		if h.payload != nil {
			var buf [4][2]int
			var err error
			if spans, err = splitArray(buf[:0], h.payload); err != nil {
				return err
			}
			if err := checkPlaceholders(h.payload, att); err != nil {
				return err
			}
		}
		s.onAck(h.id, newArgs(h.payload, spans, 0, att))
	case PacketDisconnect:
		s.onClose(ReasonClientNamespaceDisconnect)
	}
	return nil
}

// onEvent runs the handlers of an event.
func (s *Socket) onEvent(name string, args Args, id int64) {
	ack := Ack{}
	if id != noID {
		ack = Ack{r: &ackReply{s: s, id: id}}
	}
	var (
		buf   [2]EventHandler
		hs    = buf[:0]
		anyHs []func(string, Args)
		use   []func(string, Args) error
	)
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return
	}
	for _, h := range s.hooks {
		switch {
		case h.kind == hookEvent && h.name == name:
			hs = append(hs, h.fn.(EventHandler))
		case h.kind == hookAny:
			anyHs = append(anyHs, h.fn.(func(string, Args)))
		case h.kind == hookUse:
			use = append(use, h.fn.(func(string, Args) error))
		}
	}
	s.mu.Unlock()
	for _, h := range anyHs {
		h(name, args)
	}
	for _, m := range use {
		if err := m(name, args); err != nil {
			s.emitError(err)
			return
		}
	}
	for _, h := range hs {
		h(args, ack)
	}
}

// Emit sends an event to the client.
func (s *Socket) Emit(ev string, args ...any) error { return SocketEmitter{s: s}.Emit(ev, args...) }

// EmitWithAck sends an event the client answers; onAck gets the answer, or
// an error when the socket disconnects or the Timeout passes first. It
// does not wait for the answer.
func (s *Socket) EmitWithAck(ev string, onAck func(Args, error), args ...any) error {
	return SocketEmitter{s: s}.EmitWithAck(ev, onAck, args...)
}

// Timeout bounds the wait for the answer of EmitWithAck.
func (s *Socket) Timeout(d time.Duration) SocketEmitter { return SocketEmitter{s: s, timeout: d} }

// Volatile drops the event when the client cannot take it at once.
func (s *Socket) Volatile() SocketEmitter { return SocketEmitter{s: s, volatile: true} }

// Compress sets the compress flag of the next emit (kept for the API's
// sake: Parley does not compress WebSocket messages).
func (s *Socket) Compress(bool) SocketEmitter { return SocketEmitter{s: s} }

// SocketEmitter is an emit with flags (Socket.Timeout, Socket.Volatile).
type SocketEmitter struct {
	s        *Socket
	timeout  time.Duration
	volatile bool
}

// Timeout bounds the wait for the answer of EmitWithAck.
func (e SocketEmitter) Timeout(d time.Duration) SocketEmitter { e.timeout = d; return e }

// Volatile drops the event when the client cannot take it at once.
func (e SocketEmitter) Volatile() SocketEmitter { e.volatile = true; return e }

// Emit sends an event to the client.
func (e SocketEmitter) Emit(ev string, args ...any) error {
	if reservedEvents[ev] {
		return ErrReservedEvent
	}
	return e.s.send(ev, args, noID, e.volatile)
}

// EmitWithAck sends an event the client answers; see Socket.EmitWithAck.
func (e SocketEmitter) EmitWithAck(ev string, onAck func(Args, error), args ...any) error {
	if reservedEvents[ev] {
		return ErrReservedEvent
	}
	id := e.s.nsp.nextAckID()
	if !e.s.addAck(id, e.timeout, onAck) {
		return errNotConnected
	}
	if err := e.s.send(ev, args, id, e.volatile); err != nil {
		e.s.dropAck(id)
		return err
	}
	return nil
}

// send writes an event; with connection state recovery it goes through the
// adapter, which numbers it for replay, as in Node.
func (s *Socket) send(ev string, args []any, id int64, volatile bool) error {
	if !s.Connected() {
		return errNotConnected
	}
	if s.nsp.srv.cfg.Recovery != nil && id == noID {
		p := &Packet{Type: PacketEvent, Nsp: s.nsp.name, ID: noID, Data: append([]any{ev}, args...)}
		return s.nsp.adapter.Broadcast(p, BroadcastOptions{Rooms: []string{s.id}, Flags: BroadcastFlags{Volatile: volatile}})
	}
	if s.watchesOutgoing.Load() {
		s.notifyOutgoing(ev, args)
	}
	_, err := sendEvent(s.cl, PacketEvent, s.nsp.name, id, ev, args, volatile)
	return err
}

// notifyOutgoing calls the OnAnyOutgoing handlers.
func (s *Socket) notifyOutgoing(ev string, args []any) {
	for _, h := range hooksOf[func(string, []any)](s, hookAnyOutgoing) {
		h(ev, args)
	}
}

// Join adds the socket to rooms.
func (s *Socket) Join(rooms ...string) {
	if s.Connected() || s.isConnecting() {
		s.nsp.adapter.AddAll(s.id, rooms)
	}
}

func (s *Socket) isConnecting() bool { return s.nsp.lookup(s.id) == s }

// Leave removes the socket from a room.
func (s *Socket) Leave(room string) { s.nsp.adapter.Del(s.id, room) }

// Rooms returns the socket's rooms, its own id first.
func (s *Socket) Rooms() []string {
	if r := s.nsp.adapter.SocketRooms(s.id); r != nil {
		return r
	}
	return []string{}
}

func (s *Socket) leaveAll() { s.nsp.adapter.DelAll(s.id) }

// To broadcasts to rooms, leaving this socket out.
func (s *Socket) To(rooms ...string) BroadcastOperator { return s.broadcast().To(rooms...) }

// In is To.
func (s *Socket) In(rooms ...string) BroadcastOperator { return s.To(rooms...) }

// Except broadcasts to every socket but those of rooms and this one.
func (s *Socket) Except(rooms ...string) BroadcastOperator { return s.broadcast().Except(rooms...) }

// Broadcast selects every other socket of the namespace.
func (s *Socket) Broadcast() BroadcastOperator { return s.broadcast() }

func (s *Socket) broadcast() BroadcastOperator {
	return BroadcastOperator{nsp: s.nsp, except: []string{s.id}}
}

// Disconnect disconnects the socket from its namespace (a DISCONNECT
// packet; the client does not reconnect), or with close the whole
// connection, every namespace of it.
func (s *Socket) Disconnect(close bool) {
	if !s.Connected() {
		return
	}
	if close {
		s.cl.disconnectAll()
		return
	}
	// The close is claimed before the DISCONNECT packet goes out: the
	// client may close its connection as soon as it reads the packet, and
	// that close, handled on another goroutine, must not get to report
	// "transport close" first (Node, on one thread, runs _onclose before
	// anything else can happen).
	if !s.claimClose() {
		return
	}
	s.cl.writePacket(&Packet{Type: PacketDisconnect, Nsp: s.nsp.name, ID: noID})
	s.closeClaimed(ReasonServerNamespaceDisconnect)
}

// onClose disconnects the socket: the disconnecting handlers, in its rooms
// still; the state kept for recovery; then it leaves its rooms and the
// disconnect handlers run.
func (s *Socket) onClose(reason DisconnectReason) {
	if s.claimClose() {
		s.closeClaimed(reason)
	}
}

// claimClose reports whether the caller is the one to close the socket: it
// is connected and no close has begun.
func (s *Socket) claimClose() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connected || s.closing {
		return false
	}
	s.closing = true
	return true
}

// closeClaimed is onClose after claimClose.
func (s *Socket) closeClaimed(reason DisconnectReason) {
	for _, h := range hooksOf[func(DisconnectReason)](s, hookDisconnecting) {
		h(reason)
	}
	if s.nsp.srv.cfg.Recovery != nil && reason.recoverable() {
		s.nsp.adapter.PersistSession(&SessionToPersist{SID: s.id, PID: s.pid, Rooms: s.Rooms(), Data: s.Data()})
	}
	s.leaveAll()
	s.nsp.removeSocket(s)
	s.cl.detach(s)
	s.mu.Lock()
	s.connected = false
	acks := s.acks
	s.acks = nil
	s.mu.Unlock()
	after := hooksOf[func(DisconnectReason)](s, hookDisconnect)
	for id, w := range acks {
		w.cancel(s.nsp.srv, id, ErrDisconnected)
	}
	for _, h := range after {
		h(reason)
	}
}

// ErrDisconnected is given to the ack callbacks of a socket that
// disconnected before its client answered.
var ErrDisconnected = errors.New("socketio: socket disconnected")
