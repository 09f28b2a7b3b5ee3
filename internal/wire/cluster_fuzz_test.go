package wire_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/parley-chat/parley/internal/wire"
)

// The cluster fuzz targets are seeded with what the Node peers wrote
// (testdata/captured-cluster.json, written by TestClusterGolden -update).
// Decoders must never panic, and what they accept must survive Parley's
// encoding in the same format (JSON stays JSON, msgpack stays msgpack).
//
//	go test ./internal/wire -run '^$' -fuzz FuzzDecodeCluster

func FuzzDecodeCluster(f *testing.F) {
	for _, c := range loadClusterSeeds(f).Messages {
		f.Add(c.bytes(f))
	}
	for _, s := range []string{
		`{"type":2,"uid":"u","nsp":"/"}`,
		`{"type":3,"data":{"packet":{"data":["e"]},"opts":{"rooms":[7],"flags":{"timeout":-5}}},"nsp":"/"}`,
		`{"type":8,"data":{"requestId":"r","sockets":[{"id":"s"}]}}`,
		`{"type":11,"data":{"requestId":"r","clientCount":2.5}}`,
		`{"type":99,"data":{}}`,
		"\x83\xa4type\x0d\xa3uid\xa1u\xa3nsp\xa1/",
	} {
		f.Add([]byte(s))
	}
	addEncoded(f, everyMessage(), wire.EncodeShardedMessage)
	addEncoded(f, everyMessage(), wire.EncodeStreamsMessage)
	addEncoded(f, everyResponse(), wire.EncodeShardedResponse)
	addEncoded(f, everyResponse(), wire.EncodeStreamsResponse)
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, r, err := wire.DecodeCluster(payload)
		if err != nil {
			return
		}
		asJSON := payload[0] == '{'
		if m != nil {
			enc, err := wire.EncodeStreamsMessage(m)
			if asJSON {
				enc, err = wire.EncodeShardedMessage(m)
				if err == nil && enc[0] != '{' {
					return // JSON with numbers msgpack keeps apart is not comparable
				}
			}
			if tooDeep(err) {
				return // accepted from a peer, too deep to send on
			}
			if err != nil {
				t.Fatalf("encoding an accepted message: %v", err)
			}
			again, _, err := wire.DecodeCluster(enc)
			if err != nil || again == nil {
				t.Fatalf("decoding Parley's own encoding %q: %v", enc, err)
			}
			sameMessage(t, again, m)
			return
		}
		enc, err := wire.EncodeStreamsResponse(r)
		if asJSON {
			enc, err = wire.EncodeShardedResponse(r)
		}
		if tooDeep(err) {
			return // accepted from a peer, too deep to send on
		}
		if err != nil {
			t.Fatalf("encoding an accepted response: %v", err)
		}
		if asJSON && enc[0] != '{' {
			return
		}
		_, again, err := wire.DecodeCluster(enc)
		if err != nil || again == nil {
			t.Fatalf("decoding Parley's own encoding %q: %v", enc, err)
		}
		if g, w := canonResponse(again), canonResponse(r); !reflect.DeepEqual(nanSafe(g), nanSafe(w)) {
			t.Fatalf("round trip changed the response:\n%#v\n%#v", g, w)
		}
	})
}

func FuzzDecodeStreamEntry(f *testing.F) {
	for _, e := range loadClusterSeeds(f).Entries {
		f.Add(e.Fields["uid"], e.Fields["nsp"], e.Fields["type"], e.Fields["data"])
	}
	for _, m := range everyMessage() {
		for _, plaintext := range []bool{false, true} {
			if fields, err := wire.StreamFields(m, plaintext); err == nil {
				data := ""
				if len(fields) > 7 {
					data = fields[7].(string)
				}
				f.Add(fields[1].(string), fields[3].(string), fields[5].(string), data)
			}
		}
	}
	f.Add("u", "/", "2", "")
	f.Add("u", "/", "3", "!!!")
	f.Add("u", "", "4", `{"opts":{},"rooms":[1]}`)
	f.Fuzz(func(t *testing.T, uid, nsp, typ, data string) {
		values := map[string]any{"uid": uid, "nsp": nsp, "type": typ}
		if data != "" {
			values["data"] = data
		}
		m, err := wire.DecodeStreamEntry(values)
		if err != nil {
			return
		}
		fields, err := wire.StreamFields(m, false)
		if tooDeep(err) {
			return // accepted from a peer, too deep to send on
		}
		if err != nil {
			t.Fatalf("encoding an accepted entry: %v", err)
		}
		again := map[string]any{}
		for i := 0; i < len(fields); i += 2 {
			again[fields[i].(string)] = fields[i+1]
		}
		if d, _ := again["data"].(string); data != "" && (data[0] == '{') != (d != "" && d[0] == '{') {
			return // msgpack without binary comes back as JSON: not comparable
		}
		m2, err := wire.DecodeStreamEntry(again)
		if err != nil {
			t.Fatalf("decoding Parley's own entry %v: %v", again, err)
		}
		sameMessage(t, m2, m)
	})
}

func FuzzDecodeSession(f *testing.F) {
	f.Add(loadClusterSeeds(f).Session.Value)
	if raw, err := wire.EncodeSession(wire.Session{SID: "s", PID: "p", Rooms: []string{"s", "r"}, Data: map[string]any{"blob": []byte{0, 0xff}, "args": seedArgs}}); err == nil {
		f.Add(raw)
	}
	f.Add("gKA=")
	f.Add("hKNzaWShc6NwaWShcKVyb29tc5EBpGRhdGHA")
	f.Fuzz(func(t *testing.T, raw string) {
		s, err := wire.DecodeSession(raw)
		if err != nil {
			return
		}
		enc, err := wire.EncodeSession(s)
		if tooDeep(err) {
			return // accepted from a peer, too deep to send on
		}
		if err != nil {
			t.Fatalf("encoding an accepted session: %v", err)
		}
		again, err := wire.DecodeSession(enc)
		if err != nil {
			t.Fatalf("decoding Parley's own session: %v", err)
		}
		if !reflect.DeepEqual(nanSafe(canon(again.Data)), nanSafe(canon(s.Data))) || again.SID != s.SID || again.PID != s.PID ||
			!slices.Equal(again.Rooms, s.Rooms) {
			t.Fatalf("round trip changed the session:\n%#v\n%#v", again, s)
		}
	})
}
