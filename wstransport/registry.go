package wstransport

import "sync"

// registry holds a Server's open connections by id: the readiness loop
// finds a ready connection by the id stored in its epoll registration (a
// stale event for a closed connection finds nothing), and Shutdown finds
// the connections still open. One small map entry per connection.
type registry struct {
	mu    sync.Mutex
	next  uint64
	conns map[uint64]*Conn
}

func (r *registry) add(t *Conn) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conns == nil {
		r.conns = map[uint64]*Conn{}
	}
	r.next++
	r.conns[r.next] = t
	t.id = r.next
	return r.next
}

func (r *registry) get(id uint64) *Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns[id]
}

func (r *registry) remove(id uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.conns, id)
}

func (r *registry) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns)
}

func (r *registry) all() []*Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Conn, 0, len(r.conns))
	for _, t := range r.conns {
		out = append(out, t)
	}
	return out
}
