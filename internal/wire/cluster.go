package wire

import (
	"fmt"
	"time"
	"unicode/utf16"

	"github.com/parley-chat/parley/internal/notepack"
)

// Message types of socket.io-adapter's ClusterAdapter (MessageType), the
// protocol of @socket.io/redis-adapter's sharded adapter and of
// @socket.io/redis-streams-adapter.
const (
	clusterInitialHeartbeat       = 1
	clusterHeartbeat              = 2
	clusterBroadcast              = 3
	clusterSocketsJoin            = 4
	clusterSocketsLeave           = 5
	clusterDisconnectSockets      = 6
	clusterFetchSockets           = 7
	clusterFetchSocketsResponse   = 8
	clusterServerSideEmit         = 9
	clusterServerSideEmitResponse = 10
	clusterBroadcastClientCount   = 11
	clusterBroadcastAck           = 12
	clusterAdapterClose           = 13
)

// Cluster names the channels of the ClusterAdapter protocol for one prefix
// (the Node adapters' "channelPrefix").
type Cluster struct {
	// Prefix starts every channel name. default: "socket.io"
	Prefix string
}

func (c Cluster) prefix() string {
	if c.Prefix == "" {
		return "socket.io"
	}
	return c.Prefix
}

// Channel is the namespace's main channel, "socket.io#/#": every node
// subscribes to it, and requests and most messages go there.
func (c Cluster) Channel(nsp string) string { return c.prefix() + "#" + nsp + "#" }

// NodeChannel is the response channel of node uid in nsp.
func (c Cluster) NodeChannel(nsp, uid string) string { return c.Channel(nsp) + uid + "#" }

// RoomChannel is the sharded adapter's channel of one room (dynamic
// subscription modes). It has the form of a node's response channel: a room
// named like a node's uid shares its channel, as in Node.
func (c Cluster) RoomChannel(nsp, room string) string { return c.Channel(nsp) + room + "#" }

// ShardedMode is the sharded adapter's subscriptionMode.
type ShardedMode uint8

// Sharded subscription modes.
const (
	// ShardedDynamic subscribes to the channel of every room that is not a
	// socket id (Node's default, "dynamic").
	ShardedDynamic ShardedMode = iota
	// ShardedStatic subscribes to the main and response channels only.
	ShardedStatic
	// ShardedDynamicPrivate subscribes to the channel of every room,
	// socket ids included ("dynamic-private").
	ShardedDynamicPrivate
)

// ShardedChannel is the channel the sharded adapter publishes m on: a
// broadcast without acks to exactly one room goes to the room's channel in
// the dynamic modes (in "dynamic" only when the room does not look like a
// socket id), everything else to the main channel. A broadcast with acks
// never uses a room channel: its responses are counted cluster-wide.
func (c Cluster) ShardedChannel(m *Message, mode ShardedMode) string {
	if m.Kind == Broadcast && m.RequestID == "" && len(m.Opts.Rooms) == 1 {
		room := m.Opts.Rooms[0]
		if mode == ShardedDynamicPrivate || (mode == ShardedDynamic && !LooksLikeSocketID(room)) {
			return c.RoomChannel(m.Nsp, room)
		}
	}
	return c.Channel(m.Nsp)
}

// LooksLikeSocketID is the sharded adapter's test for a private room: a
// socket id is 20 characters long. JavaScript counts UTF-16 code units, so
// this does too (a room "ü" is 1 long, not 2).
func LooksLikeSocketID(room string) bool { return utf16Len(room) == 20 }

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// clusterPacket is the socket.io packet of a ClusterAdapter broadcast: EVENT
// and its data; unlike the classic protocol it has no nsp.
func clusterPacket(m *Message) notepack.Map {
	return notepack.Map{{Key: "type", Value: socketIOEvent}, {Key: "data", Value: orEmptyAny(m.Data)}}
}

