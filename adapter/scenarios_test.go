package adapter_test

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ct "github.com/parley-chat/parley/internal/testrig/clustertest"
)

// requestsTimeout is the cluster requests' timeout of the test clusters:
// short, so the timeout scenarios are quick, long enough for a loaded
// machine to answer in time.
const requestsTimeout = 2 * time.Second

// cluster is a test cluster: its members and, on each, two clients of "/"
// (x1 in rooms r1 and only-<member>, x2 in r2 and oddRoom) and one of
// "/admin" (in ar).
type cluster struct {
	// protocol is the members' adapter protocol: "classic", "sharded" or
	// "streams".
	protocol string
	members  []ct.Member
	main     map[string][]*ct.Client // by member name: x1, x2
	admin    map[string]*ct.Client
	seq      atomic.Int64
}

func newCluster(t *testing.T, members ...ct.Member) *cluster {
	return newClusterOf(t, "classic", members...)
}

// newClusterOf is newCluster for members of another protocol.
func newClusterOf(t *testing.T, protocol string, members ...ct.Member) *cluster {
	t.Helper()
	cl := &cluster{protocol: protocol, members: members, main: map[string][]*ct.Client{}, admin: map[string]*ct.Client{}}
	for _, m := range members {
		cl.main[m.Name()] = []*ct.Client{
			ct.Dial(t, m.URL(), "/", m.Name()+"-x1", "r1", "only-"+m.Name()),
			ct.Dial(t, m.URL(), "/", m.Name()+"-x2", "r2", oddRoom),
		}
		cl.admin[m.Name()] = ct.Dial(t, m.URL(), "/admin", m.Name()+"-adm", "ar")
	}
	for _, m := range members {
		ct.Eventually(t, m.Name()+" counts every member", func() error {
			if n := m.ServerCount(t, "/"); n != int64(len(members)) {
				return fmt.Errorf("server count %d, want %d", n, len(members))
			}
			return nil
		})
	}
	// A client sees "connect" before its server's connection handler has
	// joined it to its rooms (as with Node's socket.io).
	waitMembers(t, members[0], "r1", cl.x(0)...)
	waitMembers(t, members[0], "r2", cl.x(1)...)
	cl.waitReachable(t, members[0], "r1", cl.x(0)...)
	cl.waitReachable(t, members[0], "r2", cl.x(1)...)
	cl.waitReachable(t, members[0], oddRoom, cl.x(1)...)
	return cl
}

// waitReachable waits until a broadcast from o to room reaches every client
// in want. In the sharded adapter's dynamic modes a node subscribes to a
// room's own channel once a local socket joined the room, and the
// subscription completes later (in Node's adapter as in Parley's): a
// broadcast to a room just joined on another node can reach Redis before
// the subscription does and miss that node. Scenarios that broadcast to a
// room just joined wait for this first; fetchSockets seeing the members is
// not enough.
func (cl *cluster) waitReachable(t *testing.T, o ct.Member, room string, want ...*ct.Client) {
	t.Helper()
	deadline := time.Now().Add(ct.WaitFor)
	for {
		tag := cl.tag("probe")
		o.Emit(t, "/", ct.Target{Rooms: []string{room}}, "probe", tag)
		var missed []string
		for _, c := range want {
			if _, ok := c.WaitFor("probe", ct.WithArg(tag), 300*time.Millisecond); !ok {
				missed = append(missed, c.Name)
			}
		}
		if len(missed) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("broadcasts from %s to room %q do not reach %v", o.Name(), room, missed)
		}
	}
}

// oddRoom has the characters that matter in channel names and patterns.
const oddRoom = "odd#room*?[ü]"

// tag returns a unique value to tell one scenario's events from another's.
func (cl *cluster) tag(name string) string { return fmt.Sprintf("%s-%d", name, cl.seq.Add(1)) }

func (cl *cluster) all() []*ct.Client {
	var out []*ct.Client
	for _, m := range cl.members {
		out = append(out, cl.main[m.Name()]...)
	}
	return out
}

// x returns the clients x1 (i = 0) or x2 (i = 1) of every member.
func (cl *cluster) x(i int) []*ct.Client {
	var out []*ct.Client
	for _, m := range cl.members {
		out = append(out, cl.main[m.Name()][i])
	}
	return out
}

