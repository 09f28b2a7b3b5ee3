package adapter_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/adapter"
	ct "github.com/parley-chat/parley/internal/testrig/clustertest"
	"github.com/parley-chat/parley/internal/testrig/redistest"
)

// TestShardedRedisCluster runs the sharded protocol on a Redis Cluster of
// three masters with a replica each: two Parley nodes (one subscription
// connection per master, each channel on its slot's master) and a Node.js
// node (node-redis cluster client) count each other with SHARDNUMSUB summed
// over the masters, and every cluster operation works from a Parley node
// and from the Node node. Then, while both Parley nodes broadcast without
// pause, the slot of the namespace's main channel migrates to another
// master, and later that master fails over to its replica: after each,
// broadcasts and requests flow again between the nodes and every node is
// counted.
//
// The Node node leaves before the slot moves: node-redis 5.10's cluster
// client loses its shard subscription when Redis moves a slot (its handler
// of Redis's SUNSUBSCRIBE fails, the channel is not subscribed again, and
// the process later dies on a ClientClosedError when the adapter closes).
func TestShardedRedisCluster(t *testing.T) {
	rc := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3, ReplicasPerMaster: 1})
	nodes := startProtocolNodes(t, ct.Sharded(adapter.ModeDynamic), func() redis.UniversalClient { return rc.Client(t) }, "A", "B")
	peer := ct.StartNodePeer(t, "N", "redis://"+rc.Addrs()[0], ct.NodePeerOptions{Namespaces: []string{"/admin"}, Adapter: "sharded", Cluster: true})
	cl := newClusterOf(t, "sharded", nodes[0], nodes[1], peer)
	t.Run("from-parley", func(t *testing.T) { runScenarios(t, cl, nodes[0]) })
	t.Run("from-node", func(t *testing.T) { runScenarios(t, cl, peer) })
	peer.Stop()
	waitCount(t, nodes, 2)

	admin := rc.Client(t)
	traffic := startTraffic(t, nodes[0], nodes[1])
	t.Run("slot-migration", func(t *testing.T) {
		moved := time.Now()
		migrateSlot(t, admin, "socket.io#/#")
		traffic.flowsAgain(t, cl, moved)
		waitCount(t, nodes, 2)
	})
	t.Run("failover", func(t *testing.T) {
		failedOver := time.Now()
		failover(t, admin, "socket.io#/#")
		traffic.flowsAgain(t, cl, failedOver)
		waitCount(t, nodes, 2)
	})
	traffic.stop()
	t.Run("after", func(t *testing.T) {
		responses, err := nodes[0].ServerSideEmitWithAck(t, "/", "sse", "after")
		if err != nil || len(responses) != 1 {
			t.Fatalf("serverSideEmitWithAck: %v, %v; want B's answer", responses, err)
		}
		sockets, err := nodes[1].FetchSockets(t, "/", ct.Target{})
		if err != nil || len(sockets) != 4 {
			t.Fatalf("fetchSockets: %d sockets, %v; want 4", len(sockets), err)
		}
	})
}

// traffic broadcasts from two nodes to everyone, every 20 ms each, until
// stopped.
type traffic struct {
	seq  atomic.Int64
	done chan struct{}
	wg   sync.WaitGroup
}

func startTraffic(t *testing.T, nodes ...*ct.GoNode) *traffic {
	tr := &traffic{done: make(chan struct{})}
	for _, n := range nodes {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-tr.done:
					return
				case <-tick.C:
					n.Emit(t, "/", ct.Target{}, "traffic", fmt.Sprintf("%s-%d", n.Name(), tr.seq.Add(1)))
				}
			}
		}()
	}
	return tr
}

func (tr *traffic) stop() {
	close(tr.done)
	tr.wg.Wait()
}

// flowsAgain waits until a broadcast from each Parley node sent after the
// change reaches a client of the other node, and logs how long it took.
func (tr *traffic) flowsAgain(t *testing.T, cl *cluster, since time.Time) {
	t.Helper()
	a, b := cl.main["A"][0], cl.main["B"][0]
	ct.Eventually(t, "broadcasts across nodes", func() error {
		n := tr.seq.Load()
		for _, c := range []*ct.Client{a, b} {
			other := "B"
			if c == b {
				other = "A"
			}
			if !receivedAfter(c, other, n-20) {
				return fmt.Errorf("%s gets nothing recent from %s", c.Name, other)
			}
		}
		return nil
	})
	t.Logf("broadcasts flow between the nodes %v after the change", time.Since(since).Round(10*time.Millisecond))
}

// receivedAfter reports whether c got a traffic event from node numbered
// above n.
func receivedAfter(c *ct.Client, node string, n int64) bool {
	for _, args := range c.Received("traffic") {
		var seq int64
		tag := fmt.Sprint(args[0])
		if strings.HasPrefix(tag, node+"-") {
			_, _ = fmt.Sscanf(tag[len(node)+1:], "%d", &seq)
			if seq > n {
				return true
			}
		}
	}
	return false
}

