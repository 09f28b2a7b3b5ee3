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
