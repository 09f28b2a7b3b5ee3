package adapter_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/adapter"
	ct "github.com/parley-chat/parley/internal/testrig/clustertest"
	"github.com/parley-chat/parley/internal/testrig/redistest"
	"github.com/parley-chat/parley/internal/wire"
	"github.com/parley-chat/parley/socketio"
)

// recoveryCluster is a streams cluster with connection state recovery on:
// Parley nodes P and Q, a Node.js node N (@socket.io/redis-streams-adapter
// 0.3.1, socket.io 4.8.4), and socket.io-client 4.8.4 clients reaching them
// through a proxy that can cut their connection and send them elsewhere.
type recoveryCluster struct {
	redis   *redistest.Server
	raw     *redis.Client
	p, q    *ct.GoNode
	n       *ct.NodePeer
	clients *ct.NodeClients
	proxy   *ct.Proxy
}

func startRecoveryCluster(t *testing.T) *recoveryCluster {
	r := redistest.Start(t)
	rc := &recoveryCluster{redis: r, raw: r.Client(t)}
	opts := ct.GoNodeOptions{Adapter: ct.Streams(adapter.StreamsConfig{}), Recovery: true}
	rc.p = ct.StartGoNode(t, "P", r.Client(t), opts)
	rc.q = ct.StartGoNode(t, "Q", r.Client(t), opts)
	rc.n = ct.StartNodePeer(t, "N", r.URL(), ct.NodePeerOptions{Adapter: "streams", Recovery: true})
	ct.WaitReady(t, rc.p, rc.q)
	ct.Eventually(t, "three nodes", func() error {
		if n := rc.p.ServerCount(t, "/"); n != 3 {
			return fmt.Errorf("server count %d", n)
		}
		return nil
	})
	rc.clients = ct.StartNodeClients(t)
	rc.proxy = ct.StartProxy(t, rc.p.URL())
	return rc
}

// TestRecoveryAcrossNodes disconnects a socket.io-client from one node and
// has it reconnect to another, in every direction between Parley and
// Node.js (Parley → Node, Node → Parley, Parley → Parley). Each time it must
// come back with the same socket id, recovered, in its rooms, and get every
// packet sent meanwhile to it, its room or everyone (from Parley and Node
// origins, each with its stream offset), and none of the others.
func TestRecoveryAcrossNodes(t *testing.T) {
	rc := startRecoveryCluster(t)
	sid := rc.clients.Connect(t, "c", rc.proxy.URL()+"/", map[string]any{"name": "c", "rooms": []any{"room-r"}})
	rc.waitMember(t, rc.p, "room-r", sid)
	// A first packet gives the client an offset to recover from.
	rc.n.Emit(t, "/", ct.Target{Rooms: []string{"room-r"}}, "ev", "warmup")
	rc.waitEvent(t, "c", "warmup")

	hops := []struct {
		name     string
		from, to ct.Member
	}{
		{"parley-to-node", rc.p, rc.n},
		{"node-to-parley", rc.n, rc.q},
		{"parley-to-parley", rc.q, rc.p},
	}
	for _, hop := range hops {
		t.Run(hop.name, func(t *testing.T) {
			connects := rc.count(t, "c", "connect")
			rc.proxy.Hold() // cut; reconnection attempts fail meanwhile
			rc.waitSession(t)
			tags := rc.missWhileAway(t, hop.name, sid)
			rc.proxy.SwitchTo(hop.to.URL())
			ct.Eventually(t, "reconnection", func() error {
				if rc.count(t, "c", "connect") == connects {
					return errNotYet
				}
				return nil
			})
			st := rc.clients.State(t, "c")
			if st.ID != sid || !st.Recovered {
				t.Fatalf("reconnected as %s (recovered: %v), want %s recovered", st.ID, st.Recovered, sid)
			}
			rc.checkMissed(t, tags)
			// Its rooms came along: a broadcast to its room from another node
			// reaches it on its new node.
			rc.waitMember(t, hop.to, "room-r", sid)
			after := "after-" + hop.name
			hop.from.Emit(t, "/", ct.Target{Rooms: []string{"room-r"}}, "ev", after)
			rc.waitEvent(t, "c", after)
		})
	}
	for _, n := range []*ct.GoNode{rc.p, rc.q} {
		if got := restores(t, n, "recovered"); got != 1 {
			t.Errorf("%s: %v recoveries counted, want 1", n.Name(), got)
		}
	}
}

