package adapter

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"net/http/httptest"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/testrig/redistest"
	"github.com/parley-chat/parley/internal/wire"
	"github.com/parley-chat/parley/socketio"
)

// benchData is a chat message as the Parley chat broadcasts it.
var benchData = []any{"private message", map[string]any{
	"content": strings.Repeat("x", 100), "from": "d3b07384d113edec49eaa6238ad5ff00", "to": "c157a79031e1c40f85931829bc5fc552",
}}

// benchServer starts a Parley node with a socket.io server on a real Redis.
func benchServer(b *testing.B, cfg Config) (*Node, *socketio.Server, *NamespaceAdapter) {
	return benchNode(b, cfg, "classic", false)
}

// benchNode is benchServer for any protocol, with connection state
// recovery on or off.
func benchNode(b *testing.B, cfg Config, protocol string, recovery bool) (*Node, *socketio.Server, *NamespaceAdapter) {
	b.Helper()
	r := redistest.Start(b)
	cfg.Logger = slog.New(slog.DiscardHandler)
	var (
		node *Node
		err  error
	)
	switch protocol {
	case "sharded":
		node, err = NewSharded(r.Client(b), ShardedConfig{Config: cfg})
	case "streams":
		node, err = NewStreams(r.Client(b), StreamsConfig{Config: cfg, MaxLen: 1000})
	default:
		node, err = NewClassic(r.Client(b), cfg)
	}
	if err != nil {
		b.Fatal(err)
	}
	scfg := socketio.Config{Adapter: node.NewAdapter, Logger: cfg.Logger}
	if recovery {
		scfg.Recovery = &socketio.Recovery{MaxDisconnection: time.Minute}
	}
	io := socketio.New(scfg)
	deadline := time.Now().Add(10 * time.Second)
	for node.Ready() != nil {
		if time.Now().After(deadline) {
			b.Fatalf("not ready: %v", node.Ready())
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.Cleanup(func() {
		_ = io.Close(context.Background())
		_ = node.Close(context.Background())
	})
	return node, io, io.Of("/").Adapter().(*NamespaceAdapter)
}

// benchMember connects one client to io that joins room, and reads what it
// gets until the benchmark ends.
func benchMember(b *testing.B, io *socketio.Server, room string) {
	b.Helper()
	joined := make(chan struct{}, 1)
	io.OnConnection(func(s *socketio.Socket) {
		s.Join(room)
		joined <- struct{}{}
	})
	srv := httptest.NewServer(io)
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		b.Fatal(err)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte("40"))
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	<-joined
	b.Cleanup(func() {
		_ = ws.Close()
		srv.Close()
	})
}

// BenchmarkBroadcastPublish is the publish path of a broadcast to a room
// with no local member: encode once, queue, and the publisher's pipelined
// PUBLISHes. The timing includes flushing everything to Redis, so ns/op is
// the sustained rate, not just the caller's cost.
//
// classic PUBLISHes msgpack, sharded SPUBLISHes JSON, streams XADDs JSON
// entries; with recovery the streams caller waits for each entry's id (the
// offset its local clients get), as Node's adapter does.
func BenchmarkBroadcastPublish(b *testing.B) {
	for _, tc := range []struct {
		protocol string
		recovery bool
	}{{"classic", false}, {"sharded", false}, {"streams", false}, {"streams-recovery", true}} {
		b.Run(tc.protocol, func(b *testing.B) {
			protocol := strings.TrimSuffix(tc.protocol, "-recovery")
			benchPublish(b, protocol, tc.recovery)
		})
	}
}

func benchPublish(b *testing.B, protocol string, recovery bool) {
	node, _, a := benchNode(b, Config{PublishQueue: 1 << 22}, protocol, recovery)
	opts := socketio.BroadcastOptions{Rooms: []string{"room1"}}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = a.Broadcast(&socketio.Packet{Type: socketio.PacketEvent, ID: -1, Data: slices.Clone(benchData)}, opts)
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
// from the subscriber's message to the local delivery (to a room with one
// client, so one socket write is timed): channel routing, the single-room
// check, decoding, the namespace's queue, encoding for the client. "own" is
// this node's own broadcast coming back through the pattern subscription.
func BenchmarkReceive(b *testing.B) {
	node, io, a := benchServer(b, Config{})
	t := node.core.tr.(*classic)
	benchMember(b, io, "room1")
	for _, tc := range []struct {
		name, channel, uid string
		rooms              []string
	}{
		{"room-with-member", "socket.io#/#room1#", "other-node", []string{"room1"}},
		{"room-without-member", "socket.io#/#room2#", "other-node", []string{"room2"}},
		{"namespace", "socket.io#/#", "other-node", nil},
		{"own", "socket.io#/#", node.core.uid, nil},
	} {
		payload, err := wire.EncodeClassicBroadcast(&wire.Message{
			Kind: wire.Broadcast, UID: tc.uid, Nsp: "/", Data: benchData, Opts: wire.Options{Rooms: tc.rooms},
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

// BenchmarkReceiveCluster is BenchmarkReceive for the ClusterAdapter
// protocols: a sharded message (JSON) from a shard channel, and a stream
// entry as XREAD returns it (fields, JSON data).
func BenchmarkReceiveCluster(b *testing.B) {
	m := &wire.Message{Kind: wire.Broadcast, UID: "other-node", Nsp: "/", Data: benchData, Opts: wire.Options{Rooms: []string{"room1"}}}
	b.Run("sharded", func(b *testing.B) {
		node, io, a := benchNode(b, Config{}, "sharded", false)
		benchMember(b, io, "room1")
		t := node.core.tr.(*sharded)
		payload, err := wire.EncodeShardedMessage(m)
		if err != nil {
			b.Fatal(err)
		}
		msg := &redis.Message{Channel: "socket.io#/#room1#", Payload: string(payload)}
		waitFor(b, "the room channel's route", func() bool {
			t.mu.RLock()
			defer t.mu.RUnlock()
			_, ok := t.routes[msg.Channel]
			return ok
		})
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		b.ResetTimer()
		for range b.N {
			t.onMessage(msg)
		}
		a.inbox.wait()
	})
	b.Run("streams", func(b *testing.B) {
		node, io, a := benchNode(b, Config{}, "streams", false)
		benchMember(b, io, "room1")
		t := node.core.tr.(*streams)
		fields, err := wire.StreamFields(m, false)
		if err != nil {
			b.Fatal(err)
		}
		values := map[string]any{}
		size := 0
		for i := 0; i < len(fields); i += 2 {
			values[fields[i].(string)] = fields[i+1]
			size += len(fields[i+1].(string))
		}
		entry := redis.XMessage{ID: "1-1", Values: values}
		b.ReportAllocs()
		b.SetBytes(int64(size))
		b.ResetTimer()
		for range b.N {
			t.onEntry("socket.io", entry)
		}
		a.inbox.wait()
	})
}
