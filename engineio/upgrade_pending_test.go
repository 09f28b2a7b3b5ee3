package engineio

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestUpgradeWithPollPending checks that polls end at once with a noop
// while a probed upgrade is in progress, the one waiting at the probe and
// any that follows, so that a client that polled once more before it saw
// the probe's answer is not stuck until the next ping.
func TestUpgradeWithPollPending(t *testing.T) {
	ts := startServer(t, Config{PingInterval: time.Minute, PingTimeout: time.Minute})
	url := ts.openPolling(t)
	sid := url[strings.LastIndex(url, "=")+1:]
	got := make(chan string, 1)
	go func() { _, b := get(t, url); got <- b }()
	time.Sleep(50 * time.Millisecond)
	ws := dialWS(t, ts, sid)
	_ = ws.WriteMessage(websocket.TextMessage, []byte("2probe"))
	if _, msg, err := ws.ReadMessage(); err != nil || string(msg) != "3probe" {
		t.Fatalf("probe answer %q %v", msg, err)
	}
	select {
	case b := <-got:
		if b != "6" {
			t.Fatalf("pending poll got %q", b)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("pending poll not answered after the probe")
	}
	if status, body := get(t, url); status != 200 || body != "6" {
		t.Fatalf("poll after the probe: %d %q, want a noop", status, body)
	}
}

// TestUpgradeWithoutProbeEndsParkedPoll checks that a client that sends
// the upgrade packet while a poll of its is parked (it skipped the probe)
// gets that poll answered with the close packet, as Node's discarded
// polling transport answers it, not with an empty body.
func TestUpgradeWithoutProbeEndsParkedPoll(t *testing.T) {
	ts := startServer(t, Config{PingInterval: time.Minute, PingTimeout: time.Minute})
	url := ts.openPolling(t)
	sid := url[strings.LastIndex(url, "=")+1:]
	got := make(chan string, 1)
	go func() { _, b := get(t, url); got <- b }()
	c := ts.conn(sid)
	for parked := false; !parked; {
		c.mu.Lock()
		parked = c.poll != nil && c.poll.waiting()
		c.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	ws := dialWS(t, ts, sid)
	_ = ws.WriteMessage(websocket.TextMessage, []byte("5"))
	select {
	case b := <-got:
		if b != "1" {
			t.Fatalf("parked poll got %q, want the close packet", b)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("parked poll not answered at the upgrade")
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte("4hello"))
	if _, msg, err := ws.ReadMessage(); err != nil || string(msg) != "4hello" {
		t.Fatalf("echo over the upgraded WebSocket: %q %v", msg, err)
	}
}
