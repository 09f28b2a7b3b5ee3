package adapter

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/parley-chat/parley/internal/wire"
)

// NamespaceAdapter is the adapter of one namespace. It embeds the library's
// in-memory adapter, which keeps the local rooms and delivers to local
// sockets, and overrides every operation that must reach the other nodes.
// (Forgetting one would silently fall back to local-only behaviour, so each
// is tested across nodes.)
type NamespaceAdapter struct {
	socket.Adapter
	core  *core
	name  string
	inbox *inbox
	// servers is the last server count Redis gave, used while it cannot.
	servers atomic.Int64
	// recovery is set when the server recovers connection states and the
	// transport keeps sessions (streams); window is then how long.
	recovery bool
	window   time.Duration
	// offset is the stream id of the last entry applied in this namespace
	// (see recovery.go).
	offset atomic.Pointer[string]
}

var _ socket.Adapter = (*NamespaceAdapter)(nil)

// countTimeout bounds a PUBSUB NUMSUB round trip.
const countTimeout = 2 * time.Second

func (c *core) newNamespace(nsp socket.Namespace) socket.Adapter {
	a := &NamespaceAdapter{Adapter: socket.MakeAdapter(), core: c, inbox: newInbox(c.log, &c.inboxes)}
	a.servers.Store(1)
	a.Prototype(a)
	a.Construct(nsp)
	return a
}

// Construct binds the adapter to its namespace and subscribes to the
// namespace's channels.
func (a *NamespaceAdapter) Construct(nsp socket.Namespace) {
	a.Adapter.Construct(nsp)
	a.name = nsp.Name()
	if csr := nsp.Server().Opts().ConnectionStateRecovery(); csr != nil {
		if _, ok := a.core.tr.(sessionStore); ok {
			a.recovery = true
			a.window = time.Duration(csr.MaxDisconnectionDuration()) * time.Millisecond
		}
	}
	if rs, ok := a.core.tr.(roomSubscriber); ok {
		a.watchRooms(rs)
	}
	a.core.register(a)
}

// watchRooms tells the transport about rooms as they appear and disappear
// locally. A room is private when it is a local socket's own id (the socket
// is still known when its room is created and deleted).
func (a *NamespaceAdapter) watchRooms(rs roomSubscriber) {
	private := func(room socket.Room) bool {
		_, ok := a.Sids().Load(socket.SocketId(room))
		return ok
	}
	_ = a.On("create-room", func(args ...any) {
		if room, ok := first(args).(socket.Room); ok {
			rs.roomCreated(a.name, string(room), private(room))
		}
	})
	_ = a.On("delete-room", func(args ...any) {
		if room, ok := first(args).(socket.Room); ok {
			rs.roomDeleted(a.name, string(room), private(room))
		}
	})
}

// Close unsubscribes from the namespace's channels (the library calls it
// when the server closes or an empty child namespace is cleaned up).
func (a *NamespaceAdapter) Close() { a.core.unregister(a) }

func (a *NamespaceAdapter) message(kind wire.Kind, opts *socket.BroadcastOptions) *wire.Message {
	return &wire.Message{Kind: kind, UID: a.core.uid, Nsp: a.name, Opts: wireOptions(opts)}
}

// ServerCount returns the number of nodes serving the namespace: Redis's
// count of subscribers to its request channel. The library's interface has
// no error, so when Redis cannot answer it returns the last count it gave.
func (a *NamespaceAdapter) ServerCount() int64 {
	n, err := a.countServers()
	if err != nil {
		last := a.servers.Load()
		a.core.errs.log("adapter: counting servers failed, using the last count", "nsp", a.name, "count", last, "err", err)
		return last
	}
	return n
}

// countServers asks Redis for the server count.
func (a *NamespaceAdapter) countServers() (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), countTimeout)
	defer cancel()
	n, err := a.core.tr.serverCount(ctx, a.name)
	if err != nil {
		return 0, fmt.Errorf("adapter: counting the servers of %s: %w", a.name, err)
	}
	// This node counts even while its own subscription is being restored.
	n = max(n, 1)
	a.servers.Store(n)
	return n, nil
}

// Broadcast publishes the packet to the other nodes (unless it is local)
// and delivers it to the local sockets. The library's interface has no
// error: a packet refused for its arguments is delivered nowhere, logged
// (with the namespace and the event) and counted in
// parley_adapter_encode_errors_total; BroadcastPacket returns the error.
func (a *NamespaceAdapter) Broadcast(p *parser.Packet, opts *socket.BroadcastOptions) {
	_ = a.broadcast(p, opts)
}

