package socketio

import (
	"slices"

	"github.com/parley-chat/parley/engineio"
)

// observers are the server-wide hooks of tools that watch a whole server,
// such as the admin UI (package admin). They live in one struct that is
// replaced, never changed, when a hook is added, and the places where
// things happen read it with one atomic load: a server nobody watches pays
// a nil check there and nothing else (no handler, no allocation).
type observers struct {
	connection []func(*Socket)
	roomJoined []func(nsp *Namespace, room, id string)
	roomLeft   []func(nsp *Namespace, room, id string)
	upgraded   []func(*Socket)
	dataSet    []func(*Socket)
	shared     []func(s *Socket, data any) any
	traffic    *Traffic
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
	o.roomJoined = slices.Clip(o.roomJoined)
	o.roomLeft = slices.Clip(o.roomLeft)
	o.upgraded = slices.Clip(o.upgraded)
	o.dataSet = slices.Clip(o.dataSet)
	o.shared = slices.Clip(o.shared)
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

// OnRoomJoined adds a handler told each time a socket of any namespace
// joins a room it was not in: its own room when it connects, then every
// other (Node's adapter event "join-room"). OnRoomLeft is the other way
// (Node's "leave-room"), its own room included when it disconnects. They
// report this node's sockets, as the MemoryAdapter (which cluster adapters
// embed) changes its rooms; they run on the goroutine that joined or left,
// without locks held.
func (s *Server) OnRoomJoined(h func(nsp *Namespace, room, id string)) {
	s.observe(func(o *observers) { o.roomJoined = append(o.roomJoined, h) })
}

// OnRoomLeft adds a handler told each time a socket leaves a room; see
// OnRoomJoined.
func (s *Server) OnRoomLeft(h func(nsp *Namespace, room, id string)) {
	s.observe(func(o *observers) { o.roomLeft = append(o.roomLeft, h) })
}

// roomsJoined tells the hooks that id joined rooms.
func (o *observers) roomsJoined(nsp *Namespace, id string, rooms []string) {
	for _, room := range rooms {
		for _, h := range o.roomJoined {
			h(nsp, room, id)
		}
	}
}

// roomsLeft tells the hooks that id left rooms.
func (o *observers) roomsLeft(nsp *Namespace, id string, rooms []string) {
	for _, room := range rooms {
		for _, h := range o.roomLeft {
			h(nsp, room, id)
		}
	}
}

// OnUpgrade adds a handler told, for each socket of a client, when the
// client's connection moves from long polling to WebSocket (Node's
// "upgrade" event of socket.conn). It runs on the goroutine that reads the
// client, in order with its events.
func (s *Server) OnUpgrade(h func(*Socket)) {
	s.observe(func(o *observers) { o.upgraded = append(o.upgraded, h) })
}

// OnSetData adds a handler told when a socket's data is set with SetData
// (what Node's admin UI learns through a proxy of socket.data). It runs on
// the goroutine that called SetData, after the data was set.
func (s *Server) OnSetData(h func(*Socket)) {
	s.observe(func(o *observers) { o.dataSet = append(o.dataSet, h) })
}

var _ engineio.UpgradeHandler = (*client)(nil)

// OnClusterData adds a function that gives the data other nodes see of
// this node's sockets (RemoteSocket.ClusterData), from the data of the
// socket (or of the function before). The admin UI adds the details its
// dashboards show, as Node's instrument keeps them in socket.data; the
// socket's own Data is left alone.
func (s *Server) OnClusterData(h func(s *Socket, data any) any) {
	s.observe(func(o *observers) { o.shared = append(o.shared, h) })
}

// OnUpgrade implements engineio.UpgradeHandler.
func (c *client) OnUpgrade(*engineio.Conn) {
	o := c.srv.obs.Load()
	if o == nil || len(o.upgraded) == 0 {
		return
	}
	c.mu.Lock()
	sockets := slices.Clone(c.sockets)
	c.mu.Unlock()
	for _, s := range sockets {
		for _, h := range o.upgraded {
			h(s)
		}
	}
}
