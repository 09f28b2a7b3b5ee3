package wire

import (
	"strings"

	"github.com/parley-chat/parley/internal/notepack"
)

// Request type codes of the classic protocol (@socket.io/redis-adapter
// RequestType).
const (
	classicSockets          = 0
	classicAllRooms         = 1
	classicRemoteJoin       = 2
	classicRemoteLeave      = 3
	classicRemoteDisconnect = 4
	classicRemoteFetch      = 5
	classicServerSideEmit   = 6
	classicBroadcast        = 7
	classicClientCount      = 8
	classicBroadcastAck     = 9
)

// socketIOEvent is socket.io-parser's EVENT packet type.
const socketIOEvent = 2

// Classic names the channels of the classic protocol for one key prefix.
type Classic struct {
	// Prefix is the channel prefix (the adapter's "key"). default: "socket.io"
	Prefix string
}

func (c Classic) prefix() string {
	if c.Prefix == "" {
		return "socket.io"
	}
	return c.Prefix
}

// BroadcastChannel is the channel of broadcasts in nsp: "socket.io#/#".
func (c Classic) BroadcastChannel(nsp string) string { return c.prefix() + "#" + nsp + "#" }

// RoomChannel is the channel of broadcasts to exactly one room.
func (c Classic) RoomChannel(nsp, room string) string { return c.BroadcastChannel(nsp) + room + "#" }

// RequestChannel is the channel of requests in nsp.
func (c Classic) RequestChannel(nsp string) string { return c.prefix() + "-request#" + nsp + "#" }

// ResponseChannel is the shared response channel of nsp.
func (c Classic) ResponseChannel(nsp string) string { return c.prefix() + "-response#" + nsp + "#" }

// NodeResponseChannel is the response channel reserved to node uid.
func (c Classic) NodeResponseChannel(nsp, uid string) string {
	return c.ResponseChannel(nsp) + uid + "#"
}

// ChannelRoom returns the room a broadcast channel of nsp names ("" for the
// namespace-wide channel); ok is false if channel is not one of nsp's.
func (c Classic) ChannelRoom(nsp, channel string) (room string, ok bool) {
	base := c.BroadcastChannel(nsp)
	if !strings.HasPrefix(channel, base) {
		return "", false
	}
	rest := channel[len(base):]
	if rest == "" {
		return "", true
	}
	if !strings.HasSuffix(rest, "#") {
		return "", false
	}
	return rest[:len(rest)-1], true
}

// BroadcastTarget is the channel a broadcast is published on: the room's own
// channel when it targets exactly one room, so nodes without that room can
// drop it unread, the namespace channel otherwise.
func (c Classic) BroadcastTarget(m *Message) string {
	if len(m.Opts.Rooms) == 1 {
		return c.RoomChannel(m.Nsp, m.Opts.Rooms[0])
	}
	return c.BroadcastChannel(m.Nsp)
}

// EncodeClassicBroadcast writes a broadcast without acks as the msgpack
// array [uid, packet, opts]. Emitters (UID == EmitterUID) use the key order
// of @socket.io/redis-emitter, nodes that of the adapter.
func EncodeClassicBroadcast(m *Message) ([]byte, error) {
	packet := classicPacket(m)
	var opts notepack.Map
	if m.UID == EmitterUID {
		opts = notepack.Map{
			{Key: "rooms", Value: orEmpty(m.Opts.Rooms)},
			{Key: "flags", Value: encodeFlags(m.Opts.Flags)},
			{Key: "except", Value: orEmpty(m.Opts.Except)},
		}
	} else {
		opts = encodeOptions(m.Opts, true)
	}
	return notepack.Marshal([]any{m.UID, packet, opts})
}

// ClassicBroadcastFrom reports whether a broadcast's payload starts with
// uid, read without decoding the rest: with the pattern subscription a node
// receives its own broadcasts back, and would otherwise decode each one
// only to drop it. A payload it cannot read this way is not from uid.
func ClassicBroadcastFrom(payload []byte, uid string) bool {
	if len(payload) < 2 || payload[0] < 0x92 || payload[0] > 0x9f { // fixarray of 2 or more
		return false
	}
	b, n := payload[1:], 0
	switch {
	case b[0] >= 0xa0 && b[0] <= 0xbf: // fixstr
		n, b = int(b[0]&0x1f), b[1:]
	case b[0] == 0xd9 && len(b) >= 2: // str 8
		n, b = int(b[1]), b[2:]
	default:
		return false
	}
	return n == len(uid) && len(b) >= n && string(b[:n]) == uid
}

