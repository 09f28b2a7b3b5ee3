package adapter_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/adapter"
	ct "github.com/parley-chat/parley/internal/testrig/clustertest"
	"github.com/parley-chat/parley/internal/testrig/redistest"
	"github.com/parley-chat/parley/internal/wire"
	"github.com/parley-chat/parley/socketio"
)

func startGoNodes(t *testing.T, newClient func() redis.UniversalClient, names ...string) []*ct.GoNode {
	t.Helper()
	var nodes []*ct.GoNode
	for _, name := range names {
		nodes = append(nodes, ct.StartGoNode(t, name, newClient(), ct.GoNodeOptions{
			Config:     adapter.Config{RequestsTimeout: requestsTimeout},
			Namespaces: []string{"/admin"},
		}))
	}
	ct.WaitReady(t, nodes...)
	return nodes
}

func members(nodes ...*ct.GoNode) []ct.Member {
	out := make([]ct.Member, len(nodes))
	for i, n := range nodes {
		out[i] = n
	}
	return out
}

// TestGoCluster runs every cluster operation from a Parley node of a cluster
// of three, each with its own Redis client, and checks what every node's
// clients see.
func TestGoCluster(t *testing.T) {
	r := redistest.Start(t)
	nodes := startGoNodes(t, func() redis.UniversalClient { return r.Client(t) }, "A", "B", "C")
	cl := newCluster(t, members(nodes...)...)
	runScenarios(t, cl, nodes[0])
	t.Run("flags-travel", func(t *testing.T) { testFlagsTravel(t, r.Client(t), cl, nodes[0]) })
	t.Run("metrics", func(t *testing.T) {
		for _, n := range nodes {
			checkMetrics(t, n)
		}
	})
}

// testFlagsTravel checks on the wire that volatile and compress reach the
// other nodes (what they do there is the library's local delivery).
func testFlagsTravel(t *testing.T, raw *redis.Client, cl *cluster, o *ct.GoNode) {
	ctx := context.Background()
	ctx, cancel := context.WithTimeout(ctx, ct.WaitFor)
	defer cancel()
	sub := raw.PSubscribe(ctx, "socket.io#/#*")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	tag := cl.tag("flags")
	off := false
	// Delivery of volatile packets is the volatile scenario's business;
	// here only the wire counts.
	o.Emit(t, "/", ct.Target{Rooms: []string{"r1"}, Volatile: true, Compress: &off}, "ev", tag)
	for {
		msg, err := sub.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m, err := wire.DecodeClassicBroadcast([]byte(msg.Payload))
		if err != nil {
			t.Fatalf("%s: %v", msg.Channel, err)
		}
		if len(m.Data) < 2 || m.Data[1] != tag {
			continue
		}
		if msg.Channel != "socket.io#/#r1#" {
			t.Errorf("published on %s, want the room's channel", msg.Channel)
		}
		f := m.Opts.Flags
		if !f.Volatile || f.Compress == nil || *f.Compress {
			t.Errorf("flags on the wire: %+v", f)
		}
		return
	}
}

func checkMetrics(t *testing.T, n *ct.GoNode) {
	t.Helper()
	families, err := n.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				values[f.GetName()] += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				values[f.GetName()] += m.GetGauge().GetValue()
			}
		}
	}
	for _, name := range []string{"parley_adapter_published_total", "parley_adapter_received_total"} {
		if values[name] == 0 {
			t.Errorf("%s: %s is 0 after the scenarios", n.Name(), name)
		}
	}
	if values["parley_adapter_subscribed"] != 1 {
		t.Errorf("%s: parley_adapter_subscribed = %v, want 1", n.Name(), values["parley_adapter_subscribed"])
	}
	for _, name := range []string{"parley_adapter_malformed_total", "parley_adapter_publish_errors_total", "parley_adapter_redis_reconnects_total"} {
		if values[name] != 0 {
			t.Errorf("%s: %s = %v, want 0", n.Name(), name, values[name])
		}
	}
}

func numSub(t *testing.T, rdb redis.UniversalClient, channel string) int64 {
	t.Helper()
	n, err := rdb.PubSubNumSub(context.Background(), channel).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n[channel]
}

// patternSubscriptions sums the pattern subscriptions of every client of the
// server (PUBSUB NUMPAT counts distinct patterns, not subscriptions).
func patternSubscriptions(t *testing.T, rdb *redis.Client) int {
	t.Helper()
	list, err := rdb.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, line := range strings.Split(list, "\n") {
		for _, field := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(field, "psub="); ok {
				n, _ := strconv.Atoi(v)
				total += n
			}
		}
	}
	return total
}

