package fanout_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"go.uber.org/goleak"

	"github.com/parley-chat/parley/engine"
	"github.com/parley-chat/parley/fanout"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// node is an engine with the fan-out adapter; clients join the rooms named
// in their CONNECT payload, then get "joined".
type node struct {
	e   *engine.Engine
	f   *fanout.Fanout
	url string
}

func newNode(t *testing.T, cfg fanout.Config) *node {
	t.Helper()
	f := fanout.New(cfg)
	e := engine.New(engine.Config{Fanout: f})
	_ = e.IO().On("connection", func(args ...any) {
		s := args[0].(*socket.Socket)
		if rooms, ok := s.Handshake().Auth["rooms"].([]any); ok {
			for _, r := range rooms {
				s.Join(socket.Room(r.(string)))
			}
		}
		_ = s.Emit("joined")
	})
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		srv.Close()
	})
	return &node{e: e, f: f, url: srv.URL}
}

func connectPacket(rooms []string) string {
	b, _ := json.Marshal(map[string]any{"rooms": rooms})
	return "40" + string(b)
}

// client receives Engine.IO messages, over WebSocket or long-polling.
type client interface {
	next(t *testing.T) []string // the next message(s)
}

type wsClient struct{ c *websocket.Conn }

func (n *node) dialWS(t *testing.T, rooms ...string) *wsClient {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(n.url, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	w := &wsClient{c}
	w.next(t) // open
	if err := c.WriteMessage(websocket.TextMessage, []byte(connectPacket(rooms))); err != nil {
		t.Fatal(err)
	}
	untilEvent(t, w, `42["joined"]`)
	return w
}

// next returns the next message; binary frames are shown as "<bin:hex>".
func (w *wsClient) next(t *testing.T) []string {
	t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	mt, b, err := w.c.ReadMessage()
	if err != nil {
		t.Fatalf("websocket read: %v", err)
	}
	if mt == websocket.BinaryMessage {
		return []string{"<bin:" + hexOf(b) + ">"}
	}
	return []string{string(b)}
}

type pollClient struct{ url string }

func (n *node) dialPolling(t *testing.T, rooms ...string) *pollClient {
	t.Helper()
	base := n.url + "/socket.io/?EIO=4&transport=polling"
	var open struct{ Sid string }
	_ = json.Unmarshal([]byte(strings.TrimPrefix(httpDo(t, "GET", base, ""), "0")), &open)
	p := &pollClient{url: base + "&sid=" + open.Sid}
	// Leave like a client does: with a close packet, so that the session
	// ends before the engine shuts down.
	t.Cleanup(func() { httpDo(t, "POST", p.url, "1") })
	httpDo(t, "POST", p.url, connectPacket(rooms))
	untilEvent(t, p, `42["joined"]`)
	return p
}

func (p *pollClient) next(t *testing.T) []string {
	t.Helper()
	return strings.Split(httpDo(t, "GET", p.url, ""), "\x1e")
}

func httpDo(t *testing.T, method, url, body string) string {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// untilEvent returns the messages a client receives before last (which
// it consumes), skipping pings and the CONNECT answer.
func untilEvent(t *testing.T, c client, last string) []string {
	t.Helper()
	var out []string
	for {
		for _, m := range c.next(t) {
			switch {
			case m == last:
				return out
			case m == "2" || strings.HasPrefix(m, "40"):
			default:
				out = append(out, m)
			}
		}
	}
}

func TestDeliverSelectsRecipients(t *testing.T) {
	n := newNode(t, fanout.Config{})
	ws := map[string]*wsClient{
		"a":  n.dialWS(t, "a"),
		"ab": n.dialWS(t, "a", "b"),
		"b":  n.dialWS(t, "b"),
		"-":  n.dialWS(t),
	}
	poll := n.dialPolling(t, "a")
	io := n.e.IO()
	_ = io.Emit("ev", "everyone")
	_ = io.To("a").Emit("ev", "room a")
	_ = io.To("a", "b").Emit("ev", "rooms a and b")
	_ = io.To("a").Except("b").Emit("ev", "a except b")
	_ = io.Except("a").Emit("ev", "everyone except a")
	_ = io.Emit("end")
	want := map[string][]string{
		"a":  {"everyone", "room a", "rooms a and b", "a except b"},
		"ab": {"everyone", "room a", "rooms a and b"},
		"b":  {"everyone", "rooms a and b", "everyone except a"},
		"-":  {"everyone", "everyone except a"},
	}
	for name, c := range ws {
		if got := eventArgs(untilEvent(t, c, `42["end"]`)); !slices.Equal(got, want[name]) {
			t.Errorf("client in %q got %q, want %q", name, got, want[name])
		}
	}
	if got := eventArgs(untilEvent(t, poll, `42["end"]`)); !slices.Equal(got, want["a"]) {
		t.Errorf("polling client in \"a\" got %q, want %q", got, want["a"])
	}
	// 4+2+3+1+2 (+4 "end") direct deliveries; the polling client's 5 via the engine.
	if got := deliveries(t, n.f, "direct"); got != 16 {
		t.Errorf("direct deliveries = %v, want 16", got)
	}
	if got := deliveries(t, n.f, "engine"); got != 5 {
		t.Errorf("engine deliveries = %v, want 5", got)
	}
}

// eventArgs returns the first argument of each `42["ev",arg]` message.
func eventArgs(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		var v []any
		if json.Unmarshal([]byte(strings.TrimPrefix(m, "42")), &v) == nil && len(v) == 2 {
			out = append(out, v[1].(string))
		} else {
			out = append(out, m)
		}
	}
	return out
}

func TestDeliverBinaryOrderAndSplit(t *testing.T) {
	// SplitAt 2 sends even these small broadcasts through the split path.
	n := newNode(t, fanout.Config{SplitAt: 2, Workers: 3})
	var clients []*wsClient
	for range 5 {
		clients = append(clients, n.dialWS(t, "r"))
	}
	poll := n.dialPolling(t, "r")
	io := n.e.IO()
	_ = io.To("r").Emit("bin", "label", []byte{0, 1, 2, 255})
	var want []string
	want = append(want, `451-["bin","label",{"_placeholder":true,"num":0}]`, "<bin:000102ff>")
	for i := range 20 {
		_ = io.To("r").Emit("seq", i)
		want = append(want, `42["seq",`+string(rune('0'+i/10))+string(rune('0'+i%10))+`]`)
	}
	for i := range want[2:] {
		want[2+i] = strings.Replace(want[2+i], `,0`, `,`, 1)
	}
	_ = io.Emit("end")
	for i, c := range clients {
		if got := untilEvent(t, c, `42["end"]`); !slices.Equal(got, want) {
			t.Fatalf("client %d got %q\nwant %q", i, got, want)
		}
	}
	got := untilEvent(t, poll, `42["end"]`)
	if len(got) != 22 || got[0] != want[0] || got[1] != "bAAEC/w==" || !slices.Equal(got[2:], want[2:]) {
		t.Fatalf("polling client got %q", got)
	}
}

func TestDeliverVolatileWithoutBacklog(t *testing.T) {
	n := newNode(t, fanout.Config{})
	c := n.dialWS(t)
	_ = n.e.IO().Volatile().Emit("ev", "v")
	_ = n.e.IO().Emit("end")
	if got := eventArgs(untilEvent(t, c, `42["end"]`)); !slices.Equal(got, []string{"v"}) {
		t.Fatalf("got %q: a volatile broadcast must reach a client without backlog", got)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
