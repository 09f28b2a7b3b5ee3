package adapter

import (
	"fmt"
	"sync"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/parley-chat/parley/internal/wire"
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
		p := &parser.Packet{Type: parser.EVENT, Data: m.Data}
		opts := socketOptions(m.Opts)
		if a.recovery && m.Offset != "" && recoverable(p, opts) {
			p.Data = withOffset(p.Data.([]any), m.Offset)
		}
		a.deliver(p, opts)
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
		a.Adapter.AddSockets(opts, socketRooms(m.Rooms))
	case wire.SocketsLeave:
		a.Adapter.DelSockets(opts, socketRooms(m.Rooms))
	case wire.DisconnectSockets:
		a.Adapter.DisconnectSockets(opts, m.Close)
	}
}

// applyLegacy carries out a per-socket request of adapters 6.x/7.x: only the
// node holding the socket acts and answers.
func (a *NamespaceAdapter) applyLegacy(m *wire.Message) {
	s, ok := a.Nsp().Sockets().Load(socket.SocketId(m.SID))
	if !ok {
		return
	}
	switch m.Kind {
	case wire.SocketsJoin:
		s.Join(socket.Room(m.Room))
	case wire.SocketsLeave:
		s.Leave(socket.Room(m.Room))
	case wire.DisconnectSockets:
		s.Disconnect(m.Close)
	}
	if m.RequestID != "" {
		a.core.respond(m.UID, a.name, &wire.Response{Kind: wire.Done, RequestID: m.RequestID})
	}
}

func (a *NamespaceAdapter) applyAckBroadcast(m *wire.Message) {
	id, requester := m.RequestID, m.UID
	p := &parser.Packet{Type: parser.EVENT, Data: m.Data}
	a.deliverWithAck(p, socketOptions(m.Opts), func(n uint64) {
		a.core.respond(requester, a.name, &wire.Response{Kind: wire.ClientCount, RequestID: id, ClientCount: n})
	}, func(args []any, err error) {
		if err != nil {
			return
		}
		a.respondWithArg(requester, &wire.Response{Kind: wire.BroadcastAck, RequestID: id}, first(args))
	})
}

// respondWithArg answers a request with an ack's argument (a client's, a
// listener's), made what wire.Payload describes: a client's binary ack
// arrives here as the library's *types.BytesBuffer.
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
	a.Adapter.FetchSockets(socketOptions(m.Opts))(func(local []socket.SocketDetails, _ error) {
		for _, d := range local {
			if s, ok := d.(*socket.Socket); ok {
				resp.Sockets = append(resp.Sockets, socketInfo(s))
			}
		}
	})
	a.core.respond(m.UID, a.name, resp)
}

func (a *NamespaceAdapter) answerRooms(m *wire.Message) {
	resp := &wire.Response{Kind: wire.RoomsResult, RequestID: m.RequestID}
	if m.Kind == wire.Sockets {
		resp.Kind = wire.SocketsResult
		for _, id := range a.Sockets(types.NewSet(socketRooms(m.Opts.Rooms)...)).Keys() {
			resp.SIDs = append(resp.SIDs, string(id))
		}
	} else {
		for _, r := range a.Rooms().Keys() {
			resp.Rooms = append(resp.Rooms, string(r))
		}
	}
	a.core.respond(m.UID, a.name, resp)
}

func (a *NamespaceAdapter) applyServerSideEmit(m *wire.Message) {
	if ev, _ := first(m.Data).(string); socket.NAMESPACE_RESERVED_EVENTS.Has(ev) {
		// The library would run the namespace's own listeners ("connection"
		// handlers) with whatever the message carries; senders refuse these
		// names, so such a message is malformed.
		a.core.malformed(a.name, fmt.Errorf("adapter: a server-side emit of the reserved event %q", ev), 0)
		return
	}
	data, ok := a.fromCluster(m.Data, false)
	if !ok {
		return
	}
	args := append([]any(nil), data...)
	if m.RequestID != "" {
		var once sync.Once
		id, requester := m.RequestID, m.UID
		args = append(args, socket.Ack(func(res []any, _ error) {
			once.Do(func() {
				a.respondWithArg(requester, &wire.Response{Kind: wire.ServerSideEmitAck, RequestID: id}, first(res))
			})
		}))
	}
	a.Nsp().OnServerSideEmit(args)
}

func first(args []any) any {
	if len(args) == 0 {
		return nil
	}
	return args[0]
}
