package adapter_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/adapter"
	ct "github.com/parley-chat/parley/internal/testrig/clustertest"
	"github.com/parley-chat/parley/internal/testrig/redistest"
)

// TestMixedCluster runs every cluster operation in a cluster of two Parley
// nodes and a Node.js socket.io 4.8.4 node with @socket.io/redis-adapter
// 8.3.0, once from a Parley node and once from the Node node, and checks
// what every node's clients see. It then has the Node emitter
// (@socket.io/redis-emitter 5.1.0) drive the cluster.
func TestMixedCluster(t *testing.T) {
	r := redistest.Start(t)
	nodes := startGoNodes(t, func() redis.UniversalClient { return r.Client(t) }, "A", "B")
	peer := ct.StartNodePeer(t, "N", r.URL(), ct.NodePeerOptions{
		Namespaces:      []string{"/admin"},
		RequestsTimeout: requestsTimeout,
	})
	cl := newCluster(t, nodes[0], nodes[1], peer)
	t.Run("from-parley", func(t *testing.T) { runScenarios(t, cl, nodes[0]) })
	t.Run("from-node", func(t *testing.T) { runScenarios(t, cl, peer) })
	t.Run("node-emitter", func(t *testing.T) { testNodeEmitter(t, cl, peer) })
	t.Run("relay", func(t *testing.T) { testRelay(t, cl) })
}

// testNodeEmitter drives the cluster with the Node emitter (which speaks
// the same classic protocol, with its own key order and without uid on
// joins) and checks every node's clients.
func testNodeEmitter(t *testing.T, cl *cluster, peer *ct.NodePeer) {
	t.Run("emit-all", func(t *testing.T) {
		tag := cl.tag("emitter-all")
		peer.Call(t, "emitterEmit", map[string]any{"nsp": "/", "event": "ev", "args": []any{tag, []byte{9, 8}}})
		cl.expect(t, peer, "ev", tag, cl.all())
	})
	t.Run("emit-room-except", func(t *testing.T) {
		tag := cl.tag("emitter-room")
		peer.Call(t, "emitterEmit", map[string]any{"nsp": "/", "rooms": []string{"r1", "r2"}, "except": []string{"only-A"}, "volatile": true, "event": "ev", "args": []any{tag}})
		cl.expect(t, peer, "ev", tag, except(cl.all(), cl.main["A"][0]))
	})
	t.Run("emit-one-room", func(t *testing.T) {
		tag := cl.tag("emitter-one")
		peer.Call(t, "emitterEmit", map[string]any{"nsp": "/", "rooms": []string{"r2"}, "compress": false, "event": "ev", "args": []any{tag}})
		cl.expect(t, peer, "ev", tag, cl.x(1))
	})
	t.Run("emit-numeric-room", func(t *testing.T) {
		// JavaScript rooms may be numbers: the room's channel and the
		// message carry 42, which Parley reads as the room "42".
		c := ct.Dial(t, cl.members[0].URL(), "/", "numeric", "42")
		tag := cl.tag("emitter-numeric")
		peer.Call(t, "emitterEmit", map[string]any{"nsp": "/", "rooms": []any{42}, "event": "ev", "args": []any{tag}})
		c.Wait(t, "ev", ct.WithArg(tag))
		c.Close()
		waitMembers(t, peer, "42")
	})
	t.Run("emit-namespace", func(t *testing.T) {
		tag := cl.tag("emitter-admin")
		peer.Call(t, "emitterEmit", map[string]any{"nsp": "/admin", "event": "adm", "args": []any{tag}})
		for _, c := range cl.admin {
			c.Wait(t, "adm", ct.WithArg(tag))
		}
	})
	t.Run("join-leave", func(t *testing.T) {
		tag := cl.tag("emitter-join")
		room := "ej-" + tag
		peer.Call(t, "emitterJoin", map[string]any{"nsp": "/", "rooms": []string{"r1"}, "join": []string{room}})
		waitMembers(t, peer, room, cl.x(0)...)
		peer.Call(t, "emitterLeave", map[string]any{"nsp": "/", "rooms": []string{"only-B"}, "leave": []string{room}})
		waitMembers(t, peer, room, except(cl.x(0), cl.main["B"][0])...)
		peer.Call(t, "emitterEmit", map[string]any{"nsp": "/", "rooms": []string{room}, "event": "ev", "args": []any{tag}})
		cl.expect(t, peer, "ev", tag, except(cl.x(0), cl.main["B"][0]))
	})
	t.Run("disconnect", func(t *testing.T) {
		tag := cl.tag("emitter-doomed")
		var doomed []*ct.Client
		for _, m := range cl.members {
			doomed = append(doomed, ct.Dial(t, m.URL(), "/", "edoomed-"+m.Name()+"-"+tag, "edoomed-"+tag))
		}
		peer.Call(t, "emitterDisconnect", map[string]any{"nsp": "/", "rooms": []string{"edoomed-" + tag}, "close": true})
		for _, c := range doomed {
			c.Wait(t, "disconnect", nil)
		}
	})
	t.Run("serverSideEmit", func(t *testing.T) {
		tag := cl.tag("emitter-sse")
		peer.Call(t, "emitterServerSideEmit", map[string]any{"nsp": "/", "event": "sse", "args": []any{tag}})
		for _, m := range cl.members {
			ct.Eventually(t, m.Name()+" gets the emitter's server-side event", func() error {
				if !hasEvent(m.ServerSideEvents(t, "/"), tag) {
					return errNotYet
				}
				return nil
			})
		}
	})
}

