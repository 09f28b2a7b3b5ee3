package engineio

import (
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// These tests check, in Go, the behaviours the Engine.IO protocol's own test
// suite (socketio/engine.io-protocol, test-suite/) checks against an echo
// server with pingInterval 300 ms and pingTimeout 200 ms, plus what Parley
// adds.

const (
	testPingInterval = 300 * time.Millisecond
	testPingTimeout  = 200 * time.Millisecond
)

// echoHandler writes every message back and records the session's end.
type echoHandler struct {
	mu     sync.Mutex
	closed []string
}

func (h *echoHandler) OnMessage(c *Conn, data []byte, binary bool) {
	if binary {
		c.Write(NewBinaryFrames(slices.Clone(data)), false)
		return
	}
	c.WriteText(slices.Clone(data), false)
}

func (h *echoHandler) OnClose(_ *Conn, reason string) {
	h.mu.Lock()
	h.closed = append(h.closed, reason)
	h.mu.Unlock()
}

func (h *echoHandler) reasons() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.closed)
}

type testServer struct {
	*Server
	url string
	h   *echoHandler
}

func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	if cfg.PingInterval == 0 {
		cfg.PingInterval, cfg.PingTimeout = testPingInterval, testPingTimeout
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	s := New(cfg)
	h := &echoHandler{}
	s.OnConnection(func(*Conn) Handler { return h })
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", s)
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		ts.Close()
	})
	return &testServer{Server: s, url: ts.URL + "/engine.io/", h: h}
}

func (ts *testServer) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(ts.url, "http") + "?" + query
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "text/plain;charset=UTF-8", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type openPacket struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

func parseOpen(t *testing.T, content string) openPacket {
	t.Helper()
	if !strings.HasPrefix(content, "0") {
		t.Fatalf("handshake %q does not start with the open packet", content)
	}
	var keys map[string]any
	if err := json.Unmarshal([]byte(content[1:]), &keys); err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(mapsKeys(keys))
	if want := []string{"maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"}; !slices.Equal(got, want) {
		t.Fatalf("open packet keys %v, want %v", got, want)
	}
	var o openPacket
	_ = json.Unmarshal([]byte(content[1:]), &o)
	return o
}

func mapsKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// openPolling opens a polling session and returns its URL (sid included).
func (ts *testServer) openPolling(t *testing.T) string {
	t.Helper()
	status, content := get(t, ts.url+"?EIO=4&transport=polling")
	if status != 200 {
		t.Fatalf("handshake: %d %s", status, content)
	}
	return ts.url + "?EIO=4&transport=polling&sid=" + parseOpen(t, content).SID
}

func TestHandshakePolling(t *testing.T) {
	ts := startServer(t, Config{})
	status, content := get(t, ts.url+"?EIO=4&transport=polling")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	o := parseOpen(t, content)
	if o.SID == "" || !slices.Equal(o.Upgrades, []string{"websocket"}) || o.PingInterval != 300 || o.PingTimeout != 200 || o.MaxPayload != 1000000 {
		t.Fatalf("open packet %+v", o)
	}
}

