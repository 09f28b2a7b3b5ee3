package adapter_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	ct "github.com/parley-chat/parley/internal/testrig/clustertest"
	"github.com/parley-chat/parley/internal/testrig/redistest"
)

// TestRedisCluster runs two Parley nodes on a Redis Cluster (3 masters, 1
// replica each), each with its own cluster client: the server count, which
// sums PUBSUB NUMSUB over the cluster's nodes, sees both wherever their
// subscriptions landed, and broadcasts and requests go through.
func TestRedisCluster(t *testing.T) {
	rc := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3, ReplicasPerMaster: 1})
	nodes := startGoNodes(t, func() redis.UniversalClient { return rc.Client(t) }, "A", "B")
	a, b := nodes[0], nodes[1]
	for _, n := range nodes {
		if got := n.ServerCount(t, "/"); got != 2 {
			t.Fatalf("%s: server count %d, want 2", n.Name(), got)
		}
	}
	ca := ct.Dial(t, a.URL(), "/", "A-x1", "r1")
	cb := ct.Dial(t, b.URL(), "/", "B-x1", "r1")
	a.Emit(t, "/", ct.Target{Rooms: []string{"r1"}}, "ev", "hello")
	cb.Wait(t, "ev", ct.WithArg("hello"))
	ca.Wait(t, "ev", ct.WithArg("hello"))
	sockets, err := b.FetchSockets(t, "/", ct.Target{})
	if err != nil || len(sockets) != 2 {
		t.Fatalf("fetchSockets: %d sockets, %v; want 2", len(sockets), err)
	}
	responses, err := a.ServerSideEmitWithAck(t, "/", "sse", "q")
	if err != nil || len(responses) != 1 {
		t.Fatalf("serverSideEmitWithAck: %v, %v; want one answer", responses, err)
	}
}