// TestSpecificResponseChannel has a Parley node answer on each requester's
// own response channel (PublishOnSpecificResponseChannel), which Node
// adapters since 7.1 and Parley nodes listen to: requests from a Node node
// and from a Parley node still complete, and the answers do not touch the
// shared channel.
func TestSpecificResponseChannel(t *testing.T) {
	r := redistest.Start(t)
	a := ct.StartGoNode(t, "A", r.Client(t), ct.GoNodeOptions{Config: adapter.Config{PublishOnSpecificResponseChannel: true}})
	b := ct.StartGoNode(t, "B", r.Client(t), ct.GoNodeOptions{})
	peer := ct.StartNodePeer(t, "N", r.URL(), ct.NodePeerOptions{})
	ct.WaitReady(t, a, b)
	ctx := context.Background()
	spy := r.Client(t).PSubscribe(ctx, "socket.io-response#*")
	defer spy.Close()
	if _, err := spy.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	ca := ct.Dial(t, a.URL(), "/", "A-x1")
	ct.Eventually(t, "three nodes", func() error {
		if n := b.ServerCount(t, "/"); n != 3 {
			return fmt.Errorf("count %d", n)
		}
		return nil
	})
	for _, m := range []ct.Member{peer, b} {
		sockets, err := m.FetchSockets(t, "/", ct.Target{})
		if err != nil || len(sockets) != 1 || sockets[0].ID != ca.ID() {
			t.Fatalf("%s: fetchSockets = %v, %v; want A's socket", m.Name(), sockets, err)
		}
	}
	// A answered twice, each time on the requester's own channel.
	found := 0
	for found < 2 {
		rctx, cancel := context.WithTimeout(ctx, ct.WaitFor)
		msg, err := spy.ReceiveMessage(rctx)
		cancel()
		if err != nil {
			t.Fatalf("A's answers not seen: %v", err)
		}
		if !strings.Contains(msg.Payload, ca.ID()) {
			continue
		}
		found++
		if msg.Channel == "socket.io-response#/#" || !strings.HasPrefix(msg.Channel, "socket.io-response#/#") {
			t.Errorf("A answered on %s, not on the requester's channel", msg.Channel)
		}
	}
}
