package engine

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestIsWebSocketUpgrade(t *testing.T) {
	tests := []struct {
		upgrade, connection string
		want                bool
	}{
		{"websocket", "Upgrade", true},
		{"WebSocket", "keep-alive, upgrade", true},
		{"websocket, foo", "Upgrade", true}, // a list, as the library reads it
		{"websocket", "keep-alive", false},
		{"h2c", "Upgrade", false},
		{"", "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=websocket", nil)
		r.Header.Set("Upgrade", tt.upgrade)
		r.Header.Set("Connection", tt.connection)
		if got := isWebSocketUpgrade(r); got != tt.want {
			t.Errorf("Upgrade %q Connection %q: %v, want %v", tt.upgrade, tt.connection, got, tt.want)
		}
	}
}

// TestReleasingWriterForgetsResponseAfterHijack checks that once the
// connection is hijacked nothing of net/http's response stays reachable
// from the writer the engine keeps for the session.
func TestReleasingWriterForgetsResponseAfterHijack(t *testing.T) {
	hijacked := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &releasingWriter{w: w}
		rw.Header().Set("X-Before", "1") // forwarded before the hijack
		conn, brw, err := rw.Hijack()
		if err != nil {
			hijacked <- err
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n\r\n")
		_ = brw.Flush()
		switch {
		case rw.writer() != nil:
			hijacked <- errors.New("the ResponseWriter is still referenced after Hijack")
		case rw.Header() == nil:
			hijacked <- errors.New("Header returned nil after Hijack")
		default:
			_, werr := rw.Write([]byte("x"))
			_, _, herr := rw.Hijack()
			if !errors.Is(werr, http.ErrHijacked) || !errors.Is(herr, http.ErrHijacked) {
				hijacked <- errors.New("Write or a second Hijack did not report ErrHijacked")
				return
			}
			hijacked <- nil
		}
	}))
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "HTTP/1.1 101 Switching Protocols\r\n" {
		t.Fatalf("status line %q, %v", line, err)
	}
	if err := <-hijacked; err != nil {
		t.Fatal(err)
	}
}