func waitCount(t *testing.T, nodes []*ct.GoNode, want int64) {
	t.Helper()
	for _, n := range nodes {
		ct.Eventually(t, n.Name()+" counts every node", func() error {
			if got := n.ServerCount(t, "/"); got != want {
				return fmt.Errorf("server count %d, want %d", got, want)
			}
			return nil
		})
	}
}

// clusterNode is a line of CLUSTER NODES.
type clusterNode struct {
	id, addr, master string
	isMaster         bool
}

func clusterNodes(t *testing.T, rdb *redis.ClusterClient) []clusterNode {
	t.Helper()
	text, err := rdb.ClusterNodes(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []clusterNode
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || strings.Contains(f[2], "fail") {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		out = append(out, clusterNode{id: f[0], addr: addr, master: f[3], isMaster: strings.Contains(f[2], "master")})
	}
	return out
}

func nodeClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// ownerOf returns the master serving key's slot.
func ownerOf(t *testing.T, rdb *redis.ClusterClient, key string) (slot int64, owner clusterNode) {
	t.Helper()
	slot, err := rdb.ClusterKeySlot(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	id, err := slotMaster(rdb, slot)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range clusterNodes(t, rdb) {
		if n.id == id {
			return slot, n
		}
	}
	t.Fatalf("master %s of slot %d unknown", id, slot)
	return 0, clusterNode{}
}

// slotMaster returns the id of the master c says serves slot.
func slotMaster(c redis.UniversalClient, slot int64) (string, error) {
	shards, err := c.ClusterShards(context.Background()).Result()
	if err != nil {
		return "", err
	}
	for _, sh := range shards {
		for _, r := range sh.Slots {
			if r.Start <= slot && slot <= r.End {
				for _, n := range sh.Nodes {
					if n.Role == "master" {
						return n.ID, nil
					}
				}
			}
		}
	}
	return "", fmt.Errorf("no master serves slot %d", slot)
}

// migrateSlot moves key's slot to another master the way redis-cli
// --cluster reshard does: IMPORTING on the target, MIGRATING on the source,
// MIGRATE of the slot's keys, then NODE on both.
func migrateSlot(t *testing.T, rdb *redis.ClusterClient, key string) {
	t.Helper()
	ctx := context.Background()
	slot, src := ownerOf(t, rdb, key)
	var dst clusterNode
	for _, n := range clusterNodes(t, rdb) {
		if n.isMaster && n.id != src.id {
			dst = n
			break
		}
	}
	s, d := nodeClient(t, src.addr), nodeClient(t, dst.addr)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(d.Do(ctx, "cluster", "setslot", slot, "importing", src.id).Err())
	must(s.Do(ctx, "cluster", "setslot", slot, "migrating", dst.id).Err())
	keys, err := s.ClusterGetKeysInSlot(ctx, int(slot), 100).Result()
	must(err)
	host, port, _ := strings.Cut(dst.addr, ":")
	for _, k := range keys {
		must(s.Migrate(ctx, host, port, k, 0, 5*time.Second).Err())
	}
	must(d.Do(ctx, "cluster", "setslot", slot, "node", dst.id).Err())
	must(s.Do(ctx, "cluster", "setslot", slot, "node", dst.id).Err())
	t.Logf("slot %d of %s moved from %s to %s", slot, key, src.addr, dst.addr)
	ct.Eventually(t, "every node agrees", func() error {
		for _, n := range clusterNodes(t, rdb) {
			id, err := slotMaster(nodeClient(t, n.addr), slot)
			if err != nil {
				return err
			}
			if id != dst.id {
				return fmt.Errorf("%s still sees the slot on %s", n.addr, id)
			}
		}
		return nil
	})
}

// failover has the replica of key's master take over (CLUSTER FAILOVER).
func failover(t *testing.T, rdb *redis.ClusterClient, key string) {
	t.Helper()
	ctx := context.Background()
	_, master := ownerOf(t, rdb, key)
	var replica clusterNode
	for _, n := range clusterNodes(t, rdb) {
		if n.master == master.id {
			replica = n
		}
	}
	if replica.id == "" {
		t.Fatalf("master %s has no replica", master.addr)
	}
	if err := nodeClient(t, replica.addr).Do(ctx, "cluster", "failover").Err(); err != nil {
		t.Fatal(err)
	}
	ct.Eventually(t, "the replica took over", func() error {
		_, owner := ownerOf(t, rdb, key)
		if owner.id != replica.id {
			return fmt.Errorf("still served by %s", owner.addr)
		}
		return nil
	})
	t.Logf("%s failed over from %s to %s", key, master.addr, replica.addr)
}
