package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testrig/chattest"
	"github.com/parley-chat/parley/internal/testrig/nodetest"
)

// waitOutput waits until the output holds want.
func waitOutput(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("node-peer never printed %q:\n%s", want, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMixedClusterByHand runs what the README's "A mixed Parley and Node.js
// cluster" section tells a user to run: a Parley node and
// examples/mixed-cluster/node-peer.mjs (Node.js socket.io with
// @socket.io/redis-adapter) on one Redis, and checks what it says they show.
func TestMixedClusterByHand(t *testing.T) {
	nodetest.Require(t)
	c := startCluster(t, 1)
	alice := loginAt(t, c.nodes[0], "alice", chattest.WebSocket)

	script := filepath.Join(nodetest.Root(t), "examples", "mixed-cluster", "node-peer.mjs")
	cmd := exec.Command("node", script)
	cmd.Dir = nodetest.Root(t)
	cmd.Env = append(os.Environ(), "REDIS_URL="+c.redis.URL(), "PORT="+freePort(t), "INTERVAL_MS=300")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})

	// Node.js to Parley: the peer's broadcast reaches the chat page's socket.
	alice.Wait("user connected", isUserID("node-peer"))
	// Parley to Node.js: the chat's broadcast reaches the peer's client.
	bob := loginAt(t, c.nodes[0], "bob", chattest.WebSocket)
	waitOutput(t, out, "broadcast from the cluster: user connected bob ("+bob.userID+")")
	// Node.js requests answered by Parley: server count and the chat sockets.
	waitOutput(t, out, "cluster: 2 servers")
	waitOutput(t, out, "alice (socket ")
	waitOutput(t, out, "bob (socket ")

	bob.Close()
	waitOutput(t, out, "broadcast from the cluster: user disconnected "+bob.userID)

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	alice.Wait("user disconnected", isUserID("node-peer"))
	select {
	case err := <-done:
		done <- err // for the cleanup
		if err != nil {
			t.Fatalf("node-peer exited with %v:\n%s", err, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("node-peer did not exit on SIGINT:\n%s", out.String())
	}
	if strings.Contains(out.String(), "failed") {
		t.Errorf("node-peer reported a failure:\n%s", out.String())
	}
}