func (cl *cluster) others(o ct.Member) []ct.Member {
	var out []ct.Member
	for _, m := range cl.members {
		if m.Name() != o.Name() {
			out = append(out, m)
		}
	}
	return out
}

// expect checks that exactly the clients in want got event ev with tag,
// among all. It waits for the wanted ones, then has o broadcast a marker to
// everyone: messages from one node arrive in order, so once every client
// has the marker, a client that should not get the event would have it.
func (cl *cluster) expect(t *testing.T, o ct.Member, ev, tag string, want []*ct.Client) {
	t.Helper()
	for _, c := range want {
		c.Wait(t, ev, ct.WithArg(tag))
	}
	o.Emit(t, "/", ct.Target{}, "mark", tag)
	for _, c := range cl.all() {
		c.Wait(t, "mark", ct.WithArg(tag))
	}
	for _, c := range cl.all() {
		if c.Got(ev, tag) && !slices.Contains(want, c) {
			t.Errorf("client %s got %s %s, which was not meant for it", c.Name, ev, tag)
		}
	}
}

func except(all []*ct.Client, drop ...*ct.Client) []*ct.Client {
	return slices.DeleteFunc(slices.Clone(all), func(c *ct.Client) bool { return slices.Contains(drop, c) })
}

func names(clients []*ct.Client) []string {
	out := make([]string, len(clients))
	for i, c := range clients {
		out[i] = c.Name
	}
	sort.Strings(out)
	return out
}

func sortedStrings(values []any) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = fmt.Sprint(v)
	}
	sort.Strings(out)
	return out
}

type scenario struct {
	name string
	run  func(t *testing.T, cl *cluster, o ct.Member)
	// parleyOrClassic marks operations a Node.js origin has only with the
	// classic adapter (allRooms is not part of the ClusterAdapter
	// protocol; Parley's cluster nodes answer it from fetchSockets).
	parleyOrClassic bool
}

