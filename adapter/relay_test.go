package adapter_test

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/parley-chat/parley/internal/testrig"
	ct "github.com/parley-chat/parley/internal/testrig/clustertest"
)

// relayRig is what testRelay adds to a cluster: on every member a Go client
// and a socket.io-client (Node.js) in the room "relay", both answering acks
// with the list of the event's arguments.
type relayRig struct {
	cl    *cluster
	js    *ct.NodeClients
	goc   map[string]*ct.Client // by member
	jsc   map[string]string     // by member: the Node client's name
	names []string              // every receiver, for messages
}

func newRelayRig(t *testing.T, cl *cluster) *relayRig {
	r := &relayRig{cl: cl, js: ct.StartNodeClients(t), goc: map[string]*ct.Client{}, jsc: map[string]string{}}
	for _, m := range cl.members {
		c := ct.Dial(t, m.URL(), "/", "relay-go-"+m.Name(), "relay")
		c.EchoAcks()
		r.goc[m.Name()] = c
		name := "relay-js-" + m.Name()
		r.js.Connect(t, name, m.URL()+"/", map[string]any{"name": name, "rooms": []any{"relay"}})
		r.jsc[m.Name()] = name
		r.names = append(r.names, c.Name, name)
	}
	ct.Eventually(t, "relay receivers in their room", func() error {
		sockets, err := cl.members[0].FetchSockets(t, "/", ct.Target{Rooms: []string{"relay"}})
		if err != nil || len(sockets) != len(r.names) {
			return fmt.Errorf("%d of %d receivers in the room (%v)", len(sockets), len(r.names), err)
		}
		return nil
	})
	return r
}

// origin is a client that sends what it has a node relay.
type origin struct {
	name   string
	member ct.Member
	// send emits "relay" with spec and args and returns the relay's ack.
	send func(t *testing.T, spec ct.Relay, args []any) any
	// responses returns the "relay-response" events the client got for
	// the relay id (their second argument).
	responses func(id string) []any
	// payload is what the client sends after the tag, want what every
	// receiver must get for it.
	payload, want []any
}

func (r *relayRig) origins(t *testing.T) []origin {
	var out []origin
	for _, m := range r.cl.members {
		c, js := r.goc[m.Name()], r.jsc[m.Name()]
		out = append(out,
			origin{name: "go@" + m.Name(), member: m, payload: goPayload, want: goWant,
				send: func(t *testing.T, spec ct.Relay, args []any) any {
					res, err := c.EmitWithAck(t, 2*relayTimeout, "relay", append([]any{spec.Map()}, args...)...)
					if err != nil || len(res) != 1 {
						t.Fatalf("%s: relay ack %v, %v", c.Name, res, err)
					}
					return ct.Plain(res[0])
				},
				responses: func(id string) []any {
					var out []any
					for _, args := range c.Received("relay-response") {
						if len(args) == 2 && args[0] == id {
							out = append(out, ct.Plain(args[1]))
						}
					}
					return out
				}},
			origin{name: "js@" + m.Name(), member: m, payload: jsPayload, want: jsWant,
				send: func(t *testing.T, spec ct.Relay, args []any) any {
					res, err := r.js.EmitWithAck(t, js, 2*relayTimeout, "relay", append([]any{spec.Map()}, args...)...)
					if err != nil || len(res) != 1 {
						t.Fatalf("%s: relay ack %v, %v", js, res, err)
					}
					return res[0]
				},
				responses: func(id string) []any {
					var out []any
					for _, e := range r.js.Events(t, js) {
						if e.Name == "relay-response" && len(e.Args) == 2 && e.Args[0] == id {
							out = append(out, e.Args[1])
						}
					}
					return out
				}},
		)
	}
	return out
}

const relayTimeout = 5 * time.Second

