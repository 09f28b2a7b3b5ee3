package adapter_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/adapter"
	ct "github.com/parley-chat/parley/internal/testrig/clustertest"
	"github.com/parley-chat/parley/internal/testrig/redistest"
)

// startProtocolNodes starts Parley nodes of one protocol, each with its own
// client, serving "/" and "/admin".
func startProtocolNodes(t *testing.T, build func(redis.UniversalClient, adapter.Config) (*adapter.Node, error), newClient func() redis.UniversalClient, names ...string) []*ct.GoNode {
	t.Helper()
	var nodes []*ct.GoNode
	for _, name := range names {
		nodes = append(nodes, ct.StartGoNode(t, name, newClient(), ct.GoNodeOptions{
			Config:     adapter.Config{RequestsTimeout: requestsTimeout},
			Adapter:    build,
			Namespaces: []string{"/admin"},
		}))
	}
	ct.WaitReady(t, nodes...)
	return nodes
}

// TestShardedMixedCluster runs every cluster operation in a cluster of two
// Parley nodes and a Node.js node with @socket.io/redis-adapter 8.3.0's
// createShardedAdapter, all in the default dynamic mode, once from a Parley
// node and once from the Node node.
func TestShardedMixedCluster(t *testing.T) {
	r := redistest.Start(t)
	nodes := startProtocolNodes(t, ct.Sharded(adapter.ModeDynamic), func() redis.UniversalClient { return r.Client(t) }, "A", "B")
	peer := ct.StartNodePeer(t, "N", r.URL(), ct.NodePeerOptions{Namespaces: []string{"/admin"}, Adapter: "sharded"})
	cl := newClusterOf(t, "sharded", nodes[0], nodes[1], peer)
	t.Run("from-parley", func(t *testing.T) { runScenarios(t, cl, nodes[0]) })
	t.Run("from-node", func(t *testing.T) { runScenarios(t, cl, peer) })
	t.Run("relay", func(t *testing.T) { testRelay(t, cl) })
	t.Run("metrics", func(t *testing.T) {
		for _, n := range nodes {
			checkMetrics(t, n)
		}
	})
}

// TestShardedModes runs every operation from a Parley node in clusters of
// two Parley nodes and a Node.js node in the static and dynamic-private
// modes, and checks which shard channels each mode subscribes to: in
// dynamic mode the rooms that are not socket ids, and the socket ids that
// do not look like one to Node (the library's are 24 characters, Node's
// 20), in dynamic-private every room, in static none; a room's channel goes
// once its last local member leaves.
func TestShardedModes(t *testing.T) {
	for _, mode := range []adapter.SubscriptionMode{adapter.ModeStatic, adapter.ModeDynamicPrivate} {
		t.Run(string(mode), func(t *testing.T) {
			r := redistest.Start(t)
			nodes := startProtocolNodes(t, ct.Sharded(mode), func() redis.UniversalClient { return r.Client(t) }, "A", "B")
			peer := ct.StartNodePeer(t, "N", r.URL(), ct.NodePeerOptions{Namespaces: []string{"/admin"}, Adapter: "sharded", SubscriptionMode: string(mode)})
			cl := newClusterOf(t, "sharded", nodes[0], nodes[1], peer)
			runScenarios(t, cl, nodes[0])
		})
	}
	t.Run("channels", testShardedChannels)
}

func testShardedChannels(t *testing.T) {
	r := redistest.Start(t)
	raw := r.Client(t)
	for _, mode := range []adapter.SubscriptionMode{adapter.ModeDynamic, adapter.ModeDynamicPrivate, adapter.ModeStatic} {
		prefix := string(mode)
		n := ct.StartGoNode(t, prefix, r.Client(t), ct.GoNodeOptions{Adapter: ct.Sharded(mode), Config: adapter.Config{Prefix: prefix}})
		ct.WaitReady(t, n)
		c := ct.Dial(t, n.URL(), "/", "x", "room-a")
		base := []string{prefix + "#/#", prefix + "#/#" + n.Node.UID() + "#"}
		want := append(slices.Clone(base), prefix+"#/#room-a#")
		if len(c.ID()) != 20 {
			t.Fatalf("socket id %s is not 20 characters long, as Node's are (the dynamic mode tells socket ids by their length)", c.ID())
		}
		switch mode {
		case adapter.ModeStatic:
			want = base
		case adapter.ModeDynamicPrivate:
			want = append(want, prefix+"#/#"+c.ID()+"#")
		}
		waitShardChannels(t, raw, prefix+"#*", want)
		c.Close()
		waitShardChannels(t, raw, prefix+"#*", base)
	}
}