// scenarios are every cluster operation of socket.io, run from the origin
// node o and observed on every member.
var scenarios = []scenario{
	{name: "broadcast/all", run: func(t *testing.T, cl *cluster, o ct.Member) {
		tag := cl.tag("all")
		o.Emit(t, "/", ct.Target{}, "ev", tag)
		cl.expect(t, o, "ev", tag, cl.all())
	}},
	{name: "broadcast/one-room", run: func(t *testing.T, cl *cluster, o ct.Member) {
		tag := cl.tag("room")
		o.Emit(t, "/", ct.Target{Rooms: []string{"r2"}}, "ev", tag)
		cl.expect(t, o, "ev", tag, cl.x(1))
	}},
	{name: "broadcast/odd-room-name", run: func(t *testing.T, cl *cluster, o ct.Member) {
		tag := cl.tag("odd")
		o.Emit(t, "/", ct.Target{Rooms: []string{oddRoom}}, "ev", tag)
		cl.expect(t, o, "ev", tag, cl.x(1))
	}},
	{name: "broadcast/rooms-except-room", run: func(t *testing.T, cl *cluster, o ct.Member) {
		tag := cl.tag("except")
		other := cl.others(o)[0]
		o.Emit(t, "/", ct.Target{Rooms: []string{"r1", "r2"}, Except: []string{"only-" + other.Name()}}, "ev", tag)
		cl.expect(t, o, "ev", tag, except(cl.all(), cl.main[other.Name()][0]))
	}},
	{name: "broadcast/except-remote-socket", run: func(t *testing.T, cl *cluster, o ct.Member) {
		tag := cl.tag("except-sid")
		victim := cl.main[cl.others(o)[0].Name()][1]
		o.Emit(t, "/", ct.Target{Except: []string{victim.ID()}}, "ev", tag)
		cl.expect(t, o, "ev", tag, except(cl.all(), victim))
	}},
	{name: "broadcast/to-remote-socket", run: func(t *testing.T, cl *cluster, o ct.Member) {
		tag := cl.tag("to-sid")
		target := cl.main[cl.others(o)[0].Name()][1]
		o.Emit(t, "/", ct.Target{Rooms: []string{target.ID()}}, "ev", tag)
		cl.expect(t, o, "ev", tag, []*ct.Client{target})
	}},
	{name: "broadcast/local", run: func(t *testing.T, cl *cluster, o ct.Member) {
		tag := cl.tag("local")
		o.Emit(t, "/", ct.Target{Local: true}, "ev", tag)
		cl.expect(t, o, "ev", tag, cl.main[o.Name()])
	}},
	{name: "broadcast/volatile", run: func(t *testing.T, cl *cluster, o ct.Member) {
		// A volatile packet is dropped, by design, for a client whose
		// connection is busy writing: send a few, and every client must get
		// one of them, whatever node it is on.
		base := cl.tag("volatile")
		var tags []string
		got := func(c *ct.Client) bool {
			for _, tag := range tags {
				if c.Got("ev", tag) {
					return true
				}
			}
			return false
		}
		for i := 0; i < 10; i++ {
			tag := fmt.Sprintf("%s-%d", base, i)
			tags = append(tags, tag)
			o.Emit(t, "/", ct.Target{Volatile: true}, "ev", tag)
			o.Emit(t, "/", ct.Target{}, "mark", tag)
			done := true
			for _, c := range cl.all() {
				c.Wait(t, "mark", ct.WithArg(tag))
				done = done && got(c)
			}
			if done {
				return
			}
		}
		for _, c := range cl.all() {
			if !got(c) {
				t.Errorf("client %s got none of 10 volatile packets", c.Name)
			}
		}
	}},
	{name: "broadcast/compress", run: func(t *testing.T, cl *cluster, o ct.Member) {
		tag := cl.tag("compress")
		off := false
		o.Emit(t, "/", ct.Target{Compress: &off, Rooms: []string{"r1"}}, "ev", tag)
		cl.expect(t, o, "ev", tag, cl.x(0))
	}},
	{name: "broadcast/values-and-binary", run: scenarioValues},
	{name: "ack/all-clients", run: func(t *testing.T, cl *cluster, o ct.Member) {
		responses, err := o.EmitWithAck(t, "/", ct.Target{}, requestsTimeout*2, "ask", cl.tag("ask"))
		if err != nil {
			t.Fatalf("broadcast with acks: %v (responses %v)", err, responses)
		}
		if got, want := sortedStrings(responses), names(cl.all()); !reflect.DeepEqual(got, want) {
			t.Fatalf("responses %v, want %v", got, want)
		}
	}},
	{name: "ack/one-room", run: func(t *testing.T, cl *cluster, o ct.Member) {
		responses, err := o.EmitWithAck(t, "/", ct.Target{Rooms: []string{"r2"}}, requestsTimeout*2, "ask", cl.tag("ask"))
		if err != nil {
			t.Fatalf("broadcast with acks: %v", err)
		}
		if got, want := sortedStrings(responses), names(cl.x(1)); !reflect.DeepEqual(got, want) {
			t.Fatalf("responses %v, want %v", got, want)
		}
	}},
	{name: "ack/timeout-honoured", run: func(t *testing.T, cl *cluster, o ct.Member) {
		silent := cl.main[cl.others(o)[0].Name()][0]
		silent.SetAckReply(nil)
		defer silent.SetAckReply(func(string, []any) []any { return []any{silent.Name} })
		const timeout = 700 * time.Millisecond
		start := time.Now()
		responses, err := o.EmitWithAck(t, "/", ct.Target{}, timeout, "ask", cl.tag("ask-silent"))
		if err == nil || !strings.Contains(err.Error(), "timed out") {
			t.Fatalf("err = %v, want a timeout", err)
		}
		if took := time.Since(start); took < timeout {
			t.Fatalf("gave up after %v, before the %v timeout", took, timeout)
		}
		if got, want := sortedStrings(responses), names(except(cl.all(), silent)); !reflect.DeepEqual(got, want) {
			t.Fatalf("partial responses %v, want %v", got, want)
		}
	}},
	{name: "ack/empty-room-completes", run: func(t *testing.T, cl *cluster, o ct.Member) {
		// With a long timeout, a wait for it would fail the test: the
		// operation must complete as soon as every node reported 0 clients.
		responses, err := o.EmitWithAck(t, "/", ct.Target{Rooms: []string{"nobody"}}, time.Minute, "ask", cl.tag("ask-none"))
		if err != nil || len(responses) != 0 {
			t.Fatalf("responses %v, err %v; want none and no error", responses, err)
		}
	}},
	{name: "fetchSockets/all", run: func(t *testing.T, cl *cluster, o ct.Member) {
		sockets, err := o.FetchSockets(t, "/", ct.Target{})
		if err != nil {
			t.Fatal(err)
		}
		checkSockets(t, cl, sockets, cl.all())
	}},
	{name: "fetchSockets/one-room", run: func(t *testing.T, cl *cluster, o ct.Member) {
		sockets, err := o.FetchSockets(t, "/", ct.Target{Rooms: []string{"r1"}})
		if err != nil {
			t.Fatal(err)
		}
		checkSockets(t, cl, sockets, cl.x(0))
	}},
	{name: "fetchSockets/remote-socket-emit-join-leave", run: scenarioRemoteSocket},
	{name: "fetchSockets/remote-socket-disconnect", run: func(t *testing.T, cl *cluster, o ct.Member) {
		other := cl.others(o)[0]
		victim := ct.Dial(t, other.URL(), "/", "victim-"+cl.tag("v"))
		o.RemoteDisconnect(t, "/", victim.ID(), true)
		victim.Wait(t, "disconnect", nil)
	}},
	{name: "socketsJoin-socketsLeave", run: scenarioJoinLeave},
	{name: "disconnectSockets", run: scenarioDisconnect},
	{name: "serverSideEmit/no-ack", run: func(t *testing.T, cl *cluster, o ct.Member) {
		tag := cl.tag("sse")
		o.ServerSideEmit(t, "/", "sse", tag, 7)
		for _, m := range cl.others(o) {
			ct.Eventually(t, m.Name()+" gets the server-side event", func() error {
				if !hasEvent(m.ServerSideEvents(t, "/"), tag) {
					return fmt.Errorf("not yet")
				}
				return nil
			})
		}
		if hasEvent(o.ServerSideEvents(t, "/"), tag) {
			t.Errorf("the sender got its own server-side event")
		}
	}},
	{name: "serverSideEmit/acks", run: func(t *testing.T, cl *cluster, o ct.Member) {
		tag := cl.tag("sse-ack")
		responses, err := o.ServerSideEmitWithAck(t, "/", "sse", tag)
		if err != nil {
			t.Fatalf("serverSideEmitWithAck: %v", err)
		}
		var got []string
		for _, r := range responses {
			m, _ := r.(map[string]any)
			if m["arg"] != tag {
				t.Errorf("response %v does not echo %s", r, tag)
			}
			got = append(got, fmt.Sprint(m["node"]))
		}
		sort.Strings(got)
		var want []string
		for _, m := range cl.others(o) {
			want = append(want, m.Name())
		}
		sort.Strings(want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("answers from %v, want %v", got, want)
		}
	}},
	{name: "serverSideEmit/ack-timeout", run: func(t *testing.T, cl *cluster, o ct.Member) {
		others := cl.others(o)
		mute := others[len(others)-1]
		responses, err := o.ServerSideEmitWithAck(t, "/", "sse", "mute-"+mute.Name())
		want := fmt.Sprintf("timeout reached: only %d responses received out of %d", len(others)-1, len(others))
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v, want %q", err, want)
		}
		if len(responses) != len(others)-1 {
			t.Fatalf("partial responses %v, want %d", responses, len(others)-1)
		}
	}},
	{name: "serverCount", run: func(t *testing.T, cl *cluster, o ct.Member) {
		for _, nsp := range []string{"/", "/admin"} {
			if n := o.ServerCount(t, nsp); n != int64(len(cl.members)) {
				t.Errorf("server count of %s = %d, want %d", nsp, n, len(cl.members))
			}
		}
	}},
	{name: "allRooms", parleyOrClassic: true, run: func(t *testing.T, cl *cluster, o ct.Member) {
		rooms, err := o.AllRooms(t, "/")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"r1", "r2"}
		for _, m := range cl.members {
			want = append(want, "only-"+m.Name())
		}
		for _, c := range cl.all() {
			want = append(want, c.ID())
		}
		for _, r := range want {
			if !slices.Contains(rooms, r) {
				t.Errorf("allRooms %v lacks %s", rooms, r)
			}
		}
	}},
	{name: "namespaces", run: scenarioNamespaces},
}