// goPayload is what the Go client sends: text, numbers (an integer above
// 2^53 that no double holds), booleans, null, the issue's {blob, label}
// with nested and empty binary, and top-level binary.
var (
	goPayload = []any{"ünï <&> text", 42, -1.5, int64(1<<53 + 1), float64(1 << 60), true, false, nil,
		map[string]any{"blob": []byte{0, 0xff, 0x10, 0x20, 0x7f, 0x80}, "label": "bin",
			"nested": []any{map[string]any{"deep": []byte{1, 2}}, []byte{}}},
		[]byte{9, 8, 7}}
	// JavaScript reads 2^53+1 as 2^53, on every node.
	goWant = []any{"ünï <&> text", 42.0, -1.5, float64(1 << 53), float64(1 << 60), true, false, nil,
		map[string]any{"blob": []byte{0, 0xff, 0x10, 0x20, 0x7f, 0x80}, "label": "bin",
			"nested": []any{map[string]any{"deep": []byte{1, 2}}, []byte{}}},
		[]byte{9, 8, 7}}
)

// jsPayload is what socket.io-client sends: binary as a Buffer, an
// ArrayBuffer, a Uint8Array and a Uint8Array viewing the middle of a larger
// buffer, an empty ArrayBuffer, integers above 2^53.
var (
	jsPayload = []any{"text", 42, -1.5, float64(1<<53 + 2), -float64(1 << 55), true, nil,
		map[string]any{"blob": ct.JSBinary{Data: []byte{0, 0xff, 0x10, 0x20, 0x7f, 0x80}}, "label": "bin",
			"ab": ct.JSBinary{Data: []byte{1, 2, 3}, As: "arraybuffer"}, "u8": ct.JSBinary{Data: []byte{4}, As: "uint8array"}},
		[]any{ct.JSBinary{Data: []byte{5, 6, 7}, As: "view"}, ct.JSBinary{Data: []byte{}, As: "arraybuffer"}}}
	jsWant = []any{"text", 42.0, -1.5, float64(1<<53 + 2), -float64(1 << 55), true, nil,
		map[string]any{"blob": []byte{0, 0xff, 0x10, 0x20, 0x7f, 0x80}, "label": "bin", "ab": []byte{1, 2, 3}, "u8": []byte{4}},
		[]any{[]byte{5, 6, 7}, []byte{}}}
)

// testRelay has a node's handler relay what real clients sent, Go and
// Node.js, from every member: broadcast, to(room), broadcast with acks
// (the receivers' acks carry the binary back) and serverSideEmit with ack.
// Every receiver, on Parley and Node.js nodes, must get the values the
// client sent, binary byte for byte.
func testRelay(t *testing.T, cl *cluster) {
	r := newRelayRig(t, cl)
	for _, o := range r.origins(t) {
		for _, how := range []string{"all", "room", "ack", "sse"} {
			t.Run(o.name+"/"+how, func(t *testing.T) { r.run(t, o, how) })
		}
	}
	t.Run("1MiB", r.large)
}

// large has a Parley node broadcast 1 MiB of binary, passed on as the
// library's buffer type (as a handler would), to every receiver; the
// buffer is still whole afterwards (the library's encoder would consume
// it).
func (r *relayRig) large(t *testing.T) {
	blob := bytes.Repeat([]byte{0, 0xff, 0x10, 0x20, 0x7f, 0x80, 0xc1, 0xd4}, 1<<20/8)
	buf := types.NewBytesBuffer(blob)
	tag := r.cl.protocol + "-1MiB"
	r.cl.members[0].Emit(t, "/", ct.Target{Rooms: []string{"relay"}}, "relayed", tag, buf)
	r.checkReceivers(t, tag, []any{tag, blob})
	if buf.Len() != len(blob) {
		t.Errorf("the buffer broadcast was consumed: %d bytes left", buf.Len())
	}
}

