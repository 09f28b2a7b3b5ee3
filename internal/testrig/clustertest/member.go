package clustertest

import (
	"fmt"
	"testing"
	"time"
)

// Target selects the sockets of an operation, as a broadcast operator does.
type Target struct {
	Rooms    []string
	Except   []string
	Volatile bool
	Local    bool
	Compress *bool
}

// Socket is a socket as fetchSockets describes it.
type Socket struct {
	ID    string
	Rooms []string
	Data  map[string]any
	// Handshake holds the handshake's fields under Node's names: headers,
	// time, address, xdomain, secure, issued, url, query, auth.
	Handshake map[string]any
}

// Member is a node of a test cluster, Parley or Node.js, driven through the
// socket.io server API of its kind.
//
// Methods fail t when the node cannot be driven (a Node peer's control call
// fails, an operation never completes); errors of the operation itself are
// returned.
type Member interface {
	Name() string
	// URL is the base URL clients dial.
	URL() string
	Emit(t testing.TB, nsp string, to Target, ev string, args ...any)
	// EmitWithAck broadcasts with acks and returns the client responses.
	EmitWithAck(t testing.TB, nsp string, to Target, timeout time.Duration, ev string, args ...any) ([]any, error)
	FetchSockets(t testing.TB, nsp string, to Target) ([]Socket, error)
	// RemoteEmit, RemoteJoin, RemoteLeave and RemoteDisconnect act on the
	// socket id as fetchSockets returned it (a RemoteSocket).
	RemoteEmit(t testing.TB, nsp, id, ev string, args ...any)
	RemoteJoin(t testing.TB, nsp, id, room string)
	RemoteLeave(t testing.TB, nsp, id, room string)
	RemoteDisconnect(t testing.TB, nsp, id string, close bool)
	SocketsJoin(t testing.TB, nsp string, to Target, rooms ...string)
	SocketsLeave(t testing.TB, nsp string, to Target, rooms ...string)
	DisconnectSockets(t testing.TB, nsp string, to Target, close bool)
	ServerSideEmit(t testing.TB, nsp, ev string, args ...any)
	// ServerSideEmitWithAck returns one response per other node.
	ServerSideEmitWithAck(t testing.TB, nsp, ev string, args ...any) ([]any, error)
	ServerCount(t testing.TB, nsp string) int64
	AllRooms(t testing.TB, nsp string) ([]string, error)
	// ServerSideEvents returns the arguments of the "sse" server-side events
	// the node received in nsp.
	ServerSideEvents(t testing.TB, nsp string) [][]any
}

// HandshakeString returns a handshake field (auth.name, query.who) as a
// string, whether the node gave it as a string or a one-element list.
func (s Socket) HandshakeString(section, key string) string {
	m, _ := s.Handshake[section].(map[string]any)
	switch v := m[key].(type) {
	case string:
		return v
	case []string:
		if len(v) > 0 {
			return v[0]
		}
	case []any:
		if len(v) > 0 {
			return fmt.Sprint(v[0])
		}
	}
	return ""
}
