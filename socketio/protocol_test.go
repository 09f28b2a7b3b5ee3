package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/engineio"
)

// These tests check, with raw packets, the behaviours the Socket.IO
// protocol's own test suite (socketio/socket.io-protocol, test-suite/)
// checks against its reference server: the events "message" (answered with
// "message-back"), "message-with-ack" (answered by ack), an "auth" event
// with the auth payload on connection, in "/" and "/custom".

const (
	pingInterval = 300 * time.Millisecond
	pingTimeout  = 200 * time.Millisecond
)

// suiteServer starts the reference server of the protocol's test suite.
func suiteServer(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	if cfg.Engine.PingInterval == 0 {
		cfg.Engine.PingInterval, cfg.Engine.PingTimeout = pingInterval, pingTimeout
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = time.Second
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	io := New(cfg)
	for _, name := range []string{"/", "/custom"} {
		io.Of(name).OnConnection(func(s *Socket) {
			auth := s.Auth()
			if auth == nil {
				auth = map[string]any{}
			}
			_ = s.Emit("auth", auth)
			s.On("message", func(args Args, _ Ack) { _ = s.Emit("message-back", args.Values()...) })
			s.On("message-with-ack", func(args Args, ack Ack) { _ = ack.Send(args.Values()...) })
		})
	}
	ts := httptest.NewServer(io)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := io.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		ts.Close()
	})
	return io, "ws" + strings.TrimPrefix(ts.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
}

// wsClient reads every message into a channel, so that none is lost
// between two waits.
type wsClient struct {
	t    *testing.T
	ws   *websocket.Conn
	msgs chan wsMessage
}

type wsMessage struct {
	data   string
	binary bool
	err    error
}

func dial(t *testing.T, url string) *wsClient {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &wsClient{t: t, ws: ws, msgs: make(chan wsMessage, 64)}
	go func() {
		for {
			kind, b, err := ws.ReadMessage()
			c.msgs <- wsMessage{data: string(b), binary: kind == websocket.BinaryMessage, err: err}
			if err != nil {
				close(c.msgs)
				return
			}
		}
	}()
	t.Cleanup(func() { _ = ws.Close() })
	return c
}

// next returns the next message that is not a ping.
func (c *wsClient) next() wsMessage {
	c.t.Helper()
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				c.t.Fatal("connection closed")
			}
			if m.err != nil {
				c.t.Fatalf("read: %v", m.err)
			}
			if m.data == "2" && !m.binary {
				_ = c.ws.WriteMessage(websocket.TextMessage, []byte("3"))
				continue
			}
			return m
		case <-time.After(5 * time.Second):
			c.t.Fatal("no message")
		}
	}
}

func (c *wsClient) send(s string) {
	_ = c.ws.WriteMessage(websocket.TextMessage, []byte(s))
}

func (c *wsClient) sendBinary(b []byte) {
	_ = c.ws.WriteMessage(websocket.BinaryMessage, b)
}

// closed waits for the server to end the connection.
func (c *wsClient) closed() {
	c.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok || m.err != nil {
				return
			}
			if m.data == "2" && !m.binary {
				_ = c.ws.WriteMessage(websocket.TextMessage, []byte("3"))
			}
		case <-deadline:
			c.t.Fatal("connection not closed")
		}
	}
}

func (c *wsClient) expect(want string) {
	c.t.Helper()
	if m := c.next(); m.data != want {
		c.t.Fatalf("got %q, want %q", m.data, want)
	}
}

func (c *wsClient) expectPrefix(prefix string) string {
	c.t.Helper()
	m := c.next()
	if !strings.HasPrefix(m.data, prefix) {
		c.t.Fatalf("got %q, want a message starting with %q", m.data, prefix)
	}
	return m.data
}

// connect opens a session and joins a namespace; it returns the CONNECT
// answer.
func connect(t *testing.T, url, packet string) *wsClient {
	c := dial(t, url)
	c.expectPrefix("0{")
	c.send(packet)
	return c
}