func runScenarios(t *testing.T, cl *cluster, o ct.Member) {
	_, fromNode := o.(*ct.NodePeer)
	for _, s := range scenarios {
		if s.parleyOrClassic && fromNode && cl.protocol != "classic" {
			continue // the Node.js adapter has no such operation
		}
		t.Run(s.name, func(t *testing.T) { s.run(t, cl, o) })
	}
}

func hasEvent(events [][]any, tag string) bool {
	return slices.ContainsFunc(events, func(args []any) bool { return len(args) > 0 && args[0] == tag })
}

// scenarioValues sends numbers, strings, maps, binary and nulls, and checks
// every client sees the same values, the origin's own clients (locally
// encoded) included.
func scenarioValues(t *testing.T, cl *cluster, o ct.Member) {
	tag := cl.tag("values")
	blob := []byte{0, 1, 2, 0xfe, 0xff}
	o.Emit(t, "/", ct.Target{}, "vals", tag, blob, 1.5, 42, -7, "ünï <&>", map[string]any{"k": "v", "n": []any{1, 2.25}, "b": blob}, true, nil)
	want := []any{tag, blob, 1.5, 42.0, -7.0, "ünï <&>", map[string]any{"k": "v", "n": []any{1.0, 2.25}, "b": blob}, true, nil}
	for _, c := range cl.all() {
		got := normalize(c.Wait(t, "vals", ct.WithArg(tag)))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("client %s got %#v, want %#v", c.Name, got, want)
		}
	}
}