// messageData returns the type code and data object of m, keys in the order
// socket.io-adapter builds them; data is nil for the data-less types.
func messageData(m *Message) (int, notepack.Map, error) {
	opts := notepack.KV{Key: "opts", Value: encodeOptions(m.Opts, true)}
	switch m.Kind {
	case Broadcast:
		data := notepack.Map{{Key: "packet", Value: clusterPacket(m)}}
		if m.RequestID != "" {
			data = append(data, notepack.KV{Key: "requestId", Value: m.RequestID})
		}
		return clusterBroadcast, append(data, opts), nil
	case SocketsJoin, SocketsLeave:
		code := clusterSocketsJoin
		if m.Kind == SocketsLeave {
			code = clusterSocketsLeave
		}
		return code, notepack.Map{opts, {Key: "rooms", Value: orEmpty(m.Rooms)}}, nil
	case DisconnectSockets:
		return clusterDisconnectSockets, notepack.Map{opts, {Key: "close", Value: m.Close}}, nil
	case FetchSockets:
		return clusterFetchSockets, notepack.Map{opts, {Key: "requestId", Value: m.RequestID}}, nil
	case ServerSideEmit:
		var data notepack.Map
		if m.RequestID != "" {
			data = notepack.Map{{Key: "requestId", Value: m.RequestID}}
		}
		return clusterServerSideEmit, append(data, notepack.KV{Key: "packet", Value: orEmptyAny(m.Data)}), nil
	case InitialHeartbeat:
		return clusterInitialHeartbeat, nil, nil
	case Heartbeat:
		return clusterHeartbeat, nil, nil
	case AdapterClose:
		return clusterAdapterClose, nil, nil
	}
	return 0, nil, malformed("kind " + m.Kind.String() + " has no cluster form")
}

// responseData returns the type code and data object of r.
func responseData(r *Response) (int, notepack.Map, error) {
	id := notepack.KV{Key: "requestId", Value: r.RequestID}
	switch r.Kind {
	case FetchResult:
		return clusterFetchSocketsResponse, notepack.Map{id, {Key: "sockets", Value: socketObjects(r.Sockets)}}, nil
	case ServerSideEmitAck:
		return clusterServerSideEmitResponse, notepack.Map{id, {Key: "packet", Value: r.Packet}}, nil
	case ClientCount:
		return clusterBroadcastClientCount, notepack.Map{id, {Key: "clientCount", Value: r.ClientCount}}, nil
	case BroadcastAck:
		return clusterBroadcastAck, notepack.Map{id, {Key: "packet", Value: r.Packet}}, nil
	}
	return 0, nil, malformed("response kind has no cluster form")
}

// mayCarryBinary reports whether Node checks a type's data for binary (and
// then switches from JSON to msgpack).
func mayCarryBinary(code int) bool {
	switch code {
	case clusterBroadcast, clusterBroadcastAck, clusterFetchSocketsResponse,
		clusterServerSideEmit, clusterServerSideEmitResponse:
		return true
	}
	return false
}

// envelope is the ClusterMessage {type, data, uid, nsp}, in the order
// socket.io-adapter's publish builds it (uid and nsp are set last).
func envelope(code int, data notepack.Map, uid, nsp string) notepack.Map {
	env := notepack.Map{{Key: "type", Value: code}}
	if data != nil {
		env = append(env, notepack.KV{Key: "data", Value: data})
	}
	return append(env, notepack.KV{Key: "uid", Value: uid}, notepack.KV{Key: "nsp", Value: nsp})
}

// EncodeShardedMessage writes m as @socket.io/redis-adapter's sharded
// adapter does: JSON, or notepack msgpack when its type may carry binary and
// its data does.
func EncodeShardedMessage(m *Message) ([]byte, error) {
	code, data, err := messageData(m)
	if err != nil {
		return nil, err
	}
	return encodeSharded(code, data, m.UID, m.Nsp)
}

// EncodeShardedResponse writes r for the requester's channel, with the
// sharded adapter's JSON-or-msgpack rule. r.UID and r.Nsp name the
// responder and its namespace.
func EncodeShardedResponse(r *Response) ([]byte, error) {
	code, data, err := responseData(r)
	if err != nil {
		return nil, err
	}
	return encodeSharded(code, data, r.UID, r.Nsp)
}