// BroadcastPacket is Broadcast returning its error: one wrapping
// ErrUnencodable when a value in the packet's arguments cannot be
// represented on the cluster (the packet then reached nobody, this node's
// sockets included). The library's operators (io.Emit, io.To(room).Emit)
// call Broadcast and cannot pass the error on; a caller that needs it
// builds the packet ({Type: parser.EVENT, Data: [event, args...]}) and
// calls this.
func (a *NamespaceAdapter) BroadcastPacket(p *parser.Packet, opts *socket.BroadcastOptions) error {
	return a.broadcast(p, opts)
}

// broadcast makes the packet's arguments what wire.Payload describes, then
// publishes and only then delivers it, so that the local and the remote
// copies are built from the same values and a packet the cluster cannot
// carry reaches nobody. With connection state recovery, a packet clients
// may have to recover carries its stream offset as its last argument, as
// Node's adapter appends it: the publish then waits for Redis to give the
// offset.
func (a *NamespaceAdapter) broadcast(p *parser.Packet, opts *socket.BroadcastOptions) error {
	data, ok := p.Data.([]any)
	if !ok {
		a.deliver(p, opts)
		return nil
	}
	data, err := wire.Payload(data)
	if err != nil {
		return a.core.refuse(wire.Broadcast, a.name, p.Data.([]any), err)
	}
	offset := ""
	switch {
	case isLocal(opts):
	case a.toLocalSocket(opts):
		if a.recovery && recoverable(p, opts) {
			offset = a.lastOffset()
		}
	default:
		offset, err = a.publishBroadcast(data, opts, a.recovery && recoverable(p, opts))
		if errors.Is(err, ErrUnencodable) {
			return a.core.refuse(wire.Broadcast, a.name, data, err)
		}
	}
	setArgs(p, withOffset(wire.ClientArgs(data), offset))
	a.deliver(p, opts)
	return nil
}

// setArgs makes args the packet's data unless they already are: storing a
// slice in the interface allocates, and most payloads need no change.
func setArgs(p *parser.Packet, args []any) {
	if old, ok := p.Data.([]any); !ok || len(old) != len(args) || (len(args) > 0 && &old[0] != &args[0]) {
		p.Data = args
	}
}

// publishBroadcast sends a broadcast to the other nodes; with wait it
// returns the stream offset Redis gave it. A Redis failure leaves the
// offset empty (the packet then goes out without one, as in Node).
func (a *NamespaceAdapter) publishBroadcast(data []any, opts *socket.BroadcastOptions, wait bool) (string, error) {
	m := a.message(wire.Broadcast, opts)
	m.Data = data
	if !wait {
		return "", a.core.publish(m)
	}
	return a.core.publishWait(m)
}

// deliver writes a broadcast to the matching local sockets. Every broadcast
// this node delivers, its own and those received from the cluster, goes
// through here, so the write path has one place to be optimised.
func (a *NamespaceAdapter) deliver(p *parser.Packet, opts *socket.BroadcastOptions) {
	if d := a.core.cfg.Deliverer; d != nil {
		d.Deliver(a, p, opts) // it finds the recipients before it encodes
		return
	}
	if a.mayHaveRecipients(opts) {
		a.Adapter.Broadcast(p, opts)
	}
}

// mayHaveRecipients reports whether a broadcast can reach a local socket.
// The library's adapter encodes the packet before it looks for recipients,
// which for a room that lives on other nodes is work thrown away.
func (a *NamespaceAdapter) mayHaveRecipients(opts *socket.BroadcastOptions) bool {
	if opts == nil || opts.Rooms == nil || opts.Rooms.Len() == 0 {
		return a.Nsp().Sockets().Len() > 0
	}
	for _, r := range opts.Rooms.Keys() {
		if _, ok := a.Rooms().Load(r); ok {
			return true
		}
	}
	return false
}

// deliverWithAck is deliver for a broadcast whose clients acknowledge it.
//
// The library's in-memory adapter gives the packet its id, which the
// broadcast operator's timeout goroutine reads without synchronisation (a
// data race in v3.0.6); the operator uses it to forget the acks still
// pending when it times out. So the local delivery gets a copy of the packet,
// and this adapter forgets the pending acks itself at the same deadline.
func (a *NamespaceAdapter) deliverWithAck(p *parser.Packet, opts *socket.BroadcastOptions, onCount func(uint64), ack socket.Ack) {
	local := *p
	a.Adapter.BroadcastWithAck(&local, opts, onCount, ack)
	if local.Id == nil || opts == nil || opts.Flags == nil || opts.Flags.Timeout == nil {
		return
	}
	id := *local.Id
	time.AfterFunc(*opts.Flags.Timeout, func() { a.forgetAck(id) })
}

