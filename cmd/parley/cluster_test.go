package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testrig/chattest"
	"github.com/parley-chat/parley/internal/testrig/redistest"
)

// testLease is the presence lease of the nodes in these tests: a node that
// dies has its users announced offline within lease + lease/3.
const testLease = time.Second

// cluster is a Redis server and Parley processes using it.
type cluster struct {
	redis *redistest.Server
	nodes []*proc
}

// startCluster runs redis-server and n Parley nodes on it.
func startCluster(t *testing.T, n int, env ...string) *cluster {
	t.Helper()
	c := &cluster{redis: redistest.Start(t)}
	env = append(env, "PARLEY_REDIS_URL="+c.redis.URL(), "PARLEY_PRESENCE_LEASE="+testLease.String())
	for range n {
		c.nodes = append(c.nodes, startBinary(t, env))
	}
	for _, p := range c.nodes {
		waitReady(t, p)
	}
	return c
}

// waitReady waits until the node's /readyz answers 200: its Redis
// subscriptions are up.
func waitReady(t *testing.T, p *proc) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s not ready within 15 s:\n%s", p.url, p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// chatUser is a logged-in client and the ids the server gave it.
type chatUser struct {
	*chattest.Client
	sessionID, userID string
}

func connectUser(t *testing.T, url string, auth map[string]any, tr chattest.Transport) *chatUser {
	t.Helper()
	c := chattest.Dial(t, url, auth, tr)
	s := c.Wait("session", nil).Args[0].(map[string]any)
	c.Wait("users", nil)
	return &chatUser{Client: c, sessionID: s["sessionID"].(string), userID: s["userID"].(string)}
}

func loginAt(t *testing.T, p *proc, name string, tr chattest.Transport) *chatUser {
	t.Helper()
	return connectUser(t, p.url, map[string]any{"username": name}, tr)
}

func resumeAt(t *testing.T, p *proc, u *chatUser, tr chattest.Transport) *chatUser {
	t.Helper()
	return connectUser(t, p.url, map[string]any{"sessionID": u.sessionID}, tr)
}

func sendTo(t *testing.T, from *chatUser, to, content string) map[string]any {
	t.Helper()
	res := from.EmitAck("private message", map[string]any{"content": content, "to": to})
	ack, ok := res[0].(map[string]any)
	if !ok {
		t.Fatalf("ack %v", res)
	}
	return ack
}

func isContent(content string) func([]any) bool {
	return func(args []any) bool {
		m, ok := args[0].(map[string]any)
		return ok && m["content"] == content
	}
}

func isUserID(id string) func([]any) bool {
	return func(args []any) bool {
		if s, ok := args[0].(string); ok {
			return s == id
		}
		m, ok := args[0].(map[string]any)
		return ok && m["userID"] == id
	}
}

// listed returns the users entry of userID a fresh login on p sees.
func listed(t *testing.T, p *proc, userID string) map[string]any {
	t.Helper()
	c := chattest.Dial(t, p.url, map[string]any{"username": "observer"}, chattest.WebSocket)
	defer c.Close()
	for _, it := range c.Wait("users", nil).Args[0].([]any) {
		if e := it.(map[string]any); e["userID"] == userID {
			return e
		}
	}
	t.Fatalf("%s is not in the users list", userID)
	return nil
}

func lastPresenceEvent(c *chatUser, userID string) string {
	last := ""
	for _, e := range c.All() {
		if (e.Name == "user connected" || e.Name == "user disconnected") && isUserID(userID)(e.Args) {
			last = e.Name
		}
	}
	return last
}

