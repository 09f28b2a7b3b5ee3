package adapter_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/adapter"
	"github.com/parley-chat/parley/emitter"
	"github.com/parley-chat/parley/socketio"
)

// Example makes a socket.io server a member of a cluster: broadcasts,
// rooms and every other cluster operation then reach the sockets of every
// node on the same Redis, Parley or Node.js (@socket.io/redis-adapter 8.x),
// and @socket.io/redis-emitter or this module's emitter reach it.
func Example() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: exampleRedis}) // or a Cluster / Sentinel client
	defer rdb.Close()

	// One Node per socket.io server; its zero Config works.
	node, err := adapter.NewClassic(rdb, adapter.Config{
		Prefix:          "example",       // default "socket.io"
		RequestsTimeout: 5 * time.Second, // fetchSockets, allRooms, serverSideEmit acks
		Logger:          slog.New(slog.DiscardHandler),
		Registerer:      prometheus.NewRegistry(), // parley_adapter_* metrics
	})
	if err != nil {
		log.Fatal(err)
	}
	io := socketio.New(socketio.Config{Adapter: node.NewAdapter})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io) // serve mux with your http.Server

	// Ready is what a readiness probe reports: nil once the subscriptions
	// are confirmed, an error while Redis is unreachable.
	for node.Ready() != nil {
		time.Sleep(10 * time.Millisecond)
	}
	servers, _ := io.Sockets().ServerCount(ctx)
	fmt.Println("servers:", servers)

	// Cluster-wide operations go through the usual socket.io API.
	if err := io.To("room1").Emit("news", "hello"); err != nil {
		log.Print(err) // a value the cluster cannot carry, say
	}
	rooms, _ := io.Sockets().Adapter().(*adapter.NamespaceAdapter).AllRooms(ctx)
	fmt.Println("rooms:", len(rooms))

	// Another process reaches the namespace with an emitter.
	got := make(chan any, 1)
	io.Sockets().OnServerSideEmit("job-done", func(args socketio.Args, _ socketio.Ack) { got <- args.Value(0) })
	ns, _ := emitter.New(rdb, emitter.Config{Prefix: "example"})
	_ = ns.ServerSideEmit(ctx, "job-done", 42)
	fmt.Println("server-side event:", <-got)

	// Shut down: the socket.io server first, then the Node.
	_ = io.Close(ctx)
	if err := node.Close(ctx); err != nil {
		log.Print(err)
	}
	fmt.Println("ready after close:", node.Ready() == nil)
	// Output:
	// servers: 1
	// rooms: 0
	// server-side event: 42
	// ready after close: false
}

// ExampleNewSharded joins a cluster of sharded adapters (Redis 7 sharded
// Pub/Sub): pass a *redis.ClusterClient for a Redis Cluster; each namespace
// and, in dynamic mode, each room with local members gets a shard channel.
func ExampleNewSharded() {
	rdb := redis.NewClient(&redis.Options{Addr: exampleRedis}) // or redis.NewClusterClient
	defer rdb.Close()
	node, err := adapter.NewSharded(rdb, adapter.ShardedConfig{
		Config:           adapter.Config{Prefix: "example-sharded", Logger: slog.New(slog.DiscardHandler)},
		SubscriptionMode: adapter.ModeDynamic, // as every other node of the cluster
	})
	if err != nil {
		log.Fatal(err)
	}
	io := socketio.New(socketio.Config{Adapter: node.NewAdapter})
	for node.Ready() != nil {
		time.Sleep(10 * time.Millisecond)
	}
	servers, _ := io.Sockets().ServerCount(context.Background())
	fmt.Println("servers:", servers)
	_ = io.Close(context.Background())
	_ = node.Close(context.Background())
	// Output:
	// servers: 1
}

// ExampleNewStreams joins a cluster of streams adapters with connection
// state recovery: a client that reconnects within two minutes, to any node
// of the cluster (Parley or Node.js), gets its socket id, rooms and missed
// packets back.
func ExampleNewStreams() {
	rdb := redis.NewClient(&redis.Options{Addr: exampleRedis})
	defer rdb.Close()
	node, err := adapter.NewStreams(rdb, adapter.StreamsConfig{
		Config:     adapter.Config{Prefix: "example-streams", Logger: slog.New(slog.DiscardHandler)},
		StreamName: "example-stream", // default "socket.io"
	})
	if err != nil {
		log.Fatal(err)
	}
	io := socketio.New(socketio.Config{
		Adapter:  node.NewAdapter,
		Recovery: &socketio.Recovery{MaxDisconnection: 2 * time.Minute},
	})
	for node.Ready() != nil {
		time.Sleep(10 * time.Millisecond)
	}
	servers, _ := io.Sockets().ServerCount(context.Background())
	fmt.Println("servers:", servers)
	_ = io.Close(context.Background())
	_ = node.Close(context.Background())
	// Output:
	// servers: 1
}