// normalize turns the binary types of the Go client into []byte.
func normalize(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case interface{ Bytes() []byte }:
		return x.Bytes()
	}
	return v
}

func checkSockets(t *testing.T, cl *cluster, got []ct.Socket, want []*ct.Client) {
	t.Helper()
	byID := map[string]ct.Socket{}
	for _, s := range got {
		byID[s.ID] = s
	}
	if len(got) != len(want) {
		t.Errorf("fetched %d sockets, want %d", len(got), len(want))
	}
	for _, c := range want {
		s, ok := byID[c.ID()]
		if !ok {
			t.Errorf("socket of %s (%s) not fetched", c.Name, c.ID())
			continue
		}
		member, _, _ := strings.Cut(c.Name, "-")
		if s.Data["name"] != c.Name || s.Data["node"] != member {
			t.Errorf("socket of %s: data %v", c.Name, s.Data)
		}
		if s.HandshakeString("auth", "name") != c.Name || s.HandshakeString("query", "who") != c.Name {
			t.Errorf("socket of %s: handshake %v", c.Name, s.Handshake)
		}
		if !slices.Contains(s.Rooms, c.ID()) || !(slices.Contains(s.Rooms, "r1") || slices.Contains(s.Rooms, "r2")) {
			t.Errorf("socket of %s: rooms %v", c.Name, s.Rooms)
		}
		for _, field := range []string{"time", "address", "url", "issued", "headers"} {
			if v := s.Handshake[field]; v == nil || v == "" || v == 0.0 || v == int64(0) {
				t.Errorf("socket of %s: handshake.%s is empty in %v", c.Name, field, s.Handshake)
			}
		}
	}
	_ = cl
}

func scenarioRemoteSocket(t *testing.T, cl *cluster, o ct.Member) {
	target := cl.main[cl.others(o)[0].Name()][0]
	tag := cl.tag("remote")
	o.RemoteEmit(t, "/", target.ID(), "direct", tag, "x")
	cl.expect(t, o, "direct", tag, []*ct.Client{target})

	room := "joined-" + tag
	o.RemoteJoin(t, "/", target.ID(), room)
	waitMembers(t, o, room, target)
	cl.waitReachable(t, o, room, target)
	o.Emit(t, "/", ct.Target{Rooms: []string{room}}, "in-room", tag)
	cl.expect(t, o, "in-room", tag, []*ct.Client{target})

	o.RemoteLeave(t, "/", target.ID(), room)
	waitMembers(t, o, room)
	o.Emit(t, "/", ct.Target{Rooms: []string{room}}, "in-room", tag+"-after")
	cl.expect(t, o, "in-room", tag+"-after", nil)
}

// waitMembers waits until fetchSockets from o finds exactly want in room:
// joins and leaves are published, so they apply a little later (on a Node
// origin, even its own sockets join only when its message comes back).
func waitMembers(t *testing.T, o ct.Member, room string, want ...*ct.Client) {
	t.Helper()
	ct.Eventually(t, "members of "+room, func() error {
		sockets, err := o.FetchSockets(t, "/", ct.Target{Rooms: []string{room}})
		if err != nil {
			return err
		}
		var got []string
		for _, s := range sockets {
			got = append(got, s.ID)
		}
		var ids []string
		for _, c := range want {
			ids = append(ids, c.ID())
		}
		sort.Strings(got)
		sort.Strings(ids)
		if !reflect.DeepEqual(got, ids) {
			return fmt.Errorf("members %v, want %v", got, ids)
		}
		return nil
	})
}