// missWhileAway sends, while the client is away, one packet to its room
// from Node, one to everyone from Parley, one to its socket id from
// Parley, what a socket.io-client on Parley and one on Node.js send with
// binary relayed to its room by those nodes' handlers, and two it must not
// get (another room; its room except itself). It returns the tags the
// client must recover, in order.
func (rc *recoveryCluster) missWhileAway(t *testing.T, hop, sid string) []string {
	tags := []string{"room-" + hop, "all-" + hop, "private-" + hop, "relay-p-" + hop, "relay-n-" + hop}
	rc.n.Emit(t, "/", ct.Target{Rooms: []string{"room-r"}}, "ev", tags[0])
	rc.p.Emit(t, "/", ct.Target{}, "ev", tags[1])
	rc.q.Emit(t, "/", ct.Target{Rooms: []string{sid}}, "ev", tags[2])
	rc.relay(t, "relay-p", rc.p, tags[3])
	rc.relay(t, "relay-n", rc.n, tags[4])
	rc.p.Emit(t, "/", ct.Target{Rooms: []string{"elsewhere"}}, "ev", "not-"+hop)
	rc.n.Emit(t, "/", ct.Target{Rooms: []string{"room-r"}, Except: []string{sid}}, "ev", "except-"+hop)
	// Every one of them is in the stream before the client comes back.
	ct.Eventually(t, "packets in the stream", func() error {
		entries, err := rc.raw.XRevRangeN(context.Background(), "socket.io", "+", "-", 10).Result()
		if err != nil {
			return err
		}
		for _, e := range entries {
			if data, _ := e.Values["data"].(string); strings.Contains(data, "except-"+hop) {
				return nil
			}
		}
		return errNotYet
	})
	return tags
}

// relay has socket.io-client name, connected to node m (once, directly),
// send tag and jsPayload (binary as Buffer, ArrayBuffer, Uint8Array) for
// m's handler to relay to the room "room-r".
func (rc *recoveryCluster) relay(t *testing.T, name string, m ct.Member, tag string) {
	if !slices.Contains(rc.clients.Names(), name) {
		rc.clients.Connect(t, name, m.URL()+"/", map[string]any{"name": name})
	}
	spec := ct.Relay{How: "room", Room: "room-r", Event: "ev"}
	res, err := rc.clients.EmitWithAck(t, name, ct.WaitFor, "relay", append([]any{spec.Map(), tag}, jsPayload...)...)
	if err != nil || len(res) != 1 || !reflect.DeepEqual(res[0], map[string]any{"ok": true}) {
		t.Fatalf("%s: relay answered %v, %v", name, res, err)
	}
}

