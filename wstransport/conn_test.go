package wstransport

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// echo is a Handler that writes every message back and records the end.
type echo struct {
	closed chan error
}

func (e *echo) OnMessage(c *Conn, binary bool, payload []byte) {
	c.Send(AppendFrame(nil, binary, payload), Data)
}

func (e *echo) OnClose(_ *Conn, err error) { e.closed <- err }

// serve starts an httptest server upgrading every request to a Conn served
// by h; it returns the ws:// URL.
func serve(t *testing.T, cfg Config, h Handler) (string, *Server) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := New(cfg)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.Upgrade(w, r, http.Header{"X-Test": {"yes"}})
		if err != nil {
			return
		}
		c.Start(h)
	}))
	t.Cleanup(func() {
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return "ws" + strings.TrimPrefix(ts.URL, "http"), s
}

func TestConnEchoesTextAndBinary(t *testing.T) {
	for _, goroutines := range []bool{false, true} {
		e := &echo{closed: make(chan error, 1)}
		url, _ := serve(t, Config{GoroutineReader: goroutines}, e)
		ws, resp, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("X-Test") != "yes" {
			t.Fatalf("extra header missing from the 101 response: %v", resp.Header)
		}
		big := bytes.Repeat([]byte("x"), 200<<10)
		for _, m := range []struct {
			kind int
			data []byte
		}{{websocket.TextMessage, []byte("4hello")}, {websocket.BinaryMessage, []byte{0, 1, 2, 255}}, {websocket.TextMessage, big}} {
			if err := ws.WriteMessage(m.kind, m.data); err != nil {
				t.Fatal(err)
			}
			kind, got, err := ws.ReadMessage()
			if err != nil || kind != m.kind || !bytes.Equal(got, m.data) {
				t.Fatalf("echo: kind %d err %v, %d bytes (want kind %d, %d bytes)", kind, err, len(got), m.kind, len(m.data))
			}
		}
		_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
		_, _, err = ws.ReadMessage()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure {
			t.Fatalf("after the client's close frame: %v, want its code echoed", err)
		}
		if err := <-e.closed; err != nil {
			t.Fatalf("OnClose(%v) after an orderly close, want nil", err)
		}
		_ = ws.Close()
	}
}

func TestConnServerCloseSendsNoStatus(t *testing.T) {
	closing := make(chan *Conn, 1)
	h := &funcHandler{onMessage: func(c *Conn, _ bool, _ []byte) { closing <- c }, closed: make(chan error, 1)}
	url, _ := serve(t, Config{}, h)
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.WriteMessage(websocket.TextMessage, []byte("close me"))
	(<-closing).Close()
	_, _, err = ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseNoStatusReceived {
		t.Fatalf("read after the server's Close: %v, want 1005", err)
	}
	_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNoStatusReceived, ""))
	select {
	case err := <-h.closed:
		if err != nil {
			t.Fatalf("OnClose(%v), want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnClose not called after the close handshake")
	}
}

