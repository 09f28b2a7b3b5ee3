package socketio

import (
	"context"
	"time"
)

// Adapter holds a namespace's rooms and carries out its broadcasts and
// room operations: socket.io-adapter's Adapter, in Go. The in-memory
// MemoryAdapter serves one node; a cluster adapter (package adapter) wraps
// one, publishes what must reach the other nodes, and applies what they
// send through it.
//
// Contract, as in Node:
//   - AddAll, Del and DelAll change this node's rooms only; the namespace
//     calls them as its sockets join and leave. A socket is always in the
//     room named by its id.
//   - Broadcast writes p to the matching sockets (those in any of
//     opts.Rooms, every socket when there are none, minus those in any of
//     opts.Except); with Flags.Local, only this node's. It returns an error
//     when p cannot be encoded (nothing is sent then) or, for a cluster
//     adapter, cannot be handed to the cluster.
//   - BroadcastWithAck does the same for a packet whose clients answer:
//     onCount is called once per node with the number of clients reached,
//     onAck once per answer.
//   - FetchSockets, AddSockets, DelSockets and DisconnectSockets act on the
//     matching sockets of every node (of this one with Flags.Local).
//   - ServerSideEmit sends [event, args...] to the other nodes' namespaces;
//     with onAck set, onAck gets one answer per other node, or an error and
//     the answers so far.
//   - PersistSession and RestoreSession keep the state of disconnected
//     sockets for connection state recovery.
//
// Methods may be called from any goroutine and must not block on the
// network while holding locks the namespace needs.
type Adapter interface {
	// Close releases what the adapter holds (subscriptions, timers). The
	// server calls it when it closes, or when an empty child namespace is
	// removed.
	Close() error
	// ServerCount returns the number of nodes serving the namespace.
	ServerCount(ctx context.Context) (int, error)
	AddAll(id string, rooms []string)
	Del(id, room string)
	DelAll(id string)
	// Rooms returns this node's rooms (socket ids included).
	Rooms() []string
	// SocketRooms returns the rooms of a local socket (its id first), or
	// nil.
	SocketRooms(id string) []string
	// Sockets returns the ids of the local sockets in any of rooms (every
	// socket when there are none).
	Sockets(rooms []string) []string
	Broadcast(p *Packet, opts BroadcastOptions) error
	BroadcastWithAck(p *Packet, opts BroadcastOptions, onCount func(clients int), onAck func(Args)) error
	FetchSockets(ctx context.Context, opts BroadcastOptions) ([]*RemoteSocket, error)
	AddSockets(opts BroadcastOptions, rooms []string) error
	DelSockets(opts BroadcastOptions, rooms []string) error
	DisconnectSockets(opts BroadcastOptions, close bool) error
	ServerSideEmit(packet []any, onAck func(responses []Args, err error)) error
	PersistSession(s *SessionToPersist)
	RestoreSession(ctx context.Context, pid, offset string) (*Session, error)
}

// AdapterFunc builds the adapter of a namespace; the server calls it once
// per namespace (dynamic ones included).
type AdapterFunc func(nsp *Namespace) Adapter

// BroadcastOptions select the sockets of a broadcast or room operation.
type BroadcastOptions struct {
	Rooms  []string
	Except []string
	Flags  BroadcastFlags
}

// BroadcastFlags modify a broadcast.
type BroadcastFlags struct {
	// Volatile drops the packet for clients that cannot take it at once.
	Volatile bool
	// Compress is nil when not set (permessage-deflate is not used; the
	// flag travels to other nodes).
	Compress *bool
	// Local keeps the operation on this node.
	Local bool
	// Timeout bounds a broadcast with acks (and the cluster requests); nil
	// when not set.
	Timeout *time.Duration
	// ExpectSingleResponse marks the operations of a RemoteSocket.
	ExpectSingleResponse bool
}

// SessionToPersist is the state of a socket that may be recovered.
type SessionToPersist struct {
	SID   string
	PID   string
	Rooms []string
	Data  any
}

// Session is a recovered socket state and the packets it missed (each the
// data of an EVENT packet: [event, args...]).
type Session struct {
	SessionToPersist
	MissedPackets [][]any
}