func encodeSharded(code int, data notepack.Map, uid, nsp string) ([]byte, error) {
	binary, dates := scan(data)
	if binary && mayCarryBinary(code) {
		return notepack.Marshal(envelope(code, data, uid, nsp))
	}
	return jsonText(envelope(code, data, uid, nsp), dates)
}

// EncodeStreamsMessage writes m for the streams adapter's Pub/Sub side
// (requests), always msgpack as @msgpack/msgpack writes it. For the values
// Parley sends, @msgpack/msgpack and notepack write the same bytes (they
// differ on JavaScript's undefined, which Go does not have, and on integers
// beyond 2^53, which @msgpack/msgpack writes as float64 as notepack.Marshal
// does from 2^64 on).
func EncodeStreamsMessage(m *Message) ([]byte, error) {
	code, data, err := messageData(m)
	if err != nil {
		return nil, err
	}
	return notepack.Marshal(envelope(code, data, m.UID, m.Nsp))
}

// EncodeStreamsResponse writes r for the streams adapter's Pub/Sub side:
// msgpack always (its receivers do not read JSON).
func EncodeStreamsResponse(r *Response) ([]byte, error) {
	code, data, err := responseData(r)
	if err != nil {
		return nil, err
	}
	return notepack.Marshal(envelope(code, data, r.UID, r.Nsp))
}

// DecodeCluster reads a ClusterMessage from a channel, JSON when it starts
// with '{' and msgpack otherwise. It returns a message or, for the response
// types, a response.
func DecodeCluster(payload []byte) (*Message, *Response, error) {
	v, err := decodeAny(payload)
	if err != nil {
		return nil, nil, err
	}
	o, ok := asObject(v)
	if !ok {
		return nil, nil, malformed("cluster message is not an object")
	}
	return decodeClusterObject(o)
}

func decodeClusterObject(o object) (*Message, *Response, error) {
	code, ok := o.integer("type")
	if !ok {
		return nil, nil, malformed("cluster message has no type")
	}
	uid, nsp := o.str("uid"), o.str("nsp")
	data, _ := asObject(o["data"])
	switch code {
	case clusterFetchSocketsResponse, clusterServerSideEmitResponse, clusterBroadcastClientCount, clusterBroadcastAck:
		r, err := decodeClusterResponse(code, data)
		if err != nil {
			return nil, nil, err
		}
		r.UID, r.Nsp = uid, nsp
		return nil, r, nil
	}
	m := &Message{UID: uid, Nsp: nsp}
	if err := decodeClusterMessage(code, data, m); err != nil {
		return nil, nil, err
	}
	return m, nil, nil
}

func decodeClusterMessage(code int64, data object, m *Message) error {
	var err error
	switch code {
	case clusterBroadcast:
		m.Kind = Broadcast
		packet, ok := asObject(data["packet"])
		if !ok {
			return malformed("broadcast has no packet")
		}
		if m.Data, ok = packet.list("data"); !ok || len(m.Data) == 0 {
			return malformed("broadcast packet has no data")
		}
		m.PacketType = socketIOEvent
		if t, ok := packet.integer("type"); ok {
			m.PacketType = int(t)
		}
		m.RequestID = data.str("requestId")
		m.Opts, err = decodeOptions(data["opts"])
	case clusterSocketsJoin, clusterSocketsLeave:
		m.Kind = SocketsJoin
		if code == clusterSocketsLeave {
			m.Kind = SocketsLeave
		}
		if m.Opts, err = decodeOptions(data["opts"]); err == nil {
			m.Rooms, err = roomList(data["rooms"])
		}
	case clusterDisconnectSockets:
		m.Kind, m.Close = DisconnectSockets, data.boolean("close")
		m.Opts, err = decodeOptions(data["opts"])
	case clusterFetchSockets:
		m.Kind, m.RequestID = FetchSockets, data.str("requestId")
		if m.RequestID == "" {
			return malformed("fetch without requestId")
		}
		m.Opts, err = decodeOptions(data["opts"])
	case clusterServerSideEmit:
		m.Kind, m.RequestID = ServerSideEmit, data.str("requestId")
		var ok bool
		if m.Data, ok = data.list("packet"); !ok || len(m.Data) == 0 {
			return malformed("server-side emit has no packet")
		}
	case clusterInitialHeartbeat:
		m.Kind = InitialHeartbeat
	case clusterHeartbeat:
		m.Kind = Heartbeat
	case clusterAdapterClose:
		m.Kind = AdapterClose
	default:
		return ErrUnsupported
	}
	return err
}

