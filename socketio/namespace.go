package socketio

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Middleware runs when a client connects to a namespace, before its
// connection handlers: an error refuses the connection with a CONNECT_ERROR
// packet whose message is the error's text (and data, for a
// *ConnectError). Middlewares run in order, on the goroutine that read the
// CONNECT packet; one that blocks delays only that client.
type Middleware func(s *Socket) error

// ConnectError refuses a connection with a message and data, as
// socket.io's next(err) with err.data does.
type ConnectError struct {
	Message string
	Data    any
}

func (e *ConnectError) Error() string { return e.Message }

// connectErrorData is the payload of a CONNECT_ERROR.
type connectErrorData struct {
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

// ServerSideHandler receives an event another node sent with
// ServerSideEmit; ack answers it when the sender asked for answers.
type ServerSideHandler func(args Args, ack Ack)

// Namespace is a Socket.IO namespace: its sockets, middlewares, handlers
// and adapter. Its methods are safe for concurrent use.
type Namespace struct {
	srv     *Server
	name    string
	parent  *ParentNamespace
	adapter Adapter
	ackIDs  atomic.Int64

	mu           sync.RWMutex
	sockets      map[string]*Socket // connected
	pre          map[string]*Socket // connecting: middlewares running
	middlewares  []Middleware
	onConnection []func(*Socket)
	serverSide   map[string][]ServerSideHandler
}

func newNamespace(s *Server, name string, parent *ParentNamespace) *Namespace {
	n := &Namespace{srv: s, name: name, parent: parent, sockets: make(map[string]*Socket)}
	if parent != nil {
		n.middlewares, n.onConnection = parent.snapshot()
	}
	n.adapter = s.cfg.Adapter(n)
	return n
}

// Name returns the namespace's name.
func (n *Namespace) Name() string { return n.name }

// Server returns the namespace's server.
func (n *Namespace) Server() *Server { return n.srv }

// Adapter returns the namespace's adapter.
func (n *Namespace) Adapter() Adapter { return n.adapter }

// Use adds a middleware; see Middleware.
func (n *Namespace) Use(m Middleware) {
	n.mu.Lock()
	n.middlewares = append(n.middlewares, m)
	n.mu.Unlock()
}

// OnConnection adds a handler of new sockets. Handlers run in order, on the
// goroutine that read the CONNECT packet, before any event of the socket is
// handled: events registered there see every event the client sends.
func (n *Namespace) OnConnection(h func(*Socket)) {
	n.mu.Lock()
	n.onConnection = append(n.onConnection, h)
	n.mu.Unlock()
}

// OnServerSideEmit adds a handler of the server-side event ev, sent by
// other nodes with ServerSideEmit.
func (n *Namespace) OnServerSideEmit(ev string, h ServerSideHandler) {
	n.mu.Lock()
	if n.serverSide == nil {
		n.serverSide = make(map[string][]ServerSideHandler)
	}
	n.serverSide[ev] = append(n.serverSide[ev], h)
	n.mu.Unlock()
}

// ReceiveServerSideEmit hands an event from another node ([event,
// args...]) to the namespace's handlers; reply, when not nil, answers the
// sender (once, whichever handler answers first). Cluster adapters call it.
func (n *Namespace) ReceiveServerSideEmit(packet []any, reply func(args []any) error) {
	if len(packet) == 0 {
		return
	}
	ev, ok := packet[0].(string)
	if !ok {
		return
	}
	n.mu.RLock()
	hs := n.serverSide[ev]
	n.mu.RUnlock()
	ack := Ack{}
	if reply != nil {
		ack = Ack{r: &ackReply{send: reply}}
	}
	args := ArgsOf(packet[1:]...)
	for _, h := range hs {
		h(args, ack)
	}
}

// Socket returns the connected local socket id, or nil.
func (n *Namespace) Socket(id string) *Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.sockets[id]
}

// SocketCount returns the number of connected local sockets.
func (n *Namespace) SocketCount() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.sockets)
}

