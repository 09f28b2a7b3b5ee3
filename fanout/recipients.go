package fanout

import (
	"sync"

	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// recipientPool recycles the recipient slices of broadcasts: a broadcast to
// 5,000 sockets would otherwise leave a 40 KB slice behind.
var recipientPool = sync.Pool{New: func() any { return new([]*socket.Socket) }}

func release(r *[]*socket.Socket) {
	clear(*r)
	*r = (*r)[:0]
	recipientPool.Put(r)
}

// collect returns the connected local sockets a broadcast goes to: those in
// any of opts.Rooms (every socket of the namespace when there are none),
// minus those in any of opts.Except, each once. This is the selection the
// library's in-memory adapter makes.
func collect(a socket.Adapter, opts *socket.BroadcastOptions) *[]*socket.Socket {
	out := recipientPool.Get().(*[]*socket.Socket)
	sockets := a.Nsp().Sockets()
	except := exceptSids(a, opts)
	add := func(id socket.SocketId) {
		if _, skip := except[id]; skip {
			return
		}
		if s, ok := sockets.Load(id); ok && s.Connected() {
			*out = append(*out, s)
		}
	}
	if opts == nil || opts.Rooms == nil || opts.Rooms.Len() == 0 {
		a.Sids().Range(func(id socket.SocketId, _ *types.Set[socket.Room]) bool {
			add(id)
			return true
		})
		return out
	}
	rooms := opts.Rooms.Keys()
	var seen map[socket.SocketId]struct{}
	if len(rooms) > 1 {
		seen = map[socket.SocketId]struct{}{}
	}
	for _, room := range rooms {
		ids, ok := a.Rooms().Load(room)
		if !ok {
			continue
		}
		for _, id := range ids.Keys() {
			if seen != nil {
				if _, dup := seen[id]; dup {
					continue
				}
				seen[id] = struct{}{}
			}
			add(id)
		}
	}
	return out
}

// exceptSids returns the sockets of the except rooms, or nil.
func exceptSids(a socket.Adapter, opts *socket.BroadcastOptions) map[socket.SocketId]struct{} {
	if opts == nil || opts.Except == nil || opts.Except.Len() == 0 {
		return nil
	}
	out := map[socket.SocketId]struct{}{}
	for _, room := range opts.Except.Keys() {
		if ids, ok := a.Rooms().Load(room); ok {
			for _, id := range ids.Keys() {
				out[id] = struct{}{}
			}
		}
	}
	return out
}
