package socketio

import "time"

// RemoteSocket is a socket FetchSockets found, on this node or another: its
// details as they were then, and operations that reach it wherever it is.
type RemoteSocket struct {
	ID        string    `json:"id"`
	Handshake Handshake `json:"handshake"`
	Rooms     []string  `json:"rooms"`
	Data      any       `json:"data"`

	nsp   *Namespace
	local *Socket
}

// NewRemoteSocket describes a socket of another node; cluster adapters make
// them from the answers of FetchSockets.
func NewRemoteSocket(nsp *Namespace, id string, hs Handshake, rooms []string, data any) *RemoteSocket {
	return &RemoteSocket{ID: id, Handshake: hs, Rooms: rooms, Data: data, nsp: nsp}
}

// remote describes a local socket.
func (s *Socket) remote() *RemoteSocket {
	return &RemoteSocket{ID: s.id, Handshake: s.Handshake(), Rooms: s.Rooms(), Data: s.Data(), nsp: s.nsp, local: s}
}

// ClusterData returns the socket's data as other nodes see it: for a
// socket of this node, its data as the Server.OnClusterData functions make
// it; otherwise Data. Cluster adapters send it in their answers to other
// nodes' FetchSockets.
func (r *RemoteSocket) ClusterData() any {
	if r.local == nil {
		return r.Data
	}
	return r.local.clusterData(r.Data)
}

// ClusterData returns the data other nodes see of this socket: its Data,
// passed through the server's OnClusterData functions. Cluster adapters
// send it in their FetchSockets answers.
func (s *Socket) ClusterData() any { return s.clusterData(s.Data()) }

func (s *Socket) clusterData(data any) any {
	if o := s.nsp.srv.obs.Load(); o != nil {
		for _, h := range o.shared {
			data = h(s, data)
		}
	}
	return data
}

// Local returns the socket when it is on this node, or nil.
func (r *RemoteSocket) Local() *Socket { return r.local }

func (r *RemoteSocket) operator() BroadcastOperator {
	return BroadcastOperator{nsp: r.nsp, rooms: []string{r.ID}, flags: BroadcastFlags{ExpectSingleResponse: true}}
}

// Emit sends an event to the socket.
func (r *RemoteSocket) Emit(ev string, args ...any) error { return r.operator().Emit(ev, args...) }

// Timeout returns an operator to the socket, to EmitWithAck with a timeout.
func (r *RemoteSocket) Timeout(d time.Duration) BroadcastOperator { return r.operator().Timeout(d) }

// Join makes the socket join rooms.
func (r *RemoteSocket) Join(rooms ...string) error { return r.operator().SocketsJoin(rooms...) }

// Leave makes the socket leave room.
func (r *RemoteSocket) Leave(room string) error { return r.operator().SocketsLeave(room) }

// Disconnect disconnects the socket (with close, its whole connection).
func (r *RemoteSocket) Disconnect(close bool) error { return r.operator().DisconnectSockets(close) }
