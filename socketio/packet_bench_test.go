package socketio

import (
	"testing"
)

// The event path's CPU outside the transports: what the server does with
// an acked event a client sends, and how it encodes its answer. Run with
// go test -run '^$' -bench Event -benchmem ./socketio.

var benchEvent = []byte(`2/chat,17["message",{"to":"b7Qf3","content":"hello there, how are you?","at":1733400000}]`)

// BenchmarkEventReceive parses an incoming acked event into its name and
// lazily decoded arguments.
func BenchmarkEventReceive(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		h, err := parseHeader(benchEvent, 10)
		if err != nil {
			b.Fatal(err)
		}
		var buf [4][2]int
		spans, err := splitArray(buf[:0], h.payload)
		if err != nil {
			b.Fatal(err)
		}
		name, ok := eventName(h.payload, spans[0])
		if !ok || name != "message" {
			b.Fatalf("event name %q", name)
		}
		if args := newArgs(h.payload, spans, 1, nil); args.Len() != 1 {
			b.Fatalf("%d arguments", args.Len())
		}
	}
}

// BenchmarkEventEncode encodes an event with a map argument, into a pooled
// buffer as Socket.Emit and Ack.Send do.
func BenchmarkEventEncode(b *testing.B) {
	arg := map[string]any{"to": "b7Qf3", "content": "hello there, how are you?", "at": 1733400000}
	b.ReportAllocs()
	for b.Loop() {
		bp := scratch.Get().(*[]byte)
		enc, err := appendEvent((*bp)[:0], PacketEvent, "/chat", noID, "message", []any{arg})
		if err != nil {
			b.Fatal(err)
		}
		*bp = enc.text[:0]
		scratch.Put(bp)
	}
}

// BenchmarkAckEncode encodes the ack of an echo: the arguments the client
// sent, relayed as their JSON text (as the load tool's echo handler does).
func BenchmarkAckEncode(b *testing.B) {
	h, _ := parseHeader(benchEvent, 10)
	spans, _ := splitArray(nil, h.payload)
	args := newArgs(h.payload, spans, 1, nil)
	b.ReportAllocs()
	for b.Loop() {
		bp := scratch.Get().(*[]byte)
		enc, err := appendEvent((*bp)[:0], PacketAck, "/chat", 17, "", args.Values())
		if err != nil {
			b.Fatal(err)
		}
		*bp = enc.text[:0]
		scratch.Put(bp)
	}
}
