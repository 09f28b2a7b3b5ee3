package wire_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testrig/redistest"
	"github.com/parley-chat/parley/internal/wire"
)

// clusterCapture is what capture-cluster.mjs prints.
type clusterCapture struct {
	Versions map[string]string `json:"versions"`
	NSID     string            `json:"nsid"`
	SSID     string            `json:"ssid"`
	Messages []captured        `json:"messages"`
	Entries  []streamEntry     `json:"entries"`
	Session  struct {
		Key, Value, PID, SID string
		TTL                  int64
	} `json:"session"`
}

type streamEntry struct {
	Step   string            `json:"step"`
	ID     string            `json:"id"`
	Fields map[string]string `json:"fields"`
}

const clusterSeedPath = "testdata/captured-cluster.json"

// runClusterCapture runs testdata/capture-cluster.mjs against a fresh
// redis-server (7 or later, for sharded Pub/Sub).
func runClusterCapture(t *testing.T) clusterCapture {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required to capture the Node peers' bytes (install Node.js 20+): %v", err)
	}
	r := redistest.Start(t)
	cmd := exec.Command(node, filepath.Join("testdata", "capture-cluster.mjs"))
	cmd.Env = append(os.Environ(), "REDIS_URL="+r.URL())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("capture-cluster.mjs failed (run npm ci in the repository root; Redis must be 7 or later): %v\n%s", err, stderr.String())
	}
	var c clusterCapture
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatalf("capture-cluster.mjs output: %v\n%s", err, out)
	}
	if *update {
		seeds, _ := json.MarshalIndent(c, "", " ")
		if err := os.WriteFile(clusterSeedPath, append(seeds, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func loadClusterSeeds(t testing.TB) clusterCapture {
	data, err := os.ReadFile(clusterSeedPath)
	if err != nil {
		t.Fatalf("read %s: %v", clusterSeedPath, err)
	}
	var c clusterCapture
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("parse %s: %v", clusterSeedPath, err)
	}
	return c
}

var clusterNames = wire.Cluster{}

// TestClusterGolden compares Parley's ClusterAdapter encodings with what the
// Node peers wrote: sharded messages and responses (JSON or msgpack, and
// the channel each went to), streams entries (field layout, JSON or base64
// msgpack data), streams Pub/Sub requests and responses (msgpack), and the
// persisted session. Decoding each must give the message Parley would
// build; encoding that message must give Node's bytes.
func TestClusterGolden(t *testing.T) {
	c := runClusterCapture(t)
	byStep := map[string][]captured{}
	for _, m := range c.Messages {
		byStep[m.Step] = append(byStep[m.Step], m)
	}
	entries := map[string][]streamEntry{}
	for _, e := range c.Entries {
		entries[e.Step] = append(entries[e.Step], e)
	}
	for _, g := range clusterGoldens(c.NSID, c.SSID) {
		t.Run(g.step, func(t *testing.T) {
			msgs, ents := byStep[g.step], entries[g.step]
			if len(msgs) != len(g.pubsub) || len(ents) != len(g.stream) {
				t.Fatalf("captured %d messages and %d entries, want %d and %d: %v %v", len(msgs), len(ents), len(g.pubsub), len(g.stream), msgs, ents)
			}
			for i, w := range g.pubsub {
				w.check(t, msgs[i])
			}
			for i, w := range g.stream {
				w.check(t, ents[i])
			}
		})
		delete(byStep, g.step)
		delete(entries, g.step)
	}
	for step := range byStep {
		t.Errorf("captured step %s has no golden", step)
	}
	for step := range entries {
		t.Errorf("captured stream step %s has no golden", step)
	}
	t.Run("session", func(t *testing.T) { checkSession(t, c) })
}

type clusterGolden struct {
	step   string
	pubsub []expectation
	stream []entryExpectation
}

type entryExpectation interface {
	check(t *testing.T, e streamEntry)
}

func clusterGoldens(nsid, ssid string) []clusterGolden {
	opts := func(rooms, except []string, f wire.Flags) wire.Options {
		return wire.Options{Rooms: rooms, Except: except, Flags: f}
	}
	none := opts(nil, nil, wire.Flags{})
	r1 := opts([]string{"r1"}, nil, wire.Flags{})
	timeout := 4 * time.Second
	withTimeout := opts(nil, nil, wire.Flags{Timeout: &timeout})
	r1Timeout := opts([]string{"r1"}, nil, wire.Flags{Timeout: &timeout})
	no := false
	date := goldenDate
	whole := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	values := []any{"vals", []byte{1, 2, 3, 255}, date, -1, -200, int64(1) << 40, 1.25, nil, true, "ünï <&>",
		map[string]any{"a": []any{1, map[string]any{"x": "y"}}, "b": map[string]any{}}, []any{}}
	msg := func(kind wire.Kind, nsp string, o wire.Options, data ...any) wire.Message {
		return wire.Message{Kind: kind, UID: anyID, Nsp: nsp, Opts: o, Data: data, PacketType: 2}
	}
	sh := func(m wire.Message) shardedMsg { return shardedMsg{m} }
	sp := func(m wire.Message) streamsMsg { return streamsMsg{m} }
	ent := func(m wire.Message) streamMsg { return streamMsg{m} }
	ack := func(m wire.Message, id string) wire.Message { m.RequestID = id; return m }
	join := func(kind wire.Kind, o wire.Options, rooms ...string) wire.Message {
		return wire.Message{Kind: kind, UID: anyID, Nsp: "/", Opts: o, Rooms: rooms}
	}
	other := func(m wire.Message) wire.Message { m.UID = "OTHER1"; return m }
	resp := func(kind wire.ResponseKind, id string, packet any, count uint64) wire.Response {
		return wire.Response{Kind: kind, RequestID: id, UID: anyID, Nsp: "/", Packet: packet, ClientCount: count}
	}
	disconnect := wire.Message{Kind: wire.DisconnectSockets, UID: anyID, Nsp: "/", Opts: opts([]string{"nobody"}, nil, wire.Flags{}), Close: true}
	fetch := wire.Message{Kind: wire.FetchSockets, UID: anyID, Nsp: "/", RequestID: anyID, Opts: r1}
	sse := wire.Message{Kind: wire.ServerSideEmit, UID: anyID, Nsp: "/", Data: []any{"sse", "a", 1, map[string]any{"z": nil}}}
	sseAck := wire.Message{Kind: wire.ServerSideEmit, UID: anyID, Nsp: "/", RequestID: anyID, Data: []any{"sse-ack", map[string]any{"q": 1}}}
	otherFetch := func(id string) wire.Message { m := other(fetch); m.RequestID = id; return m }
	otherSSE := func(id string) wire.Message {
		return wire.Message{Kind: wire.ServerSideEmit, UID: "OTHER1", Nsp: "/", RequestID: id, Data: []any{"sse-ack", "x"}}
	}
	return []clusterGolden{
		{step: "sh-broadcast-all", pubsub: []expectation{sh(msg(wire.Broadcast, "/", none, "ev", "hello", 42, map[string]any{"n": 1.5}))}},
		{step: "sh-broadcast-values", pubsub: []expectation{sh(msg(wire.Broadcast, "/", none, values...))}},
		{step: "sh-broadcast-dates", pubsub: []expectation{shardedDates{msg(wire.Broadcast, "/", none, "dates", date, whole, map[string]any{"at": whole})}}},
		{step: "sh-broadcast-room", pubsub: []expectation{sh(msg(wire.Broadcast, "/", r1, "ev-r1", "room"))}},
		{step: "sh-broadcast-sid-room", pubsub: []expectation{sh(msg(wire.Broadcast, "/", opts([]string{"abcdefghijklmnopqrst"}, nil, wire.Flags{}), "ev-sid", 1))}},
		{step: "sh-broadcast-rooms-except", pubsub: []expectation{sh(msg(wire.Broadcast, "/", opts([]string{"r1", "r2"}, []string{"r3"}, wire.Flags{}), "ev-multi", 1))}},
		{step: "sh-broadcast-flags", pubsub: []expectation{sh(msg(wire.Broadcast, "/", opts([]string{"r1"}, nil, wire.Flags{Volatile: true, Compress: &no}), "ev-flags"))}},
		{step: "sh-broadcast-namespace", pubsub: []expectation{sh(msg(wire.Broadcast, "/admin", opts([]string{"a1"}, nil, wire.Flags{}), "adm", map[string]any{"k": "v"}))}},
		{step: "sh-broadcast-ack", pubsub: []expectation{sh(ack(msg(wire.Broadcast, "/", withTimeout, "ask", "q1"), anyID))}},
		{step: "sh-sockets-join", pubsub: []expectation{sh(join(wire.SocketsJoin, r1, "r2", "r3"))}},
		{step: "sh-sockets-leave", pubsub: []expectation{sh(join(wire.SocketsLeave, opts([]string{"r1"}, []string{"r9"}, wire.Flags{}), "r2"))}},
		{step: "sh-disconnect-sockets", pubsub: []expectation{sh(disconnect)}},
		{step: "sh-fetch-sockets", pubsub: []expectation{sh(fetch)}},
		{step: "sh-server-side-emit", pubsub: []expectation{sh(sse)}},
		{step: "sh-server-side-emit-ack", pubsub: []expectation{sh(sseAck)}},
		{step: "sh-answer-fetch", pubsub: []expectation{sh(otherFetch("REQ001")), clusterFetchAnswer{"REQ001", nsid, []string{nsid, "r1", "r3"}, false}}},
		{step: "sh-answer-sse-ack", pubsub: []expectation{sh(otherSSE("REQ003")),
			shardedResp{resp(wire.ServerSideEmitAck, "REQ003", map[string]any{"arg": "x", "node": "N"}, 0)}}},
		{step: "sh-answer-broadcast-ack", pubsub: []expectation{sh(other(ack(msg(wire.Broadcast, "/", r1Timeout, "ask", "q2"), "REQ004"))),
			shardedResp{resp(wire.ClientCount, "REQ004", nil, 1)},
			shardedResp{resp(wire.BroadcastAck, "REQ004", map[string]any{"answer": "q2", "from": "nora"}, 0)}}},
		{step: "sh-answer-binary-ack", pubsub: []expectation{sh(other(ack(msg(wire.Broadcast, "/", r1Timeout, "askbin", "q3"), "REQ005"))),
			shardedResp{resp(wire.ClientCount, "REQ005", nil, 1)},
			shardedResp{resp(wire.BroadcastAck, "REQ005", []byte{7, 8, 9}, 0)}}},

		{step: "st-broadcast-all", stream: []entryExpectation{ent(msg(wire.Broadcast, "/", none, "ev", "hello", 42, map[string]any{"n": 1.5}))}},
		{step: "st-broadcast-values", stream: []entryExpectation{ent(msg(wire.Broadcast, "/", none, values...))}},
		{step: "st-broadcast-dates", stream: []entryExpectation{streamDates{msg(wire.Broadcast, "/", none, "dates", date, whole)}}},
		{step: "st-broadcast-room-flags", stream: []entryExpectation{ent(msg(wire.Broadcast, "/", opts([]string{"r1"}, []string{"r2"}, wire.Flags{Volatile: true, Compress: &no}), "ev-flags", "x"))}},
		{step: "st-sockets-join", stream: []entryExpectation{ent(join(wire.SocketsJoin, r1, "r2", "r3"))}},
		{step: "st-sockets-leave", stream: []entryExpectation{ent(join(wire.SocketsLeave, opts([]string{"r1"}, []string{"r9"}, wire.Flags{}), "r2"))}},
		{step: "st-disconnect-sockets", stream: []entryExpectation{ent(disconnect)}},
		{step: "st-broadcast-ack", pubsub: []expectation{sp(ack(msg(wire.Broadcast, "/", withTimeout, "ask", "q1"), anyID))}},
		{step: "st-fetch-sockets", pubsub: []expectation{sp(fetch)}},
		{step: "st-server-side-emit", pubsub: []expectation{sp(sse)}},
		{step: "st-server-side-emit-ack", pubsub: []expectation{sp(sseAck)}},
		{step: "st-answer-fetch", pubsub: []expectation{sp(otherFetch("REQ011")), clusterFetchAnswer{"REQ011", ssid, []string{ssid, "r1", "r3"}, true}}},
		{step: "st-answer-sse-ack", pubsub: []expectation{sp(otherSSE("REQ013")),
			streamsResp{resp(wire.ServerSideEmitAck, "REQ013", map[string]any{"arg": "x", "node": "S"}, 0)}}},
		{step: "st-answer-broadcast-ack", pubsub: []expectation{sp(other(ack(msg(wire.Broadcast, "/", r1Timeout, "ask", "q2"), "REQ014"))),
			streamsResp{resp(wire.ClientCount, "REQ014", nil, 1)},
			streamsResp{resp(wire.BroadcastAck, "REQ014", map[string]any{"answer": "q2", "from": "stella"}, 0)}}},
	}
}

func decodeMessage(t *testing.T, payload []byte) *wire.Message {
	t.Helper()
	m, r, err := wire.DecodeCluster(payload)
	if err != nil || r != nil {
		t.Fatalf("decode: %v (response %+v)", err, r)
	}
	return m
}

// shardedMsg expects a message of the sharded adapter on the channel Parley
// would publish it on (dynamic mode), with Node's bytes.
type shardedMsg struct{ want wire.Message }

func (s shardedMsg) check(t *testing.T, c captured) {
	t.Helper()
	payload := c.bytes(t)
	got := decodeMessage(t, payload)
	want := s.want
	fillIDs(&want, got)
	compareMessages(t, got, &want)
	if got.Nsp != want.Nsp {
		t.Errorf("nsp %q, want %q", got.Nsp, want.Nsp)
	}
	if ch := clusterNames.ShardedChannel(&want, wire.ShardedDynamic); ch != c.Channel {
		t.Errorf("channel %s, Parley would publish on %s", c.Channel, ch)
	}
	enc, err := wire.EncodeShardedMessage(&want)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	compareBytes(t, enc, payload)
}

// shardedDates expects dates written as JavaScript's JSON writes them.
type shardedDates struct{ want wire.Message }

func (s shardedDates) check(t *testing.T, c captured) {
	t.Helper()
	got := decodeMessage(t, c.bytes(t))
	want := s.want
	fillIDs(&want, got)
	enc, err := wire.EncodeShardedMessage(&want)
	if err != nil {
		t.Fatal(err)
	}
	compareBytes(t, enc, c.bytes(t))
}

// streamsMsg expects a request of the streams adapter on its Pub/Sub side.
type streamsMsg struct{ want wire.Message }

func (s streamsMsg) check(t *testing.T, c captured) {
	t.Helper()
	payload := c.bytes(t)
	got := decodeMessage(t, payload)
	want := s.want
	fillIDs(&want, got)
	compareMessages(t, got, &want)
	if ch := clusterNames.Channel("/"); c.Channel != ch {
		t.Errorf("channel %s, want %s", c.Channel, ch)
	}
	enc, err := wire.EncodeStreamsMessage(&want)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	compareBytes(t, enc, payload)
}

type shardedResp struct{ want wire.Response }

func (s shardedResp) check(t *testing.T, c captured) {
	t.Helper()
	checkResponse(t, c, s.want, wire.EncodeShardedResponse)
}

type streamsResp struct{ want wire.Response }

func (s streamsResp) check(t *testing.T, c captured) {
	t.Helper()
	checkResponse(t, c, s.want, wire.EncodeStreamsResponse)
}

func checkResponse(t *testing.T, c captured, want wire.Response, encode func(*wire.Response) ([]byte, error)) {
	t.Helper()
	payload := c.bytes(t)
	m, got, err := wire.DecodeCluster(payload)
	if err != nil || m != nil {
		t.Fatalf("decode: %v (message %+v)", err, m)
	}
	if want.UID == anyID {
		want.UID = got.UID
	}
	if g, w := canonResponse(got), canonResponse(&want); !reflect.DeepEqual(g, w) || got.Nsp != want.Nsp {
		t.Errorf("decoded\n %#v\nwant\n %#v", g, w)
	}
	if ch := clusterNames.NodeChannel("/", "OTHER1"); c.Channel != ch {
		t.Errorf("channel %s, want the requester's %s", c.Channel, ch)
	}
	enc, err := encode(&want)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	compareBytes(t, enc, payload)
}

// clusterFetchAnswer expects a node's answer to a fetch: one socket, shaped
// as Node shapes it, msgpack on the streams side.
type clusterFetchAnswer struct {
	requestID, sid string
	rooms          []string
	msgpack        bool
}

func (f clusterFetchAnswer) check(t *testing.T, c captured) {
	t.Helper()
	payload := c.bytes(t)
	if isJSON := payload[0] == '{'; isJSON == f.msgpack {
		t.Errorf("answer is JSON: %v, want msgpack: %v", isJSON, f.msgpack)
	}
	_, got, err := wire.DecodeCluster(payload)
	if err != nil || got == nil {
		t.Fatalf("decode: %v", err)
	}
	if got.Kind != wire.FetchResult || got.RequestID != f.requestID || len(got.Sockets) != 1 || got.UID == "" || got.Nsp != "/" {
		t.Fatalf("decoded %+v", got)
	}
	s := got.Sockets[0]
	if s.ID != f.sid || !reflect.DeepEqual(s.Rooms, f.rooms) {
		t.Errorf("socket %+v", s)
	}
	for _, key := range []string{"headers", "time", "address", "xdomain", "secure", "issued", "url", "query", "auth"} {
		if _, ok := s.Handshake[key]; !ok {
			t.Errorf("handshake lacks %s: %v", key, s.Handshake)
		}
	}
	encode := wire.EncodeShardedResponse
	if f.msgpack {
		encode = wire.EncodeStreamsResponse
	}
	enc, err := encode(got)
	if err != nil {
		t.Fatal(err)
	}
	_, again, err := wire.DecodeCluster(enc)
	if err != nil || !reflect.DeepEqual(canonResponse(again), canonResponse(got)) || again.Sockets[0].ID != f.sid {
		t.Errorf("round trip changed the answer: %v\n%#v\n%#v", err, again, got)
	}
}

// streamMsg expects a stream entry with Node's field layout and data.
type streamMsg struct{ want wire.Message }

func (s streamMsg) check(t *testing.T, e streamEntry) {
	t.Helper()
	values := map[string]any{}
	for k, v := range e.Fields {
		values[k] = v
	}
	got, err := wire.DecodeStreamEntry(values)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	want := s.want
	fillIDs(&want, got)
	compareMessages(t, got, &want)
	compareFields(t, &want, e)
}

func compareFields(t *testing.T, want *wire.Message, e streamEntry) {
	t.Helper()
	fields, err := wire.StreamFields(want, false)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	// Node writes the fields in this order too (uid, nsp, type, data).
	var keys []string
	enc := map[string]string{}
	for i := 0; i < len(fields); i += 2 {
		keys = append(keys, fields[i].(string))
		enc[fields[i].(string)] = fields[i+1].(string)
	}
	if !reflect.DeepEqual(keys, []string{"uid", "nsp", "type", "data"}[:len(keys)]) {
		t.Errorf("field order %v", keys)
	}
	if !reflect.DeepEqual(enc, e.Fields) {
		t.Errorf("Parley's fields differ from Node's:\nparley %q\nnode   %q", enc, e.Fields)
	}
}

type streamDates struct{ want wire.Message }

func (s streamDates) check(t *testing.T, e streamEntry) {
	t.Helper()
	want := s.want
	want.UID = e.Fields["uid"]
	compareFields(t, &want, e)
}

// checkSession decodes the session the streams adapter persisted and
// encodes it back to the same text.
func checkSession(t *testing.T, c clusterCapture) {
	s, err := wire.DecodeSession(c.Session.Value)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{c.SSID, "r1", "r3"}
	data, _ := s.Data.(map[string]any)
	if s.SID != c.SSID || s.PID != c.Session.PID || !reflect.DeepEqual(s.Rooms, want) || data["name"] != "stella" || data["node"] != "S" {
		t.Fatalf("session %+v", s)
	}
	if !strings.HasPrefix(c.Session.Key, "sio:session:") || c.Session.TTL <= 0 || c.Session.TTL > 120000 {
		t.Errorf("key %s with TTL %d ms, want sio:session:<pid> with PX 120000", c.Session.Key, c.Session.TTL)
	}
	enc, err := wire.EncodeSession(s)
	if err != nil {
		t.Fatal(err)
	}
	if enc != c.Session.Value {
		t.Errorf("Parley's session differs from Node's:\nparley %s\nnode   %s", enc, c.Session.Value)
	}
}
