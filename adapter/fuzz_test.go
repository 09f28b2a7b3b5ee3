package adapter_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/adapter"
	ct "github.com/parley-chat/parley/internal/testrig/clustertest"
	"github.com/parley-chat/parley/internal/testrig/redistest"
	"github.com/parley-chat/parley/internal/wire"
)

// FuzzNodeReceive feeds arbitrary input to live Parley nodes on every path
// they read the cluster from: the classic protocol's broadcast, request and
// response channels, the sharded protocol's main channel, the streams
// protocol's Pub/Sub channel and its stream. After each input a valid
// server-side emit follows on the same path: its arrival shows the node
// still serves and has handled the input. The input must have been
// counted as malformed exactly when Parley's decoders reject it (or its
// arguments cannot be delivered), and nothing may panic, not even in what
// applies a message that decodes.
//
//	go test ./adapter -run '^$' -fuzz FuzzNodeReceive
func FuzzNodeReceive(f *testing.F) {
	for _, s := range receiveSeeds(f) {
		f.Add(s.route, s.payload)
	}
	rig := startReceiveRig(f)
	f.Fuzz(func(t *testing.T, route uint8, payload []byte) {
		rig.feed(t, receiveRoutes[int(route)%len(receiveRoutes)], payload)
	})
}

// The paths a node reads the cluster from.
const (
	routeClassicBroadcast uint8 = iota
	routeClassicRequest
	routeClassicResponse
	routeSharded
	routeStreamsPubSub
	routeStreamEntry
)

var receiveRoutes = []uint8{routeClassicBroadcast, routeClassicRequest, routeClassicResponse, routeSharded, routeStreamsPubSub, routeStreamEntry}

// receiveRig is one node per protocol, without clients (a broadcast the
// fuzzer makes up reaches nobody), on one Redis, with one publishing
// connection so that an input and the marker after it stay in order.
type receiveRig struct {
	raw                       *redis.Client
	classic, sharded, streams *ct.GoNode
	logs                      map[*ct.GoNode]*lockedBuffer
	seq                       int
}

func startReceiveRig(t testing.TB) *receiveRig {
	r := redistest.Start(t)
	rig := &receiveRig{raw: redis.NewClient(&redis.Options{Addr: r.Addr(), PoolSize: 1}), logs: map[*ct.GoNode]*lockedBuffer{}}
	t.Cleanup(func() { _ = rig.raw.Close() })
	start := func(name, prefix string, build func(redis.UniversalClient, adapter.Config) (*adapter.Node, error)) *ct.GoNode {
		logs := &lockedBuffer{}
		n := ct.StartGoNode(t, name, r.Client(t), ct.GoNodeOptions{Adapter: build,
			Config: adapter.Config{Prefix: prefix, Logger: slog.New(slog.NewTextHandler(logs, nil))}})
		rig.logs[n] = logs
		return n
	}
	rig.classic = start("classic", "c", nil)
	rig.sharded = start("sharded", "s", ct.Sharded(adapter.ModeDynamic))
	rig.streams = start("streams", "t", ct.Streams(adapter.StreamsConfig{StreamName: "t-stream"}))
	ct.WaitReady(t, rig.classic, rig.sharded, rig.streams)
	return rig
}

func (rig *receiveRig) node(route uint8) *ct.GoNode {
	switch route {
	case routeSharded:
		return rig.sharded
	case routeStreamsPubSub, routeStreamEntry:
		return rig.streams
	}
	return rig.classic
}

// feed sends payload on route, then a marker, and checks the node.
func (rig *receiveRig) feed(t *testing.T, route uint8, payload []byte) {
	n := rig.node(route)
	before := counter(t, n.Registry, "parley_adapter_malformed_total")
	if err := rig.send(route, payload); err != nil {
		t.Fatalf("sending the input: %v", err)
	}
	rig.seq++
	tag := fmt.Sprintf("marker-%d", rig.seq)
	markerRoute, marker := rig.marker(t, route, tag)
	if err := rig.send(markerRoute, marker); err != nil {
		t.Fatalf("sending the marker: %v", err)
	}
	deadline := time.Now().Add(ct.WaitFor)
	for !hasEvent(n.ServerSideEvents(t, "/"), tag) {
		if time.Now().After(deadline) {
			t.Fatalf("%s stopped serving after the input (no marker within %v)", n.Name(), ct.WaitFor)
		}
		time.Sleep(time.Millisecond)
	}
	want := before
	if counted(route, n.Node.UID(), payload) {
		want++
	}
	if got := counter(t, n.Registry, "parley_adapter_malformed_total"); got != want {
		t.Fatalf("%s: malformed counter %v, want %v", n.Name(), got, want)
	}
	if logs := rig.logs[n].String(); strings.Contains(logs, "panic") {
		t.Fatalf("%s panicked:\n%s", n.Name(), logs)
	}
}

