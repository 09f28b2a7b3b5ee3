package adapter

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/internal/wire"
	"github.com/parley-chat/parley/socketio"
)

// NamespaceAdapter is the adapter of one namespace. It embeds the
// in-memory adapter of package socketio, which keeps the local rooms and
// delivers to local sockets, and overrides every operation that must reach
// the other nodes. (Forgetting one would silently fall back to local-only
// behaviour, so each is tested across nodes.)
type NamespaceAdapter struct {
	*socketio.MemoryAdapter
	core  *core
	nsp   *socketio.Namespace
	name  string
	inbox *inbox
	// servers is the last server count Redis gave, used while it cannot.
	servers atomic.Int64
	// recovery is set when the server recovers connection states and the
	// transport keeps sessions (streams); window is then how long.
	// Without such a transport the MemoryAdapter keeps sessions, for
	// recoveries on this node.
	recovery bool
	window   time.Duration
	// offset is the stream id of the last entry applied in this namespace
	// (see recovery.go).
	offset atomic.Pointer[string]
}

var _ socketio.Adapter = (*NamespaceAdapter)(nil)

// countTimeout bounds a PUBSUB NUMSUB round trip.
const countTimeout = 2 * time.Second

// newNamespace makes the adapter of nsp and subscribes to its channels.
func (c *core) newNamespace(nsp *socketio.Namespace) *NamespaceAdapter {
	a := &NamespaceAdapter{MemoryAdapter: socketio.NewMemoryAdapter(nsp), core: c, nsp: nsp, name: nsp.Name(), inbox: newInbox(c.log, &c.inboxes)}
	a.servers.Store(1)
	if r := nsp.Server().Config().Recovery; r != nil {
		if _, ok := c.tr.(sessionStore); ok {
			a.recovery = true
			a.window = r.MaxDisconnection
		}
	}
	if rs, ok := c.tr.(roomSubscriber); ok {
		// A room is private when it is a local socket's own id.
		a.OnRooms(
			func(room string, private bool) { rs.roomCreated(a.name, room, private) },
			func(room string, private bool) { rs.roomDeleted(a.name, room, private) },
		)
	}
	c.register(a)
	return a
}

// Close unsubscribes from the namespace's channels (the server calls it
// when it closes, or when an empty child namespace is removed).
func (a *NamespaceAdapter) Close() error {
	a.core.unregister(a)
	return nil
}

func (a *NamespaceAdapter) message(kind wire.Kind, opts socketio.BroadcastOptions) *wire.Message {
	return &wire.Message{Kind: kind, UID: a.core.uid, Nsp: a.name, Opts: wireOptions(opts)}
}

// ServerCount returns the number of nodes serving the namespace: Redis's
// count of subscribers to its request channel. When Redis cannot answer it
// returns the last count it gave, with the error.
func (a *NamespaceAdapter) ServerCount(ctx context.Context) (int, error) {
	n, err := a.countServers(ctx)
	if err != nil {
		last := a.servers.Load()
		a.core.errs.log("adapter: counting servers failed, using the last count", "nsp", a.name, "count", last, "err", err)
		return int(last), err
	}
	return int(n), nil
}

// countServers asks Redis for the server count.
func (a *NamespaceAdapter) countServers(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, countTimeout)
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

