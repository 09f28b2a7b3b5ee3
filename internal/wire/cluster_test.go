package wire_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/wire"
)

// TestShardedChannel covers the sharded adapter's publishing rule in each
// subscription mode, with the 20-character socket-id heuristic counted in
// UTF-16 code units as JavaScript counts them.
func TestShardedChannel(t *testing.T) {
	c := wire.Cluster{Prefix: "p"}
	sid := "abcdefghijklmnopqrst"         // 20
	wide := strings.Repeat("é", 18) + "😀" // 18 + 2 UTF-16 units = 20; 40 bytes
	bcast := func(rooms ...string) *wire.Message {
		return &wire.Message{Kind: wire.Broadcast, Nsp: "/", Opts: wire.Options{Rooms: rooms}}
	}
	for _, tc := range []struct {
		m    *wire.Message
		mode wire.ShardedMode
		want string
	}{
		{bcast("r1"), wire.ShardedDynamic, "p#/#r1#"},
		{bcast("r1"), wire.ShardedStatic, "p#/#"},
		{bcast("r1"), wire.ShardedDynamicPrivate, "p#/#r1#"},
		{bcast(sid), wire.ShardedDynamic, "p#/#"},
		{bcast(sid), wire.ShardedDynamicPrivate, "p#/#" + sid + "#"},
		{bcast(wide), wire.ShardedDynamic, "p#/#"},
		{bcast("r1", "r2"), wire.ShardedDynamicPrivate, "p#/#"},
		{bcast(), wire.ShardedDynamic, "p#/#"},
		{&wire.Message{Kind: wire.Broadcast, Nsp: "/", RequestID: "x", Opts: wire.Options{Rooms: []string{"r1"}}}, wire.ShardedDynamic, "p#/#"},
		{&wire.Message{Kind: wire.SocketsJoin, Nsp: "/a", Opts: wire.Options{Rooms: []string{"r1"}}}, wire.ShardedDynamic, "p#/a#"},
	} {
		if got := c.ShardedChannel(tc.m, tc.mode); got != tc.want {
			t.Errorf("ShardedChannel(%+v, %d) = %s, want %s", tc.m.Opts.Rooms, tc.mode, got, tc.want)
		}
	}
	if !wire.LooksLikeSocketID(wide) || !wire.LooksLikeSocketID(sid[:19]+"é") || wire.LooksLikeSocketID(sid[:18]+"😀😀") {
		t.Errorf("UTF-16 length: %q %v", wide, wire.LooksLikeSocketID(wide))
	}
}

// TestStreamName covers Node's stream choice with streamCount > 1, negative
// index quirk included.
func TestStreamName(t *testing.T) {
	for _, tc := range []struct {
		nsp   string
		count int
		want  string
		neg   bool
	}{
		{"/", 1, "s", false},
		{"/", 4, "s-3", false},               // "/".hashCode() = 47
		{"/orders/eu-west", 4, "s--3", true}, // hashCode < 0
		{"/orders/eu-west", 3, "s-0", false}, // JavaScript's -0 prints as 0
		{"/ü", 3, "s-2", false},
	} {
		if got := wire.StreamName("s", tc.count, tc.nsp); got != tc.want {
			t.Errorf("StreamName(%q, %d) = %s, want %s", tc.nsp, tc.count, got, tc.want)
		}
		if got := wire.NegativeStream(tc.count, tc.nsp); got != tc.neg {
			t.Errorf("NegativeStream(%q) = %v", tc.nsp, got)
		}
	}
}

func TestValidOffset(t *testing.T) {
	for s, want := range map[string]bool{"1-0": true, "1700000000000-12": true, "": false, "1": false, "a-1": false, "1-1-1": false, "-1-0": false} {
		if got := wire.ValidOffset(s); got != want {
			t.Errorf("ValidOffset(%q) = %v", s, got)
		}
	}
}

// TestClusterDates: JSON carries dates as JavaScript writes them, years
// outside 0..9999 included.
func TestClusterDates(t *testing.T) {
	m := &wire.Message{Kind: wire.ServerSideEmit, UID: "u", Nsp: "/", Data: []any{"d",
		time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-5, 1, 1, 0, 0, 0, 1e6, time.UTC), time.Date(2000, 1, 1, 1, 0, 0, 0, time.FixedZone("x", 3600))}}
	enc, err := wire.EncodeShardedMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `"packet":["d","+012345-01-01T00:00:00.000Z","-000005-01-01T00:00:00.001Z","2000-01-01T00:00:00.000Z"]`
	if !strings.Contains(string(enc), want) {
		t.Errorf("%s\nlacks %s", enc, want)
	}
}

func TestClusterDecodeErrors(t *testing.T) {
	for _, payload := range []string{"", "{", "[1]", `{"type":"3"}`, `{"type":3,"data":{"packet":{"data":[]}}}`,
		`{"type":7,"data":{"opts":{}}}`, `{"type":8,"data":{"sockets":[]}}`, `{"type":11,"data":{"requestId":"r","clientCount":-1}}`,
		`{"type":9,"data":{}}`} {
		if _, _, err := wire.DecodeCluster([]byte(payload)); !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("DecodeCluster(%q) = %v, want ErrMalformed", payload, err)
		}
	}
	if _, _, err := wire.DecodeCluster([]byte(`{"type":42}`)); !errors.Is(err, wire.ErrUnsupported) {
		t.Errorf("unknown type: %v, want ErrUnsupported", err)
	}
	for _, values := range []map[string]any{
		{"nsp": "/", "type": "3"},
		{"uid": "u", "nsp": "/", "type": "x"},
		{"uid": "u", "nsp": "/", "type": "3", "data": "%%%"},
		{"uid": "u", "nsp": "/", "type": "8", "data": `{"requestId":"r","sockets":[]}`},
	} {
		if _, err := wire.DecodeStreamEntry(values); !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("DecodeStreamEntry(%v) = %v, want ErrMalformed", values, err)
		}
	}
	if _, err := wire.EncodeShardedMessage(&wire.Message{Kind: wire.AllRooms}); err == nil {
		t.Error("AllRooms has a cluster form")
	}
}
