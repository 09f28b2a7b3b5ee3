package emitter_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/zishang520/socket.io/v3/pkg/types"
	"go.uber.org/goleak"

	"github.com/parley-chat/parley/adapter"
	"github.com/parley-chat/parley/emitter"
	ct "github.com/parley-chat/parley/internal/testrig/clustertest"
	"github.com/parley-chat/parley/internal/testrig/redistest"
)

// TestMain checks for leaked goroutines (IgnoreCurrent: the socket.io
// client package's init starts a process-wide monitor).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

type published struct{ channel, hex string }

// nodeEmitterBytes runs the wire package's capture.mjs and returns what the
// Node emitter published in each emitter step.
func nodeEmitterBytes(t *testing.T) map[string][]published {
	t.Helper()
	ct.RequireNode(t)
	r := redistest.Start(t)
	cmd := exec.Command("node", filepath.Join(ct.RepoRoot(t), "internal", "wire", "testdata", "capture.mjs"))
	cmd.Env = append(os.Environ(), "REDIS_URL="+r.URL())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("capture.mjs: %v\n%s", err, stderr.String())
	}
	var c struct {
		Messages []struct{ Step, Channel, Hex string }
	}
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatal(err)
	}
	steps := map[string][]published{}
	for _, m := range c.Messages {
		if strings.HasPrefix(m.Step, "emitter-") {
			steps[m.Step] = append(steps[m.Step], published{m.Channel, m.Hex})
		}
	}
	return steps
}

// TestMatchesNodeEmitter has the Go emitter do what capture.mjs has the
// Node emitter do, and requires the same channels and bytes.
func TestMatchesNodeEmitter(t *testing.T) {
	want := nodeEmitterBytes(t)
	r := redistest.Start(t)
	rdb := r.Client(t)
	ctx := context.Background()
	spy := r.Client(t).PSubscribe(ctx, "*")
	defer spy.Close()
	if _, err := spy.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	ns, err := emitter.New(rdb, emitter.Config{})
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2023, 11, 14, 22, 13, 20, 123e6, time.UTC)
	steps := []struct {
		name string
		do   func() error
	}{
		{"emitter-all", func() error { return ns.Emit(ctx, "ev", "x", map[string]any{"n": 1}) }},
		{"emitter-room-flags", func() error { return ns.To("r1").Except("r2").Volatile().Compress(true).Emit(ctx, "ev-room", 2) }},
		{"emitter-namespace", func() error { return ns.Of("admin").To("a1", "a2").Emit(ctx, "adm", date) }},
		{"emitter-join", func() error { return ns.In("r1").SocketsJoin(ctx, "r9") }},
		{"emitter-leave", func() error { return ns.Except("r1").SocketsLeave(ctx, "r9", "r8") }},
		{"emitter-disconnect", func() error { return ns.In("nobody").DisconnectSockets(ctx, true) }},
		{"emitter-server-side-emit", func() error { return ns.ServerSideEmit(ctx, "sse", 1, "two") }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		msg, err := spy.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		w := want[s.name]
		if len(w) != 1 {
			t.Fatalf("%s: the Node emitter published %d messages", s.name, len(w))
		}
		if got := hex.EncodeToString([]byte(msg.Payload)); msg.Channel != w[0].channel || got != w[0].hex {
			t.Errorf("%s:\nparley %s %q\nnode   %s %q", s.name, msg.Channel, msg.Payload, w[0].channel, mustHex(w[0].hex))
		}
		delete(want, s.name)
	}
	for step := range want {
		t.Errorf("the Node emitter's step %s has no Go counterpart", step)
	}
}

func mustHex(s string) string {
	b, _ := hex.DecodeString(s)
	return string(b)
}

