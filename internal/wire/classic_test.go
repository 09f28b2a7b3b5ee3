package wire_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/wire"
)

func TestClassicChannelRoom(t *testing.T) {
	c := wire.Classic{Prefix: "p"}
	for _, tc := range []struct {
		nsp, channel, room string
		ok                 bool
	}{
		{"/", "p#/#", "", true},
		{"/", "p#/#r1#", "r1", true},
		{"/", "p#/#a#b#", "a#b", true}, // a room with '#' in it
		{"/", "p#/#r1", "", false},
		{"/", "p#/admin#", "", false},
		{"/admin", "p#/admin#x y#", "x y", true},
		{"/", "q#/#r1#", "", false},
	} {
		room, ok := c.ChannelRoom(tc.nsp, tc.channel)
		if room != tc.room || ok != tc.ok {
			t.Errorf("ChannelRoom(%q, %q) = %q, %v; want %q, %v", tc.nsp, tc.channel, room, ok, tc.room, tc.ok)
		}
	}
	if ch := c.BroadcastTarget(&wire.Message{Nsp: "/", Opts: wire.Options{Rooms: []string{"a#b"}}}); ch != "p#/#a#b#" {
		t.Errorf("BroadcastTarget = %q", ch)
	}
	if ch := c.BroadcastTarget(&wire.Message{Nsp: "/", Opts: wire.Options{Rooms: []string{"a", "b"}}}); ch != "p#/#" {
		t.Errorf("BroadcastTarget of two rooms = %q", ch)
	}
}

// TestNumericRoom covers the rooms Node names by numbers: the channel
// carries JavaScript's spelling, the message Go's.
func TestNumericRoom(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		ok      bool
	}{
		{"42", "", false},
		{"1e+21", "1000000000000000000000", true},
		{"1.50", "1.5", true},
		{" 7 ", "7", true},
		{"room", "", false},
		{"NaN", "", false},
		{"Infinity", "", false},
	} {
		out, ok := wire.NumericRoom(tc.in)
		if ok != tc.ok || (ok && out != tc.out) {
			t.Errorf("NumericRoom(%q) = %q, %v; want %q, %v", tc.in, out, ok, tc.out, tc.ok)
		}
	}
	m, err := wire.DecodeClassicBroadcast([]byte("\x93\xa1u\x82\xa4type\x02\xa4data\x91\xa1e\x81\xa5rooms\x91\xcb\x44\x4b\x1a\xe4\xd6\xe2\xef\x50"))
	if err != nil || len(m.Opts.Rooms) != 1 {
		t.Fatalf("decode: %v, %+v", err, m)
	}
	if alt, _ := wire.NumericRoom("1e+21"); m.Opts.Rooms[0] != alt {
		t.Errorf("decoded room %q, channel room maps to %q", m.Opts.Rooms[0], alt)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, payload := range []string{"", "{", "\xc1", `{"type":7,"packet":{"data":["e"]}}`, `{"uid":"u"}`, `[1,2]`,
		`{"type":5,"opts":{}}`, `{"type":1}`, `{"type":0,"rooms":[]}`} { // questions without requestId

		if _, err := wire.DecodeClassicRequest([]byte(payload)); !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("DecodeClassicRequest(%q) = %v, want ErrMalformed", payload, err)
		}
	}
	if _, err := wire.DecodeClassicRequest([]byte(`{"type":42}`)); !errors.Is(err, wire.ErrUnsupported) {
		t.Errorf("unknown type: %v, want ErrUnsupported", err)
	}
}

// TestClassicBroadcastFrom reads the sender of encoded broadcasts without
// decoding them, and never claims a payload it cannot read that way.
func TestClassicBroadcastFrom(t *testing.T) {
	for _, uid := range []string{"Ab3x9Z", strings.Repeat("u", 40), wire.EmitterUID} {
		m := &wire.Message{Kind: wire.Broadcast, UID: uid, Nsp: "/", Data: []any{"ev", 1.5}, Opts: wire.Options{Rooms: []string{"r"}}}
		payload, err := wire.EncodeClassicBroadcast(m)
		if err != nil {
			t.Fatal(err)
		}
		if !wire.ClassicBroadcastFrom(payload, uid) {
			t.Errorf("uid %q not recognised in its own broadcast", uid)
		}
		for _, other := range []string{uid[:len(uid)-1], uid + "x", "", "other"} {
			if wire.ClassicBroadcastFrom(payload, other) {
				t.Errorf("broadcast of %q taken as from %q", uid, other)
			}
		}
		for n := range len(uid) + 2 {
			if wire.ClassicBroadcastFrom(payload[:n], uid) {
				t.Errorf("truncated payload (%d bytes) taken as from %q", n, uid)
			}
		}
	}
	for _, junk := range [][]byte{nil, {0x93}, []byte(`["abc",{},{}]`), {0x91, 0xa3, 'a', 'b', 'c'}} {
		if wire.ClassicBroadcastFrom(junk, "abc") {
			t.Errorf("%q taken as from abc", junk)
		}
	}
}