func scenarioJoinLeave(t *testing.T, cl *cluster, o ct.Member) {
	tag := cl.tag("join")
	room := "sj-" + tag
	other := cl.others(o)[0]
	o.SocketsJoin(t, "/", ct.Target{Rooms: []string{"r2"}}, room)
	o.SocketsJoin(t, "/", ct.Target{Rooms: []string{"r1"}, Except: []string{"only-" + other.Name()}}, room)
	want := except(cl.all(), cl.main[other.Name()][0])
	waitMembers(t, o, room, want...)
	cl.waitReachable(t, o, room, want...)
	o.Emit(t, "/", ct.Target{Rooms: []string{room}}, "sj", tag)
	cl.expect(t, o, "sj", tag, want)

	o.SocketsLeave(t, "/", ct.Target{Rooms: []string{"r2"}}, room)
	waitMembers(t, o, room, except(cl.x(0), cl.main[other.Name()][0])...)
	o.SocketsLeave(t, "/", ct.Target{}, room)
	waitMembers(t, o, room)
	o.Emit(t, "/", ct.Target{Rooms: []string{room}}, "sj", tag+"-after")
	cl.expect(t, o, "sj", tag+"-after", nil)
}

func scenarioDisconnect(t *testing.T, cl *cluster, o ct.Member) {
	tag := cl.tag("doomed")
	room := "doomed-" + tag
	var doomed []*ct.Client
	for _, m := range cl.members {
		doomed = append(doomed, ct.Dial(t, m.URL(), "/", "doomed-"+m.Name()+"-"+tag, room))
	}
	bystander := ct.Dial(t, cl.others(o)[0].URL(), "/", "bystander-"+tag, "r9")
	waitMembers(t, o, room, doomed...)
	cl.waitReachable(t, o, "r9", bystander)
	o.DisconnectSockets(t, "/", ct.Target{Rooms: []string{room}}, true)
	for _, c := range doomed {
		c.Wait(t, "disconnect", nil)
	}
	o.Emit(t, "/", ct.Target{Rooms: []string{"r9"}}, "still-here", tag)
	bystander.Wait(t, "still-here", ct.WithArg(tag))
	if len(bystander.Received("disconnect")) > 0 {
		t.Errorf("the bystander was disconnected")
	}
	// Leave the cluster as the scenario found it.
	bystander.Close()
	waitMembers(t, o, "r9")
}

func scenarioNamespaces(t *testing.T, cl *cluster, o ct.Member) {
	tag := cl.tag("admin")
	o.Emit(t, "/admin", ct.Target{}, "adm", tag)
	for _, m := range cl.members {
		cl.admin[m.Name()].Wait(t, "adm", ct.WithArg(tag))
	}
	// The main namespace's clients must not see it.
	cl.expect(t, o, "adm", tag, nil)

	o.Emit(t, "/admin", ct.Target{Rooms: []string{"ar"}, Except: []string{cl.admin[o.Name()].ID()}}, "adm", tag+"-room")
	for _, m := range cl.others(o) {
		cl.admin[m.Name()].Wait(t, "adm", ct.WithArg(tag+"-room"))
	}

	o.ServerSideEmit(t, "/admin", "sse", tag)
	for _, m := range cl.others(o) {
		ct.Eventually(t, m.Name()+" gets the /admin server-side event", func() error {
			if !hasEvent(m.ServerSideEvents(t, "/admin"), tag) {
				return fmt.Errorf("not yet")
			}
			return nil
		})
		if hasEvent(m.ServerSideEvents(t, "/"), tag) {
			t.Errorf("%s got the /admin server-side event in /", m.Name())
		}
	}
	sockets, err := o.FetchSockets(t, "/admin", ct.Target{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sockets) != len(cl.members) {
		t.Errorf("fetched %d /admin sockets, want %d", len(sockets), len(cl.members))
	}
}

var errNotYet = fmt.Errorf("not yet")