func decodeClusterResponse(code int64, data object) (*Response, error) {
	r := &Response{RequestID: data.str("requestId")}
	if r.RequestID == "" {
		return nil, malformed("response has no requestId")
	}
	switch code {
	case clusterFetchSocketsResponse:
		r.Kind = FetchResult
		items, ok := data["sockets"].([]any)
		if !ok {
			return nil, malformed("sockets is not an array")
		}
		for _, it := range items {
			s, err := decodeSocketInfo(it)
			if err != nil {
				return nil, err
			}
			r.Sockets = append(r.Sockets, s)
		}
	case clusterServerSideEmitResponse:
		r.Kind, r.Packet = ServerSideEmitAck, data["packet"]
	case clusterBroadcastClientCount:
		n, ok := data.integer("clientCount")
		if !ok || n < 0 {
			return nil, malformed("client count is not a number")
		}
		r.Kind, r.ClientCount = ClientCount, uint64(n)
	case clusterBroadcastAck:
		r.Kind, r.Packet = BroadcastAck, data["packet"]
	}
	return r, nil
}

// scan reports whether v holds binary ([]byte or another
// notepack.Binary), which Node's hasBinary finds, and dates, which
// JSON.stringify writes in its own form.
func scan(v any) (binary, dates bool) {
	switch x := v.(type) {
	case nil, string, bool, float64, int, int64, uint64:
		return false, false
	case time.Time, *time.Time:
		return false, true
	case []any:
		for _, e := range x {
			b, d := scan(e)
			binary, dates = binary || b, dates || d
			if binary {
				return
			}
		}
	case map[string]any:
		for _, e := range x {
			b, d := scan(e)
			binary, dates = binary || b, dates || d
			if binary {
				return
			}
		}
	case notepack.Map:
		for _, kv := range x {
			b, d := scan(kv.Value)
			binary, dates = binary || b, dates || d
			if binary {
				return
			}
		}
	default:
		binary = notepack.IsBinary(v)
	}
	return
}

// jsonText writes v as JSON.stringify does; with dates, times are first
// written as Date.prototype.toJSON writes them (Go's JSON drops a zero
// millisecond part, JavaScript keeps ".000").
func jsonText(v any, dates bool) ([]byte, error) {
	if dates {
		v = jsDates(v)
	}
	return notepack.MarshalJSONText(v)
}

// jsDates returns v with every time.Time replaced by its JavaScript ISO
// string; containers are copied, never changed in place.
func jsDates(v any) any {
	switch x := v.(type) {
	case time.Time:
		return jsISOString(x)
	case *time.Time:
		if x == nil {
			return nil
		}
		return jsISOString(*x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsDates(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsDates(e)
		}
		return out
	case notepack.Map:
		out := make(notepack.Map, len(x))
		for i, kv := range x {
			out[i] = notepack.KV{Key: kv.Key, Value: jsDates(kv.Value)}
		}
		return out
	}
	return v
}

// jsISOString is Date.prototype.toISOString: UTC, milliseconds always
// written, six-digit signed years outside 0..9999.
func jsISOString(t time.Time) string {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		sign := "+"
		if y < 0 {
			sign, y = "-", -y
		}
		return fmt.Sprintf("%s%06d", sign, y) + t.Format("-01-02T15:04:05.000Z")
	}
	return t.Format("2006-01-02T15:04:05.000Z")
}