// forgetAck drops the ack id still pending on local sockets (those that did
// not answer in time), as the operator would on its timeout.
func (a *NamespaceAdapter) forgetAck(id uint64) {
	a.Nsp().Sockets().Range(func(_ socket.SocketId, s *socket.Socket) bool {
		s.Acks().Delete(id)
		return true
	})
}

// toLocalSocket reports whether opts target exactly one room that is the id
// of a socket of this node. Only this node can have that socket, so there is
// nothing to publish: this spares Redis the private emits the library routes
// through Broadcast when connection state recovery is on. (Node publishes
// them, and its other nodes drop them unread; see recovery.go for what the
// short cut means for recovery.)
func (a *NamespaceAdapter) toLocalSocket(opts *socket.BroadcastOptions) bool {
	if opts == nil || opts.Rooms == nil || opts.Rooms.Len() != 1 || (opts.Except != nil && opts.Except.Len() > 0) {
		return false
	}
	room := opts.Rooms.Keys()[0]
	_, ok := a.Nsp().Sockets().Load(socket.SocketId(room))
	return ok
}

// BroadcastWithAck publishes a broadcast whose client acks the other nodes
// relay back: each reports how many clients it reached, then each ack. A
// packet refused for its arguments reaches nobody (logged and counted as
// for Broadcast); the operator then reports its timeout.
func (a *NamespaceAdapter) BroadcastWithAck(p *parser.Packet, opts *socket.BroadcastOptions, onCount func(uint64), ack socket.Ack) {
	_ = a.broadcastWithAck(p, opts, onCount, ack)
}

func (a *NamespaceAdapter) broadcastWithAck(p *parser.Packet, opts *socket.BroadcastOptions, onCount func(uint64), ack socket.Ack) error {
	if opts == nil || opts.Flags == nil || opts.Flags.Timeout == nil {
		a.core.log.Warn("adapter: a broadcast with acks has no timeout and times out at once; use Timeout()", "nsp", a.name)
	}
	if args, ok := p.Data.([]any); ok {
		data, err := wire.Payload(args)
		if err != nil {
			return a.core.refuse(wire.Broadcast, a.name, args, err)
		}
		if !isLocal(opts) {
			if err := a.publishAckBroadcast(data, opts, onCount, ack); err != nil {
				return err
			}
		}
		setArgs(p, wire.ClientArgs(data))
	}
	a.deliverWithAck(p, opts, onCount, ack)
	return nil
}

// publishAckBroadcast registers the request whose responses the other
// nodes send, then publishes the broadcast.
func (a *NamespaceAdapter) publishAckBroadcast(data []any, opts *socket.BroadcastOptions, onCount func(uint64), ack socket.Ack) error {
	r := &request{id: randomID(), relay: func(resp *wire.Response) {
		switch resp.Kind {
		case wire.ClientCount:
			onCount(resp.ClientCount)
		case wire.BroadcastAck:
			if packet, ok := a.fromClusterValue(resp.Packet); ok {
				ack([]any{packet}, nil)
			}
		}
	}}
	// The operator gives up at its own timeout; the request is kept
	// exactly as long.
	a.core.reqs.add(r, flagTimeout(opts, 0))
	m := a.message(wire.Broadcast, opts)
	m.RequestID, m.Data = r.id, data
	if err := a.core.publish(m); errors.Is(err, ErrUnencodable) {
		a.core.reqs.drop(r)
		return a.core.refuse(wire.Broadcast, a.name, data, err)
	}
	return nil
}

// FetchSockets returns the matching sockets of every node: local ones as
// *socket.Socket, remote ones described by their node. On timeout the
// callback gets the sockets received so far and an error.
func (a *NamespaceAdapter) FetchSockets(opts *socket.BroadcastOptions) func(func([]socket.SocketDetails, error)) {
	return func(callback func([]socket.SocketDetails, error)) {
		a.Adapter.FetchSockets(opts)(func(local []socket.SocketDetails, _ error) {
			if isLocal(opts) {
				callback(local, nil)
				return
			}
			a.fetchRemote(opts, local, callback)
		})
	}
}

