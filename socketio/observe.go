package socketio

import "slices"

// observers are the server-wide hooks of tools that watch a whole server,
// such as the admin UI (package admin). They live in one struct that is
// replaced, never changed, when a hook is added, and the places where
// things happen read it with one atomic load: a server nobody watches pays
// a nil check there and nothing else (no handler, no allocation).
type observers struct {
	connection []func(*Socket)
}

// observe adds hooks: edit changes a copy of the current set, which then
// replaces it.
func (s *Server) observe(edit func(o *observers)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := new(observers)
	if cur := s.obs.Load(); cur != nil {
		*o = *cur
	}
	// Appends must not write into the arrays readers of the current set
	// may be iterating.
	o.connection = slices.Clip(o.connection)
	edit(o)
	s.obs.Store(o)
}

// OnAnyConnection adds a handler of the new sockets of every namespace,
// dynamic ones and those created later included. It runs once the socket
// has connected (its CONNECT answer sent, in its own room) and before the
// namespace's connection handlers, as a listener Node prepends to every
// namespace's "connection" event: what it registers on the socket sees
// everything the application's handlers do to it.
func (s *Server) OnAnyConnection(h func(*Socket)) {
	s.observe(func(o *observers) { o.connection = append(o.connection, h) })
}