func TestHandshakeRefusals(t *testing.T) {
	ts := startServer(t, Config{})
	for _, tc := range []struct {
		method, query string
		code          int
	}{
		{"GET", "transport=polling", 5},
		{"GET", "EIO=abc&transport=polling", 5},
		{"GET", "EIO=3&transport=polling", 5},
		{"GET", "EIO=4", 0},
		{"GET", "EIO=4&transport=abc", 0},
		{"POST", "EIO=4&transport=polling", 2},
		{"PUT", "EIO=4&transport=polling", 2},
		{"GET", "EIO=4&transport=polling&sid=unknown", 1},
		{"GET", "EIO=4&transport=websocket", 3},
	} {
		req, _ := http.NewRequest(tc.method, ts.url+"?"+tc.query, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 400 || body.Code != tc.code || body.Message != codeMessages[tc.code] {
			t.Errorf("%s ?%s: %d %+v, want 400 code %d", tc.method, tc.query, resp.StatusCode, body, tc.code)
		}
	}
}

func TestHandshakeWebSocket(t *testing.T) {
	ts := startServer(t, Config{})
	ws, _, err := websocket.DefaultDialer.Dial(ts.wsURL("EIO=4&transport=websocket"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_, msg, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	o := parseOpen(t, string(msg))
	if o.SID == "" || len(o.Upgrades) != 0 || o.PingInterval != 300 {
		t.Fatalf("open packet %+v", o)
	}
	for _, q := range []string{"transport=websocket", "EIO=abc&transport=websocket", "EIO=4", "EIO=4&transport=abc"} {
		if _, resp, err := websocket.DefaultDialer.Dial(ts.wsURL(q), nil); err == nil || resp == nil || resp.StatusCode != 400 {
			t.Errorf("?%s: handshake not refused with 400 (err %v)", q, err)
		}
	}
}

func TestPollingMessages(t *testing.T) {
	ts := startServer(t, Config{})
	for _, payload := range []string{"4hello", "4test1\x1e4test2\x1e4test3", "4hello\x1ebAQIDBA=="} {
		url := ts.openPolling(t)
		if status, body := post(t, url, payload); status != 200 || body != "ok" {
			t.Fatalf("post: %d %q", status, body)
		}
		if status, body := get(t, url); status != 200 || body != payload {
			t.Fatalf("poll: %d %q, want %q", status, body, payload)
		}
	}
}

func TestPollingInvalidPacketClosesSession(t *testing.T) {
	ts := startServer(t, Config{})
	url := ts.openPolling(t)
	if status, _ := post(t, url, "abc"); status != 400 {
		t.Fatalf("post of an invalid payload: %d, want 400", status)
	}
	if status, _ := get(t, url); status != 400 {
		t.Fatalf("poll after the invalid payload: %d, want 400", status)
	}
	waitReasons(t, ts.h, ReasonParseError)
}

func TestPollingDuplicatePollClosesSession(t *testing.T) {
	ts := startServer(t, Config{})
	url := ts.openPolling(t)
	first := make(chan string, 1)
	go func() {
		_, body := get(t, url)
		first <- body
	}()
	time.Sleep(50 * time.Millisecond)
	if status, _ := get(t, url+"&t=burst"); status != 400 {
		t.Fatalf("second poll: %d, want 400", status)
	}
	if body := <-first; body != "1" {
		t.Fatalf("first poll got %q, want the close packet", body)
	}
	if status, _ := get(t, url); status != 400 {
		t.Fatalf("poll after: %d, want 400", status)
	}
	waitReasons(t, ts.h, ReasonTransportError)
}

func TestWebSocketMessages(t *testing.T) {
	ts := startServer(t, Config{})
	ws := dialWS(t, ts, "")
	_ = ws.WriteMessage(websocket.TextMessage, []byte("4hello"))
	if kind, msg, err := ws.ReadMessage(); err != nil || kind != websocket.TextMessage || string(msg) != "4hello" {
		t.Fatalf("text echo: %d %q %v", kind, msg, err)
	}
	_ = ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3, 4})
	if kind, msg, err := ws.ReadMessage(); err != nil || kind != websocket.BinaryMessage || string(msg) != "\x01\x02\x03\x04" {
		t.Fatalf("binary echo: %d %v %v", kind, msg, err)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte("abc"))
	expectClosed(t, ws)
	waitReasons(t, ts.h, ReasonParseError)
}

// dialWS opens a WebSocket session (sid "") or an upgrade of sid, and reads
// the open packet of a new session.
func dialWS(t *testing.T, ts *testServer, sid string) *websocket.Conn {
	t.Helper()
	q := "EIO=4&transport=websocket"
	if sid != "" {
		q += "&sid=" + sid
	}
	ws, _, err := websocket.DefaultDialer.Dial(ts.wsURL(q), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	if sid == "" {
		if _, msg, err := ws.ReadMessage(); err != nil || msg[0] != '0' {
			t.Fatalf("open packet: %q %v", msg, err)
		}
	}
	return ws
}

func expectClosed(t *testing.T, ws *websocket.Conn) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			if ce, ok := err.(*websocket.CloseError); !ok && strings.Contains(err.Error(), "timeout") {
				t.Fatalf("connection not closed: %v (%v)", err, ce)
			}
			return
		}
	}
}