// send puts payload on route's channel or stream.
func (rig *receiveRig) send(route uint8, payload []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), ct.WaitFor)
	defer cancel()
	switch route {
	case routeClassicBroadcast:
		return rig.raw.Publish(ctx, "c#/#", payload).Err()
	case routeClassicRequest:
		return rig.raw.Publish(ctx, "c-request#/#", payload).Err()
	case routeClassicResponse:
		return rig.raw.Publish(ctx, "c-response#/#", payload).Err()
	case routeSharded:
		return rig.raw.SPublish(ctx, "s#/#", payload).Err()
	case routeStreamsPubSub:
		return rig.raw.Publish(ctx, "t#/#", payload).Err()
	}
	return rig.raw.XAdd(ctx, &redis.XAddArgs{Stream: "t-stream", Values: entryFields(payload)}).Err()
}

// entryFields makes a stream entry of payload: its first byte is the type
// code, the rest the data field.
func entryFields(payload []byte) []any {
	fields := []any{"uid", "fuzz", "nsp", "/"}
	if len(payload) == 0 {
		return append(fields, "type", "")
	}
	fields = append(fields, "type", strconv.Itoa(int(payload[0])))
	if len(payload) > 1 {
		fields = append(fields, "data", string(payload[1:]))
	}
	return fields
}

// entryPayload is the reverse of entryFields, for seeds.
func entryPayload(fields []any) []byte {
	code, _ := strconv.Atoi(fields[5].(string))
	out := []byte{byte(code)}
	if len(fields) > 7 {
		out = append(out, fields[7].(string)...)
	}
	return out
}

// marker is a server-side emit of "sse" with tag in route's format, and
// the route it goes on: the input's, or for the classic broadcast and
// response channels the request channel, which the same subscription
// connection reads in order with them.
func (rig *receiveRig) marker(t *testing.T, route uint8, tag string) (uint8, []byte) {
	m := &wire.Message{Kind: wire.ServerSideEmit, UID: "marker", Nsp: "/", Data: []any{"sse", tag}}
	var (
		out []byte
		err error
	)
	switch route {
	case routeClassicBroadcast, routeClassicRequest, routeClassicResponse:
		out, err = wire.EncodeClassicRequest(m)
	case routeSharded:
		out, err = wire.EncodeShardedMessage(m)
	case routeStreamsPubSub:
		out, err = wire.EncodeStreamsMessage(m)
	default:
		var fields []any
		fields, err = wire.StreamFields(m, false)
		out = entryPayload(fields)
	}
	if err != nil {
		t.Fatal(err)
	}
	if route == routeClassicBroadcast || route == routeClassicResponse {
		return routeClassicRequest, out
	}
	return route, out
}

// counted tells whether a node counts payload on route as malformed, from
// Parley's own decoders: what they reject (messages of unknown types are
// ignored, not counted), and what decodes but cannot be delivered (too
// deeply nested arguments, a server-side emit of a reserved event).
func counted(route uint8, uid string, payload []byte) bool {
	var (
		m   *wire.Message
		err error
	)
	switch route {
	case routeClassicBroadcast:
		if m, err = wire.DecodeClassicBroadcast(payload); err == nil && m.Nsp != "/" {
			return false
		}
	case routeClassicRequest:
		m, err = wire.DecodeClassicRequest(payload)
	case routeClassicResponse:
		_, err = wire.DecodeClassicResponse(payload)
		return err != nil
	case routeStreamEntry:
		values := map[string]any{}
		fields := entryFields(payload)
		for i := 0; i < len(fields); i += 2 {
			values[fields[i].(string)] = fields[i+1]
		}
		m, err = wire.DecodeStreamEntry(values)
	default:
		var r *wire.Response
		m, r, err = wire.DecodeCluster(payload)
		if err == nil && (r != nil || m.Nsp != "/" || m.UID == uid) {
			return false
		}
	}
	if err != nil {
		return !errors.Is(err, wire.ErrUnsupported)
	}
	return undeliverable(m)
}