func waitShardChannels(t *testing.T, rdb *redis.Client, pattern string, want []string) {
	t.Helper()
	sort.Strings(want)
	ct.Eventually(t, "shard channels "+pattern, func() error {
		got, err := rdb.PubSubShardChannels(context.Background(), pattern).Result()
		if err != nil {
			return err
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("subscribed to %v, want %v", got, want)
		}
		return nil
	})
}

// TestShardedJoinThenAnnounce: node B's socket joins a room and B announces
// it to the cluster at once, while B's subscription to the room's channel
// takes half a second to reach Redis (its SSUBSCRIBE writes are held). Node
// A reacts to the announcement with a broadcast to the room, which must
// reach the new member: B's publications wait for the room subscriptions
// requested before them. (Node's sharded adapter publishes the
// announcement at once, and A's broadcast is lost.)
func TestShardedJoinThenAnnounce(t *testing.T) {
	r := redistest.Start(t)
	var slow atomic.Bool
	held := redis.NewClient(&redis.Options{Addr: r.Addr(), Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return slowSubscribes{Conn: c, on: &slow, delay: 500 * time.Millisecond}, nil
	}})
	t.Cleanup(func() { _ = held.Close() })
	opts := ct.GoNodeOptions{Adapter: ct.Sharded(adapter.ModeDynamic)}
	a := ct.StartGoNode(t, "A", r.Client(t), opts)
	b := ct.StartGoNode(t, "B", held, opts)
	ct.WaitReady(t, a, b)
	waitCount(t, []*ct.GoNode{a, b}, 2)
	watcher := ct.Dial(t, a.URL(), "/", "watcher")
	newcomer := ct.Dial(t, b.URL(), "/", "newcomer")

	slow.Store(true)
	defer slow.Store(false)
	const room = "late-room"
	if err := b.IO.Of("/").Local().In(newcomer.ID()).SocketsJoin(room); err != nil {
		t.Fatal(err)
	}
	if err := b.IO.Emit("announce", newcomer.ID()); err != nil {
		t.Fatal(err)
	}
	watcher.Wait(t, "announce", ct.WithArg(newcomer.ID()))
	if err := a.IO.To(room).Emit("welcome", "hi"); err != nil {
		t.Fatal(err)
	}
	newcomer.Wait(t, "welcome", ct.WithArg("hi"))
}

// slowSubscribes holds each write that carries an SSUBSCRIBE for delay while
// on is set.
type slowSubscribes struct {
	net.Conn
	on    *atomic.Bool
	delay time.Duration
}

func (c slowSubscribes) Write(b []byte) (int, error) {
	if c.on.Load() && bytes.Contains(b, []byte("ssubscribe")) {
		time.Sleep(c.delay)
	}
	return c.Conn.Write(b)
}

// TestShardedRedisRestart kills Redis under two sharded nodes (dynamic
// mode) while a socket joins a new room and broadcasts are sent: after the
// restart, the room made during the outage is subscribed and broadcasts to
// it and to everyone flow again.
func TestShardedRedisRestart(t *testing.T) {
	r := redistest.Start(t)
	nodes := startProtocolNodes(t, ct.Sharded(adapter.ModeDynamic), func() redis.UniversalClient { return r.Client(t) }, "A", "B")
	a, b := nodes[0], nodes[1]
	cb := ct.Dial(t, b.URL(), "/", "B-x1")

	r.Kill()
	waitLoss(t, nodes...)
	late := ct.Dial(t, b.URL(), "/", "B-late", "made-during-outage")
	a.Emit(t, "/", ct.Target{}, "ev", "during")
	b.Emit(t, "/", ct.Target{}, "ev", "during")
	late.Wait(t, "ev", ct.WithArg("during")) // local delivery does not need Redis

	r.Restart()
	restarted := time.Now()
	ct.WaitReady(t, nodes...)
	for _, target := range []struct {
		rooms []string
		who   *ct.Client
	}{{nil, cb}, {[]string{"made-during-outage"}, late}} {
		for i := 0; ; i++ {
			tag := fmt.Sprintf("after-%v-%d", target.rooms, i)
			a.Emit(t, "/", ct.Target{Rooms: target.rooms}, "ev", tag)
			if _, ok := target.who.WaitFor("ev", ct.WithArg(tag), 100*time.Millisecond); ok {
				break
			}
			if time.Since(restarted) > 10*time.Second {
				t.Fatalf("no broadcast to rooms %v reached the other node within 10s of the restart", target.rooms)
			}
		}
	}
	t.Logf("broadcasts to everyone and to the room flow again %v after the restart", time.Since(restarted).Round(time.Millisecond))
}
