package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testrig/chattest"
	ct "github.com/parley-chat/parley/internal/testrig/clustertest"
	"github.com/parley-chat/parley/internal/testrig/redistest"
)

var errNotYet = errors.New("not yet")

// startNodes runs n Parley processes with env and waits until each is ready.
func startNodes(t *testing.T, n int, env ...string) []*proc {
	t.Helper()
	env = append(env, "PARLEY_PRESENCE_LEASE="+testLease.String())
	var nodes []*proc
	for range n {
		nodes = append(nodes, startBinary(t, env))
	}
	for _, p := range nodes {
		waitReady(t, p)
	}
	return nodes
}

// TestChatOnEachAdapter runs the chat on two processes with each of the
// other adapters: sharded on a Redis Cluster of three masters (with
// --redis-cluster), and streams with connection state recovery. Presence,
// private messages both ways and history after a reload onto the other node
// work as with the classic adapter; with recovery, a socket.io-client
// disconnected from one process comes back on the other with its socket id.
func TestChatOnEachAdapter(t *testing.T) {
	t.Run("sharded-on-redis-cluster", func(t *testing.T) {
		rc := redistest.StartCluster(t, redistest.ClusterConfig{Masters: 3})
		addrs := rc.Addrs()
		url := "redis://" + addrs[0] + "?addr=" + strings.Join(addrs[1:], "&addr=")
		nodes := startNodes(t, 2, "PARLEY_REDIS_URL="+url, "PARLEY_REDIS_CLUSTER=on", "PARLEY_ADAPTER=sharded")
		chatAcross(t, nodes[0], nodes[1])
	})
	t.Run("streams-with-recovery", func(t *testing.T) {
		r := redistest.Start(t)
		nodes := startNodes(t, 2, "PARLEY_REDIS_URL="+r.URL(), "PARLEY_ADAPTER=streams", "PARLEY_RECOVERY=on", "PARLEY_RECOVERY_WINDOW=1m")
		chatAcross(t, nodes[0], nodes[1])
		recoverAcross(t, nodes[0], nodes[1])
	})
}

// chatAcross has alice on a and bob on b chat, then bob reload onto a.
func chatAcross(t *testing.T, a, b *proc) {
	t.Helper()
	alice := loginAt(t, a, "alice", chattest.WebSocket)
	bob := loginAt(t, b, "bob", chattest.Polling)
	alice.Wait("user connected", isUserID(bob.userID))
	if ack := sendTo(t, alice, bob.userID, "hi bob"); ack["ok"] != true {
		t.Fatalf("ack %v", ack)
	}
	bob.Wait("private message", isContent("hi bob"))
	if ack := sendTo(t, bob, alice.userID, "hi alice"); ack["ok"] != true {
		t.Fatalf("ack %v", ack)
	}
	alice.Wait("private message", isContent("hi alice"))
	bob.Close()
	bob2 := resumeAt(t, a, bob, chattest.Upgrade)
	for _, it := range bob2.Events("users")[0].Args[0].([]any) {
		if e := it.(map[string]any); e["userID"] == alice.userID {
			if msgs := e["messages"].([]any); len(msgs) != 2 {
				t.Fatalf("history with alice on the other node = %v", msgs)
			}
		}
	}
	alice.Close()
	bob2.Wait("user disconnected", isUserID(alice.userID))
	bob2.Close()
}

// recoverAcross connects the reference client to a through a proxy, cuts
// its connection and sends it to b: it must be recovered there, same id.
func recoverAcross(t *testing.T, a, b *proc) {
	t.Helper()
	clients := ct.StartNodeClients(t)
	proxy := ct.StartProxy(t, a.url)
	id := clients.Connect(t, "carol", proxy.URL()+"/", map[string]any{"username": "carol"})
	ct.Eventually(t, "carol's session", func() error {
		for _, e := range clients.Events(t, "carol") {
			if e.Name == "session" {
				return nil
			}
		}
		return errNotYet
	})
	proxy.SwitchTo(b.url)
	deadline := time.Now().Add(ct.WaitFor)
	for {
		st := clients.State(t, "carol")
		if st.Connected && st.Recovered && st.ID == id {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("carol %+v, want %s recovered on the other node:\n%s\n%s", st, id, a.logs.String(), b.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