func undeliverable(m *wire.Message) bool {
	if m.Kind != wire.Broadcast && m.Kind != wire.ServerSideEmit {
		return false
	}
	if ev, _ := first(m.Data).(string); m.Kind == wire.ServerSideEmit && (ev == "connect" || ev == "connection" || ev == "new_namespace") {
		return true
	}
	_, err := wire.Payload(m.Data)
	return err != nil
}

func first(args []any) any {
	if len(args) == 0 {
		return nil
	}
	return args[0]
}

type receiveSeed struct {
	route   uint8
	payload []byte
}

// receiveSeeds are messages of every kind in every route's format, with
// binary where they carry arguments, then each cut short and with a byte
// changed, and a few hostile ones.
func receiveSeeds(t testing.TB) []receiveSeed {
	args := []any{"ev", map[string]any{"blob": []byte{0, 0xff, 0x10}, "label": "bin"}, []byte{}, 1.5, nil}
	opts := wire.Options{Rooms: []string{"r"}, Except: []string{"x"}}
	msgs := []*wire.Message{
		{Kind: wire.Broadcast, Data: args, Opts: opts},
		{Kind: wire.Broadcast, Data: args, Opts: opts, RequestID: "q1"},
		{Kind: wire.SocketsJoin, Rooms: []string{"j"}, Opts: opts},
		{Kind: wire.SocketsLeave, Rooms: []string{"j"}, Opts: opts},
		{Kind: wire.DisconnectSockets, Close: true, Opts: opts},
		{Kind: wire.FetchSockets, RequestID: "q2", Opts: opts},
		{Kind: wire.ServerSideEmit, Data: args, RequestID: "q3"},
		{Kind: wire.ServerSideEmit, Data: []any{"connection", "not-a-socket"}},
		{Kind: wire.AllRooms, RequestID: "q4"},
		{Kind: wire.Heartbeat},
	}
	resps := []*wire.Response{
		{Kind: wire.ClientCount, RequestID: "q", ClientCount: 2},
		{Kind: wire.BroadcastAck, RequestID: "q", Packet: args},
		{Kind: wire.ServerSideEmitAck, RequestID: "q", Packet: args},
		{Kind: wire.FetchResult, RequestID: "q", Sockets: []wire.SocketInfo{{ID: "s", Rooms: []string{"s"}, Data: map[string]any{"b": []byte{1}}}}},
		{Kind: wire.RoomsResult, RequestID: "q", Rooms: []string{"r"}},
	}
	var seeds []receiveSeed
	add := func(route uint8, b []byte, err error) {
		if err == nil {
			seeds = append(seeds, receiveSeed{route, b}, receiveSeed{route, b[:len(b)/2]}, receiveSeed{route, flipped(b)})
		}
	}
	for _, m := range msgs {
		m.UID, m.Nsp = "other-node", "/"
		if m.Kind == wire.Broadcast && m.RequestID == "" {
			b, err := wire.EncodeClassicBroadcast(m)
			add(routeClassicBroadcast, b, err)
		}
		b, err := wire.EncodeClassicRequest(m)
		add(routeClassicRequest, b, err)
		b, err = wire.EncodeShardedMessage(m)
		add(routeSharded, b, err)
		b, err = wire.EncodeStreamsMessage(m)
		add(routeStreamsPubSub, b, err)
		fields, err := wire.StreamFields(m, false)
		if err == nil {
			add(routeStreamEntry, entryPayload(fields), nil)
		}
	}
	for _, r := range resps {
		r.UID, r.Nsp = "other-node", "/"
		b, err := wire.EncodeClassicResponse(r)
		add(routeClassicResponse, b, err)
		b, err = wire.EncodeShardedResponse(r)
		add(routeSharded, b, err)
		b, err = wire.EncodeStreamsResponse(r)
		add(routeStreamsPubSub, b, err)
	}
	// Arguments nested deeper than any node sends, within what decoders
	// accept; a payload that is no message at all.
	deep := "\x93\xa1u\x83\xa4type\x02\xa4data\x92\xa2ev" + strings.Repeat("\x91", 1100) + "\xc0\xa3nsp\xa1/"
	seeds = append(seeds, receiveSeed{routeClassicBroadcast, []byte(deep)}, receiveSeed{routeSharded, []byte("\xc1")}, receiveSeed{routeStreamEntry, []byte("\x03!!")})
	if len(seeds) == 0 {
		t.Fatal("no seeds")
	}
	return seeds
}

// flipped returns b with its middle byte changed.
func flipped(b []byte) []byte {
	out := append([]byte(nil), b...)
	if len(out) > 0 {
		out[len(out)/2] ^= 0x5a
	}
	return out
}