// checkMissed requires exactly the tags since the last disconnect (the
// client delivers the missed packets just before its connect event), each
// with a stream id as last argument, in stream order (packets from
// different nodes reach the stream in either order); the relayed ones
// carry jsWant, their binary byte for byte.
func (rc *recoveryCluster) checkMissed(t *testing.T, tags []string) {
	t.Helper()
	ct.Eventually(t, "missed packets", func() error {
		events := rc.clients.Events(t, "c")
		last := 0
		for i, e := range events {
			if e.Name == "disconnect" {
				last = i
			}
		}
		var got, offsets []string
		for _, e := range events[last+1:] {
			if e.Name != "ev" {
				continue
			}
			off, _ := e.Args[len(e.Args)-1].(string)
			if len(e.Args) < 2 || !wire.ValidOffset(off) {
				return fmt.Errorf("event %v lacks its offset", e.Args)
			}
			tag := fmt.Sprint(e.Args[0])
			want := []any{}
			if strings.HasPrefix(tag, "relay-") {
				want = jsWant
			}
			if args := e.Args[1 : len(e.Args)-1]; !reflect.DeepEqual(args, want) {
				t.Fatalf("recovered %s with\n%#v\nwant\n%#v", tag, args, want)
			}
			got, offsets = append(got, tag), append(offsets, off)
		}
		if len(got) < len(tags) {
			return fmt.Errorf("got %v, want %v", got, tags)
		}
		if !sameSet(got, tags) {
			t.Fatalf("recovered %v, want exactly %v", got, tags)
		}
		for i := 1; i < len(offsets); i++ {
			if !streamOrder(offsets[i-1], offsets[i]) {
				t.Fatalf("recovered out of stream order: %v", offsets)
			}
		}
		return nil
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// streamOrder reports whether stream id a comes before b.
func streamOrder(a, b string) bool {
	var am, as, bm, bs uint64
	_, _ = fmt.Sscanf(a, "%d-%d", &am, &as)
	_, _ = fmt.Sscanf(b, "%d-%d", &bm, &bs)
	return am < bm || (am == bm && as < bs)
}

func (rc *recoveryCluster) count(t *testing.T, client, name string) int {
	n := 0
	for _, e := range rc.clients.Events(t, client) {
		if e.Name == name {
			n++
		}
	}
	return n
}

func (rc *recoveryCluster) waitEvent(t *testing.T, client, tag string) {
	t.Helper()
	ct.Eventually(t, "event "+tag, func() error {
		for _, e := range rc.clients.Events(t, client) {
			if e.Name == "ev" && len(e.Args) > 0 && e.Args[0] == tag {
				return nil
			}
		}
		return errNotYet
	})
}

// waitSession waits until the node the client left has stored its session.
func (rc *recoveryCluster) waitSession(t *testing.T) {
	t.Helper()
	ct.Eventually(t, "session stored", func() error {
		keys, err := rc.raw.Keys(context.Background(), "sio:session:*").Result()
		if err != nil || len(keys) == 0 {
			return errNotYet
		}
		return nil
	})
}

func (rc *recoveryCluster) waitMember(t *testing.T, m ct.Member, room, sid string) {
	t.Helper()
	ct.Eventually(t, sid+" in "+room, func() error {
		sockets, err := m.FetchSockets(t, "/", ct.Target{Rooms: []string{room}})
		if err != nil {
			return err
		}
		for _, s := range sockets {
			if s.ID == sid {
				return nil
			}
		}
		return errNotYet
	})
}

func restores(t *testing.T, n *ct.GoNode, result string) float64 {
	t.Helper()
	families, err := n.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "parley_adapter_session_restores_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestRecoveryPrivateEmits: with recovery on, what a Parley node emits to
// one of its sockets (socket.Emit, which the server routes through the
// adapter) is not added to the stream, yet carries the offset of the last
// entry, so the client can still recover from it.
func TestRecoveryPrivateEmits(t *testing.T) {
	rc := startRecoveryCluster(t)
	sid := rc.clients.Connect(t, "c", rc.proxy.URL()+"/", map[string]any{"name": "c"})
	rc.p.Emit(t, "/", ct.Target{}, "ev", "anchor")
	rc.waitEvent(t, "c", "anchor")
	ctx := context.Background()
	before, err := rc.raw.XLen(ctx, "socket.io").Result()
	if err != nil {
		t.Fatal(err)
	}
	last, err := rc.raw.XRevRangeN(ctx, "socket.io", "+", "-", 1).Result()
	if err != nil || len(last) != 1 {
		t.Fatalf("last entry: %v %v", last, err)
	}
	s := rc.p.IO.Sockets().Socket(sid)
	if s == nil {
		t.Fatalf("socket %s not on P", sid)
	}
	for i := range 5 {
		if err := s.Emit("ev", fmt.Sprintf("private-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	rc.waitEvent(t, "c", "private-4")
	for _, e := range rc.clients.Events(t, "c") {
		if tag, _ := e.Args[0].(string); e.Name == "ev" && strings.HasPrefix(tag, "private-") && (len(e.Args) != 2 || e.Args[1] != last[0].ID) {
			t.Errorf("private emit %v, want the offset %s", e.Args, last[0].ID)
		}
	}
	if after, _ := rc.raw.XLen(ctx, "socket.io").Result(); after != before {
		t.Errorf("private emits added %d stream entries", after-before)
	}
	// The client recovers from that offset, on a Node node.
	rc.proxy.Hold()
	rc.waitSession(t)
	rc.q.Emit(t, "/", ct.Target{}, "ev", "while-away")
	rc.proxy.SwitchTo(rc.n.URL())
	rc.waitEvent(t, "c", "while-away")
	if st := rc.clients.State(t, "c"); st.ID != sid || !st.Recovered {
		t.Fatalf("state %+v, want %s recovered", st, sid)
	}
}

// TestRecoveryBounds drives RestoreSession directly: the missed packets are
// read in batches (never an unbounded XRANGE) and filtered by namespace,
// rooms and except; a client that missed more than RestoreLimit entries, a
// session that is gone, an offset trimmed from the stream or not a stream id
// all give no recovery, each counted under its result.
func TestRecoveryBounds(t *testing.T) {
	r := redistest.Start(t)
	raw := r.Client(t)
	n := ct.StartGoNode(t, "A", r.Client(t), ct.GoNodeOptions{
		Adapter:    ct.Streams(adapter.StreamsConfig{RestoreBatch: 3, RestoreLimit: 10}),
		Recovery:   true,
		Namespaces: []string{"/admin"},
	})
	ct.WaitReady(t, n)
	ctx := context.Background()
	a := n.Adapter("/")
	persist := func(pid string) {
		a.PersistSession(&socketio.SessionToPersist{SID: "sid-" + pid, PID: pid, Rooms: []string{"sid-" + pid, "mine"}, Data: map[string]any{"k": pid}})
		ct.Eventually(t, "session "+pid, func() error {
			if n, _ := raw.Exists(ctx, "sio:session:"+pid).Result(); n != 1 {
				return errNotYet
			}
			return nil
		})
	}
	offset := func() string {
		n.Emit(t, "/", ct.Target{Rooms: []string{"nobody"}}, "ev", "mark")
		var id string
		ct.Eventually(t, "offset", func() error {
			last, err := raw.XRevRangeN(ctx, "socket.io", "+", "-", 1).Result()
			if err != nil || len(last) == 0 || !strings.Contains(fmt.Sprint(last[0].Values), "mark") {
				return errNotYet
			}
			id = last[0].ID
			return nil
		})
		return id
	}

	persist("p1")
	from := offset()
	want := []string{}
	for i := range 7 { // three batches of 3 + the end
		switch i % 4 {
		case 0:
			n.Emit(t, "/", ct.Target{Rooms: []string{"mine"}}, "ev", fmt.Sprint(i))
			want = append(want, fmt.Sprint(i))
		case 1:
			n.Emit(t, "/", ct.Target{}, "ev", fmt.Sprint(i))
			want = append(want, fmt.Sprint(i))
		case 2:
			n.Emit(t, "/", ct.Target{Rooms: []string{"mine"}, Except: []string{"sid-p1"}}, "ev", "excluded")
		case 3:
			n.Emit(t, "/admin", ct.Target{}, "ev", "other-namespace")
		}
	}
	waitStreamLen(t, raw, 8)
	s, err := a.RestoreSession(ctx, "p1", from)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	var got []string
	for _, args := range s.MissedPackets {
		got = append(got, fmt.Sprint(args[1]))
		if !wire.ValidOffset(fmt.Sprint(args[len(args)-1])) {
			t.Errorf("missed packet %v has no offset", args)
		}
	}
	if !slices.Equal(got, want) || s.SID != "sid-p1" || !slices.Contains(s.Rooms, "mine") {
		t.Fatalf("restored %+v with %v, want %v", s.SessionToPersist, got, want)
	}
	if _, err := a.RestoreSession(ctx, "p1", from); err == nil {
		t.Error("a session was restored twice")
	}

	persist("p2")
	from = offset()
	for i := range 11 {
		n.Emit(t, "/", ct.Target{}, "ev", fmt.Sprint("flood-", i))
	}
	waitStreamLen(t, raw, 8+1+11)
	if _, err := a.RestoreSession(ctx, "p2", from); err == nil || !strings.Contains(err.Error(), "more than 10") {
		t.Errorf("restore behind 11 entries with a limit of 10: %v", err)
	}

	persist("p3")
	from = offset()
	n.Emit(t, "/", ct.Target{}, "ev", "later")
	if err := raw.XTrimMaxLen(ctx, "socket.io", 1).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RestoreSession(ctx, "p3", from); err == nil {
		t.Error("restored from a trimmed offset")
	}
	if _, err := a.RestoreSession(ctx, "p3", "not-an-id"); err == nil {
		t.Error("restored from an invalid offset")
	}
	for result, want := range map[string]float64{"recovered": 1, "not_found": 1, "too_far_behind": 1, "offset_gone": 1, "invalid_offset": 1} {
		if got := restores(t, n, result); got != want {
			t.Errorf("%s: %v, want %v", result, got, want)
		}
	}
}

func waitStreamLen(t *testing.T, rdb *redis.Client, n int64) {
	t.Helper()
	ct.Eventually(t, "stream length", func() error {
		if got, _ := rdb.XLen(context.Background(), "socket.io").Result(); got < n {
			return fmt.Errorf("%d entries, want %d", got, n)
		}
		return nil
	})
}

// TestRecoveryAfterGracefulShutdown: a Parley node that shuts down stores
// the sessions of its sockets (closed with "server shutting down") before
// it leaves, so their clients recover on another node.
func TestRecoveryAfterGracefulShutdown(t *testing.T) {
	rc := startRecoveryCluster(t)
	sid := rc.clients.Connect(t, "c", rc.proxy.URL()+"/", map[string]any{"name": "c", "rooms": []any{"room-r"}})
	rc.waitMember(t, rc.p, "room-r", sid)
	rc.n.Emit(t, "/", ct.Target{}, "ev", "warmup")
	rc.waitEvent(t, "c", "warmup")
	rc.p.Stop() // the socket is still connected: its session is stored on the way out
	rc.proxy.Hold()
	if n, err := rc.raw.Exists(context.Background(), "sio:session:"+rc.pid(t)).Result(); err != nil || n != 1 {
		t.Fatalf("no session stored by the node that shut down: %v, %v", n, err)
	}
	rc.n.Emit(t, "/", ct.Target{Rooms: []string{"room-r"}}, "ev", "while-down")
	rc.proxy.SwitchTo(rc.q.URL())
	rc.waitEvent(t, "c", "while-down")
	if st := rc.clients.State(t, "c"); st.ID != sid || !st.Recovered {
		t.Fatalf("state %+v, want %s recovered", st, sid)
	}
}

// pid returns the private id of the only stored session.
func (rc *recoveryCluster) pid(t *testing.T) string {
	t.Helper()
	keys, err := rc.raw.Keys(context.Background(), "sio:session:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("stored sessions: %v, %v", keys, err)
	}
	return strings.TrimPrefix(keys[0], "sio:session:")
}