func TestConnProtocolErrors(t *testing.T) {
	cases := []struct {
		name  string
		frame []byte
		code  int
	}{
		{"unmasked", []byte{0x81, 0x01, 'a'}, CloseProtocolError},
		{"invalid utf-8", maskFrame(0x81, []byte{0xff, 0xfe}, [4]byte{1, 2, 3, 4}), CloseInvalidPayload},
		{"too big", maskFrame(0x82, make([]byte, 200), [4]byte{1, 2, 3, 4}), CloseMessageTooBig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &funcHandler{closed: make(chan error, 1)}
			url, _ := serve(t, Config{MaxPayload: 100}, h)
			nc := rawDial(t, url, nil)
			_, _ = nc.Write(tc.frame)
			got := readServerFrame(t, nc)
			if len(got) < 2 || int(got[0])<<8|int(got[1]) != tc.code {
				t.Fatalf("close frame %v, want code %d", got, tc.code)
			}
			_ = nc.Close()
			select {
			case err := <-h.closed:
				var ce *closeError
				if !errors.As(err, &ce) || ce.code != tc.code {
					t.Fatalf("OnClose(%v), want the protocol error", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("OnClose not called")
			}
		})
	}
}

func TestConnReadsFramesSentWithTheRequest(t *testing.T) {
	got := make(chan string, 2)
	h := &funcHandler{onMessage: func(_ *Conn, _ bool, p []byte) { got <- string(p) }, closed: make(chan error, 1)}
	url, _ := serve(t, Config{}, h)
	early := append(maskFrame(0x81, []byte("early"), [4]byte{9, 8, 7, 6}), maskFrame(0x81, []byte("also"), [4]byte{1, 1, 1, 1})...)
	nc := rawDial(t, url, early)
	defer nc.Close()
	for _, want := range []string{"early", "also"} {
		select {
		case m := <-got:
			if m != want {
				t.Fatalf("message %q, want %q", m, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a frame sent with the request was not read")
		}
	}
}

func TestUpgradeRefusesBadHandshakes(t *testing.T) {
	s := New(Config{})
	defer func() { _ = s.Shutdown(context.Background()) }()
	for _, tc := range []struct {
		name   string
		mutate func(r *http.Request)
		status int
	}{
		{"post", func(r *http.Request) { r.Method = http.MethodPost }, 400},
		{"no upgrade", func(r *http.Request) { r.Header.Del("Upgrade") }, 400},
		{"version", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") }, 426},
		{"key", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "short") }, 400},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Connection", "keep-alive, Upgrade")
		r.Header.Set("Upgrade", "websocket")
		r.Header.Set("Sec-WebSocket-Version", "13")
		r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		tc.mutate(r)
		w := httptest.NewRecorder()
		if _, err := s.Upgrade(w, r, nil); !errors.Is(err, ErrBadHandshake) || w.Code != tc.status {
			t.Errorf("%s: err %v status %d, want ErrBadHandshake and %d", tc.name, err, w.Code, tc.status)
		}
	}
}

func TestResponseAcceptKey(t *testing.T) {
	// The example of RFC 6455 §1.3.
	r := string(response("dGhlIHNhbXBsZSBub25jZQ==", nil))
	if !strings.Contains(r, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") {
		t.Fatalf("response %q", r)
	}
}

type funcHandler struct {
	onMessage func(*Conn, bool, []byte)
	closed    chan error
}

func (h *funcHandler) OnMessage(c *Conn, binary bool, p []byte) {
	if h.onMessage != nil {
		h.onMessage(c, binary, p)
	}
}

func (h *funcHandler) OnClose(_ *Conn, err error) { h.closed <- err }

// rawDial opens a WebSocket by hand, sending extra right behind the request,
// and returns the connection after the 101 response.
func rawDial(t *testing.T, url string, extra []byte) net.Conn {
	t.Helper()
	addr := strings.TrimPrefix(url, "ws://")
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := nc.Write(append([]byte(req), extra...)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 256)
	one := make([]byte, 1)
	for !bytes.HasSuffix(buf, []byte("\r\n\r\n")) {
		if _, err := nc.Read(one); err != nil {
			t.Fatalf("reading the 101 response: %v", err)
		}
		buf = append(buf, one[0])
	}
	if !bytes.HasPrefix(buf, []byte("HTTP/1.1 101")) {
		t.Fatalf("response %q", buf)
	}
	return nc
}

// TestEndOfStreamWithTheLastData checks that a client's FIN arriving in
// the same readiness event as its last frame ends the connection: the read
// that drains the data is short, and with edge-triggered readiness no
// further event comes for the end of the stream. Both a frame the handler
// gets and one that makes the server close (invalid UTF-8, after which it
// only waits for the client) are followed by the client's FIN. A missed
// end of stream would leave the connection open for CloseTimeout (a
// minute here) or, without a protocol error, for good.
func TestEndOfStreamWithTheLastData(t *testing.T) {
	h := &funcHandler{closed: make(chan error, 1)}
	url, _ := serve(t, Config{CloseTimeout: time.Minute}, h)
	for i := range 40 {
		payload := []byte("last words")
		if i%2 == 1 {
			payload = []byte{'4', 0x96} // invalid UTF-8: the server sends 1007
		}
		nc := rawDial(t, url, nil)
		frame := maskFrame(0x81, payload, [4]byte{1, 2, 3, 4})
		if _, err := nc.Write(frame); err != nil {
			t.Fatal(err)
		}
		_ = nc.(*net.TCPConn).CloseWrite()
		select {
		case <-h.closed:
		case <-time.After(10 * time.Second):
			t.Fatalf("connection %d (%q then FIN) still open 10 s after the client's end of stream", i, payload)
		}
		_ = nc.Close()
	}
}
