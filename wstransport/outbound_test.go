package wstransport

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// pipeConn is a Conn over one end of a synchronous pipe: nothing is written
// until the test reads, a client that is always behind.
func pipeConn(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	return pipeConnWith(t, Config{})
}

// pipeConnWith is pipeConn with a configuration.
func pipeConnWith(t *testing.T, cfg Config) (*Conn, net.Conn) {
	t.Helper()
	server, client := net.Pipe()
	cfg.GoroutineReader = true
	cfg.Logger = slog.New(slog.DiscardHandler)
	c := &Conn{}
	c.outbound = outbound{srv: New(cfg), nc: server, c: c}
	t.Cleanup(func() {
		c.finish()
		_ = client.Close()
	})
	return c, client
}

// readServerFrame reads one unmasked frame and returns its payload.
func readServerFrame(t *testing.T, r io.Reader) []byte {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		t.Fatal(err)
	}
	n := int(h[1] & 0x7F)
	switch n {
	case 126:
		var l [2]byte
		_, _ = io.ReadFull(r, l[:])
		n = int(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		_, _ = io.ReadFull(r, l[:])
		n = int(binary.BigEndian.Uint64(l[:]))
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPingGoesAheadOfBacklog checks that a heartbeat is not stuck behind a
// backlog, and that frames stay whole and in order around it.
func TestPingGoesAheadOfBacklog(t *testing.T) {
	tr, client := pipeConn(t)
	big := bytes.Repeat([]byte{'a'}, 100<<10) // more than one batch
	tr.send(appendFrame(nil, opText, big), Data)
	tr.send(appendFrame(nil, opText, []byte("4second")), Data)
	tr.send(appendFrame(nil, opText, []byte("2")), Priority)
	// The ping goes first if the backlog was not taken yet, else right after
	// the batch on the wire; either way before the message queued behind.
	var order []string
	for range 3 {
		switch got := readServerFrame(t, client); {
		case bytes.Equal(got, big):
			order = append(order, "big")
		default:
			order = append(order, string(got))
		}
	}
	if (order[0] != "2" || order[1] != "big") && (order[0] != "big" || order[1] != "2") || order[2] != "4second" {
		t.Fatalf("frames in order %q, want the ping ahead of the queued message and every frame whole", order)
	}
}

// TestVolatileDroppedOnlyWithBacklog checks the volatile policy on the
// write path itself.
func TestVolatileDroppedOnlyWithBacklog(t *testing.T) {
	tr, client := pipeConn(t)
	tr.send(appendFrame(nil, opText, []byte("4first")), Data) // queued: the pipe takes nothing yet
	if tr.send(appendFrame(nil, opText, []byte("4volatile")), Volatile) {
		t.Fatal("a volatile message was queued behind a backlog")
	}
	if got := string(readServerFrame(t, client)); got != "4first" {
		t.Fatalf("read %q", got)
	}
}

// TestMaxQueueBoundsTheBacklog checks the slow-consumer bound: a message
// larger than MaxQueue goes to a connection with nothing waiting (a relayed
// 1 MB binary must reach a client that keeps up), and a message written
// while MaxQueue bytes wait closes the connection.
func TestMaxQueueBoundsTheBacklog(t *testing.T) {
	tr, client := pipeConnWith(t, Config{MaxQueue: 1000})
	big := bytes.Repeat([]byte{'b'}, 5000)
	if !tr.send(appendFrame(nil, opBinary, big), Data) {
		t.Fatal("a message larger than MaxQueue was refused with nothing queued")
	}
	// The pipe takes nothing until the client reads: 5,000 bytes wait.
	if tr.send(appendFrame(nil, opText, []byte("4late")), Data) {
		t.Fatal("a message was queued behind a backlog above MaxQueue")
	}
	tr.mu.Lock()
	closed := tr.done
	tr.mu.Unlock()
	if !closed {
		t.Fatal("the connection was not closed as a slow consumer")
	}
	if n := testutil.ToFloat64(tr.srv.metrics.slowCloses.WithLabelValues(reasonQueueFull)); n != 1 {
		t.Fatalf("slow-consumer closes counted: %v, want 1", n)
	}
	// What was queued before is not read back: the connection is gone.
	_ = client.Close()
}
