package wire_test

import (
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/notepack"
	"github.com/parley-chat/parley/internal/testrig/redistest"
	"github.com/parley-chat/parley/internal/wire"
)

var update = flag.Bool("update", false, "rewrite testdata/captured.json (the fuzz seeds) from a fresh capture")

// captured is one message a Node peer published, as capture.mjs recorded it.
type captured struct {
	Step    string `json:"step"`
	Channel string `json:"channel"`
	Hex     string `json:"hex"`
}

func (c captured) bytes(t testing.TB) []byte {
	b, err := hex.DecodeString(c.Hex)
	if err != nil {
		t.Fatalf("bad hex: %v", err)
	}
	return b
}

type capture struct {
	Versions map[string]string `json:"versions"`
	SID      string            `json:"sid"`
	Messages []captured        `json:"messages"`
}

// runCapture runs testdata/capture.mjs against a fresh redis-server: the
// goldens are made by the real Node packages at every test run.
func runCapture(t *testing.T) capture {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required to capture the Node peers' bytes (install Node.js 20+): %v", err)
	}
	r := redistest.Start(t)
	cmd := exec.Command(node, filepath.Join("testdata", "capture.mjs"))
	cmd.Env = append(os.Environ(), "REDIS_URL="+r.URL())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("capture.mjs failed (run npm ci in the repository root to install the Node packages): %v\n%s", err, stderr.String())
	}
	var c capture
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatalf("capture.mjs output: %v\n%s", err, out)
	}
	if *update {
		seeds, _ := json.MarshalIndent(c.Messages, "", " ")
		if err := os.WriteFile(seedPath, append(seeds, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

const seedPath = "testdata/captured.json"

// loadSeeds reads the committed capture (see -update), for the fuzz seeds.
func loadSeeds(t testing.TB) []captured {
	data, err := os.ReadFile(seedPath)
	if err != nil {
		t.Fatalf("read %s: %v", seedPath, err)
	}
	var seeds []captured
	if err := json.Unmarshal(data, &seeds); err != nil {
		t.Fatalf("parse %s: %v", seedPath, err)
	}
	return seeds
}

var names = wire.Classic{}

// goldenDate is the Date capture.mjs sends.
var goldenDate = time.Date(2023, 11, 14, 22, 13, 20, 123e6, time.UTC)

// TestClassicGolden compares Parley's classic encodings with the bytes Node
// peers publish: for each captured message, decoding it must give the
// message Parley would build, and encoding that message (built from Go
// values, with the ids the Node peer chose) must give the same bytes.
// Messages whose content Go cannot order like Node (a fetch answer's
// handshake headers) are checked by decoding and round trip only.
func TestClassicGolden(t *testing.T) {
	c := runCapture(t)
	byStep := map[string][]captured{}
	for _, m := range c.Messages {
		byStep[m.Step] = append(byStep[m.Step], m)
	}
	for _, g := range goldens(c.SID) {
		t.Run(g.step, func(t *testing.T) {
			msgs := byStep[g.step]
			if len(msgs) != len(g.want) {
				t.Fatalf("captured %d messages, want %d: %v", len(msgs), len(g.want), msgs)
			}
			for i, w := range g.want {
				w.check(t, msgs[i])
			}
		})
		delete(byStep, g.step)
	}
	for step := range byStep {
		t.Errorf("captured step %s has no golden", step)
	}
}

type golden struct {
	step string
	want []expectation
}

// expectation checks one captured message.
type expectation interface {
	check(t *testing.T, c captured)
}

// anyID marks ids the Node peer chooses at random; the golden takes them
// from the capture.
const anyID = "*"

func goldens(sid string) []golden {
	opts := func(rooms, except []string, f wire.Flags) wire.Options {
		return wire.Options{Rooms: rooms, Except: except, Flags: f}
	}
	timeout := 4 * time.Second
	yes, no := true, false
	bcast := func(uid, nsp string, o wire.Options, data ...any) broadcast {
		return broadcast{wire.Message{Kind: wire.Broadcast, UID: uid, Nsp: nsp, Data: data, Opts: o, PacketType: 2}}
	}
	req := func(m wire.Message) request { return request{m, true} }
	return []golden{
		{"broadcast-all", []expectation{bcast(anyID, "/", opts(nil, nil, wire.Flags{}), "ev", "hello", 42, map[string]any{"n": 1.5})}},
		{"broadcast-values", []expectation{bcast(anyID, "/", opts(nil, nil, wire.Flags{}),
			"vals", []byte{1, 2, 3, 255}, goldenDate, -1, -200, int64(1)<<40, 1.25, nil, true, "ünï <&>",
			map[string]any{"a": []any{1, map[string]any{"x": "y"}}, "b": map[string]any{}}, []any{})}},
		{"broadcast-room", []expectation{bcast(anyID, "/", opts([]string{"r1"}, nil, wire.Flags{}), "ev-r1", "room")}},
		{"broadcast-rooms-except", []expectation{bcast(anyID, "/", opts([]string{"r1", "r2"}, []string{"r3"}, wire.Flags{}), "ev-multi", 1)}},
		{"broadcast-flags", []expectation{bcast(anyID, "/", opts([]string{"r1"}, nil, wire.Flags{Volatile: true, Compress: &no}), "ev-flags")}},
		{"broadcast-namespace", []expectation{bcast(anyID, "/admin", opts([]string{"a1"}, nil, wire.Flags{}), "adm", map[string]any{"k": "v"})}},
		{"broadcast-ack", []expectation{req(wire.Message{Kind: wire.Broadcast, UID: anyID, RequestID: anyID, Nsp: "/", PacketType: 2,
			Data: []any{"ask", "q1"}, Opts: opts(nil, nil, wire.Flags{Timeout: &timeout})})}},
		{"sockets-join", []expectation{req(wire.Message{Kind: wire.SocketsJoin, UID: anyID, Opts: opts([]string{"r1"}, nil, wire.Flags{}), Rooms: []string{"r2", "r3"}})}},
		{"sockets-leave", []expectation{req(wire.Message{Kind: wire.SocketsLeave, UID: anyID, Opts: opts([]string{"r1"}, []string{"r9"}, wire.Flags{}), Rooms: []string{"r2"}})}},
		{"disconnect-sockets", []expectation{req(wire.Message{Kind: wire.DisconnectSockets, UID: anyID, Opts: opts([]string{"nobody"}, nil, wire.Flags{}), Close: true})}},
		{"fetch-sockets", []expectation{req(wire.Message{Kind: wire.FetchSockets, UID: anyID, RequestID: anyID, Opts: opts([]string{"r1"}, nil, wire.Flags{})})}},
		{"server-side-emit", []expectation{req(wire.Message{Kind: wire.ServerSideEmit, UID: anyID, Data: []any{"sse", "a", 1, map[string]any{"z": nil}}})}},
		{"server-side-emit-ack", []expectation{req(wire.Message{Kind: wire.ServerSideEmit, UID: anyID, RequestID: anyID, Data: []any{"sse-ack", map[string]any{"q": 1}}})}},
		{"all-rooms", []expectation{req(wire.Message{Kind: wire.AllRooms, UID: anyID, RequestID: anyID})}},
		{"answer-fetch", []expectation{
			req(wire.Message{Kind: wire.FetchSockets, UID: "OTHER1", RequestID: "REQ001", Opts: opts([]string{"r1"}, nil, wire.Flags{})}),
			fetchAnswer{requestID: "REQ001", sid: sid},
		}},
		{"answer-all-rooms", []expectation{
			req(wire.Message{Kind: wire.AllRooms, UID: "OTHER1", RequestID: "REQ002"}),
			response{wire.Response{Kind: wire.RoomsResult, RequestID: "REQ002", Rooms: []string{sid, "r1", "r3"}}},
		}},
		{"answer-sse-ack", []expectation{
			req(wire.Message{Kind: wire.ServerSideEmit, UID: "OTHER1", RequestID: "REQ003", Data: []any{"sse-ack", "x"}}),
			response{wire.Response{Kind: wire.ServerSideEmitAck, RequestID: "REQ003", Packet: map[string]any{"arg": "x", "node": "N"}}},
		}},
		{"answer-broadcast-ack", []expectation{
			req(wire.Message{Kind: wire.Broadcast, UID: "OTHER1", RequestID: "REQ004", Nsp: "/", PacketType: 2,
				Data: []any{"ask", "q2"}, Opts: opts([]string{"r1"}, nil, wire.Flags{Timeout: &timeout})}),
			response{wire.Response{Kind: wire.ClientCount, RequestID: "REQ004", ClientCount: 1}},
			response{wire.Response{Kind: wire.BroadcastAck, RequestID: "REQ004", Packet: map[string]any{"answer": "q2", "from": "nora"}}},
		}},
		{"answer-legacy-sockets", []expectation{
			request{wire.Message{Kind: wire.Sockets, UID: "OTHER1", RequestID: "REQ005", Opts: opts([]string{"r1"}, nil, wire.Flags{})}, false},
			response{wire.Response{Kind: wire.SocketsResult, RequestID: "REQ005", SIDs: []string{sid}}},
		}},
		{"answer-legacy-join", []expectation{
			request{wire.Message{Kind: wire.SocketsJoin, UID: "OTHER1", RequestID: "REQ006", SID: sid, Room: "legacy"}, false},
			response{wire.Response{Kind: wire.Done, RequestID: "REQ006"}},
		}},
		{"emitter-all", []expectation{bcast(wire.EmitterUID, "/", opts(nil, nil, wire.Flags{}), "ev", "x", map[string]any{"n": 1})}},
		{"emitter-room-flags", []expectation{bcast(wire.EmitterUID, "/", opts([]string{"r1"}, []string{"r2"}, wire.Flags{Volatile: true, Compress: &yes}), "ev-room", 2)}},
		{"emitter-namespace", []expectation{bcast(wire.EmitterUID, "/admin", opts([]string{"a1", "a2"}, nil, wire.Flags{}), "adm", goldenDate)}},
		{"emitter-join", []expectation{req(wire.Message{Kind: wire.SocketsJoin, Opts: opts([]string{"r1"}, nil, wire.Flags{}), Rooms: []string{"r9"}})}},
		{"emitter-leave", []expectation{req(wire.Message{Kind: wire.SocketsLeave, Opts: opts(nil, []string{"r1"}, wire.Flags{}), Rooms: []string{"r9", "r8"}})}},
		{"emitter-disconnect", []expectation{req(wire.Message{Kind: wire.DisconnectSockets, Opts: opts([]string{"nobody"}, nil, wire.Flags{}), Close: true})}},
		{"emitter-server-side-emit", []expectation{req(wire.Message{Kind: wire.ServerSideEmit, UID: wire.EmitterUID, Data: []any{"sse", 1, "two"}})}},
	}
}

// broadcast expects a broadcast on a broadcast channel.
type broadcast struct{ want wire.Message }

func (b broadcast) check(t *testing.T, c captured) {
	t.Helper()
	payload := c.bytes(t)
	got, err := wire.DecodeClassicBroadcast(payload)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	want := b.want
	fillIDs(&want, got)
	compareMessages(t, got, &want)
	if ch := names.BroadcastTarget(&want); ch != c.Channel {
		t.Errorf("channel %s, Parley would publish on %s", c.Channel, ch)
	}
	enc, err := wire.EncodeClassicBroadcast(&want)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	compareBytes(t, enc, payload)
}

// request expects a request on the request channel; exact requests must
// also be encoded to the same bytes (Parley does not send the legacy ones).
type request struct {
	want  wire.Message
	exact bool
}

func (r request) check(t *testing.T, c captured) {
	t.Helper()
	payload := c.bytes(t)
	got, err := wire.DecodeClassicRequest(payload)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	want := r.want
	fillIDs(&want, got)
	compareMessages(t, got, &want)
	if c.Channel != names.RequestChannel("/") {
		t.Errorf("channel %s", c.Channel)
	}
	if !r.exact {
		return
	}
	enc, err := wire.EncodeClassicRequest(&want)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	compareBytes(t, enc, payload)
}

// response expects a response on the shared response channel.
type response struct{ want wire.Response }

func (r response) check(t *testing.T, c captured) {
	t.Helper()
	payload := c.bytes(t)
	got, err := wire.DecodeClassicResponse(payload)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if g, w := canonResponse(got), canonResponse(&r.want); !reflect.DeepEqual(g, w) {
		t.Errorf("decoded\n %#v\nwant\n %#v", g, w)
	}
	if c.Channel != names.ResponseChannel("/") {
		t.Errorf("channel %s", c.Channel)
	}
	enc, err := wire.EncodeClassicResponse(&r.want)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	compareBytes(t, enc, payload)
}

// fetchAnswer expects Node's answer to a fetch: one socket, Node-shaped.
type fetchAnswer struct{ requestID, sid string }

func (f fetchAnswer) check(t *testing.T, c captured) {
	t.Helper()
	got, err := wire.DecodeClassicResponse(c.bytes(t))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got.Kind != wire.FetchResult || got.RequestID != f.requestID || len(got.Sockets) != 1 {
		t.Fatalf("decoded %+v", got)
	}
	s := got.Sockets[0]
	h := s.Handshake
	auth, _ := h["auth"].(map[string]any)
	if s.ID != f.sid || auth["name"] != "nora" || !reflect.DeepEqual(s.Rooms, []string{f.sid, "r1", "r3"}) {
		t.Errorf("socket %+v", s)
	}
	for _, key := range []string{"headers", "time", "address", "xdomain", "secure", "issued", "url", "query", "auth"} {
		if _, ok := h[key]; !ok {
			t.Errorf("handshake lacks %s: %v", key, h)
		}
	}
	// Round trip: Parley's encoding of what it decoded reads back the same.
	enc, err := wire.EncodeClassicResponse(got)
	if err != nil {
		t.Fatal(err)
	}
	again, err := wire.DecodeClassicResponse(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(canonResponse(again), canonResponse(got)) {
		t.Errorf("round trip changed the answer:\n%#v\n%#v", again, got)
	}
}

func fillIDs(want, got *wire.Message) {
	if want.UID == anyID {
		want.UID = got.UID
	}
	if want.RequestID == anyID {
		want.RequestID = got.RequestID
	}
}

func compareMessages(t *testing.T, got, want *wire.Message) {
	t.Helper()
	if g, w := canonMessage(got), canonMessage(want); !reflect.DeepEqual(g, w) {
		t.Errorf("decoded\n %#v\nwant\n %#v", g, w)
	}
}

func compareBytes(t *testing.T, got, want []byte) {
	t.Helper()
	if string(got) != string(want) {
		t.Errorf("Parley's bytes differ from Node's:\nparley %q\nnode   %q", got, want)
	}
}

// canonMessage renders a message with its values in a comparable form.
func canonMessage(m *wire.Message) map[string]any {
	return map[string]any{
		"kind": m.Kind, "uid": m.UID, "nsp": m.Nsp, "requestId": m.RequestID, "data": canon(m.Data),
		"rooms": canon(strs(m.Opts.Rooms)), "except": canon(strs(m.Opts.Except)), "flags": fmt.Sprint(flagsString(m.Opts.Flags)),
		"joinRooms": canon(strs(m.Rooms)), "close": m.Close, "sid": m.SID, "room": m.Room,
	}
}

func canonResponse(r *wire.Response) map[string]any {
	return map[string]any{
		"kind": r.Kind, "requestId": r.RequestID, "clientCount": r.ClientCount, "packet": canon(r.Packet),
		"rooms": canon(strs(r.Rooms)), "sids": canon(strs(r.SIDs)), "sockets": len(r.Sockets),
	}
}

func flagsString(f wire.Flags) string {
	s := fmt.Sprintf("volatile=%v local=%v single=%v", f.Volatile, f.Local, f.ExpectSingleResponse)
	if f.Compress != nil {
		s += fmt.Sprintf(" compress=%v", *f.Compress)
	}
	if f.Timeout != nil {
		s += fmt.Sprintf(" timeout=%v", *f.Timeout)
	}
	return s
}

func strs(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// canon makes numbers float64, times their instant and ordered maps plain.
func canon(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case time.Time:
		return "time:" + x.UTC().Format(time.RFC3339Nano)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = canon(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = canon(e)
		}
		return out
	case notepack.Map:
		out := make(map[string]any, len(x))
		for _, kv := range x {
			out[kv.Key] = canon(kv.Value)
		}
		return out
	}
	return v
}