func (a *NamespaceAdapter) fetchRemote(opts *socket.BroadcastOptions, local []socket.SocketDetails, callback func([]socket.SocketDetails, error)) {
	servers, err := a.countServers()
	if err != nil {
		callback(local, err)
		return
	}
	expected := int(servers) - 1
	if expected <= 0 {
		callback(local, nil)
		return
	}
	found := local
	r := &request{id: randomID(), expected: expected,
		collect: func(resp *wire.Response) bool {
			if resp.Kind != wire.FetchResult {
				return false
			}
			for _, s := range resp.Sockets {
				found = append(found, newRemoteSocket(s))
			}
			return true
		},
		onDone: func(err error) { callback(found, err) },
	}
	_ = a.request(r, wire.FetchSockets, opts, flagTimeout(opts, a.core.cfg.RequestsTimeout), nil) // nothing to refuse in a fetch
}

// request registers r, then publishes its message and waits for Redis to
// take it: a request Redis refused fails at once instead of timing out. A
// request that cannot be encoded is dropped without reporting to r, and its
// error (wrapping ErrUnencodable) returned to the caller instead.
func (a *NamespaceAdapter) request(r *request, kind wire.Kind, opts *socket.BroadcastOptions, timeout time.Duration, data []any) error {
	a.core.reqs.add(r, timeout)
	m := a.message(kind, opts)
	m.RequestID, m.Data = r.id, data
	_, err := a.core.publishWait(m)
	switch {
	case errors.Is(err, ErrUnencodable):
		a.core.reqs.drop(r)
		return err
	case err != nil:
		a.core.reqs.finish(r, err)
	}
	return nil
}

// AddSockets makes the matching sockets of every node join rooms.
func (a *NamespaceAdapter) AddSockets(opts *socket.BroadcastOptions, rooms []socket.Room) {
	a.Adapter.AddSockets(opts, rooms)
	a.publishRooms(wire.SocketsJoin, opts, rooms)
}

// DelSockets makes the matching sockets of every node leave rooms.
func (a *NamespaceAdapter) DelSockets(opts *socket.BroadcastOptions, rooms []socket.Room) {
	a.Adapter.DelSockets(opts, rooms)
	a.publishRooms(wire.SocketsLeave, opts, rooms)
}

func (a *NamespaceAdapter) publishRooms(kind wire.Kind, opts *socket.BroadcastOptions, rooms []socket.Room) {
	if isLocal(opts) {
		return
	}
	m := a.message(kind, opts)
	m.Rooms = roomStrings(rooms)
	_ = a.core.publish(m) // rooms always encode; Redis failures are the transport's to report
}

// DisconnectSockets disconnects the matching sockets of every node.
func (a *NamespaceAdapter) DisconnectSockets(opts *socket.BroadcastOptions, closeConn bool) {
	a.Adapter.DisconnectSockets(opts, closeConn)
	if isLocal(opts) {
		return
	}
	m := a.message(wire.DisconnectSockets, opts)
	m.Close = closeConn
	_ = a.core.publish(m)
}

// ServerSideEmit sends an event to the namespace's server-side listeners on
// the other nodes. When the last element is a socket.Ack, the ack gets one
// answer per other node (or an error and the answers so far on timeout).
// Arguments the cluster cannot carry are refused with an error wrapping
// ErrUnencodable, which the library's ServerSideEmit and
// ServerSideEmitWithAck return to their caller (the ack is then not
// called).
func (a *NamespaceAdapter) ServerSideEmit(packet []any) error {
	var ack socket.Ack
	if n := len(packet); n > 0 {
		if f, ok := packet[n-1].(socket.Ack); ok {
			ack, packet = f, packet[:n-1]
		}
	}
	data, err := wire.Payload(packet)
	if err != nil {
		return a.core.refuse(wire.ServerSideEmit, a.name, packet, err)
	}
	if ack != nil {
		return a.serverSideEmitWithAck(data, ack)
	}
	m := a.message(wire.ServerSideEmit, nil)
	m.Data = data
	if err := a.core.publish(m); errors.Is(err, ErrUnencodable) {
		return a.core.refuse(wire.ServerSideEmit, a.name, data, err)
	}
	return nil
}

func (a *NamespaceAdapter) serverSideEmitWithAck(packet []any, ack socket.Ack) error {
	servers, err := a.countServers()
	if err != nil {
		ack([]any{}, err)
		return nil
	}
	expected := int(servers) - 1
	if expected <= 0 {
		ack([]any{}, nil)
		return nil
	}
	answers := []any{}
	r := &request{id: randomID(), expected: expected,
		collect: func(resp *wire.Response) bool {
			if resp.Kind != wire.ServerSideEmitAck {
				return false
			}
			if answer, ok := a.fromClusterValue(resp.Packet); ok {
				answers = append(answers, answer)
			}
			return true
		},
		onDone: func(err error) { ack(answers, err) },
	}
	if err := a.request(r, wire.ServerSideEmit, nil, a.core.cfg.RequestsTimeout, packet); err != nil {
		return a.core.refuse(wire.ServerSideEmit, a.name, packet, err)
	}
	return nil
}

