// Package wire holds the messages Socket.IO nodes exchange over Redis, in
// Parley's own terms, and their encodings as the Node.js packages write them:
// the classic protocol of @socket.io/redis-adapter (classic.go) and the
// ClusterAdapter protocol of its sharded adapter and of
// @socket.io/redis-streams-adapter (cluster.go). The adapter and the emitter
// both encode and decode through this package, so a Go node, a Go emitter and
// a Node node read each other byte for byte.
//
// Decoders take untrusted bytes from Redis: they return an error for anything
// malformed and never panic.
package wire

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrMalformed wraps every decoding error.
var ErrMalformed = errors.New("wire: malformed message")

// ErrUnsupported is returned for a well-formed message of a type Parley does
// not know (a newer peer's); receivers ignore it as Node's adapter does.
var ErrUnsupported = errors.New("wire: unsupported message type")

// EmitterUID is the uid the Node emitters (and Parley's) put in their
// messages; no node has it.
const EmitterUID = "emitter"

// Kind is what a message asks the receiving nodes to do.
type Kind uint8

// Message kinds. Their numeric values are Parley's; each protocol maps them to
// its own type codes.
const (
	// Broadcast delivers a packet to matching local sockets. With a
	// RequestID it is a broadcast with acks.
	Broadcast Kind = iota + 1
	// SocketsJoin makes matching sockets join Rooms.
	SocketsJoin
	// SocketsLeave makes matching sockets leave Rooms.
	SocketsLeave
	// DisconnectSockets disconnects matching sockets (Close closes their
	// connection too).
	DisconnectSockets
	// FetchSockets asks for the matching sockets.
	FetchSockets
	// ServerSideEmit delivers Data to the namespace's server-side
	// listeners; with a RequestID the sender wants one answer per node.
	ServerSideEmit
	// AllRooms asks for every room (classic protocol only).
	AllRooms
	// Sockets asks for the ids of sockets in Opts.Rooms (legacy classic
	// request, still answered).
	Sockets
	// Heartbeat, InitialHeartbeat and AdapterClose are the liveness messages
	// of Node's heartbeat-based cluster adapters; Parley reads and ignores
	// them.
	Heartbeat
	InitialHeartbeat
	AdapterClose
)

// Flags are the broadcast flags that travel between nodes.
type Flags struct {
	Volatile bool
	// Compress is nil when the emitter did not set it.
	Compress *bool
	Local    bool
	// Timeout is nil when none was set; it travels in milliseconds.
	Timeout              *time.Duration
	ExpectSingleResponse bool
}

// Options select the target sockets of an operation.
type Options struct {
	Rooms  []string
	Except []string
	Flags  Flags
}

// Message is one operation sent to the other nodes of a namespace.
type Message struct {
	Kind Kind
	// UID is the sending node's id, EmitterUID for emitters, or "" when the
	// sender did not say (the classic emitter omits it).
	UID string
	Nsp string
	// RequestID is set when the sender waits for responses.
	RequestID string
	// PacketType is the socket.io packet type of a broadcast (2: EVENT).
	PacketType int
	// Data is the packet data of a broadcast ([event, args...]) and the
	// event of a server-side emit ([event, args...]).
	Data []any
	Opts Options
	// Rooms are the rooms to join or leave.
	Rooms []string
	Close bool
	// SID and Room are set by the legacy classic per-socket requests
	// (remoteJoin/remoteLeave/remoteDisconnect of adapter 6.x/7.x), which
	// only the node holding SID answers.
	SID, Room string
	// Offset is the stream entry id a message came with (streams only).
	Offset string
}

// ResponseKind tells what a Response carries.
type ResponseKind uint8

// Response kinds.
const (
	// ClientCount reports how many local clients a broadcast with acks
	// reached on the responding node.
	ClientCount ResponseKind = iota + 1
	// BroadcastAck relays one client's ack of a broadcast.
	BroadcastAck
	// FetchResult lists the responding node's matching sockets.
	FetchResult
	// ServerSideEmitAck carries one node's answer to a server-side emit.
	ServerSideEmitAck
	// RoomsResult lists the responding node's rooms (classic AllRooms).
	RoomsResult
	// SocketsResult lists socket ids (legacy classic Sockets).
	SocketsResult
	// Done acknowledges a legacy classic per-socket request.
	Done
)

// Response answers a request.
type Response struct {
	Kind      ResponseKind
	RequestID string
	// UID and Nsp identify the responder in the cluster protocol; the
	// classic protocol does not carry them.
	UID         string
	Nsp         string
	ClientCount uint64
	// Packet is a client's ack argument (BroadcastAck) or a node's answer
	// (ServerSideEmitAck).
	Packet  any
	Sockets []SocketInfo
	Rooms   []string
	// SIDs are the socket ids of a legacy Sockets answer.
	SIDs []string
}

// SocketInfo describes a socket in a fetchSockets answer.
type SocketInfo struct {
	ID string
	// Handshake is the Node-shaped handshake object: headers, time, address,
	// xdomain, secure, issued, url, query, auth.
	Handshake map[string]any
	Rooms     []string
	Data      any
}

// roomString turns a room from the wire into a string: Node rooms may be
// numbers (see socket.io-redis-adapter#418), Parley's are strings.
func roomString(v any) (string, bool) {
	switch r := v.(type) {
	case string:
		return r, true
	case int64:
		return strconv.FormatInt(r, 10), true
	case uint64:
		return strconv.FormatUint(r, 10), true
	case float64:
		return strconv.FormatFloat(r, 'f', -1, 64), true
	}
	return "", false
}

// NumericRoom returns the name under which a Go node holds the room a Node
// peer names room on a channel, when room is a number: Node writes numeric
// rooms the JavaScript way ("1e+21"), and the decoders turn the numbers found
// inside messages into Go's form ("1000000000000000000000"). ok is false when
// room is not a number or both forms agree.
func NumericRoom(room string) (string, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(room), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return "", false
	}
	s, _ := roomString(f)
	return s, s != room
}

// roomList reads an array of rooms; a missing value is an empty list.
func roomList(v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	items, ok := v.([]any)
	if !ok {
		return nil, malformed("rooms are not an array")
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := roomString(it)
		if !ok {
			return nil, malformed("room is not a string")
		}
		out = append(out, s)
	}
	return out, nil
}

func malformed(what string) error {
	return &malformedError{what}
}

type malformedError struct{ what string }

func (e *malformedError) Error() string { return "wire: malformed message: " + e.what }
func (e *malformedError) Unwrap() error { return ErrMalformed }

// String names a kind for logs and metrics.
func (k Kind) String() string {
	switch k {
	case Broadcast:
		return "broadcast"
	case SocketsJoin:
		return "sockets_join"
	case SocketsLeave:
		return "sockets_leave"
	case DisconnectSockets:
		return "disconnect_sockets"
	case FetchSockets:
		return "fetch_sockets"
	case ServerSideEmit:
		return "server_side_emit"
	case AllRooms:
		return "all_rooms"
	case Sockets:
		return "sockets"
	case Heartbeat, InitialHeartbeat, AdapterClose:
		return "heartbeat"
	}
	return "unknown"
}
