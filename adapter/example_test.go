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
	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/parley-chat/parley/adapter"
	"github.com/parley-chat/parley/emitter"
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
	opts := socket.DefaultServerOptions()
	opts.SetAdapter(node) // before NewServer
	io := socket.NewServer(nil, opts)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io.ServeHandler(nil)) // serve mux with your http.Server

	// Ready is what a readiness probe reports: nil once the subscriptions
	// are confirmed, an error while Redis is unreachable.
	for node.Ready() != nil {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("servers:", io.Of("/", nil).Adapter().ServerCount())

	// Cluster-wide operations go through the usual socket.io API.
	io.To("room1").Emit("news", "hello")
	rooms, _ := io.Of("/", nil).Adapter().(*adapter.NamespaceAdapter).AllRooms(ctx)
	fmt.Println("rooms:", len(rooms))

	// Another process reaches the namespace with an emitter.
	got := make(chan any, 1)
	_ = io.Of("/", nil).On("job-done", func(args ...any) { got <- args[0] })
	ns, _ := emitter.New(rdb, emitter.Config{Prefix: "example"})
	_ = ns.ServerSideEmit(ctx, "job-done", 42)
	fmt.Println("server-side event:", <-got)

	// Shut down: the socket.io server first, then the Node.
	io.Close(nil)
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
	opts := socket.DefaultServerOptions()
	opts.SetAdapter(node)
	io := socket.NewServer(nil, opts)
	for node.Ready() != nil {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("servers:", io.Of("/", nil).Adapter().ServerCount())
	io.Close(nil)
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
	opts := socket.DefaultServerOptions()
	opts.SetAdapter(node)
	// With an adapter set, give both recovery settings explicitly.
	csr := &socket.ConnectionStateRecovery{}
	csr.SetMaxDisconnectionDuration((2 * time.Minute).Milliseconds())
	csr.SetSkipMiddlewares(true)
	opts.SetConnectionStateRecovery(csr)
	io := socket.NewServer(nil, opts)
	for node.Ready() != nil {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("servers:", io.Of("/", nil).Adapter().ServerCount())
	io.Close(nil)
	_ = node.Close(context.Background())
	// Output:
	// servers: 1
}