// DecodeClassicBroadcast reads [uid, packet, opts] from a broadcast channel.
// A packet without nsp belongs to "/" (old emitters).
func DecodeClassicBroadcast(payload []byte) (*Message, error) {
	v, err := decodeAny(payload)
	if err != nil {
		return nil, err
	}
	arr, ok := v.([]any)
	if !ok || len(arr) < 2 {
		return nil, malformed("broadcast is not [uid, packet, opts]")
	}
	uid, _ := arr[0].(string)
	packet, ok := asObject(arr[1])
	if !ok {
		return nil, malformed("broadcast packet is not an object")
	}
	data, ok := packet.list("data")
	if !ok || len(data) == 0 {
		return nil, malformed("broadcast packet has no data")
	}
	m := &Message{Kind: Broadcast, UID: uid, Nsp: "/", Data: data, PacketType: socketIOEvent}
	if nsp, ok := packet["nsp"].(string); ok {
		m.Nsp = nsp
	}
	if t, ok := packet.integer("type"); ok {
		m.PacketType = int(t)
	}
	if len(arr) > 2 {
		if m.Opts, err = decodeOptions(arr[2]); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// EncodeClassicRequest writes a request for the request channel: JSON, except
// broadcasts with acks which Node sends as msgpack (they may carry binary),
// and server-side emits that carry binary. Node's adapter writes those as
// JSON too, where a Buffer becomes {"type":"Buffer","data":[...]}; its
// receivers read msgpack requests as well, so Parley sends them as msgpack
// and the bytes arrive as bytes on every node. Keys come in the order Node
// writes them; a message without UID (the emitter's joins, leaves and
// disconnects) has no uid key, as Node's emitter writes them.
func EncodeClassicRequest(m *Message) ([]byte, error) {
	var req notepack.Map
	if m.UID != "" {
		req = append(req, notepack.KV{Key: "uid", Value: m.UID})
	}
	if m.RequestID != "" {
		req = append(req, notepack.KV{Key: "requestId", Value: m.RequestID})
	}
	switch m.Kind {
	case Broadcast:
		if m.RequestID == "" {
			return nil, malformed("a broadcast without requestId is not a request")
		}
		req = append(req,
			notepack.KV{Key: "type", Value: classicBroadcast},
			notepack.KV{Key: "packet", Value: classicPacket(m)},
			notepack.KV{Key: "opts", Value: encodeOptions(m.Opts, true)},
		)
		return notepack.Marshal(req)
	case SocketsJoin, SocketsLeave:
		code := classicRemoteJoin
		if m.Kind == SocketsLeave {
			code = classicRemoteLeave
		}
		req = append(req,
			notepack.KV{Key: "type", Value: code},
			notepack.KV{Key: "opts", Value: encodeOptions(m.Opts, false)},
			notepack.KV{Key: "rooms", Value: orEmpty(m.Rooms)},
		)
	case DisconnectSockets:
		req = append(req,
			notepack.KV{Key: "type", Value: classicRemoteDisconnect},
			notepack.KV{Key: "opts", Value: encodeOptions(m.Opts, false)},
			notepack.KV{Key: "close", Value: m.Close},
		)
	case FetchSockets:
		req = append(req,
			notepack.KV{Key: "type", Value: classicRemoteFetch},
			notepack.KV{Key: "opts", Value: encodeOptions(m.Opts, false)},
		)
	case ServerSideEmit:
		req = append(req,
			notepack.KV{Key: "type", Value: classicServerSideEmit},
			notepack.KV{Key: "data", Value: orEmptyAny(m.Data)},
		)
		return encodeClassicPayload(req)
	case AllRooms:
		req = append(req, notepack.KV{Key: "type", Value: classicAllRooms})
	default:
		return nil, malformed("kind " + m.Kind.String() + " has no classic request form")
	}
	return notepack.MarshalJSONText(req)
}

// encodeClassicPayload writes a request or response carrying event
// arguments: msgpack when they hold binary, JSON otherwise (dates in their
// JavaScript form).
func encodeClassicPayload(v notepack.Map) ([]byte, error) {
	binary, dates := scan(v)
	if binary {
		return notepack.Marshal(v)
	}
	return jsonText(v, dates)
}

// classicPacket is the socket.io packet of a classic broadcast: EVENT, its
// data and its namespace, in that key order.
func classicPacket(m *Message) notepack.Map {
	return notepack.Map{
		{Key: "type", Value: socketIOEvent},
		{Key: "data", Value: orEmptyAny(m.Data)},
		{Key: "nsp", Value: m.Nsp},
	}
}

func orEmptyAny(s []any) []any {
	if s == nil {
		return []any{}
	}
	return s
}

// DecodeClassicRequest reads a request from the request channel, JSON or
// msgpack, current or legacy form.
func DecodeClassicRequest(payload []byte) (*Message, error) {
	v, err := decodeAny(payload)
	if err != nil {
		return nil, err
	}
	o, ok := asObject(v)
	if !ok {
		return nil, malformed("request is not an object")
	}
	code, ok := o.integer("type")
	if !ok {
		return nil, malformed("request has no type")
	}
	m := &Message{UID: o.str("uid"), RequestID: o.str("requestId")}
	if m.RequestID == "" && (code == classicSockets || code == classicAllRooms || code == classicRemoteFetch) {
		// An answer could not name its request; Node nodes send an answer
		// nobody takes, Parley drops the question.
		return nil, malformed("request without requestId")
	}
	switch code {
	case classicSockets:
		m.Kind = Sockets
		m.Opts.Rooms, err = roomList(o["rooms"])
	case classicAllRooms:
		m.Kind = AllRooms
	case classicRemoteJoin, classicRemoteLeave:
		m.Kind = SocketsJoin
		if code == classicRemoteLeave {
			m.Kind = SocketsLeave
		}
		err = decodeRoomsRequest(o, m)
	case classicRemoteDisconnect:
		m.Kind = DisconnectSockets
		m.Close = o.boolean("close")
		if sid, ok := o["sid"].(string); ok && o["opts"] == nil {
			if sid == "" {
				return nil, malformed("legacy disconnect without sid")
			}
			m.SID = sid
		} else {
			m.Opts, err = decodeOptions(o["opts"])
		}
	case classicRemoteFetch:
		m.Kind = FetchSockets
		m.Opts, err = decodeOptions(o["opts"])
	case classicServerSideEmit:
		m.Kind = ServerSideEmit
		if m.Data, ok = o.list("data"); !ok || len(m.Data) == 0 {
			return nil, malformed("server-side emit has no data")
		}
	case classicBroadcast:
		m.Kind = Broadcast
		err = decodeAckBroadcast(o, m)
	default:
		return nil, ErrUnsupported
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// decodeRoomsRequest reads a join or leave: {opts, rooms} or the legacy
// {sid, room}.
func decodeRoomsRequest(o object, m *Message) error {
	if sid, ok := o["sid"].(string); ok && o["opts"] == nil {
		room, ok := roomString(o["room"])
		if !ok || sid == "" {
			return malformed("legacy join without sid or room")
		}
		m.SID, m.Room = sid, room
		return nil
	}
	var err error
	if m.Opts, err = decodeOptions(o["opts"]); err != nil {
		return err
	}
	m.Rooms, err = roomList(o["rooms"])
	return err
}

func decodeAckBroadcast(o object, m *Message) error {
	if m.RequestID == "" {
		return malformed("broadcast request without requestId")
	}
	packet, ok := asObject(o["packet"])
	if !ok {
		return malformed("broadcast request has no packet")
	}
	if m.Data, ok = packet.list("data"); !ok || len(m.Data) == 0 {
		return malformed("broadcast request packet has no data")
	}
	m.PacketType = socketIOEvent
	m.Nsp, _ = packet["nsp"].(string)
	var err error
	m.Opts, err = decodeOptions(o["opts"])
	return err
}

// EncodeClassicResponse writes a response for a response channel: JSON,
// except client acks of a broadcast, which Node sends as msgpack, and
// server-side emit answers that carry binary (see EncodeClassicRequest).
func EncodeClassicResponse(r *Response) ([]byte, error) {
	var resp notepack.Map
	switch r.Kind {
	case ClientCount:
		resp = notepack.Map{{Key: "type", Value: classicClientCount}, {Key: "requestId", Value: r.RequestID}, {Key: "clientCount", Value: r.ClientCount}}
	case BroadcastAck:
		return notepack.Marshal(notepack.Map{{Key: "type", Value: classicBroadcastAck}, {Key: "requestId", Value: r.RequestID}, {Key: "packet", Value: r.Packet}})
	case ServerSideEmitAck:
		return encodeClassicPayload(notepack.Map{{Key: "type", Value: classicServerSideEmit}, {Key: "requestId", Value: r.RequestID}, {Key: "data", Value: r.Packet}})
	case FetchResult:
		resp = notepack.Map{{Key: "requestId", Value: r.RequestID}, {Key: "sockets", Value: socketObjects(r.Sockets)}}
	case RoomsResult:
		resp = notepack.Map{{Key: "requestId", Value: r.RequestID}, {Key: "rooms", Value: orEmpty(r.Rooms)}}
	case SocketsResult:
		resp = notepack.Map{{Key: "requestId", Value: r.RequestID}, {Key: "sockets", Value: orEmpty(r.SIDs)}}
	case Done:
		resp = notepack.Map{{Key: "requestId", Value: r.RequestID}}
	default:
		return nil, malformed("response kind has no classic form")
	}
	return notepack.MarshalJSONText(resp)
}

func socketObjects(list []SocketInfo) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = notepack.Map{
			{Key: "id", Value: s.ID},
			{Key: "handshake", Value: s.Handshake},
			{Key: "rooms", Value: orEmpty(s.Rooms)},
			{Key: "data", Value: s.Data},
		}
	}
	return out
}

// DecodeClassicResponse reads a response. Classic responses name their kind
// only for types 6, 8 and 9; the others are told apart by their fields (the
// requester knows what it asked for by requestId anyway).
func DecodeClassicResponse(payload []byte) (*Response, error) {
	v, err := decodeAny(payload)
	if err != nil {
		return nil, err
	}
	o, ok := asObject(v)
	if !ok {
		return nil, malformed("response is not an object")
	}
	r := &Response{RequestID: o.str("requestId")}
	if r.RequestID == "" {
		return nil, malformed("response has no requestId")
	}
	code, hasType := o.integer("type")
	switch {
	case hasType && code == classicClientCount:
		n, ok := o.integer("clientCount")
		if !ok || n < 0 {
			return nil, malformed("client count is not a number")
		}
		r.Kind, r.ClientCount = ClientCount, uint64(n)
	case hasType && code == classicBroadcastAck:
		r.Kind, r.Packet = BroadcastAck, o["packet"]
	case hasType && code == classicServerSideEmit:
		r.Kind, r.Packet = ServerSideEmitAck, o["data"]
	case o["rooms"] != nil:
		r.Kind = RoomsResult
		r.Rooms, err = roomList(o["rooms"])
	case o["sockets"] != nil:
		err = decodeSocketsField(o["sockets"], r)
	default:
		r.Kind = Done
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// decodeSocketsField reads a fetch result (objects) or a legacy sockets
// result (ids).
func decodeSocketsField(v any, r *Response) error {
	items, ok := v.([]any)
	if !ok {
		return malformed("sockets is not an array")
	}
	r.Kind = FetchResult
	for _, it := range items {
		if id, ok := it.(string); ok {
			r.Kind = SocketsResult
			r.SIDs = append(r.SIDs, id)
			continue
		}
		s, err := decodeSocketInfo(it)
		if err != nil {
			return err
		}
		r.Sockets = append(r.Sockets, s)
	}
	return nil
}

func decodeSocketInfo(v any) (SocketInfo, error) {
	o, ok := asObject(v)
	if !ok {
		return SocketInfo{}, malformed("socket is not an object")
	}
	s := SocketInfo{ID: o.str("id"), Data: o["data"]}
	if s.ID == "" {
		return SocketInfo{}, malformed("socket has no id")
	}
	if h, ok := asObject(o["handshake"]); ok {
		s.Handshake = map[string]any(h)
	}
	var err error
	s.Rooms, err = roomList(o["rooms"])
	return s, err
}
