package adapter_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/adapter"
	"github.com/parley-chat/parley/emitter"
	ct "github.com/parley-chat/parley/internal/clustertest"
	"github.com/parley-chat/parley/internal/redistest"
)

// TestStreamsMixedCluster runs every cluster operation in a cluster of two
// Parley nodes and a Node.js node with @socket.io/redis-streams-adapter
// 0.3.1, once from a Parley node and once from the Node node.
func TestStreamsMixedCluster(t *testing.T) {
	r := redistest.Start(t)
	nodes := startProtocolNodes(t, ct.Streams(adapter.StreamsConfig{}), func() redis.UniversalClient { return r.Client(t) }, "A", "B")
	peer := ct.StartNodePeer(t, "N", r.URL(), ct.NodePeerOptions{Namespaces: []string{"/admin"}, Adapter: "streams"})
	cl := newClusterOf(t, "streams", nodes[0], nodes[1], peer)
	t.Run("from-parley", func(t *testing.T) { runScenarios(t, cl, nodes[0]) })
	t.Run("from-node", func(t *testing.T) { runScenarios(t, cl, peer) })
	t.Run("metrics", func(t *testing.T) {
		for _, n := range nodes {
			checkMetrics(t, n)
		}
	})
}

// TestStreamsRedisRestart restarts a persistent Redis under a streams node,
// and adds entries to the stream right after the restart, before the
// node's reader has reconnected (it waits at least 50 ms): the reader
// resumes from the last entry it read, so its clients get every one of
// them, in order (a reader starting over from "$" would skip them).
func TestStreamsRedisRestart(t *testing.T) {
	r := redistest.Start(t, redistest.WithArgs("--appendonly", "yes", "--appendfsync", "always"))
	n := ct.StartGoNode(t, "A", r.Client(t), ct.GoNodeOptions{Adapter: ct.Streams(adapter.StreamsConfig{BlockTime: time.Second})})
	ct.WaitReady(t, n)
	c := ct.Dial(t, n.URL(), "/", "A-x1")
	writer, err := emitter.NewStreams(r.Client(t), emitter.StreamsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := writer.Emit(ctx, "ev", "before"); err != nil {
		t.Fatal(err)
	}
	c.Wait(t, "ev", ct.WithArg("before"))

	r.Kill()
	ct.Eventually(t, "the node sees the loss", func() error {
		if n.Node.Ready() == nil {
			return errNotYet
		}
		return nil
	})
	r.Restart()
	const missed = 20
	for i := range missed {
		if err := writer.Emit(ctx, "ev", fmt.Sprintf("after-%d", i)); err != nil {
			t.Fatalf("emit after the restart: %v", err)
		}
	}
	for i := range missed {
		c.Wait(t, "ev", ct.WithArg(fmt.Sprintf("after-%d", i)))
	}
	var got []string
	for _, args := range c.Received("ev") {
		got = append(got, fmt.Sprint(args[0]))
	}
	if len(got) != missed+1 {
		t.Fatalf("got %d events, want %d (each once): %v", len(got), missed+1, got)
	}
	for i, tag := range got[1:] {
		if tag != fmt.Sprintf("after-%d", i) {
			t.Fatalf("events out of order: %v", got)
		}
	}
	ct.WaitReady(t, n)
	if errs := counter(t, n.Registry, "parley_adapter_stream_read_errors_total"); errs == 0 {
		t.Errorf("no read error counted across the restart")
	}
}
