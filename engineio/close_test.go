package engineio

import (
	"strings"
	"testing"
	"time"
)

// TestPollingCloseAfterWaitingPackets checks the orderly close of a
// polling session with packets waiting for the next poll, as Node's
// engine.io does it: those go out first, and the close packet only with the
// poll after. (socket.io-client hands packets to its sockets on the next
// tick: a close packet in the same payload would close the transport before
// the client saw them, and a Socket.IO DISCONNECT would read as "transport
// close", after which the client reconnects.)
func TestPollingCloseAfterWaitingPackets(t *testing.T) {
	ts := startServer(t, Config{PingInterval: time.Minute, PingTimeout: time.Minute})
	url := ts.openPolling(t)
	c := ts.conn(url[strings.LastIndex(url, "=")+1:])
	c.WriteText([]byte("a"), false)
	c.WriteText([]byte("b"), false)
	c.Close()
	if status, body := get(t, url); status != 200 || body != "4a\x1e4b" {
		t.Fatalf("first poll after Close: %d %q, want the waiting packets alone", status, body)
	}
	if status, body := get(t, url); status != 200 || body != "1" {
		t.Fatalf("second poll after Close: %d %q, want the close packet", status, body)
	}
	if status, _ := get(t, url); status != 400 {
		t.Fatalf("poll after the close packet: %d, want 400", status)
	}
	waitReasons(t, ts.h, ReasonForcedClose)

	// Nothing waiting: the close packet comes with the next poll.
	ts.h.mu.Lock()
	ts.h.closed = nil
	ts.h.mu.Unlock()
	url = ts.openPolling(t)
	ts.conn(url[strings.LastIndex(url, "=")+1:]).Close()
	if status, body := get(t, url); status != 200 || body != "1" {
		t.Fatalf("poll after Close: %d %q, want the close packet", status, body)
	}
	waitReasons(t, ts.h, ReasonForcedClose)
}

// TestPollingBodyDecodedAsUTF8 checks that a polling body is read as Node
// reads it, as a UTF-8 string: each ill-formed sequence becomes U+FFFD (one
// per maximal subpart, as JavaScript decodes), so that nothing invalid
// reaches the handler, which may relay it to WebSocket clients, whose text
// frames must be UTF-8. The expected strings are Node's
// Buffer.toString("utf8") of the same bytes.
func TestPollingBodyDecodedAsUTF8(t *testing.T) {
	ts := startServer(t, Config{PingInterval: time.Minute, PingTimeout: time.Minute})
	url := ts.openPolling(t)
	for _, tc := range []struct{ in, want string }{
		{"caf\xe9", "caf\uFFFD"},
		{"\xe2\x82A", "\uFFFDA"},
		{"\xff\xff", "\uFFFD\uFFFD"},
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"},
		{"\xf0\x9f\x98", "\uFFFD"},
		{"\xf4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"\xe0\x80A", "\uFFFD\uFFFDA"},
		{"\xc0\xaf", "\uFFFD\uFFFD"},
		{"ok \uFFFD é 😀", "ok \uFFFD é 😀"},
	} {
		if status, body := post(t, url, "4"+tc.in); status != 200 || body != "ok" {
			t.Fatalf("post: %d %q", status, body)
		}
		if status, body := get(t, url); status != 200 || body != "4"+tc.want {
			t.Errorf("%q came back as %q, want %q", tc.in, body, "4"+tc.want)
		}
	}
}

// TestPollingMaxQueueBoundsTheBacklog checks the slow-consumer bound of a
// polling session: what comes between two polls goes at the next one,
// however large (a relayed 1 MB binary is 1.4 MB of base64), and only a
// message written while MaxQueue bytes wait closes the session.
func TestPollingMaxQueueBoundsTheBacklog(t *testing.T) {
	ts := startServer(t, Config{MaxQueue: 1000})
	url := ts.openPolling(t)
	big := "4" + strings.Repeat("x", 3000)
	if status, body := post(t, url, big); status != 200 || body != "ok" {
		t.Fatalf("post: %d %q", status, body)
	}
	if status, body := get(t, url); status != 200 || body != big {
		t.Fatalf("poll: %d, %d bytes, want the %d-byte message", status, len(body), len(big))
	}
	// Three echoes before the next poll: the first two go in (600 bytes
	// wait when the second comes), the third finds 1,202 waiting.
	a, b := "4"+strings.Repeat("a", 600), "4"+strings.Repeat("b", 600)
	if status, body := post(t, url, a+"\x1e"+b+"\x1e4c"); status != 200 || body != "ok" {
		t.Fatalf("post: %d %q", status, body)
	}
	waitReasons(t, ts.h, ReasonTransportError)
}