func waitReasons(t *testing.T, h *echoHandler, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if slices.Equal(h.reasons(), want) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("close reasons %q, want %q", h.reasons(), want)
}

func TestHeartbeatPolling(t *testing.T) {
	ts := startServer(t, Config{})
	url := ts.openPolling(t)
	for range 3 {
		if status, body := get(t, url); status != 200 || body != "2" {
			t.Fatalf("poll: %d %q, want a ping", status, body)
		}
		if status, _ := post(t, url, "3"); status != 200 {
			t.Fatalf("pong: %d", status)
		}
	}
	url = ts.openPolling(t)
	time.Sleep(testPingInterval + testPingTimeout + 50*time.Millisecond)
	if status, _ := get(t, url); status != 400 {
		t.Fatalf("poll after the ping timeout: %d, want 400", status)
	}
}

func TestHeartbeatWebSocket(t *testing.T) {
	ts := startServer(t, Config{})
	ws := dialWS(t, ts, "")
	for range 3 {
		if _, msg, err := ws.ReadMessage(); err != nil || string(msg) != "2" {
			t.Fatalf("read %q %v, want a ping", msg, err)
		}
		_ = ws.WriteMessage(websocket.TextMessage, []byte("3"))
	}
	_ = ws.Close()
	silent := dialWS(t, ts, "")
	start := time.Now()
	var got []string
	_ = silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, msg, err := silent.ReadMessage()
		if err != nil {
			ce, ok := err.(*websocket.CloseError)
			if !ok || ce.Code != websocket.CloseNoStatusReceived {
				t.Fatalf("ended with %v, want a close frame without status (1005)", err)
			}
			break
		}
		got = append(got, string(msg))
	}
	if !slices.Equal(got, []string{"2"}) || time.Since(start) < testPingInterval+testPingTimeout-50*time.Millisecond {
		t.Fatalf("received %q, closed after %v", got, time.Since(start))
	}
}

func TestClientClosePolling(t *testing.T) {
	ts := startServer(t, Config{})
	url := ts.openPolling(t)
	poll := make(chan string, 1)
	go func() {
		_, body := get(t, url)
		poll <- body
	}()
	time.Sleep(30 * time.Millisecond)
	if status, _ := post(t, url, "1"); status != 200 {
		t.Fatalf("post of the close packet: %d", status)
	}
	if body := <-poll; body != "6" {
		t.Fatalf("waiting poll got %q, want a noop", body)
	}
	if status, _ := get(t, url); status != 400 {
		t.Fatalf("poll after close: %d, want 400", status)
	}
	waitReasons(t, ts.h, ReasonTransportClose)
}

func TestClientCloseWebSocket(t *testing.T) {
	ts := startServer(t, Config{})
	ws := dialWS(t, ts, "")
	_ = ws.WriteMessage(websocket.TextMessage, []byte("1"))
	expectClosed(t, ws)
	waitReasons(t, ts.h, ReasonTransportClose)
}

func TestUpgrade(t *testing.T) {
	ts := startServer(t, Config{})
	url := ts.openPolling(t)
	sid := url[strings.LastIndex(url, "=")+1:]
	ws := dialWS(t, ts, sid)
	_ = ws.WriteMessage(websocket.TextMessage, []byte("2probe"))
	if _, msg, err := ws.ReadMessage(); err != nil || string(msg) != "3probe" {
		t.Fatalf("probe answer %q %v", msg, err)
	}
	if status, body := get(t, url); status != 200 || body != "6" {
		t.Fatalf("poll during the upgrade: %d %q, want a noop", status, body)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte("5"))
	_ = ws.WriteMessage(websocket.TextMessage, []byte("4hello"))
	if _, msg, err := ws.ReadMessage(); err != nil || string(msg) != "4hello" {
		t.Fatalf("echo after the upgrade %q %v", msg, err)
	}
	if status, _ := get(t, url); status != 400 {
		t.Fatalf("poll after the upgrade: %d, want 400", status)
	}
	second := dialWS(t, ts, sid)
	expectClosed(t, second)
	_ = ws.WriteMessage(websocket.TextMessage, []byte("4again"))
	if _, msg, err := ws.ReadMessage(); err != nil || string(msg) != "4again" {
		t.Fatalf("echo after a second WebSocket %q %v", msg, err)
	}
}

