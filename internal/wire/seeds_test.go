package wire_test

import (
	"errors"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/notepack"
	"github.com/parley-chat/parley/internal/wire"
)

// tooDeep reports an encoding refused for nesting: the decoders accept
// deeper values than Parley sends on (see notepack.MaxEncodeDepth).
func tooDeep(err error) bool { return errors.Is(err, notepack.ErrUnsupported) }

// seedArgs are event arguments with everything the payload encoders must
// carry: the issue's {blob, label}, several attachments, an empty one,
// nested binary, numbers and a date.
var seedArgs = []any{
	"ev", map[string]any{"blob": []byte{0, 0xff, 0x10, 0x20, 0x7f, 0x80}, "label": "bin"},
	[]byte{}, []any{map[string]any{"deep": []byte{1}}}, 1.5, 9007199254740992.0, nil, true, "ünï",
	time.UnixMilli(1700000000123).UTC(),
}

// everyMessage returns one message of every kind, with binary wherever the
// kind carries event arguments.
func everyMessage() []*wire.Message {
	timeout := 2 * time.Second
	opts := wire.Options{Rooms: []string{"r1"}, Except: []string{"x"}, Flags: wire.Flags{Timeout: &timeout}}
	var out []*wire.Message
	for _, uid := range []string{"node-a", wire.EmitterUID} {
		out = append(out,
			&wire.Message{Kind: wire.Broadcast, UID: uid, Nsp: "/", PacketType: 2, Data: seedArgs, Opts: opts},
			&wire.Message{Kind: wire.Broadcast, UID: uid, Nsp: "/", PacketType: 2, Data: seedArgs, RequestID: "req1", Opts: opts},
			&wire.Message{Kind: wire.SocketsJoin, UID: uid, Nsp: "/", Rooms: []string{"j"}, Opts: opts},
			&wire.Message{Kind: wire.SocketsLeave, UID: uid, Nsp: "/", Rooms: []string{"j"}, Opts: opts},
			&wire.Message{Kind: wire.DisconnectSockets, UID: uid, Nsp: "/", Close: true, Opts: opts},
			&wire.Message{Kind: wire.FetchSockets, UID: uid, Nsp: "/", RequestID: "req2", Opts: opts},
			&wire.Message{Kind: wire.ServerSideEmit, UID: uid, Nsp: "/", Data: seedArgs},
			&wire.Message{Kind: wire.ServerSideEmit, UID: uid, Nsp: "/", Data: seedArgs, RequestID: "req3"},
			&wire.Message{Kind: wire.AllRooms, UID: uid, Nsp: "/", RequestID: "req4"},
			&wire.Message{Kind: wire.Heartbeat, UID: uid, Nsp: "/"},
			&wire.Message{Kind: wire.InitialHeartbeat, UID: uid, Nsp: "/"},
			&wire.Message{Kind: wire.AdapterClose, UID: uid, Nsp: "/"},
		)
	}
	return out
}

// everyResponse returns one response of every kind, with binary wherever
// the kind carries an ack's argument or socket data.
func everyResponse() []*wire.Response {
	socket := wire.SocketInfo{ID: "s1", Rooms: []string{"s1", "r1"}, Handshake: map[string]any{"auth": map[string]any{}}, Data: map[string]any{"b": []byte{1, 2}}}
	return []*wire.Response{
		{Kind: wire.ClientCount, RequestID: "r", UID: "node-b", Nsp: "/", ClientCount: 3},
		{Kind: wire.BroadcastAck, RequestID: "r", UID: "node-b", Nsp: "/", Packet: seedArgs},
		{Kind: wire.FetchResult, RequestID: "r", UID: "node-b", Nsp: "/", Sockets: []wire.SocketInfo{socket}},
		{Kind: wire.ServerSideEmitAck, RequestID: "r", UID: "node-b", Nsp: "/", Packet: map[string]any{"node": "b", "args": seedArgs}},
		{Kind: wire.RoomsResult, RequestID: "r", Rooms: []string{"r1"}},
		{Kind: wire.SocketsResult, RequestID: "r", SIDs: []string{"s1"}},
		{Kind: wire.Done, RequestID: "r"},
	}
}

// addEncoded adds as seeds what encode writes for each message it can
// encode.
func addEncoded[T any](f *testing.F, items []T, encode func(T) ([]byte, error)) {
	for _, it := range items {
		if b, err := encode(it); err == nil {
			f.Add(b)
		}
	}
}
