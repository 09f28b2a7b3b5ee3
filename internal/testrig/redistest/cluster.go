package redistest

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterTimeout bounds how long a new cluster may take to agree that every
// slot is served.
const clusterTimeout = 30 * time.Second

// ClusterConfig describes a cluster for StartCluster.
type ClusterConfig struct {
	// Masters is the number of master nodes; the hash slots are split among
	// them.
	// default: 3 (the least redis-cli accepts)
	Masters int
	// ReplicasPerMaster is the number of replicas of each master.
	// default: 0
	ReplicasPerMaster int
	// Options apply to every node.
	// default: none
	Options []Option
}

// Cluster is a running Redis Cluster made of Servers.
type Cluster struct {
	nodes    []*Server
	masters  int
	replicas int
}

// StartCluster runs Masters*(1+ReplicasPerMaster) cluster-enabled
// redis-servers, joins them with redis-cli --cluster create and waits until
// every node reports cluster_state:ok with all 16384 slots served. The nodes
// are stopped when the test ends.
func StartCluster(t testing.TB, cfg ClusterConfig) *Cluster {
	t.Helper()
	requireBinary(t, "redis-cli")
	if cfg.Masters == 0 {
		cfg.Masters = 3
	}
	if cfg.Masters < 3 {
		t.Fatalf("redistest: a Redis Cluster needs at least 3 masters, got %d", cfg.Masters)
	}
	c := &Cluster{masters: cfg.Masters, replicas: cfg.Masters * cfg.ReplicasPerMaster}
	for range cfg.Masters * (1 + cfg.ReplicasPerMaster) {
		c.nodes = append(c.nodes, start(t, true, cfg.Options))
	}
	c.create(t, cfg.ReplicasPerMaster)
	c.waitReady(t)
	return c
}

// Addrs returns the addresses of all nodes, masters and replicas.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		addrs[i] = n.Addr()
	}
	return addrs
}

// Nodes returns the cluster's servers, in the order given to redis-cli (so,
// with replicas, the masters come first).
func (c *Cluster) Nodes() []*Server { return c.nodes }

// Client returns a new go-redis cluster client, closed when the test ends.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	t.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func (c *Cluster) create(t testing.TB, replicas int) {
	t.Helper()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "redis-cli", args...)
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s\n%s", err, out.String(), c.logTails())
	}
}

// waitReady polls CLUSTER INFO on every node until all agree the cluster is
// whole and every replica is attached and in sync. redis-cli returns once
// the configuration is sent, before the nodes have gossiped it to each other.
func (c *Cluster) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(clusterTimeout)
	var notReady string
	for time.Now().Before(deadline) {
		notReady = c.firstNotReady()
		if notReady == "" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("redistest: cluster not ready after %v: %s\n%s", clusterTimeout, notReady, c.logTails())
}

// firstNotReady returns a description of the first node that does not yet
// report a healthy cluster, or "" if all do.
func (c *Cluster) firstNotReady() string {
	want := map[string]string{
		"cluster_state":          "ok",
		"cluster_slots_assigned": "16384",
		"cluster_slots_ok":       "16384",
		"cluster_known_nodes":    strconv.Itoa(len(c.nodes)),
		"cluster_size":           strconv.Itoa(c.masters),
	}
	for _, n := range c.nodes {
		if why := c.nodeNotReady(n.Addr(), want); why != "" {
			return n.Addr() + ": " + why
		}
	}
	return ""
}

func (c *Cluster) nodeNotReady(addr string, want map[string]string) string {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, PoolSize: 1})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	text, err := rdb.ClusterInfo(ctx).Result()
	if err != nil {
		return err.Error()
	}
	info := parseInfo(text)
	for field, value := range want {
		if info[field] != value {
			return fmt.Sprintf("%s is %q, want %q", field, info[field], value)
		}
	}
	nodes, err := rdb.ClusterNodes(ctx).Result()
	if err != nil {
		return err.Error()
	}
	if got := strings.Count(nodes, "slave"); got != c.replicas {
		return fmt.Sprintf("sees %d replicas, want %d", got, c.replicas)
	}
	if !strings.Contains(nodes, "myself,slave") {
		return ""
	}
	text, err = rdb.Info(ctx, "replication").Result()
	if err != nil {
		return err.Error()
	}
	if link := parseInfo(text)["master_link_status"]; link != "up" {
		return fmt.Sprintf("replica link is %q, want up", link)
	}
	return ""
}

// parseInfo reads the "field:value" lines of CLUSTER INFO or INFO.
func parseInfo(text string) map[string]string {
	info := make(map[string]string)
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			info[k] = v
		}
	}
	return info
}

func (c *Cluster) logTails() string {
	var b strings.Builder
	for _, n := range c.nodes {
		fmt.Fprintf(&b, "--- log of %s ---\n%s\n", n.Addr(), n.LogTail())
	}
	return b.String()
}