func TestUpgradeCarriesWhatWaitedForPolling(t *testing.T) {
	ts := startServer(t, Config{PingInterval: time.Minute, PingTimeout: time.Minute})
	url := ts.openPolling(t)
	sid := url[strings.LastIndex(url, "=")+1:]
	ws := dialWS(t, ts, sid)
	_ = ws.WriteMessage(websocket.TextMessage, []byte("2probe"))
	if _, msg, _ := ws.ReadMessage(); string(msg) != "3probe" {
		t.Fatalf("probe answer %q", msg)
	}
	// Messages written while the client stopped polling must come over the
	// WebSocket once the upgrade completes, in order.
	c := ts.conn(sid)
	c.WriteText([]byte("one"), false)
	c.Write(NewBinaryFrames([]byte{7}), false)
	_ = ws.WriteMessage(websocket.TextMessage, []byte("5"))
	c.WriteText([]byte("two"), false)
	var got []string
	for range 3 {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(msg))
	}
	if want := []string{"4one", "\x07", "4two"}; !slices.Equal(got, want) {
		t.Fatalf("after the upgrade %q, want %q", got, want)
	}
}

func TestPollingMaxPayload(t *testing.T) {
	ts := startServer(t, Config{MaxPayload: 10})
	url := ts.openPolling(t)
	if status, _ := post(t, url, "4"+strings.Repeat("x", 20)); status != 413 {
		t.Fatalf("post above the maximum: %d, want 413", status)
	}
	if status, body := post(t, url, "4small"); status != 200 || body != "ok" {
		t.Fatalf("post within the limit after a refused one: %d %q", status, body)
	}
}

func TestAllowRequestAndCORS(t *testing.T) {
	ts := startServer(t, Config{
		CORS: &CORS{Origins: []string{"http://good.example"}, Credentials: true},
		AllowRequest: func(r *http.Request) error {
			if o := r.Header.Get("Origin"); o != "" && o != "http://good.example" {
				return ErrForbidden
			}
			return nil
		},
	})
	req, _ := http.NewRequest("GET", ts.url+"?EIO=4&transport=polling", nil)
	req.Header.Set("Origin", "http://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || string(b) != `{"code":4,"message":"Forbidden"}` || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin: %d %s %v", resp.StatusCode, b, resp.Header)
	}
	req.Header.Set("Origin", "http://good.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "http://good.example" || resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("allowed origin: %d %v", resp.StatusCode, resp.Header)
	}
	pre, _ := http.NewRequest("OPTIONS", ts.url+"?EIO=4&transport=polling", nil)
	pre.Header.Set("Origin", "http://good.example")
	pre.Header.Set("Access-Control-Request-Headers", "content-type")
	resp, err = http.DefaultClient.Do(pre)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Headers") != "content-type" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	h := http.Header{"Origin": {"http://evil.example"}}
	if _, resp, err := websocket.DefaultDialer.Dial(ts.wsURL("EIO=4&transport=websocket"), h); err == nil || resp.StatusCode != 400 {
		t.Fatalf("WebSocket from a foreign origin not refused: %v", err)
	}
}

func TestCompressedPoll(t *testing.T) {
	ts := startServer(t, Config{PingInterval: time.Minute, PingTimeout: time.Minute})
	url := ts.openPolling(t)
	big := "4" + strings.Repeat("abc", 1000)
	for _, enc := range []string{"gzip", "deflate", ""} {
		post(t, url, big)
		req, _ := http.NewRequest("GET", url, nil)
		if enc != "" {
			req.Header.Set("Accept-Encoding", enc)
		}
		raw := &http.Transport{DisableCompression: true}
		resp, err := raw.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = resp.Body
		switch enc {
		case "gzip":
			r, err = gzip.NewReader(resp.Body)
		case "deflate":
			r, err = zlib.NewReader(resp.Body)
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r)
		resp.Body.Close()
		raw.CloseIdleConnections()
		if resp.Header.Get("Content-Encoding") != enc || string(body) != big {
			t.Fatalf("Accept-Encoding %q: Content-Encoding %q, %d bytes", enc, resp.Header.Get("Content-Encoding"), len(body))
		}
	}
}
