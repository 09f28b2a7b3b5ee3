package adapter

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/parley-chat/parley/internal/redistest"
	"github.com/parley-chat/parley/internal/wire"
)

// benchData is a chat message as the Parley chat broadcasts it.
var benchData = []any{"private message", map[string]any{
	"content": strings.Repeat("x", 100), "from": "d3b07384d113edec49eaa6238ad5ff00", "to": "c157a79031e1c40f85931829bc5fc552",
}}

// benchServer starts a Parley node with a socket.io server on a real Redis.
func benchServer(b *testing.B, cfg Config) (*Node, *socket.Server, *NamespaceAdapter) {
	b.Helper()
	r := redistest.Start(b)
	cfg.Logger = slog.New(slog.DiscardHandler)
	node, err := NewClassic(r.Client(b), cfg)
	if err != nil {
		b.Fatal(err)
	}
	opts := socket.DefaultServerOptions()
	opts.SetAdapter(node)
	io := socket.NewServer(nil, opts)
	deadline := time.Now().Add(10 * time.Second)
	for node.Ready() != nil {
		if time.Now().After(deadline) {
			b.Fatalf("not ready: %v", node.Ready())
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.Cleanup(func() {
		io.Close(nil)
		_ = node.Close(context.Background())
	})
	return node, io, io.Of("/", nil).Adapter().(*NamespaceAdapter)
}

// BenchmarkBroadcastPublish is the publish path of a broadcast to a room
// with no local member: encode once, queue, and the publisher's pipelined
// PUBLISHes. The timing includes flushing everything to Redis, so ns/op is
// the sustained rate, not just the caller's cost.
func BenchmarkBroadcastPublish(b *testing.B) {
	node, _, a := benchServer(b, Config{PublishQueue: 1 << 22})
	opts := &socket.BroadcastOptions{
		Rooms:  types.NewSet[socket.Room]("room1"),
		Except: types.NewSet[socket.Room](),
		Flags:  &socket.BroadcastFlags{},
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		a.Broadcast(&parser.Packet{Type: parser.EVENT, Data: benchData}, opts)
	}
	if err := node.core.tr.close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if dropped := value(node.core.m.publishDropped); dropped > 0 {
		b.Fatalf("%v publishes dropped", dropped)
	}
}

// BenchmarkReceive is the receive path of one broadcast from another node,
// from the subscriber's message to the library's local delivery (to a room
// whose only member is not connected, so no socket write is timed): channel
// routing, the single-room check, decoding, the namespace's queue.
func BenchmarkReceive(b *testing.B) {
	node, _, a := benchServer(b, Config{})
	t := node.core.tr.(*classic)
	a.AddAll("not-connected", types.NewSet[socket.Room]("room1"))
	for _, tc := range []struct {
		name, channel string
		rooms         []string
	}{
		{"room-with-member", "socket.io#/#room1#", []string{"room1"}},
		{"room-without-member", "socket.io#/#room2#", []string{"room2"}},
		{"namespace", "socket.io#/#", nil},
	} {
		payload, err := wire.EncodeClassicBroadcast(&wire.Message{
			Kind: wire.Broadcast, UID: "other-node", Nsp: "/", Data: benchData, Opts: wire.Options{Rooms: tc.rooms},
		})
		if err != nil {
			b.Fatal(err)
		}
		msg := &redis.Message{Channel: tc.channel, Pattern: t.pattern("/"), Payload: string(payload)}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for range b.N {
				t.onMessage(msg)
			}
			a.inbox.wait()
		})
	}
}
