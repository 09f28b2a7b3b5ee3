package socketio

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/parley-chat/parley/engineio"
)

// MemoryAdapter is the adapter of one node: the namespace's rooms in
// memory, and local delivery that encodes a broadcast once and writes the
// same bytes to every recipient. Cluster adapters embed it for everything
// local. With connection state recovery on, it keeps the sessions of
// disconnected sockets and the packets they may miss (see Recovery).
//
// A socket is always in the room named by its id; that room is not stored
// (an idle socket costs the adapter nothing).
type MemoryAdapter struct {
	nsp      *Namespace
	sessions *sessionStore // nil without recovery

	mu      sync.RWMutex
	rooms   map[string]map[string]struct{} // room → ids of its sockets
	created func(room string, private bool)
	deleted func(room string, private bool)
}

var _ Adapter = (*MemoryAdapter)(nil)

// NewMemoryAdapter returns the in-memory adapter of nsp.
func NewMemoryAdapter(nsp *Namespace) *MemoryAdapter {
	a := &MemoryAdapter{nsp: nsp, rooms: make(map[string]map[string]struct{})}
	if r := nsp.srv.cfg.Recovery; r != nil {
		a.sessions = newSessionStore(r.MaxDisconnection)
	}
	return a
}

// Namespace returns the adapter's namespace.
func (a *MemoryAdapter) Namespace() *Namespace { return a.nsp }

// OnRooms sets functions told when a room appears on this node or its last
// local socket leaves it; private is set for a socket's own room. They run
// on the goroutine that joined or left, without locks held, and must not
// block (a cluster adapter subscribes in the background).
func (a *MemoryAdapter) OnRooms(created, deleted func(room string, private bool)) {
	a.mu.Lock()
	a.created, a.deleted = created, deleted
	a.mu.Unlock()
}

// Close implements Adapter.
func (a *MemoryAdapter) Close() error { return nil }

// ServerCount implements Adapter: one node.
func (a *MemoryAdapter) ServerCount(context.Context) (int, error) { return 1, nil }

// AddAll implements Adapter.
func (a *MemoryAdapter) AddAll(id string, rooms []string) {
	s := a.nsp.lookup(id)
	if s == nil {
		return
	}
	o := a.nsp.srv.obs.Load()
	watched := o != nil && len(o.roomJoined) > 0
	var fresh, joined []string
	self := false
	a.mu.Lock()
	for _, room := range rooms {
		if room == id {
			self = true
			continue
		}
		if slices.Contains(s.rooms, room) {
			continue
		}
		s.rooms = append(s.rooms, room)
		if watched {
			joined = append(joined, room)
		}
		members := a.rooms[room]
		if members == nil {
			members = make(map[string]struct{}, 1)
			a.rooms[room] = members
			fresh = append(fresh, room)
		}
		members[id] = struct{}{}
	}
	created := a.created
	a.mu.Unlock()
	if created != nil {
		if self {
			created(id, true)
		}
		for _, room := range fresh {
			created(room, false)
		}
	}
	if watched {
		// A socket is in its own room from its connection on: a recovered
		// session's rooms, replayed before, name it too.
		if self && s.Connected() {
			joined = append([]string{id}, joined...)
		}
		o.roomsJoined(a.nsp, id, joined)
	}
}

// Del implements Adapter. A socket cannot leave its own room.
func (a *MemoryAdapter) Del(id, room string) {
	s := a.nsp.lookup(id)
	if s == nil || room == id {
		return
	}
	a.mu.Lock()
	left, gone := a.remove(s, room)
	deleted := a.deleted
	a.mu.Unlock()
	if gone && deleted != nil {
		deleted(room, false)
	}
	if o := a.nsp.srv.obs.Load(); left && o != nil && len(o.roomLeft) > 0 {
		o.roomsLeft(a.nsp, id, []string{room})
	}
}

// remove takes s out of room; it reports whether s was in it and whether
// the room went away. Called under mu.
func (a *MemoryAdapter) remove(s *Socket, room string) (left, gone bool) {
	i := slices.Index(s.rooms, room)
	if i < 0 {
		return false, false
	}
	s.rooms = slices.Delete(s.rooms, i, i+1)
	if len(s.rooms) == 0 {
		s.rooms = nil
	}
	members := a.rooms[room]
	delete(members, s.id)
	if len(members) > 0 {
		return true, false
	}
	delete(a.rooms, room)
	return true, true
}

// DelAll implements Adapter.
func (a *MemoryAdapter) DelAll(id string) {
	s := a.nsp.lookup(id)
	if s == nil {
		return
	}
	var gone []string
	a.mu.Lock()
	rooms := slices.Clone(s.rooms)
	for _, room := range rooms {
		if _, g := a.remove(s, room); g {
			gone = append(gone, room)
		}
	}
	deleted := a.deleted
	a.mu.Unlock()
	if deleted != nil {
		for _, room := range gone {
			deleted(room, false)
		}
		deleted(id, true)
	}
	if o := a.nsp.srv.obs.Load(); o != nil && len(o.roomLeft) > 0 {
		// Its own room first, as Node's socket leaves its rooms in the
		// order it joined them; a socket refused on connection never was
		// in it.
		if s.Connected() {
			rooms = append([]string{id}, rooms...)
		}
		o.roomsLeft(a.nsp, id, rooms)
	}
}

