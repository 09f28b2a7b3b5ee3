package engineio

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// fuzzMaxPayload keeps the fuzzer's large inputs on the 413 path cheaply.
const fuzzMaxPayload = 64 << 10

// FuzzEngineInput sends each input to a real server session, as a
// long-polling payload (POST) and as a WebSocket text message, after a
// WebSocket binary message of the same bytes, and checks what Node's
// engine.io decides, packet by packet (see expectPayload): no panic; a
// session whose input breaks the protocol is closed, any other still works
// and echoes every message it carried, in order; and two sessions opened
// before (one per transport) keep working.
//
// The seeds run with the tests; to fuzz (an execution makes a few network
// round trips: minimising each new input would take most of the time):
//
//	go test -run '^$' -fuzz FuzzEngineInput -fuzztime 60s -fuzzminimizetime 0 ./engineio
func FuzzEngineInput(f *testing.F) {
	for _, seed := range []string{
		"4hello", "4test1\x1e4test2\x1e4test3", "4hello\x1ebAQIDBA==", "b", "bAQID", "b!!!", "bAQ", "4", "4é\x1e4\xff",
		"3", "2", "1", "6", "5", "0", "0{}", "2probe", "3probe", "5\x1e4after", "6\x1e6", "4a\x1e1\x1e4b",
		"4a\x1e\x1e4b", "\x1e", "", "x", "7", "4a\x1ex", "42[\"message\",1]", "1\x1e4late", "4" + strings.Repeat("x", fuzzMaxPayload),
	} {
		f.Add([]byte(seed))
	}
	fz := newFuzzEngine(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fz.n++
		fz.polling(t, data)
		fz.websocket(t, data)
		fz.bystanders(t)
		if p := fz.panicked.Load(); p != nil {
			t.Fatalf("the server panicked: %v", *p)
		}
	})
}

type fuzzEngine struct {
	srv      *Server
	base     string
	panicked atomic.Pointer[string]
	n        int
	pollSID  string          // a polling session that must keep working
	ws       *websocket.Conn // a WebSocket session that must keep working
}

func newFuzzEngine(f *testing.F) *fuzzEngine {
	fz := &fuzzEngine{}
	fz.srv = New(Config{PingInterval: time.Minute, PingTimeout: time.Minute, MaxPayload: fuzzMaxPayload, Logger: slog.New(slog.DiscardHandler)})
	fz.srv.OnConnection(func(*Conn) Handler { return &echoHandler{} })
	// net/http recovers a handler's panic: record it instead, for the
	// fuzz function to fail with.
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				msg := fmt.Sprintf("%v\n%s", p, debug.Stack())
				fz.panicked.Store(&msg)
				panic(p)
			}
		}()
		fz.srv.ServeHTTP(w, r)
	}))
	fz.base = ts.URL + "/engine.io/?EIO=4&transport="
	f.Cleanup(func() {
		if fz.ws != nil {
			_ = fz.ws.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := fz.srv.Shutdown(ctx); err != nil {
			f.Errorf("Shutdown: %v", err)
		}
		ts.Close()
	})
	return fz
}

// expectPayload applies Node's rules to a polling payload: it is read as
// UTF-8 text, then its packets are handled in order until one is invalid
// (empty, an unknown type, or bad base64: "parse error") or closes the
// session (a close packet, or a ping, which only servers send); messages
// are echoed. It returns the echoes, in the polling form, and whether the
// session ends.
func expectPayload(data []byte) (echoes []string, closed bool) {
	// Node reads the body as UTF-8 text (TestPollingBodyDecodedAsUTF8).
	for _, p := range bytes.Split(validUTF8(data), []byte{separator}) {
		if len(p) == 0 {
			return echoes, true
		}
		switch p[0] {
		case 'b':
			b, err := base64.StdEncoding.DecodeString(string(p[1:]))
			if err != nil {
				return echoes, true
			}
			echoes = append(echoes, "b"+base64.StdEncoding.EncodeToString(b))
		case '4':
			echoes = append(echoes, string(p))
		case '1', '2':
			return echoes, true
		case '0', '3', '5', '6':
		default:
			return echoes, true
		}
	}
	return echoes, false
}

// expectMessage applies Parley's rules to a WebSocket text message: one
// packet; text that is not UTF-8 closes the connection (1007, as Node's ws
// does); a message is echoed; close and ping packets, an empty message or
// an unknown type end the session. (Node's parser also reads "b" and
// base64 as a binary message on WebSocket; Parley refuses it: clients send
// binary frames there.)
func expectMessage(data []byte) (echoes []string, closed bool) {
	if !utf8.Valid(data) || len(data) == 0 {
		return nil, true
	}
	switch data[0] {
	case '4':
		return []string{string(data)}, false
	case '0', '3', '5', '6':
		return nil, false
	}
	return nil, true
}

func (fz *fuzzEngine) open(t *testing.T) string {
	t.Helper()
	status, body := fuzzDo(t, "GET", fz.base+"polling", "")
	if status != 200 || !strings.HasPrefix(body, "0{") {
		t.Fatalf("handshake: %d %q", status, body)
	}
	return body[9:29] // 0{"sid":"<20 characters>"
}

