package wire_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/parley-chat/parley/internal/notepack"
	"github.com/parley-chat/parley/internal/wire"
)

type chatMessage struct {
	Content string `json:"content"`
	From    string `json:"from"`
	Blob    []byte `json:"blob,omitempty"`
	Hidden  string `json:"-"`
	At      time.Time
}

type level string

// clientSent is what a handler gets from the library for a client's
// {blob: <Buffer 00 ff 10 20 7f 80>, label: "bin"}, plus everything else an
// argument can be.
func clientSent() []any {
	at := time.Date(2024, 1, 2, 3, 4, 5, 600_000_789, time.FixedZone("X", 3600))
	return []any{
		"relay",
		map[string]any{"blob": types.NewBytesBuffer([]byte{0, 0xff, 0x10, 0x20, 0x7f, 0x80}), "label": "bin"},
		"ünï <&>", 42.0, -1.5, true, false, nil,
		int64(1<<53 + 1), uint64(math.MaxUint64), 1e21, float32(0.1), json.Number("12.50"),
		math.NaN(), math.Inf(-1), math.Copysign(0, -1),
		types.NewBytesBuffer(nil), []byte(nil), []byte{}, []byte{1, 2, 3},
		[]any{[]any{map[string]any{"deep": types.NewBytesBuffer([]byte{9})}}, types.NewBytesBuffer([]byte{8})},
		bytes.NewBufferString("buffer"), bytes.NewReader([]byte{4, 5}), strings.NewReader("text"),
		types.NewStringBufferString("string buffer"),
		chatMessage{Content: "hi", From: "u1", Blob: []byte{1}, Hidden: "x", At: at},
		&chatMessage{Content: "ptr"},
		map[string]int{"b": 2, "a": 1}, []string{"x"}, [2]int{1, 2}, level("warn"),
		json.RawMessage(`{"r":[1,2.5,{"z":null}]}`), at, &at,
		notepack.Map{{Key: "z", Value: types.NewBytesBuffer([]byte{7})}, {Key: "a", Value: math.NaN()}},
	}
}

func TestPayloadValues(t *testing.T) {
	in := clientSent()
	blob := in[1].(map[string]any)["blob"].(*types.BytesBuffer)
	got, err := wire.Payload(in)
	if err != nil {
		t.Fatal(err)
	}
	at := in[len(in)-3].(time.Time)
	want := []any{
		"relay",
		map[string]any{"blob": []byte{0, 0xff, 0x10, 0x20, 0x7f, 0x80}, "label": "bin"},
		"ünï <&>", 42.0, -1.5, true, false, nil,
		float64(1 << 53), float64(math.MaxUint64), 1e21, float64(float32(0.1)), 12.5,
		"NaN", math.Inf(-1), "-0",
		[]byte{}, []byte{}, []byte{}, []byte{1, 2, 3},
		[]any{[]any{map[string]any{"deep": []byte{9}}}, []byte{8}},
		[]byte("buffer"), []byte{4, 5}, "text",
		"string buffer",
		map[string]any{"content": "hi", "from": "u1", "blob": "AQ==", "At": "2024-01-02T03:04:05.600000789+01:00"},
		map[string]any{"content": "ptr", "from": "", "At": "0001-01-01T00:00:00Z"},
		map[string]any{"a": 1.0, "b": 2.0}, []any{"x"}, []any{1.0, 2.0}, "warn",
		map[string]any{"r": []any{1.0, 2.5, map[string]any{"z": nil}}}, at, at,
		map[string]any{"z": []byte{7}, "a": "NaN"},
	}
	check := func(got, want []any) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%d values, want %d", len(got), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(markFloats(got[i]), want[i]) {
				t.Errorf("value %d (%T): got %#v, want %#v", i, in[i], got[i], want[i])
			}
		}
	}
	check(got, want)
	// The clients' copy: what JSON.stringify makes of NaN, -0 and dates.
	iso := "2024-01-02T02:04:05.600Z"
	want[13], want[15], want[len(want)-3], want[len(want)-2] = nil, 0.0, iso, iso
	want[14] = nil
	want[len(want)-1] = map[string]any{"z": []byte{7}, "a": nil}
	check(wire.ClientArgs(got), want)
	if blob.Len() != 6 {
		t.Errorf("the handler's buffer was consumed: %d bytes left", blob.Len())
	}
	if _, isBuf := in[1].(map[string]any)["blob"].(*types.BytesBuffer); !isBuf {
		t.Error("the caller's map was modified")
	}
}