func (r *relayRig) run(t *testing.T, o origin, how string) {
	tag := fmt.Sprintf("%s-%s-%s", r.cl.protocol, o.name, how)
	spec := ct.Relay{How: how, Room: "relay", Event: "relayed", Timeout: relayTimeout.Milliseconds(), ID: tag}
	args := append([]any{tag}, o.payload...)
	want := append([]any{tag}, o.want...)
	reply := o.send(t, spec, args)
	switch how {
	case "all", "room":
		if !reflect.DeepEqual(reply, map[string]any{"ok": true}) {
			t.Fatalf("relay answered %v", reply)
		}
	case "ack":
		r.checkResponses(t, o, tag, reply, len(r.names), func(any) any { return want })
	case "sse":
		r.checkResponses(t, o, tag, reply, len(r.cl.members)-1, func(res any) any {
			node, _ := res.(map[string]any)["node"].(string)
			return map[string]any{"node": node, "args": r.sseArgs(o.member, node, want)}
		})
	}
	if how != "sse" {
		r.checkReceivers(t, tag, want)
	}
}

// checkResponses checks an {error, count} answer and the n responses the
// origin got, each what want computes from it.
func (r *relayRig) checkResponses(t *testing.T, o origin, id string, reply any, n int, want func(any) any) {
	t.Helper()
	if m, _ := reply.(map[string]any); m["error"] != nil || m["count"] != float64(n) {
		t.Fatalf("relay answered %v, want %d responses and no error", reply, n)
	}
	var responses []any
	ct.Eventually(t, "responses of "+id, func() error {
		if responses = o.responses(id); len(responses) < n {
			return fmt.Errorf("%d responses of %d", len(responses), n)
		}
		return nil
	})
	for _, res := range responses {
		if w := want(res); !reflect.DeepEqual(res, w) {
			t.Errorf("response\n%#v\nwant\n%#v", res, w)
		}
	}
}

// sseArgs is what a responder's {node, args} answer to a server-side emit
// carries. @socket.io/redis-adapter's classic adapter sends server-side
// emits and their answers as JSON, where a Buffer becomes its JSON object:
// binary survives only between Parley nodes there (Parley sends msgpack,
// which Node.js nodes read, but their answers are JSON, and so is what a
// Node.js node sends).
func (r *relayRig) sseArgs(from ct.Member, responder string, want []any) any {
	if r.cl.protocol != "classic" {
		return want
	}
	if _, isNode := from.(*ct.NodePeer); isNode || slices.ContainsFunc(r.cl.members, func(m ct.Member) bool {
		_, isNode := m.(*ct.NodePeer)
		return isNode && m.Name() == responder
	}) {
		return bufferJSON(want)
	}
	return want
}

// bufferJSON is v as JSON.parse(JSON.stringify(v)) gives it for Buffers.
func bufferJSON(v any) any {
	return testrig.MapLeaves(v, func(v any) any {
		b, ok := v.([]byte)
		if !ok {
			return v
		}
		data := make([]any, len(b))
		for i, c := range b {
			data[i] = float64(c)
		}
		return map[string]any{"type": "Buffer", "data": data}
	})
}

// checkReceivers waits until every receiver got the relayed event with tag
// and compares its arguments with want.
func (r *relayRig) checkReceivers(t *testing.T, tag string, want []any) {
	t.Helper()
	for _, m := range r.cl.members {
		got := ct.Plain(r.goc[m.Name()].Wait(t, "relayed", ct.WithArg(tag)))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Go client on %s got\n%#v\nwant\n%#v", m.Name(), got, want)
		}
	}
	for _, m := range r.cl.members {
		name := r.jsc[m.Name()]
		var got []any
		ct.Eventually(t, name+" gets "+tag, func() error {
			if args, ok := r.js.Find(t, name, "relayed", tag); ok {
				got = args
				return nil
			}
			return errNotYet
		})
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Node client on %s got\n%#v\nwant\n%#v", m.Name(), got, want)
		}
	}
}