// LocalSockets returns the connected local sockets.
func (n *Namespace) LocalSockets() []*Socket { return n.allSockets() }

func (n *Namespace) allSockets() []*Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]*Socket, 0, len(n.sockets))
	for _, s := range n.sockets {
		out = append(out, s)
	}
	return out
}

// lookup returns a local socket, connected or still connecting.
func (n *Namespace) lookup(id string) *Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if s := n.sockets[id]; s != nil {
		return s
	}
	return n.pre[id]
}

// nextAckID returns the id of a packet that asks for acks; ids count per
// namespace, as in Node.
func (n *Namespace) nextAckID() int64 { return n.ackIDs.Add(1) - 1 }

// connect runs the middlewares of a new socket, then makes it connected:
// the CONNECT packet, then the connection handlers. It reports whether the
// socket connected.
func (n *Namespace) connect(s *Socket) bool {
	n.mu.Lock()
	if n.pre == nil {
		n.pre = make(map[string]*Socket)
	}
	n.pre[s.id] = s
	mws := n.middlewares
	n.mu.Unlock()
	s.replay()
	skip := s.recovered && (n.srv.cfg.Recovery == nil || !n.srv.cfg.Recovery.RunMiddlewares)
	if !skip {
		for _, m := range mws {
			if err := m(s); err != nil {
				n.refuse(s, err)
				return false
			}
		}
	}
	if !s.cl.conn.IsOpen() {
		s.leaveAll() // while the adapter can still find it
		n.removeSocket(s)
		return false
	}
	n.mu.Lock()
	delete(n.pre, s.id)
	n.sockets[s.id] = s
	handlers := n.onConnection
	n.mu.Unlock()
	s.onConnect()
	if o := n.srv.obs.Load(); o != nil {
		for _, h := range o.connection {
			h(s)
		}
	}
	for _, h := range handlers {
		h(s)
	}
	return true
}

// refuse answers a middleware's error with CONNECT_ERROR.
func (n *Namespace) refuse(s *Socket, err error) {
	s.leaveAll() // while the adapter can still find it
	n.removeSocket(s)
	// Node writes the message first, then the data when there is some.
	data := connectErrorData{Message: err.Error()}
	var ce *ConnectError
	if errors.As(err, &ce) {
		data.Data = ce.Data
	}
	s.cl.writePacket(&Packet{Type: PacketConnectError, Nsp: n.name, ID: noID, Data: []any{data}})
}

// removeSocket forgets a socket; an empty child namespace goes away when
// the server says so.
func (n *Namespace) removeSocket(s *Socket) {
	n.mu.Lock()
	if n.sockets[s.id] == s {
		delete(n.sockets, s.id)
	} else if n.pre[s.id] == s {
		delete(n.pre, s.id)
	}
	empty := len(n.sockets) == 0 && len(n.pre) == 0
	n.mu.Unlock()
	if empty && n.parent != nil && n.srv.cfg.CleanupEmptyChildNamespaces {
		n.srv.removeNamespace(n)
	}
}

// operator returns a broadcast operator of the namespace.
func (n *Namespace) operator() BroadcastOperator { return BroadcastOperator{nsp: n} }

// Emit broadcasts an event to every socket of the namespace.
func (n *Namespace) Emit(ev string, args ...any) error { return n.operator().Emit(ev, args...) }

// To selects sockets by room; see BroadcastOperator.
func (n *Namespace) To(rooms ...string) BroadcastOperator { return n.operator().To(rooms...) }

// In is To.
func (n *Namespace) In(rooms ...string) BroadcastOperator { return n.operator().In(rooms...) }

// Except leaves the sockets of rooms out.
func (n *Namespace) Except(rooms ...string) BroadcastOperator { return n.operator().Except(rooms...) }

// Local keeps the operation on this node.
func (n *Namespace) Local() BroadcastOperator { return n.operator().Local() }

// Volatile drops the event for clients that cannot take it at once.
func (n *Namespace) Volatile() BroadcastOperator { return n.operator().Volatile() }