// TestClusterChatAcrossNodes: alice and bob on different nodes chat, with
// presence, history and the sender's other tab on a third node.
func TestClusterChatAcrossNodes(t *testing.T) {
	c := startCluster(t, 3)
	a, b, third := c.nodes[0], c.nodes[1], c.nodes[2]
	alice := loginAt(t, a, "alice", chattest.Upgrade)
	bob := loginAt(t, b, "bob", chattest.Polling)
	alice.Wait("user connected", isUserID(bob.userID))
	if e := listed(t, third, alice.userID); e["connected"] != true {
		t.Fatalf("alice listed on a third node as %v", e)
	}
	aliceTab := resumeAt(t, third, alice, chattest.WebSocket)

	if ack := sendTo(t, alice, bob.userID, "hi bob"); ack["ok"] != true {
		t.Fatalf("ack %v", ack)
	}
	bob.Wait("private message", isContent("hi bob"))
	aliceTab.Wait("private message", isContent("hi bob"))
	if ack := sendTo(t, bob, alice.userID, "hi alice"); ack["ok"] != true {
		t.Fatalf("ack %v", ack)
	}
	alice.Wait("private message", isContent("hi alice"))
	aliceTab.Wait("private message", isContent("hi alice"))
	if n := len(alice.Events("private message")); n != 1 {
		t.Fatalf("alice's sending socket got %d private messages, want only bob's", n)
	}

	// bob reloads onto another node: same session, whole history.
	bob.Close()
	bob2 := resumeAt(t, a, bob, chattest.Upgrade)
	if bob2.userID != bob.userID {
		t.Fatal("reload on another node did not restore the session")
	}
	users := bob2.Events("users")[0].Args[0].([]any)
	for _, it := range users {
		if e := it.(map[string]any); e["userID"] == alice.userID {
			if msgs := e["messages"].([]any); len(msgs) != 2 {
				t.Fatalf("history with alice on another node = %v", msgs)
			}
		}
	}
	// Closing one of alice's tabs keeps her online; the last one does not.
	alice.Close()
	if _, ok := bob2.WaitFor("user disconnected", isUserID(alice.userID), 700*time.Millisecond); ok {
		t.Fatal("alice announced offline while her tab on another node is open")
	}
	aliceTab.Close()
	bob2.Wait("user disconnected", isUserID(alice.userID))
	if e := listed(t, b, alice.userID); e["connected"] != false {
		t.Fatalf("alice listed as %v after leaving", e)
	}
}

// TestClusterFastReloadAcrossNodes reloads a user many times, each time onto
// another node, in both orders: peers end up seeing the user online.
func TestClusterFastReloadAcrossNodes(t *testing.T) {
	c := startCluster(t, 3)
	alice := loginAt(t, c.nodes[0], "alice", chattest.WebSocket)
	bob := loginAt(t, c.nodes[2], "bob", chattest.WebSocket)
	cur := alice
	for i := range 12 {
		next := c.nodes[i%2]
		if i%2 == 0 {
			cur.Close()
			cur = resumeAt(t, next, alice, chattest.WebSocket)
		} else {
			n := resumeAt(t, next, alice, chattest.Upgrade)
			cur.Close()
			cur = n
		}
	}
	time.Sleep(time.Second) // let any late announcement arrive
	if last := lastPresenceEvent(bob, alice.userID); last != "user connected" {
		t.Fatalf("bob's last presence event for alice is %q", last)
	}
	if e := listed(t, c.nodes[1], alice.userID); e["connected"] != true {
		t.Fatalf("alice listed as %v after fast reloads", e)
	}
}

// TestClusterNodeDeath: a node killed with SIGKILL says no goodbye; its
// users are announced offline by the others within the documented bound.
func TestClusterNodeDeath(t *testing.T) {
	c := startCluster(t, 2)
	doomed, survivor := c.nodes[0], c.nodes[1]
	alice := loginAt(t, doomed, "alice", chattest.WebSocket)
	bob := loginAt(t, survivor, "bob", chattest.WebSocket)
	if e := listed(t, survivor, alice.userID); e["connected"] != true {
		t.Fatalf("alice listed as %v before her node died", e)
	}
	killed := time.Now()
	if err := doomed.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	bob.Wait("user disconnected", isUserID(alice.userID))
	t.Logf("alice announced offline %v after her node died (bound: lease %v + %v)",
		time.Since(killed).Round(10*time.Millisecond), testLease, testLease/3)
	if e := listed(t, survivor, alice.userID); e["connected"] != false {
		t.Fatalf("alice listed as %v after her node died", e)
	}
}