// TestReachesParleyAndNode drives a cluster of a Parley node and a Node.js
// node with the Go emitter of their protocol, and checks what the clients of
// both see: classic (@socket.io/redis-adapter 8.3 createAdapter), sharded
// (its createShardedAdapter) and streams (@socket.io/redis-streams-adapter
// 0.3.1), for which no Node emitter is on npm.
func TestReachesParleyAndNode(t *testing.T) {
	for _, tc := range []struct {
		protocol string
		build    func(redis.UniversalClient, adapter.Config) (*adapter.Node, error)
		emitter  func(redis.UniversalClient) (*emitter.Namespace, error)
	}{
		{"classic", adapter.NewClassic, func(rdb redis.UniversalClient) (*emitter.Namespace, error) {
			return emitter.New(rdb, emitter.Config{})
		}},
		{"sharded", ct.Sharded(adapter.ModeDynamic), func(rdb redis.UniversalClient) (*emitter.Namespace, error) {
			return emitter.NewSharded(rdb, emitter.ShardedConfig{})
		}},
		{"streams", ct.Streams(adapter.StreamsConfig{}), func(rdb redis.UniversalClient) (*emitter.Namespace, error) {
			return emitter.NewStreams(rdb, emitter.StreamsConfig{})
		}},
	} {
		t.Run(tc.protocol, func(t *testing.T) {
			r := redistest.Start(t)
			ns, err := tc.emitter(r.Client(t))
			if err != nil {
				t.Fatal(err)
			}
			testReaches(t, r, ns, ct.GoNodeOptions{Namespaces: []string{"/admin"}, Adapter: tc.build},
				ct.NodePeerOptions{Namespaces: []string{"/admin"}, Adapter: tc.protocol})
		})
	}
}

func testReaches(t *testing.T, r *redistest.Server, ns *emitter.Namespace, goOpts ct.GoNodeOptions, peerOpts ct.NodePeerOptions) {
	a := ct.StartGoNode(t, "A", r.Client(t), goOpts)
	n := ct.StartNodePeer(t, "N", r.URL(), peerOpts)
	ct.WaitReady(t, a)
	ct.Eventually(t, "both nodes subscribed", func() error {
		if c := a.ServerCount(t, "/"); c != 2 {
			return errors.New("not yet")
		}
		return nil
	})
	ca1 := ct.Dial(t, a.URL(), "/", "A-x1", "r1")
	ca2 := ct.Dial(t, a.URL(), "/", "A-x2", "r2")
	cn1 := ct.Dial(t, n.URL(), "/", "N-x1", "r1")
	cn2 := ct.Dial(t, n.URL(), "/", "N-x2", "r2")
	adminA := ct.Dial(t, a.URL(), "/admin", "A-adm")
	adminN := ct.Dial(t, n.URL(), "/admin", "N-adm")
	all := []*ct.Client{ca1, ca2, cn1, cn2}
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// expect waits for ev tag on want, then a marker on everyone (the
	// emitter's messages arrive in order), then checks the others.
	expect := func(ev, tag string, want ...*ct.Client) {
		t.Helper()
		for _, c := range want {
			c.Wait(t, ev, ct.WithArg(tag))
		}
		must(ns.Emit(ctx, "mark", tag))
		for _, c := range all {
			c.Wait(t, "mark", ct.WithArg(tag))
			if c.Got(ev, tag) && !containsClient(want, c) {
				t.Errorf("%s got %s %s", c.Name, ev, tag)
			}
		}
	}

	must(ns.Emit(ctx, "ev", "all", []byte{1, 2}))
	expect("ev", "all", all...)
	// What a Go program passes on: the socket.io library's buffers, a
	// bytes.Buffer, a struct (as encoding/json writes it), an integer no
	// JavaScript number holds (read as the nearest one on every node).
	type note struct {
		Text string `json:"text"`
		N    int64  `json:"n"`
	}
	must(ns.Emit(ctx, "ev", "values", types.NewBytesBuffer([]byte{0, 0xff}), bytes.NewBufferString("b"),
		note{"hi", 1<<53 + 1}, map[string]any{"nested": []any{types.NewBytesBuffer([]byte{7}), []byte{}}}))
	want := []any{"values", []byte{0, 0xff}, []byte("b"), map[string]any{"text": "hi", "n": float64(1 << 53)},
		map[string]any{"nested": []any{[]byte{7}, []byte{}}}}
	for _, c := range all {
		if got := ct.Plain(c.Wait(t, "ev", ct.WithArg("values"))); !reflect.DeepEqual(got, want) {
			t.Errorf("%s got %#v, want %#v", c.Name, got, want)
		}
	}
	must(ns.To("r1").Emit(ctx, "ev", "room"))
	expect("ev", "room", ca1, cn1)
	must(ns.To("r1", "r2").Except("r2").Volatile().Compress(false).Emit(ctx, "ev", "except"))
	expect("ev", "except", ca1, cn1)
	must(ns.Of("/admin").Emit(ctx, "adm", "admin"))
	adminA.Wait(t, "adm", ct.WithArg("admin"))
	adminN.Wait(t, "adm", ct.WithArg("admin"))
	expect("adm", "admin")

	must(ns.In("r2").SocketsJoin(ctx, "joined"))
	waitRoom(t, a, "joined", ca2, cn2)
	must(ns.To("joined").Emit(ctx, "ev", "joined"))
	expect("ev", "joined", ca2, cn2)
	must(ns.SocketsLeave(ctx, "joined"))
	waitRoom(t, a, "joined")

	must(ns.ServerSideEmit(ctx, "sse", "from-go-emitter"))
	for _, m := range []ct.Member{a, n} {
		ct.Eventually(t, m.Name()+" gets the server-side event", func() error {
			for _, args := range m.ServerSideEvents(t, "/") {
				if len(args) > 0 && args[0] == "from-go-emitter" {
					return nil
				}
			}
			return errors.New("not yet")
		})
	}

	must(ns.In("r2").DisconnectSockets(ctx, true))
	ca2.Wait(t, "disconnect", nil)
	cn2.Wait(t, "disconnect", nil)
	must(ns.Emit(ctx, "ev", "after"))
	ca1.Wait(t, "ev", ct.WithArg("after"))
	cn1.Wait(t, "ev", ct.WithArg("after"))
}