// markFloats replaces NaN and -0, which DeepEqual cannot tell apart from
// what they are not, by strings.
func markFloats(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) {
			return "NaN"
		}
		if x == 0 && math.Signbit(x) {
			return "-0"
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = markFloats(e)
		}
		return out
	}
	return v
}

func TestPayloadKeepsWhatNeedsNoChange(t *testing.T) {
	in := []any{"ev", "x", 1.5, map[string]any{"a": []any{"b", 2.0}}, []byte{1}}
	out, err := wire.Payload(in)
	if err != nil {
		t.Fatal(err)
	}
	if &out[0] != &in[0] {
		t.Error("a payload without anything to change was copied")
	}
	if clients := wire.ClientArgs(out); &clients[0] != &in[0] {
		t.Error("ClientArgs copied a payload without anything to change")
	}
}

func TestPayloadRefuses(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	deep := any("leaf")
	for range notepack.MaxEncodeDepth + 1 {
		deep = []any{deep}
	}
	type opaque struct{ n int }
	type bufferField struct{ B *types.BytesBuffer }
	for name, v := range map[string]any{
		"ack callback":         func([]any, error) {},
		"channel":              make(chan int),
		"complex":              complex(1, 2),
		"opaque struct":        opaque{1},
		"buffer in a struct":   bufferField{types.NewBytesBuffer([]byte{1}).(*types.BytesBuffer)},
		"failing reader":       iotest.ErrReader(errors.New("boom")),
		"broken buffer":        &types.BytesBuffer{},
		"cyclic":               cyclic,
		"too deep":             deep,
		"NaN in a struct":      struct{ F float64 }{math.NaN()},
		"map with struct keys": map[[1]int]int{{1}: 1},
	} {
		if _, err := wire.Payload([]any{"ev", v}); !errors.Is(err, notepack.ErrUnsupported) {
			t.Errorf("%s: err = %v, want notepack.ErrUnsupported", name, err)
		}
	}
}

// TestPayloadSameLocallyAndRemotely checks what issue 13 is about: the
// packet a node's own clients get (the library's encoder on Payload's
// values) and the packet another Parley node's clients get (the same
// encoder on what that node decodes) are the same, binary included, for
// every protocol and message that carries event arguments.
func TestPayloadSameLocallyAndRemotely(t *testing.T) {
	data, err := wire.Payload(clientSent())
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{0xab, 0x00, 0x7f}, 1<<20/3+1)
	large, err := wire.Payload([]any{"big", types.NewBytesBuffer(big), map[string]any{"again": big}})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range [][]any{data, large} {
		local := clientView(t, wire.ClientArgs(d))
		for name, remote := range remoteCopies(t, d) {
			if got := clientView(t, wire.ClientArgs(remote)); !reflect.DeepEqual(got, local) {
				t.Errorf("%s (%s): remote clients would get\n%.600v\nlocal ones\n%.600v", name, d[0], got, local)
			}
		}
	}
}

// remoteCopies encodes data in every message that carries event arguments,
// in every protocol, and returns what the receiving node decodes.
func remoteCopies(t *testing.T, data []any) map[string][]any {
	t.Helper()
	b := &wire.Message{Kind: wire.Broadcast, UID: "u", Nsp: "/", Data: data}
	ack := &wire.Message{Kind: wire.Broadcast, UID: "u", Nsp: "/", Data: data, RequestID: "r"}
	sse := &wire.Message{Kind: wire.ServerSideEmit, UID: "u", Nsp: "/", Data: data, RequestID: "r"}
	out := map[string][]any{}
	decode := func(name string, enc func() ([]byte, error), dec func([]byte) (*wire.Message, error)) {
		payload, err := enc()
		if err != nil {
			t.Fatalf("%s: encode: %v", name, err)
		}
		m, err := dec(payload)
		if err != nil {
			t.Fatalf("%s: decode: %v", name, err)
		}
		out[name] = m.Data
	}
	cluster := func(p []byte) (*wire.Message, error) {
		m, _, err := wire.DecodeCluster(p)
		return m, err
	}
	decode("classic broadcast", func() ([]byte, error) { return wire.EncodeClassicBroadcast(b) }, wire.DecodeClassicBroadcast)
	decode("classic ack broadcast", func() ([]byte, error) { return wire.EncodeClassicRequest(ack) }, wire.DecodeClassicRequest)
	decode("classic server-side emit", func() ([]byte, error) { return wire.EncodeClassicRequest(sse) }, wire.DecodeClassicRequest)
	decode("sharded broadcast", func() ([]byte, error) { return wire.EncodeShardedMessage(b) }, cluster)
	decode("sharded server-side emit", func() ([]byte, error) { return wire.EncodeShardedMessage(sse) }, cluster)
	decode("streams ack broadcast", func() ([]byte, error) { return wire.EncodeStreamsMessage(ack) }, cluster)
	fields, err := wire.StreamFields(b, false)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]any{}
	for i := 0; i < len(fields); i += 2 {
		values[fields[i].(string)] = fields[i+1]
	}
	m, err := wire.DecodeStreamEntry(values)
	if err != nil {
		t.Fatal(err)
	}
	out["stream entry"] = m.Data
	for name, r := range map[string]*wire.Response{
		"classic broadcast ack": {Kind: wire.BroadcastAck, RequestID: "r", Packet: data},
		"classic sse answer":    {Kind: wire.ServerSideEmitAck, RequestID: "r", Packet: data},
	} {
		payload, err := wire.EncodeClassicResponse(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := wire.DecodeClassicResponse(payload)
		if err != nil {
			t.Fatal(err)
		}
		out[name], _ = got.Packet.([]any)
	}
	for name, r := range map[string]*wire.Response{
		"sharded broadcast ack": {Kind: wire.BroadcastAck, RequestID: "r", Packet: data},
		"streams sse answer":    {Kind: wire.ServerSideEmitAck, RequestID: "r", Packet: data},
	} {
		encode := wire.EncodeShardedResponse
		if strings.HasPrefix(name, "streams") {
			encode = wire.EncodeStreamsResponse
		}
		payload, err := encode(r)
		if err != nil {
			t.Fatal(err)
		}
		_, got, err := wire.DecodeCluster(payload)
		if err != nil {
			t.Fatal(err)
		}
		out[name], _ = got.Packet.([]any)
	}
	return out
}