// TestClusterRefusedWriteIsNotDelivered: when Redis refuses to store a
// message, the sender's ack says so and nobody receives it.
func TestClusterRefusedWriteIsNotDelivered(t *testing.T) {
	c := startCluster(t, 2)
	alice := loginAt(t, c.nodes[0], "alice", chattest.WebSocket)
	bob := loginAt(t, c.nodes[1], "bob", chattest.WebSocket)
	rdb := c.redis.Client(t)
	ctx := context.Background()
	// With maxmemory at 1 byte and no eviction Redis refuses every write
	// (OOM) but still reads and publishes.
	if err := rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if ack := sendTo(t, alice, bob.userID, "lost?"); ack["error"] != "message could not be stored, try again" {
		t.Fatalf("ack with Redis refusing writes = %v", ack)
	}
	if err := rdb.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if ack := sendTo(t, alice, bob.userID, "stored"); ack["ok"] != true {
		t.Fatalf("ack = %v", ack)
	}
	bob.Wait("private message", isContent("stored"))
	for _, e := range bob.Events("private message") {
		if isContent("lost?")(e.Args) {
			t.Fatal("bob received a message that was not stored")
		}
	}
}

// TestClusterSurvivesRedisRestart: with Redis gone the nodes keep running
// (healthz 200, readyz 503); when it is back they are ready again and the
// chat works across nodes.
func TestClusterSurvivesRedisRestart(t *testing.T) {
	c := startCluster(t, 2)
	c.redis.Kill()
	for _, p := range c.nodes {
		deadline := time.Now().Add(15 * time.Second)
		for status(t, p.url+"/readyz") != http.StatusServiceUnavailable {
			if time.Now().After(deadline) {
				t.Fatal("readyz does not report the lost Redis")
			}
			time.Sleep(100 * time.Millisecond)
		}
		if s := status(t, p.url+"/healthz"); s != http.StatusOK {
			t.Fatalf("healthz with Redis down: %d", s)
		}
	}
	restarted := time.Now()
	c.redis.Restart()
	for _, p := range c.nodes {
		waitReady(t, p)
	}
	t.Logf("ready %v after Redis came back", time.Since(restarted).Round(10*time.Millisecond))
	alice := loginAt(t, c.nodes[0], "alice", chattest.WebSocket)
	bob := loginAt(t, c.nodes[1], "bob", chattest.WebSocket)
	if ack := sendTo(t, alice, bob.userID, "after the outage"); ack["ok"] != true {
		t.Fatalf("ack = %v", ack)
	}
	bob.Wait("private message", isContent("after the outage"))
	for _, p := range c.nodes {
		if p.cmd.ProcessState != nil {
			t.Fatalf("a node exited during the outage:\n%s", p.logs.String())
		}
	}
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestClusterMetrics: a node's /metrics carries the engine's, the fan-out's
// and the adapter's metrics on one registry.
func TestClusterMetrics(t *testing.T) {
	c := startCluster(t, 2)
	alice := loginAt(t, c.nodes[0], "alice", chattest.WebSocket)
	bob := loginAt(t, c.nodes[1], "bob", chattest.WebSocket)
	if ack := sendTo(t, alice, bob.userID, "counted"); ack["ok"] != true {
		t.Fatalf("ack %v", ack)
	}
	bob.Wait("private message", isContent("counted"))
	// The publisher counts a publish once Redis has answered it, which may
	// come after the other node delivered the message: read until it shows.
	want := []string{
		"parley_adapter_published_total", "parley_adapter_subscribed 1", "parley_adapter_redis_reconnects_total",
		"parley_fanout_deliveries_total", "parley_ws_connections", "parley_ws_slow_consumer_closes_total",
		"go_goroutines", "process_resident_memory_bytes",
	}
	var missing []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(c.nodes[0].url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		missing = missing[:0]
		for _, w := range want {
			if !strings.Contains(string(body), w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(missing) > 0 {
		t.Errorf("/metrics lacks %v", missing)
	}
}