func waitNumSub(t *testing.T, rdb redis.UniversalClient, channel string, want int64) {
	t.Helper()
	ct.Eventually(t, "NUMSUB "+channel, func() error {
		if n := numSub(t, rdb, channel); n != want {
			return fmt.Errorf("NUMSUB = %d, want %d", n, want)
		}
		return nil
	})
}

// TestNamespaceCloseUnsubscribes checks that a closed namespace and a closed
// Node leave Redis's counts, through the server's own path: a dynamic child
// namespace cleaned up when its last socket leaves.
func TestNamespaceCloseUnsubscribes(t *testing.T) {
	r := redistest.Start(t)
	raw := r.Client(t)
	dynamic := regexp.MustCompile(`^/dyn-\d+$`)
	var nodes []*ct.GoNode
	for _, name := range []string{"A", "B"} {
		n := ct.StartGoNode(t, name, r.Client(t), ct.GoNodeOptions{
			Server: func(c *socketio.Config) { c.CleanupEmptyChildNamespaces = true },
		})
		n.IO.OnNewNamespace(func(nsp *socketio.Namespace) {
			if dynamic.MatchString(nsp.Name()) {
				n.Serve(nsp)
			}
		})
		n.IO.OfFunc(func(name string, _ map[string]any) bool { return dynamic.MatchString(name) })
		nodes = append(nodes, n)
	}
	ct.WaitReady(t, nodes...)
	a, b := nodes[0], nodes[1]
	waitNumSub(t, raw, "socket.io-request#/#", 2)

	ca := ct.Dial(t, a.URL(), "/dyn-1", "dyn-a")
	cb := ct.Dial(t, b.URL(), "/dyn-1", "dyn-b")
	ct.WaitReady(t, nodes...)
	waitNumSub(t, raw, "socket.io-request#/dyn-1#", 2)
	a.Emit(t, "/dyn-1", ct.Target{}, "dyn", "before")
	cb.Wait(t, "dyn", ct.WithArg("before"))

	cb.Close()
	waitNumSub(t, raw, "socket.io-request#/dyn-1#", 1)
	waitNumSub(t, raw, "socket.io-response#/dyn-1#", 1)
	// Patterns: A's "/" and "/dyn-1", B's "/".
	ct.Eventually(t, "patterns", func() error {
		if n := patternSubscriptions(t, raw); n != 3 {
			return fmt.Errorf("%d pattern subscriptions, want 3", n)
		}
		return nil
	})
	if n := a.ServerCount(t, "/dyn-1"); n != 1 {
		t.Errorf("server count of /dyn-1 after B closed it = %d, want 1", n)
	}
	a.Emit(t, "/dyn-1", ct.Target{}, "dyn", "after")
	ca.Wait(t, "dyn", ct.WithArg("after"))

	if err := b.Node.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitNumSub(t, raw, "socket.io-request#/#", 1)
	if err := b.Node.Ready(); err == nil {
		t.Errorf("a closed Node reports ready")
	}
}

// TestMalformedMessagesDropped publishes garbage on every channel a node
// listens to: each is counted and dropped, and the node goes on working.
func TestMalformedMessagesDropped(t *testing.T) {
	r := redistest.Start(t)
	nodes := startGoNodes(t, func() redis.UniversalClient { return r.Client(t) }, "A", "B")
	raw := r.Client(t)
	ctx := context.Background()
	garbage := map[string]string{
		"socket.io#/#":           "\xc1not msgpack",
		"socket.io#/#r1#":        "\x93\xa1x", // truncated array
		"socket.io-request#/#":   `{"type":`,
		"socket.io-response#/#":  `{"requestId":5}`,
		"socket.io-request#/#x":  "ignored: no namespace listens here",
		"socket.io#/admin#":      "\x00",
		"socket.io#/other#":      "\x00", // a namespace nobody serves
		"socket.io-request#/# ":  "\x80",
		"socket.io-response#/#2": "\x80",
	}
	ca := ct.Dial(t, nodes[0].URL(), "/", "A-x1", "r1")
	for ch, payload := range garbage {
		if err := raw.Publish(ctx, ch, payload).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// A valid message published after the garbage arrives after it.
	nodes[1].Emit(t, "/", ct.Target{}, "ev", "still-works")
	ca.Wait(t, "ev", ct.WithArg("still-works"))
	if got := counter(t, nodes[0].Registry, "parley_adapter_malformed_total"); got != 5 {
		t.Errorf("malformed messages counted: %v, want 5", got)
	}
}
