package socketio

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"
)

// This file is connection state recovery: the in-memory store of sessions
// and packets (the MemoryAdapter's), and the restore of a socket.

// recoverable reports whether a broadcast is kept for clients that may miss
// it: events without ack, not volatile, as Node's session-aware adapter
// keeps them.
func recoverable(p *Packet, opts BroadcastOptions) bool {
	return p.Type == PacketEvent && p.ID == noID && !opts.Flags.Volatile
}

// sessionStore keeps disconnected sessions and the packets broadcast during
// the recovery window, in memory. Expired entries are dropped as new ones
// come: it needs no timer.
type sessionStore struct {
	window time.Duration

	mu       sync.Mutex
	sessions map[string]storedSession
	packets  []storedPacket // in offset order
	next     uint64
}

type storedSession struct {
	SessionToPersist
	disconnected time.Time
}

type storedPacket struct {
	offset  uint64
	emitted time.Time
	data    []any
	rooms   []string
	except  []string
}

func newSessionStore(window time.Duration) *sessionStore {
	return &sessionStore{window: window, sessions: make(map[string]storedSession)}
}

// record keeps a broadcast's data and returns its offset, which the caller
// appends to the data, as Node does. The data kept ends with the offset
// too: a replayed packet tells the client where it now is.
func (st *sessionStore) record(data []any, opts BroadcastOptions) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	now := time.Now()
	st.expire(now)
	st.next++
	offset := strconv.FormatUint(st.next, 36)
	kept := append(slices.Clip(slices.Clone(data)), offset)
	st.packets = append(st.packets, storedPacket{offset: st.next, emitted: now, data: kept, rooms: opts.Rooms, except: opts.Except})
	return offset
}

// expire drops what is older than the window. Called under mu.
func (st *sessionStore) expire(now time.Time) {
	cut := now.Add(-st.window)
	i := 0
	for i < len(st.packets) && st.packets[i].emitted.Before(cut) {
		i++
	}
	if i > 0 {
		st.packets = slices.Delete(st.packets, 0, i)
	}
	for pid, s := range st.sessions {
		if s.disconnected.Before(cut) {
			delete(st.sessions, pid)
		}
	}
}

func (st *sessionStore) persist(s *SessionToPersist) {
	st.mu.Lock()
	defer st.mu.Unlock()
	now := time.Now()
	st.expire(now)
	st.sessions[s.PID] = storedSession{SessionToPersist: *s, disconnected: now}
}

// restore returns the session of pid and the packets sent to its rooms
// after offset, or nil when the session or the offset is unknown.
func (st *sessionStore) restore(pid, offset string) *Session {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.expire(time.Now())
	s, ok := st.sessions[pid]
	if !ok {
		return nil
	}
	at, err := strconv.ParseUint(offset, 36, 64)
	if err != nil {
		return nil
	}
	i, found := slices.BinarySearchFunc(st.packets, at, func(p storedPacket, o uint64) int { return cmpUint(p.offset, o) })
	if !found {
		return nil
	}
	delete(st.sessions, pid)
	out := &Session{SessionToPersist: s.SessionToPersist}
	for _, p := range st.packets[i+1:] {
		if includes(s.Rooms, p.rooms, p.except) {
			out.MissedPackets = append(out.MissedPackets, p.data)
		}
	}
	return out
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// includes reports whether a socket in sessionRooms was a recipient of a
// broadcast to rooms except except (Node's shouldIncludePacket).
func includes(sessionRooms, rooms, except []string) bool {
	in := len(rooms) == 0
	for _, r := range sessionRooms {
		if slices.Contains(except, r) {
			return false
		}
		if !in && slices.Contains(rooms, r) {
			in = true
		}
	}
	return in
}

// restore recovers the socket's previous session when the client asks for
// it (auth pid and offset) and the adapter still has it; it returns the
// session, or nil.
func (s *Socket) restore() *Session {
	pid, _ := s.auth["pid"].(string)
	offset, _ := s.auth["offset"].(string)
	if pid == "" || offset == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), restoreTimeout)
	defer cancel()
	sess, err := s.nsp.adapter.RestoreSession(ctx, pid, offset)
	if err != nil {
		s.nsp.srv.log.Warn("socketio: restoring a session failed, starting a new one", "nsp", s.nsp.name, "err", err)
		return nil
	}
	if sess == nil {
		return nil
	}
	s.id, s.pid, s.recovered = sess.SID, sess.PID, true
	s.data = sess.Data
	s.restored = sess
	return sess
}

// restoreTimeout bounds the adapter's restore of a session (a Redis round
// trip for a cluster adapter) on the connect path.
const restoreTimeout = 5 * time.Second

// replay joins a recovered socket's rooms and writes the packets it
// missed, before its CONNECT packet, as Node does.
func (s *Socket) replay() {
	sess := s.restored
	if sess == nil {
		return
	}
	s.restored = nil
	s.Join(sess.Rooms...)
	for _, data := range sess.MissedPackets {
		s.cl.writePacket(&Packet{Type: PacketEvent, Nsp: s.nsp.name, ID: noID, Data: data})
	}
}