func TestConnectToNamespaces(t *testing.T) {
	_, url := suiteServer(t, Config{})
	for _, tc := range []struct{ send, prefix, auth string }{
		{"40", `40{"sid":"`, `42["auth",{}]`},
		{`40{"token":"123"}`, `40{"sid":"`, `42["auth",{"token":"123"}]`},
		{"40/custom,", `40/custom,{"sid":"`, `42/custom,["auth",{}]`},
		{`40/custom,{"token":"abc"}`, `40/custom,{"sid":"`, `42/custom,["auth",{"token":"abc"}]`},
	} {
		c := connect(t, url, tc.send)
		answer := c.expectPrefix(tc.prefix)
		if strings.Contains(answer, "pid") {
			t.Fatalf("CONNECT answer %q has a pid without recovery", answer)
		}
		c.expect(tc.auth)
	}
}

func TestConnectRefusals(t *testing.T) {
	_, url := suiteServer(t, Config{})
	c := connect(t, url, "40/random")
	c.expect(`44/random,{"message":"Invalid namespace"}`)
	connect(t, url, "4abc").closed()
	start := time.Now()
	c = dial(t, url)
	c.expectPrefix("0{")
	c.closed()
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("a client without CONNECT closed after %v, want the connect timeout (1s)", d)
	}
}

func TestDisconnectFromNamespaces(t *testing.T) {
	_, url := suiteServer(t, Config{})
	c := connect(t, url, "40")
	c.expectPrefix("40")
	c.expect(`42["auth",{}]`)
	c.send("41")
	c.send("40/custom")
	c.expectPrefix("40/custom,")
	c.expect(`42/custom,["auth",{}]`)
	c.send("41/custom")
	c.send(`40`)
	c.expectPrefix("40")
	c.expect(`42["auth",{}]`)
	c.send(`42["message","message to main namespace"]`)
	c.expect(`42["message-back","message to main namespace"]`)
	// A packet for a namespace the client left closes the connection, as
	// in Node ("invalid state").
	c.send(`42/custom,["message","to a namespace left"]`)
	c.closed()
}

