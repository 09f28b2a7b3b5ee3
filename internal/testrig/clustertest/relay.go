package clustertest

import (
	"fmt"
	"time"

	"github.com/parley-chat/parley/socketio"
)

// Relay describes what a node's handler does with a client's "relay" event,
// the way an application passes on what a client sent: the client emits
// "relay" with the Relay (as its JSON object) and the arguments to relay,
// and an ack callback for the result. Parley nodes and Node.js peers
// (testdata/peer.mjs) implement it alike:
//
//   - "all": io.emit(event, ...args) to every socket of the namespace;
//   - "room": io.to(room).emit(event, ...args);
//   - "ack": io.to(room).timeout(timeout).emit(event, ...args, cb), the
//     clients' acks collected (each answers one argument);
//   - "sse": io.serverSideEmit("relay-sse", ...args, cb) with an ack: every
//     other node's listener answers {node, args}.
//
// The ack of "relay" is {ok: true} for "all" and "room", and {error, count}
// for "ack" and "sse" (error null unless it failed). Each response goes
// back to the sending socket first, as its own "relay-response" event with
// the relay's ID and the response: one packet holding them all could carry
// more binary attachments than socket.io's parsers accept (10, in Node's
// socket.io-parser 4.2 and the Go library alike).
type Relay struct {
	How     string `json:"how"`
	Room    string `json:"room,omitempty"`
	Event   string `json:"event"`
	Timeout int64  `json:"timeout,omitempty"` // milliseconds
	ID      string `json:"id,omitempty"`
}

// Map is the Relay as a client sends it.
func (r Relay) Map() map[string]any {
	return map[string]any{"how": r.How, "room": r.Room, "event": r.Event, "timeout": r.Timeout, "id": r.ID}
}

// relaySSE is the server-side event of a "sse" relay.
const relaySSE = "relay-sse"

// relay carries out the "relay" event socket s sent on nsp.
func (n *GoNode) relay(nsp *socketio.Namespace, s *socketio.Socket, args socketio.Args, ack socketio.Ack) {
	reply := func(v any) { _ = ack.Send(v) }
	spec, _ := args.Value(0).(map[string]any)
	how, _ := spec["how"].(string)
	room, _ := spec["room"].(string)
	event, _ := spec["event"].(string)
	ms, _ := spec["timeout"].(float64)
	id, _ := spec["id"].(string)
	payload := args.Values()[min(1, args.Len()):]
	result := func(res []socketio.Args, err error) {
		for _, r := range res {
			_ = s.Emit("relay-response", id, r.Value(0))
		}
		reply(map[string]any{"error": errorText(err), "count": len(res)})
	}
	switch how {
	case "all":
		_ = nsp.Emit(event, payload...)
		reply(map[string]any{"ok": true})
	case "room":
		_ = nsp.To(room).Emit(event, payload...)
		reply(map[string]any{"ok": true})
	case "ack":
		if err := nsp.To(room).Timeout(time.Duration(ms)*time.Millisecond).EmitWithAck(event, result, payload...); err != nil {
			result(nil, err)
		}
	case "sse":
		if err := nsp.ServerSideEmitWithAck(relaySSE, result, payload...); err != nil {
			result(nil, err)
		}
	default:
		reply(map[string]any{"error": fmt.Sprintf("unknown relay %q", how)})
	}
}

// answerRelay answers a "sse" relay with {node, args}.
func (n *GoNode) answerRelay(args socketio.Args, ack socketio.Ack) {
	values := make([]any, args.Len())
	for i := range values {
		values[i] = args.Value(i)
	}
	_ = ack.Send(map[string]any{"node": n.name, "args": values})
}

// errorText is err's message, or nil (JSON null) without an error.
func errorText(err error) any {
	if err == nil {
		return nil
	}
	return err.Error()
}
