package socketio

import (
	"maps"
	"testing"
)

func TestTrafficCounts(t *testing.T) {
	srv, url := suiteServer(t, Config{})
	tr := srv.CountTraffic()
	if srv.CountTraffic() != tr {
		t.Fatal("a second CountTraffic returned other counters")
	}
	srv.Of("/custom").OnConnection(func(s *Socket) {
		s.On("shout", func(args Args, _ Ack) { _ = s.Namespace().Emit("shouted", args.Values()...) })
	})
	// What each client receives, Engine.IO type byte and pings left out.
	var in, out, packetsOut uint64
	read := func(c *wsClient) string {
		m := c.next()
		packetsOut++
		out += uint64(len(m.data))
		if !m.binary {
			out-- // the Engine.IO type byte
		}
		return m.data
	}
	send := func(c *wsClient, s string) {
		in += uint64(len(s)) - 1 // the Engine.IO type byte
		c.send(s)
	}
	var clients []*wsClient
	for range 2 {
		c := dial(t, url)
		c.expectPrefix("0{")
		send(c, "40/custom,")
		read(c) // CONNECT answer
		read(c) // the suite's "auth" event
		clients = append(clients, c)
	}
	send(clients[0], `42/custom,["shout","hi"]`)
	for _, c := range clients {
		if got := read(c); got != `42/custom,["shouted","hi"]` {
			t.Fatalf("broadcast %q", got)
		}
	}
	send(clients[1], "451-/custom,[\"shout\",{\"_placeholder\":true,\"num\":0}]")
	in += 3
	clients[1].sendBinary([]byte{1, 2, 3})
	for _, c := range clients {
		read(c)
		if m := read(c); m != "\x01\x02\x03" {
			t.Fatalf("attachment %q", m)
		}
	}
	_ = clients[0].ws.Close()
	waitFor(t, "the closed session", func() bool { return tr.Counts().Closed["transport close"] == 1 })
	got := tr.Counts()
	want := TrafficCounts{Opened: 2, Closed: map[string]uint64{"transport close": 1}, PacketsIn: 5, BytesIn: in, PacketsOut: packetsOut, BytesOut: out}
	if got.Opened != want.Opened || !maps.Equal(got.Closed, want.Closed) || got.PacketsIn != want.PacketsIn ||
		got.BytesIn != want.BytesIn || got.PacketsOut != want.PacketsOut || got.BytesOut != want.BytesOut {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
}
