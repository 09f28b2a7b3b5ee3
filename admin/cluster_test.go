package admin

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/adapter"
	"github.com/parley-chat/parley/internal/testrig/redistest"
	"github.com/parley-chat/parley/socketio"
)

// clusterModes are the adapters a cluster test runs with: the Go
// constructor of a Parley node's and the ADAPTER of instrumented.mjs.
var clusterModes = []struct {
	name  string
	build func(redis.UniversalClient, adapter.Config) (*adapter.Node, error)
}{
	{"classic", adapter.NewClassic},
	{"sharded", func(rdb redis.UniversalClient, cfg adapter.Config) (*adapter.Node, error) {
		return adapter.NewSharded(rdb, adapter.ShardedConfig{Config: cfg})
	}},
	{"streams", func(rdb redis.UniversalClient, cfg adapter.Config) (*adapter.Node, error) {
		return adapter.NewStreams(rdb, adapter.StreamsConfig{Config: cfg})
	}},
}

// startClusterNode starts a Parley node instrumented with cfg whose
// adapter, made by build, is on rdb. The node stops with the test, before
// its adapter closes.
func startClusterNode(t *testing.T, rdb redis.UniversalClient, build func(redis.UniversalClient, adapter.Config) (*adapter.Node, error), cfg Config) *node {
	t.Helper()
	an, err := build(rdb, adapter.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so run last: the server closes its sockets through
	// the adapter before the adapter goes.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := an.Close(ctx); err != nil {
			t.Errorf("closing the adapter: %v", err)
		}
	})
	// Not waiting for the adapter to be ready: the scenarios wait for every
	// node's stats before anything else, which reach the others once its
	// subscriptions are up.
	return startNodeWith(t, cfg, socketio.Config{Adapter: an.NewAdapter})
}

// TestCluster runs, for each adapter, a cluster of two Parley nodes and a
// Node.js node (socket.io 4.8 with the matching Node adapter and
// instrument 0.5.1), all in development mode on one Redis. A dashboard on
// a Parley node sees the stats of the three servers, the sockets of the
// two others with their details, their events (binary included), and
// steers them by id and by room; then a dashboard on the Node.js node does
// the same with the sockets of a Parley node; last, a dashboard on the
// read-only Parley node watches but steers nothing.
func TestCluster(t *testing.T) {
	srv := redistest.Start(t)
	for _, mode := range clusterModes {
		t.Run(mode.name, func(t *testing.T) {
			// The previous mode's stream and keys are not this one's business.
			if err := srv.Client(t).FlushAll(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
			dev := Config{NoAuth: true, Mode: Development}
			cfg1, cfg2 := dev, dev
			cfg1.ServerID, cfg2.ServerID = "parley-1", "parley-2"
			// Read-only concerns the dashboards of parley-2 only: the others
			// steer its sockets all the same.
			cfg2.ReadOnly = true
			p1 := startClusterNode(t, srv.Client(t), mode.build, cfg1)
			p2 := startClusterNode(t, srv.Client(t), mode.build, cfg2)
			js := startInstrumented(t, map[string]any{"auth": false, "mode": "development", "serverId": "node-1"},
				"REDIS_URL="+srv.URL(), "ADAPTER="+mode.name)
			all := []string{"parley-1", "parley-2", "node-1"}

			runScript(t, p1, "cluster", map[string]any{
				"servers": all,
				"remotes": []map[string]any{{"url": p2.url, "serverId": "parley-2"}, {"url": js.url, "serverId": "node-1"}},
			})
			runScript(t, js, "cluster", map[string]any{
				"servers": all,
				"remotes": []map[string]any{{"url": p2.url, "serverId": "parley-2"}},
			})
			runScript(t, p1, "cluster-readonly", map[string]any{"other": p2.url, "servers": all})
		})
	}
}
