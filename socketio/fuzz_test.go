package socketio

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// FuzzSocketInput sends each input to a real connection that joined "/",
// as WebSocket messages: the input is split at 0x1e, a part starting with
// 'b' is a binary message (an attachment) of the rest, any other part a
// Socket.IO packet (sent as an Engine.IO message). The server is the
// protocol test suite's (events "message" and "message-with-ack", in "/"
// and "/custom"). After the input the client asks "/" for an echo: the
// connection must either answer it or be closed (a malformed packet closes
// the sender's connection, as Node's does; packets Node ignores are
// ignored), with no panic, and a client connected before keeps working.
//
// The seeds run with the tests; to fuzz:
//
//	go test -run '^$' -fuzz FuzzSocketInput -fuzztime 60s -fuzzminimizetime 0 ./socketio
func FuzzSocketInput(f *testing.F) {
	for _, seed := range socketSeeds {
		f.Add([]byte(seed))
	}
	fz := newFuzzSocket(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fz.n++
		fz.send(t, data)
		fz.bystanderAnswers(t, fmt.Sprintf("still-%d", fz.n))
		fz.nothingLeft(t, data)
		if p := fz.panicked.Load(); p != nil {
			t.Fatalf("the server panicked: %v", *p)
		}
	})
}

// socketSeeds are the seeds of FuzzSocketInput, in its input form: the
// protocol's packets, well formed or not, and attachment sequences.
var socketSeeds = []string{
	`42["message",1,"2",{"3":[true]}]`, `42456["message-with-ack",1,"2",{"3":[false]}]`, `43456[1]`, `43[1]`,
	`451-["message",{"_placeholder":true,"num":0}]` + "\x1eb\x01\x02\x03",
	`452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]` + "\x1eb\x01\x1eb",
	`461-12[{"_placeholder":true,"num":0}]` + "\x1ebX", `451-["message",{"_placeholder":true,"num":5}]` + "\x1ebz",
	`451-["message",{"a":[{"_placeholder":true,"num":0}]}]` + "\x1eb", `451-["message"]` + "\x1e" + `42["message"]`,
	`450-["message"]`, `45-1-["message"]`, `4511-["x"]`, `451-/custom,["message",{"_placeholder":true,"num":0}]` + "\x1ebq",
	"b\x01", "40/custom,", `40/custom,{"token":"x"}`, `42/custom,["message","x"]`, "41/custom,", "40/custom,\x1e41/custom,\x1e42/custom,[\"message\"]",
	"40", "41", "40/nope,", `40/custom,[1]`, `40{"a":`, "44{}", `44/custom,{"message":"x"}`,
	"4abc", "42{}", `42abc["message"]`, `42["connect"]`, `42["disconnecting"]`, `42[]`, "47", "4", "",
	`42[1,2]`, `42[null]`, `42["message"`, `42["message",{"a":[1,2,{"b":null}]}]` + "\x1e" + `42["message","\u00e9\ud83d\ude00"]`,
	`42["message","` + strings.Repeat("x", 1000) + `"]`, `42/custom`, `42/custom,`, `4299999999999999999999["message-with-ack"]`,
	`42-1["message-with-ack"]`, `42 ["message"]`, `4/custom,42["message"]`,
	"2", "3", "3[41]", "21", "35", "51-\x1eb\x01", "61-3\x1eb\x01", `3[{"_placeholder":true,"num":0}]`,
}

type fuzzSocket struct {
	io        *Server
	url       string
	panicked  atomic.Pointer[string]
	n         int
	bystander *websocket.Conn
}

func newFuzzSocket(f *testing.F) *fuzzSocket {
	fz := &fuzzSocket{}
	base := newFuzzSocketServer(f, fz)
	fz.url = "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	f.Cleanup(func() {
		if fz.bystander != nil {
			_ = fz.bystander.Close()
		}
	})
	return fz
}