func containsClient(list []*ct.Client, c *ct.Client) bool {
	for _, x := range list {
		if x == c {
			return true
		}
	}
	return false
}

func waitRoom(t *testing.T, m ct.Member, room string, want ...*ct.Client) {
	t.Helper()
	ct.Eventually(t, "members of "+room, func() error {
		sockets, err := m.FetchSockets(t, "/", ct.Target{Rooms: []string{room}})
		if err != nil {
			return err
		}
		if len(sockets) != len(want) {
			return errors.New("not yet")
		}
		for _, c := range want {
			found := false
			for _, s := range sockets {
				found = found || s.ID == c.ID()
			}
			if !found {
				return errors.New("not yet")
			}
		}
		return nil
	})
}

func TestRejects(t *testing.T) {
	if _, err := emitter.New(nil, emitter.Config{}); err == nil {
		t.Error("New(nil) succeeded")
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never used
	defer rdb.Close()
	ns, err := emitter.New(rdb, emitter.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, ev := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		if err := ns.To("r").Emit(ctx, ev); err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("Emit(%q) = %v, want a reserved-name error", ev, err)
		}
	}
	if err := ns.ServerSideEmit(ctx, "connection"); err == nil {
		t.Error("ServerSideEmit(connection) succeeded")
	}
	if err := ns.Emit(ctx, "ev", func([]any, error) {}); !errors.Is(err, emitter.ErrAck) {
		t.Errorf("Emit with an ack = %v, want ErrAck", err)
	}
	if err := ns.ServerSideEmit(ctx, "ev", 1, func() {}); !errors.Is(err, emitter.ErrAck) {
		t.Errorf("ServerSideEmit with an ack = %v, want ErrAck", err)
	}
	type opaque struct{ n int }
	for _, arg := range []any{make(chan int), opaque{1}, complex(1, 2)} {
		if err := ns.Emit(ctx, "ev", arg); err == nil || !strings.HasPrefix(err.Error(), "emitter: ") {
			t.Errorf("Emit(%T) = %v, want an emitter error before publishing", arg, err)
		}
	}
	eleven := make([]any, 11)
	for i := range eleven {
		eleven[i] = []byte{byte(i)}
	}
	if err := ns.Emit(ctx, "ev", map[string]any{"parts": eleven}); err == nil || !strings.Contains(err.Error(), "11 binary attachments") {
		t.Errorf("Emit of 11 attachments = %v, want an error before publishing (socket.io clients accept 10)", err)
	}
	if got := ns.Of("admin").Name(); got != "/admin" {
		t.Errorf("Of(admin) = %s", got)
	}
}

