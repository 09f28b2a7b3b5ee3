package wire_test

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/testrig"
	"github.com/parley-chat/parley/internal/wire"
)

// The fuzz targets feed the classic decoders arbitrary bytes, seeded with
// the messages real Node peers published (testdata/captured.json, written by
// TestClassicGolden -update) plus legacy and odd forms. Decoders must never
// panic; what they accept must survive Parley's encoding: encode the decoded
// message and decode it again, and it is the same message. (Only where the
// encoding keeps the input's format: a request or response that arrived as
// msgpack is re-encoded as JSON, which has no binary or dates.)
//
//	go test ./internal/wire -run '^$' -fuzz FuzzDecodeClassicBroadcast

func addSeeds(f *testing.F, channel func(string) bool, extra ...string) {
	for _, c := range loadSeeds(f) {
		if channel(c.Channel) {
			f.Add(c.bytes(f))
		}
	}
	for _, e := range extra {
		f.Add([]byte(e))
	}
}

func isBroadcastChannel(ch string) bool { return strings.HasPrefix(ch, "socket.io#") }
func isRequestChannel(ch string) bool   { return strings.HasPrefix(ch, "socket.io-request#") }
func isResponseChannel(ch string) bool  { return strings.HasPrefix(ch, "socket.io-response#") }

func FuzzDecodeClassicBroadcast(f *testing.F) {
	addSeeds(f, isBroadcastChannel,
		"\x93\xa1u\x82\xa4type\x02\xa4data\x91\xa1e\x81\xa5rooms\x91\x2a", // numeric room, no nsp
		"\x93\xa1u\x82\xa4data\x91\xa1e\xa3nsp\xd4\x00\x00\x80",           // legacy undefined nsp
		"\x92\xa1u\x81\xa4data\x91\xc0",
		"\x93\xa1u\x81\xa4data\x90\x80",
	)
	addEncoded(f, everyMessage(), wire.EncodeClassicBroadcast)
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := wire.DecodeClassicBroadcast(payload)
		if err != nil {
			return
		}
		enc, err := wire.EncodeClassicBroadcast(m)
		if tooDeep(err) {
			return // accepted from a peer, too deep to send on
		}
		if err != nil {
			t.Fatalf("encoding an accepted broadcast: %v", err)
		}
		again, err := wire.DecodeClassicBroadcast(enc)
		if err != nil {
			t.Fatalf("decoding Parley's own encoding %q: %v", enc, err)
		}
		sameMessage(t, again, m)
	})
}

func FuzzDecodeClassicRequest(f *testing.F) {
	addSeeds(f, isRequestChannel,
		`{"type":2,"sid":"abc","room":7,"requestId":"r"}`,
		`{"type":4,"sid":"abc","close":true}`,
		`{"type":0,"rooms":[1.5,"x"]}`,
		`{"type":6,"data":["ev",{"a":[1,2,{"b":null}]}],"requestId":"q"}`,
		`{"type":99}`,
		`{"type":7,"requestId":"x","packet":{"data":["e"]},"opts":{"flags":{"timeout":-1}}}`,
	)
	addEncoded(f, everyMessage(), wire.EncodeClassicRequest)
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := wire.DecodeClassicRequest(payload)
		if err != nil || m.SID != "" || m.Kind == wire.Sockets {
			return // the legacy forms are answered, never sent
		}
		if payload[0] != '{' && m.Kind != wire.Broadcast {
			return // msgpack in, JSON out: not comparable
		}
		enc, err := wire.EncodeClassicRequest(m)
		if tooDeep(err) {
			return // accepted from a peer, too deep to send on
		}
		if err != nil {
			t.Fatalf("encoding an accepted request: %v", err)
		}
		again, err := wire.DecodeClassicRequest(enc)
		if err != nil {
			t.Fatalf("decoding Parley's own encoding %q: %v", enc, err)
		}
		sameMessage(t, again, m)
	})
}

func FuzzDecodeClassicResponse(f *testing.F) {
	addSeeds(f, isResponseChannel,
		`{"requestId":"a","sockets":[{"id":"s","rooms":["s"],"handshake":{"auth":{}},"data":null}]}`,
		`{"requestId":"a","sockets":["s1","s2"]}`,
		`{"requestId":"a","rooms":[1,"x"]}`,
		`{"type":8,"requestId":"a","clientCount":1e3}`,
		`{"requestId":"a"}`,
	)
	addEncoded(f, everyResponse(), wire.EncodeClassicResponse)
	f.Fuzz(func(t *testing.T, payload []byte) {
		r, err := wire.DecodeClassicResponse(payload)
		if err != nil {
			return
		}
		if payload[0] != '{' && r.Kind != wire.BroadcastAck {
			return // msgpack in, JSON out: not comparable
		}
		if payload[0] == '{' && r.Kind == wire.BroadcastAck {
			return // JSON in, msgpack out: numbers may change form
		}
		enc, err := wire.EncodeClassicResponse(r)
		if tooDeep(err) {
			return // accepted from a peer, too deep to send on
		}
		if err != nil {
			t.Fatalf("encoding an accepted response: %v", err)
		}
		again, err := wire.DecodeClassicResponse(enc)
		if err != nil {
			t.Fatalf("decoding Parley's own encoding %q: %v", enc, err)
		}
		if g, w := canonResponse(again), canonResponse(r); !reflect.DeepEqual(nanSafe(g), nanSafe(w)) {
			t.Fatalf("round trip changed the response:\n%#v\n%#v", g, w)
		}
	})
}

func sameMessage(t *testing.T, got, want *wire.Message) {
	t.Helper()
	g, w := canonMessage(got), canonMessage(want)
	if !reflect.DeepEqual(nanSafe(g), nanSafe(w)) {
		t.Fatalf("round trip changed the message:\n%#v\n%#v", g, w)
	}
}

// nanSafe replaces NaN, which never equals itself, with a marker.
func nanSafe(v any) any {
	return testrig.MapLeaves(v, func(v any) any {
		if f, ok := v.(float64); ok && math.IsNaN(f) {
			return "NaN"
		}
		return v
	})
}