// newFuzzSocketServer starts the server of FuzzSocketInput and returns its
// base URL.
func newFuzzSocketServer(tb testing.TB, fz *fuzzSocket) string {
	io := New(Config{Logger: slog.New(slog.DiscardHandler)})
	fz.io = io
	for _, name := range []string{"/", "/custom"} {
		io.Of(name).OnConnection(func(s *Socket) {
			s.On("message", func(args Args, _ Ack) { _ = s.Emit("message-back", args.Values()...) })
			s.On("message-with-ack", func(args Args, ack Ack) { _ = ack.Send(args.Values()...) })
		})
	}
	// net/http recovers a handler's panic: record it for the fuzz
	// function (panics on the WebSocket readers end the process).
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				msg := fmt.Sprintf("%v\n%s", p, debug.Stack())
				fz.panicked.Store(&msg)
				panic(p)
			}
		}()
		io.ServeHTTP(w, r)
	}))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := io.Close(ctx); err != nil {
			tb.Errorf("Close: %v", err)
		}
		ts.Close()
	})
	return ts.URL
}

// join opens a connection and joins "/".
func (fz *fuzzSocket) join(t *testing.T) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(fz.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, msg, err := ws.ReadMessage(); err != nil || !bytes.HasPrefix(msg, []byte("0{")) {
		t.Fatalf("open packet %q: %v", msg, err)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte("40"))
	if _, msg, err := ws.ReadMessage(); err != nil || !bytes.HasPrefix(msg, []byte("40{")) {
		t.Fatalf("CONNECT answer %q: %v", msg, err)
	}
	return ws
}

func (fz *fuzzSocket) send(t *testing.T, data []byte) {
	ws := fz.join(t)
	defer ws.Close()
	for part := range bytes.SplitSeq(data, []byte{0x1e}) {
		if len(part) > 0 && part[0] == 'b' {
			_ = ws.WriteMessage(websocket.BinaryMessage, part[1:])
		} else {
			_ = ws.WriteMessage(websocket.TextMessage, append([]byte{'4'}, part...))
		}
	}
	fz.answersOrCloses(t, ws, fmt.Sprintf("probe-%d", fz.n), data)
}

// answersOrCloses asks "/" for an echo of tag: the connection must answer
// or end within 5 s.
func (fz *fuzzSocket) answersOrCloses(t *testing.T, ws *websocket.Conn, tag string, data []byte) {
	t.Helper()
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`42["message","`+tag+`"]`))
	want := `42["message-back","` + tag + `"]`
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatalf("input %s: the connection neither answered nor closed within 5 s", short(data))
			}
			return // closed
		}
		if string(msg) == "2" {
			_ = ws.WriteMessage(websocket.TextMessage, []byte("3"))
		}
		if string(msg) == want {
			return
		}
	}
}

// nothingLeft waits until the server holds nothing of the input's
// connection: one session and one socket (the bystander's) remain.
func (fz *fuzzSocket) nothingLeft(t *testing.T, data []byte) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		sessions, main, custom := fz.io.Engine().ClientsCount(), fz.io.Of("/").SocketCount(), fz.io.Of("/custom").SocketCount()
		if sessions == 1 && main == 1 && custom == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("input %s: %d sessions, %d sockets in /, %d in /custom remain, want the bystander's only", short(data), sessions, main, custom)
		}
		time.Sleep(time.Millisecond)
	}
}

// bystanderAnswers requires that the connection opened before the inputs
// still answers.
func (fz *fuzzSocket) bystanderAnswers(t *testing.T, tag string) {
	t.Helper()
	if fz.bystander == nil {
		fz.bystander = fz.join(t)
	}
	ws := fz.bystander
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`42["message","`+tag+`"]`))
	want := `42["message-back","` + tag + `"]`
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("the bystander: %v", err)
		}
		if string(msg) == "2" {
			_ = ws.WriteMessage(websocket.TextMessage, []byte("3"))
			continue
		}
		if string(msg) == want {
			return
		}
		// Echoes of earlier inputs, left unread when those failed, are
		// skipped: this input's must come.
		if !strings.HasPrefix(string(msg), `42["message-back","still-`) {
			t.Fatalf("the bystander got %q, want %q", msg, want)
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
