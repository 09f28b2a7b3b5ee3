package adapter_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/adapter"
	"github.com/parley-chat/parley/emitter"
	ct "github.com/parley-chat/parley/internal/testrig/clustertest"
	"github.com/parley-chat/parley/internal/testrig/redistest"
	"github.com/parley-chat/parley/socketio"
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
	t.Run("relay", func(t *testing.T) { testRelay(t, cl) })
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

// TestStreamsRedisCluster runs two streams nodes on a Redis Cluster: each
// reads the stream on the master of its slot with its own connection, and
// requests go over Pub/Sub; broadcasts, fetchSockets, server-side acks and
// a recovery across the nodes work.
func TestStreamsRedisCluster(t *testing.T) {
	rc := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3})
	var nodes []*ct.GoNode
	for _, name := range []string{"A", "B"} {
		nodes = append(nodes, ct.StartGoNode(t, name, rc.Client(t), ct.GoNodeOptions{Adapter: ct.Streams(adapter.StreamsConfig{}), Recovery: true}))
	}
	ct.WaitReady(t, nodes...)
	a, b := nodes[0], nodes[1]
	ct.Eventually(t, "two nodes", func() error {
		if n := a.ServerCount(t, "/"); n != 2 {
			return fmt.Errorf("server count %d", n)
		}
		return nil
	})
	cb := ct.Dial(t, b.URL(), "/", "B-x1", "r1")
	ct.Dial(t, a.URL(), "/", "A-x1", "r1")
	a.Emit(t, "/", ct.Target{Rooms: []string{"r1"}}, "ev", "hello")
	args := cb.Wait(t, "ev", ct.WithArg("hello"))
	if len(args) != 2 {
		t.Errorf("event %v lacks its offset", args)
	}
	sockets, err := b.FetchSockets(t, "/", ct.Target{Rooms: []string{"r1"}})
	if err != nil || len(sockets) != 2 {
		t.Fatalf("fetchSockets: %d sockets, %v", len(sockets), err)
	}
	responses, err := a.ServerSideEmitWithAck(t, "/", "sse", "q")
	if err != nil || len(responses) != 1 {
		t.Fatalf("serverSideEmitWithAck: %v, %v", responses, err)
	}

	// A session persisted by A is restored by B with what it missed.
	offset := fmt.Sprint(args[1])
	a.Adapter("/").PersistSession(&socketio.SessionToPersist{SID: "gone", PID: "pid-1", Rooms: []string{"gone", "r1"}})
	a.Emit(t, "/", ct.Target{Rooms: []string{"r1"}}, "ev", "missed")
	cb.Wait(t, "ev", ct.WithArg("missed"))
	var s *socketio.Session
	ct.Eventually(t, "restore on B", func() error {
		s, err = b.Adapter("/").RestoreSession(context.Background(), "pid-1", offset)
		return err
	})
	if len(s.MissedPackets) != 1 || fmt.Sprint(s.MissedPackets[0][1]) != "missed" {
		t.Fatalf("missed packets %v", s.MissedPackets)
	}
}
