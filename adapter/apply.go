package adapter

import (
	"fmt"
	"sync"

	"github.com/parley-chat/parley/internal/wire"
	"github.com/parley-chat/parley/socketio"
)

// This file is the receiving side of NamespaceAdapter: carrying out what
// other nodes (and emitters) ask, on the namespace's inbox goroutine, and
// answering their requests.

// apply carries out a message from another node, on the namespace's inbox.
func (a *NamespaceAdapter) apply(m *wire.Message) {
	if m.Offset != "" && a.recovery {
		defer a.noteOffset(m.Offset)
	}
	switch m.Kind {
	case wire.Broadcast:
		data, ok := a.fromCluster(m.Data, true)
		if !ok {
			return
		}
		m.Data = data
		if m.RequestID != "" {
			a.applyAckBroadcast(m)
			return
		}
		p := &socketio.Packet{Type: socketio.PacketEvent, ID: -1, Data: m.Data}
		opts := socketOptions(m.Opts)
		if a.recovery && m.Offset != "" && recoverable(p, opts) {
			p.Data = withOffset(p.Data, m.Offset)
		}
		if err := a.deliver(p, opts); err != nil {
			a.core.malformed(a.name, err, 0)
		}
	case wire.SocketsJoin, wire.SocketsLeave, wire.DisconnectSockets:
		if m.SID != "" {
			a.applyLegacy(m)
			return
		}
		a.applyRooms(m)
	case wire.FetchSockets:
		a.answerFetch(m)
	case wire.ServerSideEmit:
		a.applyServerSideEmit(m)
	case wire.AllRooms, wire.Sockets:
		a.answerRooms(m)
	}
}

func (a *NamespaceAdapter) applyRooms(m *wire.Message) {
	opts := socketOptions(m.Opts)
	switch m.Kind {
	case wire.SocketsJoin:
		_ = a.MemoryAdapter.AddSockets(opts, m.Rooms)
	case wire.SocketsLeave:
		_ = a.MemoryAdapter.DelSockets(opts, m.Rooms)
	case wire.DisconnectSockets:
		_ = a.MemoryAdapter.DisconnectSockets(opts, m.Close)
	}
}

// applyLegacy carries out a per-socket request of adapters 6.x/7.x: only the
// node holding the socket acts and answers.
func (a *NamespaceAdapter) applyLegacy(m *wire.Message) {
	s := a.nsp.Socket(m.SID)
	if s == nil {
		return
	}
	switch m.Kind {
	case wire.SocketsJoin:
		s.Join(m.Room)
	case wire.SocketsLeave:
		s.Leave(m.Room)
	case wire.DisconnectSockets:
		s.Disconnect(m.Close)
	}
	if m.RequestID != "" {
		a.core.respond(m.UID, a.name, &wire.Response{Kind: wire.Done, RequestID: m.RequestID})
	}
}

func (a *NamespaceAdapter) applyAckBroadcast(m *wire.Message) {
	id, requester := m.RequestID, m.UID
	p := &socketio.Packet{Type: socketio.PacketEvent, ID: -1, Data: m.Data}
	err := a.MemoryAdapter.BroadcastWithAck(p, socketOptions(m.Opts), func(n int) {
		a.core.respond(requester, a.name, &wire.Response{Kind: wire.ClientCount, RequestID: id, ClientCount: uint64(n)})
	}, func(args socketio.Args) {
		a.respondWithArg(requester, &wire.Response{Kind: wire.BroadcastAck, RequestID: id}, args.Value(0))
	})
	if err != nil {
		a.core.malformed(a.name, err, 0)
	}
}

// respondWithArg answers a request with an ack's argument (a client's, a
// listener's), made what wire.Payload describes.
func (a *NamespaceAdapter) respondWithArg(requester string, r *wire.Response, arg any) {
	packet, err := wire.PayloadValue(arg)
	if err != nil {
		a.core.refuseResponse(a.name, r, err)
		return
	}
	r.Packet = packet
	a.core.respond(requester, a.name, r)
}

func (a *NamespaceAdapter) answerFetch(m *wire.Message) {
	resp := &wire.Response{Kind: wire.FetchResult, RequestID: m.RequestID, Sockets: []wire.SocketInfo{}}
	for _, s := range a.Select(socketOptions(m.Opts)) {
		resp.Sockets = append(resp.Sockets, socketInfo(s))
	}
	a.core.respond(m.UID, a.name, resp)
}

func (a *NamespaceAdapter) answerRooms(m *wire.Message) {
	resp := &wire.Response{Kind: wire.RoomsResult, RequestID: m.RequestID}
	if m.Kind == wire.Sockets {
		resp.Kind = wire.SocketsResult
		resp.SIDs = a.Sockets(m.Opts.Rooms)
	} else {
		resp.Rooms = a.Rooms()
	}
	a.core.respond(m.UID, a.name, resp)
}

func (a *NamespaceAdapter) applyServerSideEmit(m *wire.Message) {
	if ev, _ := first(m.Data).(string); reservedServerSideEvents[ev] {
		// Senders refuse these names (Node would run the namespace's own
		// "connection" listeners with whatever the message carries), so
		// such a message is malformed.
		a.core.malformed(a.name, fmt.Errorf("adapter: a server-side emit of the reserved event %q", ev), 0)
		return
	}
	data, ok := a.fromCluster(m.Data, false)
	if !ok {
		return
	}
	var reply func([]any) error
	if m.RequestID != "" {
		var once sync.Once
		id, requester := m.RequestID, m.UID
		reply = func(res []any) error {
			once.Do(func() {
				a.respondWithArg(requester, &wire.Response{Kind: wire.ServerSideEmitAck, RequestID: id}, first(res))
			})
			return nil
		}
	}
	a.nsp.ReceiveServerSideEmit(data, reply)
}

// reservedServerSideEvents are the namespace events a server-side emit may
// not name (Node's NAMESPACE_RESERVED_EVENTS).
var reservedServerSideEvents = map[string]bool{"connect": true, "connection": true, "new_namespace": true}

func first(args []any) any {
	if len(args) == 0 {
		return nil
	}
	return args[0]
}