func TestMessages(t *testing.T) {
	_, url := suiteServer(t, Config{})
	c := connect(t, url, "40")
	c.expectPrefix("40")
	c.expect(`42["auth",{}]`)
	c.send(`42["message",1,"2",{"3":[true]}]`)
	c.expect(`42["message-back",1,"2",{"3":[true]}]`)
	c.send(`42456["message-with-ack",1,"2",{"3":[false]}]`)
	c.expect(`43456[1,"2",{"3":[false]}]`)
	for _, tc := range []struct{ head, back string }{
		{`452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, `452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
		{`452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, `462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
	} {
		c.send(tc.head)
		c.sendBinary([]byte{1, 2, 3})
		c.sendBinary([]byte{4, 5, 6})
		c.expect(tc.back)
		for _, want := range []string{"\x01\x02\x03", "\x04\x05\x06"} {
			if m := c.next(); !m.binary || m.data != want {
				t.Fatalf("attachment %q (binary %v), want %q", m.data, m.binary, want)
			}
		}
	}
}

func TestMalformedPacketsClose(t *testing.T) {
	_, url := suiteServer(t, Config{})
	for _, bad := range []string{"4abc", "42{}", `42abc["message-with-ack",1,"2",{"3":[false]}]`, `42["connect"]`, `42[]`, `451-["x",{"_placeholder":true,"num":3}]`, "47", `411-["x"]`} {
		c := connect(t, url, "40")
		c.expectPrefix("40")
		c.expect(`42["auth",{}]`)
		c.send(bad)
		if strings.HasPrefix(bad, "451-") {
			c.sendBinary([]byte{1})
		}
		c.closed()
	}
}

func TestTooManyAttachments(t *testing.T) {
	_, url := suiteServer(t, Config{MaxAttachments: 2})
	c := connect(t, url, "40")
	c.expectPrefix("40")
	c.expect(`42["auth",{}]`)
	c.send(`453-["message",1]`)
	c.closed()
}

// TestMiddlewareRefusal checks the CONNECT_ERROR of a refused connection,
// byte for byte as Node writes it: no "data" key without data.
func TestMiddlewareRefusal(t *testing.T) {
	io, url := suiteServer(t, Config{})
	io.Of("/guarded").Use(func(s *Socket) error {
		if s.Auth()["token"] == "with-data" {
			return &ConnectError{Message: "refused", Data: map[string]any{"retry": false}}
		}
		return errors.New("invalid username")
	})
	c := connect(t, url, `40/guarded,{"token":"x"}`)
	c.expect(`44/guarded,{"message":"invalid username"}`)
	c = connect(t, url, `40/guarded,{"token":"with-data"}`)
	c.expect(`44/guarded,{"message":"refused","data":{"retry":false}}`)
}

// TestRecoveredPacketsCarryTheirOffsets checks that a packet replayed to a
// recovered client ends with its offset, as Node's session-aware adapter
// stores it: the client takes the last string argument of every event as
// its offset, and recovers from it the next time.
func TestRecoveredPacketsCarryTheirOffsets(t *testing.T) {
	io, url := suiteServer(t, Config{Recovery: &Recovery{}})
	handshake := func(c *wsClient) map[string]string {
		var hs map[string]string
		if err := json.Unmarshal([]byte(strings.TrimPrefix(c.expectPrefix("40{"), "40")), &hs); err != nil {
			t.Fatal(err)
		}
		return hs
	}
	lastArg := func(packet string) string {
		var data []any
		if err := json.Unmarshal([]byte(strings.TrimPrefix(packet, "42")), &data); err != nil {
			t.Fatalf("%q: %v", packet, err)
		}
		s, _ := data[len(data)-1].(string)
		return s
	}
	gone := func(c *wsClient) {
		_ = c.ws.Close()
		waitFor(t, "the socket's disconnect", func() bool { return io.Sockets().SocketCount() == 0 })
	}
	c := connect(t, url, "40")
	hs := handshake(c)
	c.expectPrefix(`42["auth",{},`)
	_ = io.Emit("live")
	offset := lastArg(c.expectPrefix(`42["live",`))
	gone(c)
	_ = io.Emit("missed")
	// Missed packets come before the CONNECT answer, as in Node.
	c = connect(t, url, fmt.Sprintf(`40{"pid":%q,"offset":%q}`, hs["pid"], offset))
	replayed := lastArg(c.expectPrefix(`42["missed",`))
	if again := handshake(c); again["sid"] != hs["sid"] {
		t.Fatalf("not recovered: sid %q, want %q", again["sid"], hs["sid"])
	}
	if replayed == "" || replayed == offset {
		t.Fatalf("replayed packet's offset %q (previous %q)", replayed, offset)
	}
	c.expectPrefix(`42["auth",{"offset":`)
	gone(c)
	c = connect(t, url, fmt.Sprintf(`40{"pid":%q,"offset":%q}`, hs["pid"], replayed))
	c.expectPrefix(`42["auth",{"offset":`) // sent after the replayed packet
	if third := handshake(c); third["sid"] != hs["sid"] {
		t.Fatalf("not recovered from the replayed packet's offset: sid %q, want %q", third["sid"], hs["sid"])
	}
}

// TestEventsAndAcksWithoutDataLikeNode checks packets Node's parser
// accepts although they carry no data or no id: an EVENT without data is
// dispatched to no handler, an ACK without an id finds no callback, an ACK
// without data calls its callback without arguments; the connection stays.
func TestEventsAndAcksWithoutDataLikeNode(t *testing.T) {
	io, url := suiteServer(t, Config{})
	c := connect(t, url, "40")
	c.expectPrefix("40")
	c.expect(`42["auth",{}]`)
	for _, p := range []string{"42", "4212", "43", `43[1]`, "451-"} {
		c.send(p)
	}
	c.sendBinary([]byte{1})
	got := make(chan Args, 1)
	s := io.Sockets().LocalSockets()[0]
	if err := s.EmitWithAck("question", func(a Args, err error) {
		if err != nil {
			t.Errorf("ack error %v", err)
		}
		got <- a
	}); err != nil {
		t.Fatal(err)
	}
	c.expect(`420["question"]`)
	c.send("430")
	select {
	case a := <-got:
		if a.Len() != 0 {
			t.Fatalf("ack without data gave %d arguments", a.Len())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the ack without data did not reach its callback")
	}
	c.send(`42["message","still here"]`)
	c.expect(`42["message-back","still here"]`)
}

// TestVolatileOverPolling checks the volatile flag on long polling as Node
// applies it: a volatile event is dropped for a client between two polls
// (the transport is not writable), while the other events wait for the
// next poll; it reaches a client whose poll is waiting.
func TestVolatileOverPolling(t *testing.T) {
	srv, wsURL := suiteServer(t, Config{Engine: engineio.Config{PingInterval: time.Minute, PingTimeout: time.Minute}})
	base := "http" + strings.TrimPrefix(strings.Split(wsURL, "?")[0], "ws") + "?EIO=4&transport=polling"
	do := func(method, url, body string) string {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Error(err)
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	url := base + "&sid=" + do("GET", base, "")[9:29]
	do("POST", url, "40")
	got := do("GET", url, "")
	if !strings.HasPrefix(got, "40{") {
		t.Fatalf("CONNECT answer %q", got)
	}
	if !strings.HasSuffix(got, `42["auth",{}]`) {
		if got = do("GET", url, ""); got != `42["auth",{}]` {
			t.Fatalf("got %q", got)
		}
	}
	_ = srv.Volatile().Emit("dropped")
	_ = srv.Emit("kept")
	if got := do("GET", url, ""); got != `42["kept"]` {
		t.Fatalf("poll after a volatile emit between polls: %q", got)
	}
	// Emit until the poll is waiting: the attempts before are dropped, the
	// first one after ends the poll.
	polled := make(chan string, 1)
	go func() { polled <- do("GET", url, "") }()
	for {
		_ = srv.Volatile().Emit("sent")
		select {
		case g := <-polled:
			if g != `42["sent"]` {
				t.Fatalf("waiting poll got %q, want the volatile event once", g)
			}
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestEmitWithTooManyAttachments checks that an emit carrying more binary
// attachments than socket.io-client's parser takes is refused with
// ErrUnencodable (the client would drop its connection on it), that ten
// go out, and that the client stays connected.
func TestEmitWithTooManyAttachments(t *testing.T) {
	io, url := suiteServer(t, Config{})
	c := connect(t, url, "40")
	c.expectPrefix("40")
	c.expect(`42["auth",{}]`)
	bins := func(n int) []any {
		args := make([]any, n)
		for i := range args {
			args[i] = []byte{byte(i)}
		}
		return args
	}
	s := io.Sockets().LocalSockets()[0]
	if err := s.Emit("many", bins(MaxClientAttachments+1)...); !errors.Is(err, ErrUnencodable) {
		t.Fatalf("socket emit of %d attachments: %v, want ErrUnencodable", MaxClientAttachments+1, err)
	}
	if err := io.Emit("many", bins(MaxClientAttachments+1)...); !errors.Is(err, ErrUnencodable) {
		t.Fatalf("broadcast of %d attachments: %v, want ErrUnencodable", MaxClientAttachments+1, err)
	}
	if err := io.Emit("many", bins(MaxClientAttachments)...); err != nil {
		t.Fatalf("broadcast of %d attachments: %v", MaxClientAttachments, err)
	}
	c.expectPrefix("4510-[\"many\",")
	for i := range MaxClientAttachments {
		if m := c.next(); !m.binary || m.data != string([]byte{byte(i)}) {
			t.Fatalf("attachment %d: %q (binary %v)", i, m.data, m.binary)
		}
	}
	if err := s.Emit("after"); err != nil {
		t.Fatal(err)
	}
	c.expect(`42["after"]`)
}
