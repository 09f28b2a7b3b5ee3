package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

func packetsOf(payload string) []string {
	var out []string
	for pkt, rest := nextPacket([]byte(payload)); pkt != nil; pkt, rest = nextPacket(rest) {
		out = append(out, string(pkt))
	}
	return out
}

func TestNextPacket(t *testing.T) {
	cases := map[string][]string{
		"":                          nil,
		"2":                         {"2"},
		"2\x1e42[\"a\"]\x1e43[1]":   {"2", `42["a"]`, "43[1]"},
		"\x1e\x1e6\x1e":             {"6"},
		"40{\"sid\":\"x\"}\x1e\x1e": {`40{"sid":"x"}`},
	}
	for in, want := range cases {
		if got := packetsOf(in); !slices.Equal(got, want) {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func TestAppendPacket(t *testing.T) {
	var p []byte
	for _, pkt := range []string{"3", `42["echo",{"t":1}]`, "40"} {
		p = appendPacket(p, []byte(pkt))
	}
	if want := "3\x1e42[\"echo\",{\"t\":1}]\x1e40"; string(p) != want {
		t.Errorf("got %q, want %q", p, want)
	}
	if got := packetsOf(string(p)); !slices.Equal(got, []string{"3", `42["echo",{"t":1}]`, "40"}) {
		t.Errorf("round trip: %q", got)
	}
}

func TestHandleNamespacePackets(t *testing.T) {
	c := &pollClient{kick: make(chan struct{}, 1)}
	var events []string
	c.onEvent = func(_ *pollClient, pkt []byte) { events = append(events, string(pkt)) }
	for _, pkt := range []string{"6", "3", `42["bcast",1]`, "43[2]", "b4AAA", "4"} {
		if err := c.handle([]byte(pkt)); err != nil {
			t.Errorf("%q: %v", pkt, err)
		}
	}
	if !slices.Equal(events, []string{`2["bcast",1]`, "3[2]"}) {
		t.Errorf("events %q", events)
	}
	if err := c.handle([]byte("2")); err != nil || string(c.pending) != "3" {
		t.Errorf("ping: %v, pending %q", err, c.pending)
	}
	for _, pkt := range []string{"1", "41"} {
		if err := c.handle([]byte(pkt)); !errors.Is(err, errSessionClosed) {
			t.Errorf("%q: %v", pkt, err)
		}
	}
	if err := c.handle([]byte(`44{"message":"no"}`)); !errors.Is(err, errRefused) {
		t.Errorf("connect error: %v", err)
	}
}

// fakeEngine is an Engine.IO 4 polling server for one session: GETs take
// their payloads from out, POSTed packets go to posted.
type fakeEngine struct {
	out    chan string
	posted chan string
}

func (f *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Query().Get("sid") == "":
		_, _ = io.WriteString(w, `0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
	case r.Method == http.MethodPost:
		body, _ := io.ReadAll(r.Body)
		for _, pkt := range packetsOf(string(body)) {
			if pkt == "40" {
				f.out <- `40{"sid":"n1"}`
			}
			f.posted <- pkt
		}
		_, _ = io.WriteString(w, "ok")
	default:
		_, _ = io.WriteString(w, <-f.out)
	}
}

// TestPollClient drives a client through a session: handshake, CONNECT, a
// ping and an event in one payload, an event sent, and the server's close.
func TestPollClient(t *testing.T) {
	f := &fakeEngine{out: make(chan string, 4), posted: make(chan string, 4)}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := dialPolling(srv.URL, net.IPv4(127, 0, 0, 1), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if pkt := <-f.posted; pkt != "40" {
		t.Fatalf("first POST %q, want the CONNECT", pkt)
	}
	events := make(chan string, 1)
	c.onEvent = func(_ *pollClient, pkt []byte) { events <- string(pkt) }
	dropped := make(chan bool, 1)
	go func() { dropped <- c.run() }()

	f.out <- "2\x1e" + `42["bcast",{"t":5}]`
	if pkt := <-f.posted; pkt != "3" {
		t.Errorf("answer to the ping %q", pkt)
	}
	if ev := <-events; ev != `2["bcast",{"t":5}]` {
		t.Errorf("event %q", ev)
	}
	c.send([]byte(`420["echo",1]`))
	if pkt := <-f.posted; pkt != `420["echo",1]` {
		t.Errorf("sent %q", pkt)
	}
	f.out <- "1"
	if !<-dropped {
		t.Error("a session closed by the server is not counted as dropped")
	}
}