// Broadcast makes the packet's arguments what wire.Payload describes, then
// publishes it to the other nodes (unless it is local) and only then
// delivers it to the local sockets, so that the local and the remote copies
// are built from the same values and a packet the cluster cannot carry
// reaches nobody: the error then wraps ErrUnencodable, and the refusal is
// logged (with the namespace and the event) and counted in
// parley_adapter_encode_errors_total. A Redis failure does not stop local
// delivery (it is logged and counted by the transport). With connection
// state recovery, a packet clients may have to recover carries its stream
// offset as its last argument, as Node's adapter appends it: the publish
// then waits for Redis to give the offset.
func (a *NamespaceAdapter) Broadcast(p *socketio.Packet, opts socketio.BroadcastOptions) error {
	data, err := wire.BroadcastPayload(p.Data)
	if err != nil {
		return a.core.refuse(wire.Broadcast, a.name, p.Data, err)
	}
	offset := ""
	switch {
	case opts.Flags.Local:
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
	p.Data = withOffset(wire.ClientArgs(data), offset)
	return a.deliver(p, opts)
}

// publishBroadcast sends a broadcast to the other nodes; with wait it
// returns the stream offset Redis gave it. A Redis failure leaves the
// offset empty (the packet then goes out without one, as in Node).
func (a *NamespaceAdapter) publishBroadcast(data []any, opts socketio.BroadcastOptions, wait bool) (string, error) {
	m := a.message(wire.Broadcast, opts)
	m.Data = data
	if !wait {
		return "", a.core.publish(m)
	}
	return a.core.publishWait(m)
}

// deliver writes a broadcast to the matching local sockets, encoded once.
// Every broadcast this node delivers, its own and those received from the
// cluster, goes through here. Without a transport that keeps sessions, the
// MemoryAdapter keeps the packet for recoveries on this node (when recovery
// is on).
func (a *NamespaceAdapter) deliver(p *socketio.Packet, opts socketio.BroadcastOptions) error {
	if a.recovery {
		return a.Deliver(p, opts) // the stream gave it its offset
	}
	return a.MemoryAdapter.Broadcast(p, opts)
}

// toLocalSocket reports whether opts target exactly one room that is the id
// of a socket of this node. Only this node can have that socket, so there is
// nothing to publish: this spares Redis the private emits socketio routes
// through Broadcast when connection state recovery is on. (Node publishes
// them, and its other nodes drop them unread; see recovery.go for what the
// short cut means for recovery.)
func (a *NamespaceAdapter) toLocalSocket(opts socketio.BroadcastOptions) bool {
	return len(opts.Rooms) == 1 && len(opts.Except) == 0 && a.nsp.Socket(opts.Rooms[0]) != nil
}

// BroadcastWithAck publishes a broadcast whose client acks the other nodes
// relay back: each reports how many clients it reached, then each ack. A
// packet refused for its arguments reaches nobody (logged and counted as
// for Broadcast) and its error is returned.
func (a *NamespaceAdapter) BroadcastWithAck(p *socketio.Packet, opts socketio.BroadcastOptions, onCount func(int), onAck func(socketio.Args)) error {
	if opts.Flags.Timeout == nil {
		a.core.log.Warn("adapter: a broadcast with acks has no timeout and times out at once; use Timeout()", "nsp", a.name)
	}
	data, err := wire.BroadcastPayload(p.Data)
	if err != nil {
		return a.core.refuse(wire.Broadcast, a.name, p.Data, err)
	}
	if !opts.Flags.Local {
		if err := a.publishAckBroadcast(data, opts, onCount, onAck); err != nil {
			return err
		}
	}
	p.Data = wire.ClientArgs(data)
	return a.MemoryAdapter.BroadcastWithAck(p, opts, onCount, onAck)
}

// publishAckBroadcast registers the request whose responses the other
// nodes send, then publishes the broadcast.
func (a *NamespaceAdapter) publishAckBroadcast(data []any, opts socketio.BroadcastOptions, onCount func(int), onAck func(socketio.Args)) error {
	r := &request{id: randomID(), relay: func(resp *wire.Response) {
		switch resp.Kind {
		case wire.ClientCount:
			onCount(int(resp.ClientCount))
		case wire.BroadcastAck:
			if packet, ok := a.fromClusterValue(resp.Packet); ok {
				onAck(socketio.ArgsOf(packet))
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

// FetchSockets returns the matching sockets of every node (of this one with
// Flags.Local). When a node does not answer within the operator's timeout
// (or the Config's RequestsTimeout), or ctx ends first, it returns the
// sockets received so far and an error.
func (a *NamespaceAdapter) FetchSockets(ctx context.Context, opts socketio.BroadcastOptions) ([]*socketio.RemoteSocket, error) {
	local, _ := a.MemoryAdapter.FetchSockets(ctx, opts)
	if opts.Flags.Local {
		return local, nil
	}
	servers, err := a.countServers(ctx)
	if err != nil {
		return local, err
	}
	expected := int(servers) - 1
	if expected <= 0 {
		return local, nil
	}
	var mu sync.Mutex
	found := local
	done := make(chan error, 1)
	r := &request{id: randomID(), expected: expected,
		collect: func(resp *wire.Response) bool {
			if resp.Kind != wire.FetchResult {
				return false
			}
			mu.Lock()
			for _, s := range resp.Sockets {
				found = append(found, a.remoteSocket(s))
			}
			mu.Unlock()
			return true
		},
		onDone: func(err error) { done <- err },
	}
	_ = a.request(r, wire.FetchSockets, opts, flagTimeout(opts, a.core.cfg.RequestsTimeout), nil) // nothing to refuse in a fetch
	select {
	case err = <-done:
	case <-ctx.Done():
		a.core.reqs.finish(r, ctx.Err())
		err = <-done
	}
	mu.Lock()
	defer mu.Unlock()
	return found, err
}

// request registers r, then publishes its message and waits for Redis to
// take it: a request Redis refused fails at once instead of timing out. A
// request that cannot be encoded is dropped without reporting to r, and its
// error (wrapping ErrUnencodable) returned to the caller instead.
func (a *NamespaceAdapter) request(r *request, kind wire.Kind, opts socketio.BroadcastOptions, timeout time.Duration, data []any) error {
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
func (a *NamespaceAdapter) AddSockets(opts socketio.BroadcastOptions, rooms []string) error {
	err := a.MemoryAdapter.AddSockets(opts, rooms)
	a.publishRooms(wire.SocketsJoin, opts, rooms)
	return err
}

// DelSockets makes the matching sockets of every node leave rooms.
func (a *NamespaceAdapter) DelSockets(opts socketio.BroadcastOptions, rooms []string) error {
	err := a.MemoryAdapter.DelSockets(opts, rooms)
	a.publishRooms(wire.SocketsLeave, opts, rooms)
	return err
}

func (a *NamespaceAdapter) publishRooms(kind wire.Kind, opts socketio.BroadcastOptions, rooms []string) {
	if opts.Flags.Local {
		return
	}
	m := a.message(kind, opts)
	m.Rooms = rooms
	_ = a.core.publish(m) // rooms always encode; Redis failures are the transport's to report
}

// DisconnectSockets disconnects the matching sockets of every node.
func (a *NamespaceAdapter) DisconnectSockets(opts socketio.BroadcastOptions, closeConn bool) error {
	err := a.MemoryAdapter.DisconnectSockets(opts, closeConn)
	if opts.Flags.Local {
		return err
	}
	m := a.message(wire.DisconnectSockets, opts)
	m.Close = closeConn
	_ = a.core.publish(m)
	return err
}

// ServerSideEmit sends an event ([event, args...]) to the namespace's
// server-side listeners on the other nodes. With onAck, onAck gets one
// answer per other node (or an error and the answers so far on timeout).
// Arguments the cluster cannot carry are refused with an error wrapping
// ErrUnencodable (onAck is then not called).
func (a *NamespaceAdapter) ServerSideEmit(packet []any, onAck func([]socketio.Args, error)) error {
	data, err := wire.Payload(packet)
	if err != nil {
		return a.core.refuse(wire.ServerSideEmit, a.name, packet, err)
	}
	if onAck != nil {
		return a.serverSideEmitWithAck(data, onAck)
	}
	m := a.message(wire.ServerSideEmit, socketio.BroadcastOptions{})
	m.Data = data
	if err := a.core.publish(m); errors.Is(err, ErrUnencodable) {
		return a.core.refuse(wire.ServerSideEmit, a.name, data, err)
	}
	return nil
}

func (a *NamespaceAdapter) serverSideEmitWithAck(packet []any, onAck func([]socketio.Args, error)) error {
	servers, err := a.countServers(context.Background())
	if err != nil {
		onAck([]socketio.Args{}, err)
		return nil
	}
	expected := int(servers) - 1
	if expected <= 0 {
		onAck([]socketio.Args{}, nil)
		return nil
	}
	var mu sync.Mutex
	answers := []socketio.Args{}
	r := &request{id: randomID(), expected: expected,
		collect: func(resp *wire.Response) bool {
			if resp.Kind != wire.ServerSideEmitAck {
				return false
			}
			if answer, ok := a.fromClusterValue(resp.Packet); ok {
				mu.Lock()
				answers = append(answers, socketio.ArgsOf(answer))
				mu.Unlock()
			}
			return true
		},
		onDone: func(err error) {
			mu.Lock()
			out := answers
			mu.Unlock()
			onAck(out, err)
		},
	}
	if err := a.request(r, wire.ServerSideEmit, socketio.BroadcastOptions{}, a.core.cfg.RequestsTimeout, packet); err != nil {
		return a.core.refuse(wire.ServerSideEmit, a.name, packet, err)
	}
	return nil
}

// AllRooms returns the rooms of every node of the namespace, socket ids
// included (as Node's adapter does). The ClusterAdapter protocol has no such
// request: there the rooms of the sockets FetchSockets returns make the
// same set.
func (a *NamespaceAdapter) AllRooms(ctx context.Context) ([]string, error) {
	rooms := map[string]struct{}{}
	add := func(rs []string) {
		for _, r := range rs {
			rooms[r] = struct{}{}
		}
	}
	add(a.Rooms())
	err := a.remoteRooms(ctx, add)
	return slices.Sorted(maps.Keys(rooms)), err
}

// remoteRooms adds the other nodes' rooms.
func (a *NamespaceAdapter) remoteRooms(ctx context.Context, add func([]string)) error {
	if a.core.clusterProtocol {
		sockets, err := a.FetchSockets(ctx, socketio.BroadcastOptions{})
		for _, s := range sockets {
			add(s.Rooms)
		}
		return err
	}
	servers, err := a.countServers(ctx)
	if err != nil {
		return err
	}
	expected := int(servers) - 1
	if expected <= 0 {
		return nil
	}
	var mu sync.Mutex
	done := make(chan error, 1)
	r := &request{id: randomID(), expected: expected,
		collect: func(resp *wire.Response) bool {
			if resp.Kind != wire.RoomsResult {
				return false
			}
			mu.Lock()
			add(resp.Rooms)
			mu.Unlock()
			return true
		},
		onDone: func(err error) { done <- err },
	}
	_ = a.request(r, wire.AllRooms, socketio.BroadcastOptions{}, a.core.cfg.RequestsTimeout, nil)
	select {
	case err = <-done:
	case <-ctx.Done():
		a.core.reqs.finish(r, ctx.Err())
		err = <-done
	}
	return err
}

// flagTimeout is the operator's timeout, or def when none was set.
func flagTimeout(opts socketio.BroadcastOptions, def time.Duration) time.Duration {
	if opts.Flags.Timeout != nil {
		return *opts.Flags.Timeout
	}
	return def
}

func wireOptions(o socketio.BroadcastOptions) wire.Options {
	f := o.Flags
	return wire.Options{Rooms: o.Rooms, Except: o.Except, Flags: wire.Flags{Volatile: f.Volatile, Compress: f.Compress, Local: f.Local, Timeout: f.Timeout, ExpectSingleResponse: f.ExpectSingleResponse}}
}

func socketOptions(w wire.Options) socketio.BroadcastOptions {
	f := w.Flags
	return socketio.BroadcastOptions{Rooms: w.Rooms, Except: w.Except, Flags: socketio.BroadcastFlags{Volatile: f.Volatile, Compress: f.Compress, Local: f.Local, Timeout: f.Timeout, ExpectSingleResponse: f.ExpectSingleResponse}}
}