// TestRedisDown: a publish that cannot reach Redis returns the error.
func TestRedisDown(t *testing.T) {
	r := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr(), MaxRetries: -1})
	defer rdb.Close()
	ns, _ := emitter.New(rdb, emitter.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ns.Emit(ctx, "ev", 1); err != nil {
		t.Fatalf("Emit while Redis is up: %v", err)
	}
	r.Kill()
	if err := ns.Emit(ctx, "ev", 2); err == nil || !strings.Contains(err.Error(), "emitter: publishing") {
		t.Fatalf("Emit while Redis is down = %v, want a publish error", err)
	}
}

// TestClusterFormats checks where the sharded and streams emitters write
// and what: ClusterAdapter messages with the uid "emitter", a single-room
// broadcast on the room's channel in dynamic mode (the main channel in
// static mode), and stream entries in the adapter's field layout.
func TestClusterFormats(t *testing.T) {
	r := redistest.Start(t)
	ctx := context.Background()
	spy := r.Client(t).SSubscribe(ctx, "socket.io#/#", "socket.io#/#r1#")
	defer spy.Close()
	for range 2 {
		if _, err := spy.Receive(ctx); err != nil {
			t.Fatal(err)
		}
	}
	dynamic, _ := emitter.NewSharded(r.Client(t), emitter.ShardedConfig{})
	static, _ := emitter.NewSharded(r.Client(t), emitter.ShardedConfig{SubscriptionMode: "static"})
	for _, step := range []struct {
		do      func() error
		channel string
		payload string
	}{
		{func() error { return dynamic.To("r1").Emit(ctx, "ev", 1) }, "socket.io#/#r1#",
			`{"type":3,"data":{"packet":{"type":2,"data":["ev",1]},"opts":{"rooms":["r1"],"except":[],"flags":{}}},"uid":"emitter","nsp":"/"}`},
		{func() error { return static.To("r1").Emit(ctx, "ev", 2) }, "socket.io#/#",
			`{"type":3,"data":{"packet":{"type":2,"data":["ev",2]},"opts":{"rooms":["r1"],"except":[],"flags":{}}},"uid":"emitter","nsp":"/"}`},
		{func() error { return dynamic.In("r1").SocketsJoin(ctx, "r2") }, "socket.io#/#",
			`{"type":4,"data":{"opts":{"rooms":["r1"],"except":[],"flags":{}},"rooms":["r2"]},"uid":"emitter","nsp":"/"}`},
		{func() error { return dynamic.ServerSideEmit(ctx, "sse", "x") }, "socket.io#/#",
			`{"type":9,"data":{"packet":["sse","x"]},"uid":"emitter","nsp":"/"}`},
	} {
		if err := step.do(); err != nil {
			t.Fatal(err)
		}
		msg, err := spy.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if msg.Channel != step.channel || msg.Payload != step.payload {
			t.Errorf("got %s %s\nwant %s %s", msg.Channel, msg.Payload, step.channel, step.payload)
		}
	}
	streams, _ := emitter.NewStreams(r.Client(t), emitter.StreamsConfig{StreamName: "s", StreamCount: 4})
	if err := streams.Of("/admin").DisconnectSockets(ctx, true); err != nil {
		t.Fatal(err)
	}
	// "/admin".hashCode() % 4 picks the stream, as Node's adapter does.
	entries, err := r.Client(t).XRange(ctx, "s-0", "-", "+").Result()
	if err != nil || len(entries) != 1 {
		t.Fatalf("entries of s-0: %v, %v", entries, err)
	}
	want := map[string]any{"uid": "emitter", "nsp": "/admin", "type": "6", "data": `{"opts":{"rooms":[],"except":[],"flags":{}},"close":true}`}
	if fmt.Sprint(entries[0].Values) != fmt.Sprint(want) {
		t.Errorf("entry %v, want %v", entries[0].Values, want)
	}
	if _, err := emitter.NewSharded(r.Client(t), emitter.ShardedConfig{SubscriptionMode: "sometimes"}); err == nil {
		t.Error("an unknown subscription mode was accepted")
	}
	if _, err := emitter.NewStreams(nil, emitter.StreamsConfig{}); err == nil {
		t.Error("NewStreams(nil) succeeded")
	}
}