// Rooms implements Adapter.
func (a *MemoryAdapter) Rooms() []string {
	a.mu.RLock()
	out := make([]string, 0, len(a.rooms))
	for r := range a.rooms {
		out = append(out, r)
	}
	a.mu.RUnlock()
	a.nsp.mu.RLock()
	for id := range a.nsp.sockets {
		out = append(out, id)
	}
	a.nsp.mu.RUnlock()
	return out
}

// HasRoom reports whether a local socket is in room (its own room
// included).
func (a *MemoryAdapter) HasRoom(room string) bool {
	a.mu.RLock()
	_, ok := a.rooms[room]
	a.mu.RUnlock()
	return ok || a.nsp.Socket(room) != nil
}

// SocketRooms implements Adapter.
func (a *MemoryAdapter) SocketRooms(id string) []string {
	s := a.nsp.lookup(id)
	if s == nil {
		return nil
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	return append([]string{id}, s.rooms...)
}

// Sockets implements Adapter.
func (a *MemoryAdapter) Sockets(rooms []string) []string {
	var ids []string
	for _, s := range a.Select(BroadcastOptions{Rooms: rooms}) {
		ids = append(ids, s.id)
	}
	return ids
}

// Select returns the connected local sockets opts selects: those in any of
// opts.Rooms (every socket when there are none), minus those in any of
// opts.Except, each once.
func (a *MemoryAdapter) Select(opts BroadcastOptions) []*Socket {
	return a.collect(opts, nil)
}

// collect appends the selected sockets to out.
func (a *MemoryAdapter) collect(opts BroadcastOptions, out []*Socket) []*Socket {
	a.mu.RLock()
	defer a.mu.RUnlock()
	a.nsp.mu.RLock()
	defer a.nsp.mu.RUnlock()
	skip := a.exclusion(opts.Except)
	if len(opts.Rooms) == 0 {
		for id, s := range a.nsp.sockets {
			if !skip.has(id) {
				out = append(out, s)
			}
		}
		return out
	}
	var seen map[string]struct{}
	if len(opts.Rooms) > 1 {
		seen = make(map[string]struct{})
	}
	add := func(id string) {
		if skip.has(id) {
			return
		}
		if seen != nil {
			if _, dup := seen[id]; dup {
				return
			}
			seen[id] = struct{}{}
		}
		if s := a.nsp.sockets[id]; s != nil {
			out = append(out, s)
		}
	}
	for _, room := range opts.Rooms {
		if members, ok := a.rooms[room]; ok {
			for id := range members {
				add(id)
			}
		} else if a.nsp.sockets[room] != nil {
			add(room) // a socket's own room
		}
	}
	return out
}

// exclusion is the set of socket ids a broadcast leaves out.
type exclusion struct {
	one string
	set map[string]struct{}
}

func (e exclusion) has(id string) bool {
	if e.set != nil {
		_, ok := e.set[id]
		return ok
	}
	return e.one != "" && e.one == id
}

// exclusion computes the sockets of the except rooms. Called under both
// read locks.
func (a *MemoryAdapter) exclusion(except []string) exclusion {
	if len(except) == 0 {
		return exclusion{}
	}
	if len(except) == 1 {
		if _, ok := a.rooms[except[0]]; !ok {
			return exclusion{one: except[0]} // a socket's own room (Socket.To)
		}
	}
	set := make(map[string]struct{})
	for _, room := range except {
		if members, ok := a.rooms[room]; ok {
			for id := range members {
				set[id] = struct{}{}
			}
		} else {
			set[room] = struct{}{}
		}
	}
	return exclusion{set: set}
}

// recipients recycles the recipient slices of broadcasts.
var recipients = sync.Pool{New: func() any { return new([]*Socket) }}

// Broadcast implements Adapter: local delivery (recording the packet for
// recovery when that is on).
func (a *MemoryAdapter) Broadcast(p *Packet, opts BroadcastOptions) error {
	p.Nsp = a.nsp.name
	if a.sessions != nil && recoverable(p, opts) {
		p.Data = append(p.Data, a.sessions.record(p.Data, opts))
	}
	return a.Deliver(p, opts)
}

// Deliver writes p to the local sockets opts selects: encoded once, the
// same bytes to every recipient, split across goroutines for large rooms.
// It returns an error when p cannot be encoded; nothing is written then.
// Cluster adapters call it for their own broadcasts and for those of other
// nodes; it records nothing for recovery.
func (a *MemoryAdapter) Deliver(p *Packet, opts BroadcastOptions) error {
	p.Nsp = a.nsp.name
	buf := recipients.Get().(*[]*Socket)
	defer func() {
		clear(*buf)
		*buf = (*buf)[:0]
		recipients.Put(buf)
	}()
	*buf = a.collect(opts, *buf)
	if len(*buf) == 0 {
		return nil
	}
	return a.nsp.srv.deliver(p, *buf, opts.Flags.Volatile)
}

// deliver encodes p once and writes it to sockets.
func (s *Server) deliver(p *Packet, sockets []*Socket, volatile bool) error {
	enc, err := encodePacket(p)
	if err != nil {
		return err
	}
	frames := engineio.NewFrames(enc.text, enc.att...)
	var ev string
	if len(p.Data) > 0 {
		ev, _ = p.Data[0].(string)
	}
	write := func(part []*Socket) {
		for _, sock := range part {
			if sock.watchesOutgoing.Load() {
				sock.notifyOutgoing(ev, p.Data[1:])
			}
			sock.cl.conn.Write(frames, volatile)
		}
	}
	workers := runtime.GOMAXPROCS(0)
	if len(sockets) < splitAt || workers < 2 {
		write(sockets)
	} else {
		var wg sync.WaitGroup
		chunk := (len(sockets) + workers - 1) / workers
		for i := chunk; i < len(sockets); i += chunk {
			part := sockets[i:min(i+chunk, len(sockets))]
			wg.Go(func() { write(part) })
		}
		write(sockets[:chunk])
		wg.Wait()
	}
	s.cfg.Metrics.delivered(len(sockets), frames.Len())
	if t := s.traffic(); t != nil {
		t.sent(sockets[0].cl.conn.ID(), len(sockets)*(1+len(enc.att)), len(sockets)*frames.Len())
	}
	return nil
}

// splitAt is the number of recipients from which a broadcast is written by
// several goroutines.
const splitAt = 512

// BroadcastWithAck implements Adapter for this node's sockets: each gets
// the packet with one ack id; their answers go to onAck until the
// operator's timeout, when the ids still pending are forgotten.
func (a *MemoryAdapter) BroadcastWithAck(p *Packet, opts BroadcastOptions, onCount func(int), onAck func(Args)) error {
	p.Nsp = a.nsp.name
	p.ID = a.nsp.nextAckID()
	sockets := a.collect(opts, nil)
	fn := func(args Args, err error) {
		if err == nil {
			onAck(args)
		}
	}
	for _, s := range sockets {
		s.addAck(p.ID, 0, fn)
	}
	if len(sockets) > 0 {
		if err := a.nsp.srv.deliver(p, sockets, opts.Flags.Volatile); err != nil {
			for _, s := range sockets {
				s.dropAck(p.ID)
			}
			return err
		}
	}
	onCount(len(sockets))
	if t := opts.Flags.Timeout; t != nil && len(sockets) > 0 {
		id := p.ID
		time.AfterFunc(*t, func() {
			for _, s := range sockets {
				s.dropAck(id)
			}
		})
	}
	return nil
}

// FetchSockets implements Adapter for this node's sockets.
func (a *MemoryAdapter) FetchSockets(_ context.Context, opts BroadcastOptions) ([]*RemoteSocket, error) {
	var out []*RemoteSocket
	for _, s := range a.Select(opts) {
		out = append(out, s.remote())
	}
	return out, nil
}

// AddSockets implements Adapter for this node's sockets.
func (a *MemoryAdapter) AddSockets(opts BroadcastOptions, rooms []string) error {
	for _, s := range a.Select(opts) {
		s.Join(rooms...)
	}
	return nil
}

// DelSockets implements Adapter for this node's sockets.
func (a *MemoryAdapter) DelSockets(opts BroadcastOptions, rooms []string) error {
	for _, s := range a.Select(opts) {
		for _, r := range rooms {
			s.Leave(r)
		}
	}
	return nil
}

// DisconnectSockets implements Adapter for this node's sockets.
func (a *MemoryAdapter) DisconnectSockets(opts BroadcastOptions, close bool) error {
	for _, s := range a.Select(opts) {
		s.Disconnect(close)
	}
	return nil
}

// ErrNoCluster is returned by ServerSideEmit on an adapter that serves one
// node (Node logs a warning and never answers).
var ErrNoCluster = errors.New("socketio: the in-memory adapter has no other nodes to emit to")

// ServerSideEmit implements Adapter: there is no other node.
func (a *MemoryAdapter) ServerSideEmit([]any, func([]Args, error)) error {
	a.nsp.srv.log.Warn("socketio: serverSideEmit needs a cluster adapter", "nsp", a.nsp.name)
	return ErrNoCluster
}

// PersistSession implements Adapter: kept when recovery is on.
func (a *MemoryAdapter) PersistSession(s *SessionToPersist) {
	if a.sessions != nil {
		a.sessions.persist(s)
	}
}

// RestoreSession implements Adapter.
func (a *MemoryAdapter) RestoreSession(_ context.Context, pid, offset string) (*Session, error) {
	if a.sessions == nil {
		return nil, nil
	}
	return a.sessions.restore(pid, offset), nil
}