// AllRooms returns the rooms of every node of the namespace, socket ids
// included (as Node's adapter does). The ClusterAdapter protocol has no such
// request: there the rooms of the sockets fetchSockets returns make the
// same set.
func (a *NamespaceAdapter) AllRooms(ctx context.Context) ([]socket.Room, error) {
	if a.core.clusterProtocol {
		return a.allRoomsByFetch(ctx)
	}
	rooms := types.NewSet(a.Rooms().Keys()...)
	servers, err := a.countServers()
	if err != nil {
		return rooms.Keys(), err
	}
	expected := int(servers) - 1
	if expected <= 0 {
		return rooms.Keys(), nil
	}
	done := make(chan error, 1)
	r := &request{id: randomID(), expected: expected,
		collect: func(resp *wire.Response) bool {
			if resp.Kind != wire.RoomsResult {
				return false
			}
			for _, room := range resp.Rooms {
				rooms.Add(socket.Room(room))
			}
			return true
		},
		onDone: func(err error) { done <- err },
	}
	_ = a.request(r, wire.AllRooms, nil, a.core.cfg.RequestsTimeout, nil)
	select {
	case err := <-done:
		return rooms.Keys(), err
	case <-ctx.Done():
		a.core.reqs.finish(r, ctx.Err())
		return rooms.Keys(), ctx.Err()
	}
}

func (a *NamespaceAdapter) allRoomsByFetch(ctx context.Context) ([]socket.Room, error) {
	type result struct {
		sockets []socket.SocketDetails
		err     error
	}
	done := make(chan result, 1)
	all := &socket.BroadcastOptions{Rooms: types.NewSet[socket.Room](), Except: types.NewSet[socket.Room](), Flags: &socket.BroadcastFlags{}}
	a.FetchSockets(all)(func(s []socket.SocketDetails, err error) { done <- result{s, err} })
	rooms := types.NewSet(a.Rooms().Keys()...)
	select {
	case r := <-done:
		for _, s := range r.sockets {
			if rs := s.Rooms(); rs != nil {
				rooms.Add(rs.Keys()...)
			}
		}
		return rooms.Keys(), r.err
	case <-ctx.Done():
		return rooms.Keys(), ctx.Err()
	}
}

func isLocal(opts *socket.BroadcastOptions) bool {
	return opts != nil && opts.Flags != nil && opts.Flags.Local
}

// flagTimeout is the operator's timeout, or def when none was set.
func flagTimeout(opts *socket.BroadcastOptions, def time.Duration) time.Duration {
	if opts != nil && opts.Flags != nil && opts.Flags.Timeout != nil {
		return *opts.Flags.Timeout
	}
	return def
}

func wireOptions(o *socket.BroadcastOptions) wire.Options {
	var w wire.Options
	if o == nil {
		return w
	}
	if o.Rooms != nil {
		w.Rooms = roomStrings(o.Rooms.Keys())
	}
	if o.Except != nil {
		w.Except = roomStrings(o.Except.Keys())
	}
	if f := o.Flags; f != nil {
		w.Flags = wire.Flags{Volatile: f.Volatile, Compress: f.Compress, Local: f.Local, Timeout: f.Timeout, ExpectSingleResponse: f.ExpectSingleResponse}
	}
	return w
}

func socketOptions(w wire.Options) *socket.BroadcastOptions {
	flags := &socket.BroadcastFlags{Local: w.Flags.Local, Timeout: w.Flags.Timeout, ExpectSingleResponse: w.Flags.ExpectSingleResponse}
	flags.Volatile = w.Flags.Volatile
	flags.Compress = w.Flags.Compress
	return &socket.BroadcastOptions{
		Rooms:  types.NewSet(socketRooms(w.Rooms)...),
		Except: types.NewSet(socketRooms(w.Except)...),
		Flags:  flags,
	}
}

func roomStrings(rooms []socket.Room) []string {
	out := make([]string, len(rooms))
	for i, r := range rooms {
		out[i] = string(r)
	}
	return out
}

func socketRooms(rooms []string) []socket.Room {
	out := make([]socket.Room, len(rooms))
	for i, r := range rooms {
		out[i] = socket.Room(r)
	}
	return out
}