// Compress sets the compress flag.
func (n *Namespace) Compress(c bool) BroadcastOperator { return n.operator().Compress(c) }

// Timeout bounds EmitWithAck.
func (n *Namespace) Timeout(d time.Duration) BroadcastOperator { return n.operator().Timeout(d) }

// EmitWithAck broadcasts an event whose clients answer; see
// BroadcastOperator.EmitWithAck.
func (n *Namespace) EmitWithAck(ev string, onAcks func(responses []Args, err error), args ...any) error {
	return n.operator().EmitWithAck(ev, onAcks, args...)
}

// FetchSockets returns the namespace's sockets on every node.
func (n *Namespace) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return n.operator().FetchSockets(ctx)
}

// SocketsJoin makes every socket of the namespace join rooms.
func (n *Namespace) SocketsJoin(rooms ...string) error { return n.operator().SocketsJoin(rooms...) }

// SocketsLeave makes every socket of the namespace leave rooms.
func (n *Namespace) SocketsLeave(rooms ...string) error { return n.operator().SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket of the namespace.
func (n *Namespace) DisconnectSockets(close bool) error {
	return n.operator().DisconnectSockets(close)
}

// ServerSideEmit sends an event to this namespace on the other nodes.
func (n *Namespace) ServerSideEmit(ev string, args ...any) error {
	if reservedEvents[ev] || ev == "connection" || ev == "new_namespace" {
		return ErrReservedEvent
	}
	return n.adapter.ServerSideEmit(append([]any{ev}, args...), nil)
}

// ServerSideEmitWithAck sends an event to this namespace on the other
// nodes and calls onAcks with one answer per node (or an error with the
// answers received when some did not answer in time).
func (n *Namespace) ServerSideEmitWithAck(ev string, onAcks func(responses []Args, err error), args ...any) error {
	if reservedEvents[ev] || ev == "connection" || ev == "new_namespace" {
		return ErrReservedEvent
	}
	return n.adapter.ServerSideEmit(append([]any{ev}, args...), onAcks)
}

// ServerCount returns the number of nodes serving the namespace.
func (n *Namespace) ServerCount(ctx context.Context) (int, error) { return n.adapter.ServerCount(ctx) }

// ParentNamespace is a group of dynamic namespaces (Server.OfFunc).
type ParentNamespace struct {
	srv   *Server
	match func(name string, auth map[string]any) bool

	mu           sync.Mutex
	middlewares  []Middleware
	onConnection []func(*Socket)
	children     map[string]*Namespace
}

// Use adds a middleware to the namespaces created from now on.
func (p *ParentNamespace) Use(m Middleware) {
	p.mu.Lock()
	p.middlewares = append(p.middlewares, m)
	p.mu.Unlock()
}

// OnConnection adds a connection handler to the namespaces created from
// now on.
func (p *ParentNamespace) OnConnection(h func(*Socket)) {
	p.mu.Lock()
	p.onConnection = append(p.onConnection, h)
	p.mu.Unlock()
}

// Children returns the namespaces created from the group.
func (p *ParentNamespace) Children() []*Namespace {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*Namespace, 0, len(p.children))
	for _, n := range p.children {
		out = append(out, n)
	}
	return out
}

// Emit broadcasts an event to every namespace of the group.
func (p *ParentNamespace) Emit(ev string, args ...any) error {
	var errs []error
	for _, n := range p.Children() {
		if err := n.Emit(ev, args...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *ParentNamespace) snapshot() ([]Middleware, []func(*Socket)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.middlewares), slices.Clone(p.onConnection)
}

func (p *ParentNamespace) addChild(n *Namespace) {
	p.mu.Lock()
	p.children[n.name] = n
	p.mu.Unlock()
}

func (p *ParentNamespace) removeChild(n *Namespace) {
	p.mu.Lock()
	if p.children[n.name] == n {
		delete(p.children, n.name)
	}
	p.mu.Unlock()
}
