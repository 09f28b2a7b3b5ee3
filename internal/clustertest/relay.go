package clustertest

import (
	"fmt"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"
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
func (n *GoNode) relay(nsp socket.Namespace, s *socket.Socket, args []any) {
	reply := func(any) {}
	if k := len(args); k > 0 {
		if ack, ok := args[k-1].(socket.Ack); ok {
			args = args[:k-1]
			reply = func(v any) { ack([]any{v}, nil) }
		}
	}
	spec, _ := first(args).(map[string]any)
	how, _ := spec["how"].(string)
	room, _ := spec["room"].(string)
	event, _ := spec["event"].(string)
	ms, _ := spec["timeout"].(float64)
	id, _ := spec["id"].(string)
	payload := args[min(1, len(args)):]
	result := func(res []any, err error) {
		for _, r := range res {
			_ = s.Emit("relay-response", id, r)
		}
		reply(map[string]any{"error": errorText(err), "count": len(res)})
	}
	switch how {
	case "all":
		_ = nsp.Emit(event, payload...)
		reply(map[string]any{"ok": true})
	case "room":
		_ = nsp.To(socket.Room(room)).Emit(event, payload...)
		reply(map[string]any{"ok": true})
	case "ack":
		nsp.To(socket.Room(room)).Timeout(time.Duration(ms)*time.Millisecond).EmitWithAck(event, payload...)(result)
	case "sse":
		if err := nsp.ServerSideEmitWithAck(relaySSE, payload...)(result); err != nil {
			result(nil, err)
		}
	default:
		reply(map[string]any{"error": fmt.Sprintf("unknown relay %q", how)})
	}
}

// answerRelay answers a "sse" relay with {node, args}.
func (n *GoNode) answerRelay(args []any) {
	k := len(args)
	if k == 0 {
		return
	}
	if ack, ok := args[k-1].(socket.Ack); ok {
		ack([]any{map[string]any{"node": n.name, "args": args[:k-1]}}, nil)
	}
}

// errorText is err's message, or nil (JSON null) without an error.
func errorText(err error) any {
	if err == nil {
		return nil
	}
	return err.Error()
}