func (fz *fuzzEngine) polling(t *testing.T, data []byte) {
	url := fz.base + "polling&sid=" + fz.open(t)
	status, body := fuzzDo(t, "POST", url, string(data))
	echoes, closed := expectPayload(data)
	if len(data) > fuzzMaxPayload {
		// Refused; the session stays, as in Node.
		if status != http.StatusRequestEntityTooLarge {
			t.Fatalf("POST of %d bytes: %d %q, want 413", len(data), status, body)
		}
		echoes, closed, status, body = nil, false, 200, "ok"
	}
	if closed {
		// The session is gone: at most one late poll (answered with what
		// was left, after a close packet from the client), then 400.
		for range 2 {
			if status, _ := fuzzDo(t, "GET", url, ""); status == 400 {
				return
			}
		}
		t.Fatalf("POST %s: the session still answers polls", short(data))
	}
	if status != 200 || body != "ok" {
		t.Fatalf("POST %s: %d %q, want 200 ok", short(data), status, body)
	}
	probe := fmt.Sprintf("4probe-%d", fz.n)
	if status, body := fuzzDo(t, "POST", url, probe); status != 200 || body != "ok" {
		t.Fatalf("POST %q after %s: %d %q", probe, short(data), status, body)
	}
	want := strings.Join(append(echoes, probe), "\x1e")
	if status, body := fuzzDo(t, "GET", url, ""); status != 200 || body != want {
		t.Fatalf("POST %s: the poll after got %d %s, want %s", short(data), status, short([]byte(body)), short([]byte(want)))
	}
	fuzzDo(t, "POST", url, "1")
}

func (fz *fuzzEngine) websocket(t *testing.T, data []byte) {
	ws := fuzzDial(t, fz.base+"websocket")
	defer ws.Close()
	_ = ws.WriteMessage(websocket.BinaryMessage, data)
	_ = ws.WriteMessage(websocket.TextMessage, data)
	want, closed := expectMessage(data)
	if len(data) > fuzzMaxPayload {
		closed, want = true, nil // 1009 at the binary message already
	}
	probe := fmt.Sprintf("4probe-%d", fz.n)
	_ = ws.WriteMessage(websocket.TextMessage, []byte(probe))
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []string
	if len(data) <= fuzzMaxPayload {
		kind, msg, err := ws.ReadMessage()
		if err != nil || kind != websocket.BinaryMessage || !bytes.Equal(msg, data) {
			t.Fatalf("binary echo of %s: %d %s %v", short(data), kind, short(msg), err)
		}
	}
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatalf("text %s: neither answered nor closed within 5 s (got %d messages)", short(data), len(got))
			}
			if !closed {
				t.Fatalf("text %s: closed (%v) after %d messages, want %d then the probe", short(data), err, len(got), len(want))
			}
			return
		}
		got = append(got, string(msg))
		if string(msg) == probe {
			break
		}
	}
	if closed || !equalStrings(got, append(want, probe)) {
		t.Fatalf("text %s: got %d messages, want %d then the probe (closed %v)", short(data), len(got), len(want), closed)
	}
}

// bystanders checks that the sessions opened at the start still echo.
func (fz *fuzzEngine) bystanders(t *testing.T) {
	if fz.pollSID == "" {
		fz.pollSID = fz.open(t)
		fz.ws = fuzzDial(t, fz.base+"websocket")
	}
	// Echoes of earlier inputs, left unread when those failed, are
	// skipped: this input's must come.
	msg := fmt.Sprintf("4still-%d", fz.n)
	url := fz.base + "polling&sid=" + fz.pollSID
	if status, _ := fuzzDo(t, "POST", url, msg); status != 200 {
		t.Fatalf("the polling bystander's POST: %d", status)
	}
	for got := ""; got != msg; {
		status, body := fuzzDo(t, "GET", url, "")
		for p := range strings.SplitSeq(body, "\x1e") {
			switch {
			case status != 200 || !strings.HasPrefix(p, "4still-") && p != "2":
				t.Fatalf("the polling bystander's poll: %d %q, want %q", status, body, msg)
			case p == "2": // the heartbeat
				fuzzDo(t, "POST", url, "3")
			}
			got = p
		}
	}
	_ = fz.ws.WriteMessage(websocket.TextMessage, []byte(msg))
	_ = fz.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, got, err := fz.ws.ReadMessage()
		if string(got) == "2" {
			_ = fz.ws.WriteMessage(websocket.TextMessage, []byte("3"))
			continue
		}
		if err != nil || !strings.HasPrefix(string(got), "4still-") {
			t.Fatalf("the WebSocket bystander: %q %v, want %q", got, err, msg)
		}
		if string(got) == msg {
			return
		}
	}
}

// short quotes at most 200 bytes of b, for messages.
func short(b []byte) string {
	if len(b) > 200 {
		return fmt.Sprintf("%q... (%d bytes)", b[:200], len(b))
	}
	return fmt.Sprintf("%q", b)
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// fuzzClient gives up on a request that the server leaves hanging (a poll
// of a session that should have closed).
var fuzzClient = &http.Client{Timeout: 5 * time.Second}

func fuzzDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := fuzzClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// fuzzDial opens a WebSocket session and reads its open packet.
func fuzzDial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, msg, err := ws.ReadMessage(); err != nil || !bytes.HasPrefix(msg, []byte("0{")) {
		t.Fatalf("open packet: %q %v", msg, err)
	}
	return ws
}