// clientView is the packet a client receives for data, as the library's
// encoder writes it, with its attachments put back in place of their
// placeholders (whose numbering follows Go's map order) and its JSON
// parsed, so that two views compare as the client would see them.
func clientView(t *testing.T, data []any) any {
	t.Helper()
	bufs := parser.NewEncoder().Encode(&parser.Packet{Type: parser.EVENT, Nsp: "/", Data: data})
	text := bufs[0].String()
	header := text[:strings.IndexByte(text, '[')]
	var v any
	if err := json.Unmarshal([]byte(text[len(header):]), &v); err != nil {
		t.Fatalf("the library wrote %.200q: %v", text, err)
	}
	attachments := make([][]byte, 0, len(bufs)-1)
	for _, b := range bufs[1:] {
		attachments = append(attachments, b.Bytes())
	}
	return []any{header, resolve(v, attachments)}
}

func resolve(v any, attachments [][]byte) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = resolve(x[i], attachments)
		}
	case map[string]any:
		if x["_placeholder"] == true {
			n := int(x["num"].(float64))
			return fmt.Sprintf("<binary %d bytes, sha256 %x>", len(attachments[n]), sha256.Sum256(attachments[n]))
		}
		for k := range x {
			x[k] = resolve(x[k], attachments)
		}
	}
	return v
}

// privateMessage is the chat's message.Message.
type privateMessage struct {
	Content string `json:"content"`
	From    string `json:"from"`
	To      string `json:"to"`
}

// BenchmarkPayload is the value walk every broadcast takes before it is
// encoded and delivered: the chat's private message as a map (nothing to
// change), as the struct the chat broadcasts (encoding/json's view of it),
// and a client's binary as the library hands it over.
func BenchmarkPayload(b *testing.B) {
	content := strings.Repeat("x", 100)
	for name, args := range map[string][]any{
		"map":    {"private message", map[string]any{"content": content, "from": "d3b07384d113edec49eaa6238ad5ff00", "to": "c157a79031e1c40f85931829bc5fc552"}},
		"struct": {"private message", privateMessage{Content: content, From: "d3b07384d113edec49eaa6238ad5ff00", To: "c157a79031e1c40f85931829bc5fc552"}},
		"binary": {"relay", map[string]any{"blob": types.NewBytesBuffer(make([]byte, 1024)), "label": "bin"}},
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := wire.Payload(args); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestAttachmentsCounted(t *testing.T) {
	args, err := wire.Payload([]any{"ev", []byte{1}, map[string]any{"a": []any{[]byte{}, "x", map[string]any{"b": []byte{2}}}}, nil, 3})
	if err != nil {
		t.Fatal(err)
	}
	if n := wire.Attachments(args); n != 3 {
		t.Fatalf("Attachments = %d, want 3", n)
	}
	if n := wire.Attachments([]any{"ev", "text"}); n != 0 {
		t.Fatalf("Attachments of text = %d", n)
	}
}
