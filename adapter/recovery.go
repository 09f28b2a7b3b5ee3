package adapter

import (
	"context"
	"errors"
	"slices"

	"github.com/parley-chat/parley/internal/wire"
	"github.com/parley-chat/parley/socketio"
)

// This file is connection state recovery across nodes, with the streams
// protocol: a client that lost its connection reconnects to any node (Parley
// or Node.js) within the server's window and gets its socket id, its rooms
// and the packets it missed.
//
// How it works, as in @socket.io/redis-streams-adapter: every broadcast goes
// through the stream, and each packet a client receives carries the stream
// id of its entry (its offset) as last argument; the client keeps the last
// one. On a recoverable disconnect the node stores the session (id, rooms,
// data) for the window; the client reconnects with the session's private id
// and its offset, and the node it reaches takes the session (GETDEL) and
// reads the entries after the offset that target the session's rooms.
//
// Private emits (socket.emit) are the exception. socketio sends each
// through Broadcast with the socket's id as room, as Node does; Node publishes them into
// the stream like any broadcast, which costs one XADD per private packet and
// fills the stream (shortening how far back clients can recover). Parley
// delivers them directly when the socket is local and gives them the offset
// of the last entry the namespace applied, which keeps the client's offset a
// valid position in the stream. The cost: a private packet in flight when
// the connection drops is not replayed (everything sent to rooms or the
// namespace is), and a client may get a packet twice after recovering (at
// least once, never lost, for stream traffic).

// recoverable reports whether a packet is one clients can recover, the test
// socket.io applies before appending an offset: an event without an ack id,
// not volatile.
func recoverable(p *socketio.Packet, opts socketio.BroadcastOptions) bool {
	return p.Type == socketio.PacketEvent && p.ID < 0 && !opts.Flags.Volatile
}

// withOffset appends offset to the packet's arguments; without an offset it
// leaves them alone.
func withOffset(data []any, offset string) []any {
	if offset == "" {
		return data
	}
	return append(data[:len(data):len(data)], offset)
}

// noteOffset records the stream id of an entry applied in this namespace.
// It runs on the namespace's inbox, in stream order.
func (a *NamespaceAdapter) noteOffset(offset string) { a.offset.Store(&offset) }

// lastOffset is the offset private emits carry: the last entry applied in
// this namespace, or the reader's position before any was.
func (a *NamespaceAdapter) lastOffset() string {
	if p := a.offset.Load(); p != nil {
		return *p
	}
	if st, ok := a.core.tr.(sessionStore); ok {
		return st.position(a.name)
	}
	return ""
}

// PersistSession stores the session of a socket that lost its connection,
// so that any node can restore it within the recovery window. Without a
// transport that keeps sessions, the MemoryAdapter keeps it for this node.
func (a *NamespaceAdapter) PersistSession(s *socketio.SessionToPersist) {
	st, ok := a.core.tr.(sessionStore)
	if !ok || !a.recovery {
		a.MemoryAdapter.PersistSession(s)
		return
	}
	if s == nil || a.core.closed.Load() {
		return
	}
	st.persist(wire.Session{SID: s.SID, PID: s.PID, Rooms: s.Rooms, Data: s.Data}, a.window)
}

// RestoreSession takes the session of pid and the packets sent to it after
// offset. Any failure means no recovery: the socket then starts a new
// session, and the client sees it was not recovered.
func (a *NamespaceAdapter) RestoreSession(ctx context.Context, pid, offset string) (*socketio.Session, error) {
	st, ok := a.core.tr.(sessionStore)
	if !ok || !a.recovery {
		return a.MemoryAdapter.RestoreSession(ctx, pid, offset)
	}
	s, missed, result, err := st.restore(ctx, a.name, pid, offset)
	a.core.m.restores.WithLabelValues(result).Inc()
	if err != nil {
		if result == restoreError {
			a.core.errs.log("adapter: restoring a session failed", "nsp", a.name, "err", err)
		} else {
			a.core.log.Debug("adapter: session not recovered", "nsp", a.name, "result", result, "err", err)
		}
		return nil, err
	}
	out := &socketio.Session{SessionToPersist: socketio.SessionToPersist{SID: s.SID, PID: s.PID, Rooms: s.Rooms, Data: s.Data}}
	for _, p := range missed {
		if data, ok := p.([]any); ok {
			out.MissedPackets = append(out.MissedPackets, data)
		}
	}
	return out, nil
}

// includePacket is the streams adapter's filter of missed broadcasts: the
// broadcast targets every socket or one of the session's rooms, and excludes
// none of them.
func includePacket(rooms []string, opts wire.Options) bool {
	included := len(opts.Rooms) == 0
	for _, r := range rooms {
		if slices.Contains(opts.Except, r) {
			return false
		}
		included = included || slices.Contains(opts.Rooms, r)
	}
	return included
}

// Errors of a failed recovery, wrapped with details.
var (
	errSessionNotFound = errors.New("adapter: no session to restore (expired, never stored, or already restored)")
	errOffsetGone      = errors.New("adapter: the offset is no longer in the stream")
	errInvalidOffset   = errors.New("adapter: the offset is not a stream id")
	errTooFarBehind    = errors.New("adapter: the client missed more packets than a recovery reads")
)
