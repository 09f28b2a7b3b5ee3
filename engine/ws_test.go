package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/parley-chat/parley/engine"
	"github.com/parley-chat/parley/internal/chattest"
	"github.com/parley-chat/parley/wstransport"
)

// readers are the two ways the transport reads connections.
var readers = []struct {
	name       string
	goroutines bool
}{{"readiness-loop", false}, {"goroutine", true}}

// testServer is an engine with the load tool's two events, served over
// real TCP.
type testServer struct {
	e    *engine.Engine
	url  string
	reg  *prometheus.Registry
	mu   sync.Mutex
	gone []string // "reason: description" of each disconnect
}

func newTestServer(t *testing.T, cfg engine.Config) *testServer {
	t.Helper()
	ts := &testServer{e: engine.New(cfg), reg: prometheus.NewRegistry()}
	ts.reg.MustRegister(ts.e.Collectors()...)
	io := ts.e.IO()
	_ = io.On("connection", func(args ...any) {
		s := args[0].(*socket.Socket)
		_ = s.On("echo", func(a ...any) {
			if ack, ok := a[len(a)-1].(socket.Ack); ok {
				ack(a[:len(a)-1], nil)
			}
		})
		_ = s.On("broadcast", func(a ...any) { _ = io.Emit("bcast", a...) })
		_ = s.On("disconnect", func(a ...any) {
			ts.mu.Lock()
			defer ts.mu.Unlock()
			desc := ""
			if len(a) > 1 && a[1] != nil {
				desc = errString(a[1])
			}
			ts.gone = append(ts.gone, errString(a[0])+": "+desc)
		})
	})
	srv := httptest.NewServer(ts.e)
	ts.url = srv.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ts.e.Shutdown(ctx); err != nil {
			t.Errorf("engine shutdown: %v", err)
		}
		srv.Close()
	})
	return ts
}

func errString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case error:
		return x.Error()
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (ts *testServer) disconnects() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.gone...)
}

// metric returns the value of a metric (summed over its label sets
// matching label=value when label is set).
func (ts *testServer) metric(t *testing.T, name, label, value string) float64 {
	t.Helper()
	families, err := ts.reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if label != "" && !hasLabel(m.GetLabel(), label, value) {
				continue
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

func hasLabel(labels []*dto.LabelPair, name, value string) bool {
	for _, l := range labels {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

// wsClient is a raw Engine.IO client on gorilla/websocket.
type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

func dialWS(t *testing.T, base string, dialer *websocket.Dialer) *wsClient {
	t.Helper()
	if dialer == nil {
		dialer = websocket.DefaultDialer
	}
	u := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	c, _, err := dialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	w := &wsClient{t: t, c: c}
	if open := w.read(); !strings.HasPrefix(open, "0{") {
		t.Fatalf("first packet %q, want an open packet", open)
	}
	return w
}

// connect joins the main namespace and waits until the server's handlers
// are installed (the CONNECT answer goes out before the connection
// handler runs): an acked echo comes back only after that.
func (w *wsClient) connect() {
	w.t.Helper()
	w.send("40")
	if got := w.read(); !strings.HasPrefix(got, "40{") {
		w.t.Fatalf("connect answer %q", got)
	}
	w.send(`4299["echo"]`)
	if got := w.read(); got != "4399[]" {
		w.t.Fatalf("echo answer %q", got)
	}
}

func (w *wsClient) send(s string) {
	w.t.Helper()
	if err := w.c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		w.t.Fatalf("write %q: %v", s, err)
	}
}

// read returns the next text message, answering pings.
func (w *wsClient) read() string {
	w.t.Helper()
	for {
		_ = w.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, b, err := w.c.ReadMessage()
		if err != nil {
			w.t.Fatalf("read: %v", err)
		}
		if string(b) == "2" {
			w.send("3")
			continue
		}
		return string(b)
	}
}

// closeCode reads until the server closes and returns its close code.
func (w *wsClient) closeCode(within time.Duration) int {
	w.t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(within))
	for {
		_, _, err := w.c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		w.t.Fatalf("connection ended without a close frame: %v", err)
	}
}

func TestWebSocketEchoAndBroadcast(t *testing.T) {
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			ts := newTestServer(t, engine.Config{WebSocket: wsConfig(r.goroutines)})
			a, b := dialWS(t, ts.url, nil), dialWS(t, ts.url, nil)
			a.connect()
			b.connect()
			a.send(`421["echo","héllo",{"n":1}]`)
			if got := a.read(); got != `431["héllo",{"n":1}]` {
				t.Fatalf("ack %q", got)
			}
			a.send(`42["broadcast","x"]`)
			for _, c := range []*wsClient{a, b} {
				if got := c.read(); got != `42["bcast","x"]` {
					t.Fatalf("broadcast %q", got)
				}
			}
			if n := ts.metric(t, "parley_ws_connections", "", ""); n != 2 {
				t.Fatalf("parley_ws_connections = %v, want 2", n)
			}
			// The counter is updated once the writes are done, which
			// the clients may see first.
			waitFor(t, "2 direct fan-out deliveries", func() bool {
				return ts.metric(t, "parley_fanout_deliveries_total", "path", "direct") == 2
			})
		})
	}
}

func wsConfig(goroutines bool) wstransport.Config {
	return wstransport.Config{GoroutineReader: goroutines}
}

// TestUpgradeFromPolling drives the upgrade by hand: a polling session
// connects, a broadcast waits in the engine for the next poll, then the
// WebSocket probe and the upgrade packet; the held packet must arrive over
// the new transport, before what is sent after the upgrade.
func TestUpgradeFromPolling(t *testing.T) {
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			ts := newTestServer(t, engine.Config{WebSocket: wsConfig(r.goroutines)})
			base := ts.url + "/socket.io/?EIO=4&transport=polling"
			var open struct{ Sid string }
			if err := json.Unmarshal([]byte(strings.TrimPrefix(poll(t, "GET", base, ""), "0")), &open); err != nil || open.Sid == "" {
				t.Fatalf("handshake: %v", err)
			}
			base += "&sid=" + open.Sid
			if got := poll(t, "POST", base, "40"); got != "ok" {
				t.Fatalf("POST 40: %q", got)
			}
			if got := poll(t, "GET", base, ""); !strings.HasPrefix(got, "40{") {
				t.Fatalf("connect answer %q", got)
			}
			if got := poll(t, "POST", base, `421["echo","over polling"]`); got != "ok" {
				t.Fatalf("POST echo: %q", got)
			}
			if got := poll(t, "GET", base, ""); got != `431["over polling"]` {
				t.Fatalf("ack over polling %q", got)
			}
			_ = ts.e.IO().Emit("bcast", "held") // no GET pending: the engine holds it
			u := "ws" + strings.TrimPrefix(ts.url, "http") + "/socket.io/?EIO=4&transport=websocket&sid=" + open.Sid
			c, _, err := websocket.DefaultDialer.Dial(u, nil)
			if err != nil {
				t.Fatalf("upgrade dial: %v", err)
			}
			t.Cleanup(func() { _ = c.Close() })
			w := &wsClient{t: t, c: c}
			w.send("2probe")
			if got := w.read(); got != "3probe" {
				t.Fatalf("probe answer %q", got)
			}
			w.send("5")
			_ = ts.e.IO().Emit("bcast", "after")
			if got := w.read(); got != `42["bcast","held"]` {
				t.Fatalf("first message after the upgrade %q, want the held broadcast", got)
			}
			if got := w.read(); got != `42["bcast","after"]` {
				t.Fatalf("second message %q", got)
			}
			w.send(`421["echo","over websocket"]`)
			if got := w.read(); got != `431["over websocket"]` {
				t.Fatalf("ack over websocket %q", got)
			}
			if n := ts.metric(t, "parley_ws_connections", "", ""); n != 1 {
				t.Fatalf("parley_ws_connections = %v after the upgrade", n)
			}
		})
	}
}

// poll makes one long-polling request and returns the body.
func poll(t *testing.T, method, url, body string) string {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestGoClient checks the Go library's client over WebSocket: acks, a
// large payload, binary attachments both ways. (Over long polling that
// client is unreliable with the library's own transport as well: it
// sometimes never connects.)
func TestGoClient(t *testing.T) {
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			ts := newTestServer(t, engine.Config{WebSocket: wsConfig(r.goroutines)})
			c := chattest.Dial(t, ts.url, nil, chattest.GoClient)
			if _, ok := c.WaitFor("connect", nil, chattest.WaitTimeout); !ok {
				t.Fatalf("Go client not connected within %s: server has %d sessions, %v on Parley's transport, %d sockets in the namespace",
					chattest.WaitTimeout, ts.e.ClientCount(), ts.metric(t, "parley_ws_connections", "", ""), ts.e.IO().Sockets().Sockets().Len())
			}
			big := strings.Repeat("y", 150000)
			if got := c.EmitAck("echo", big); len(got) != 1 || got[0] != big {
				t.Fatalf("large ack lost")
			}
			if got := c.EmitAck("echo", []byte{1, 2, 3}); len(got) != 1 || string(toBytes(got[0])) != "\x01\x02\x03" {
				t.Fatalf("binary ack %#v", got)
			}
			c.Emit("broadcast", "after", []byte{7, 8, 9})
			e := c.Wait("bcast", nil)
			if len(e.Args) != 2 || e.Args[0] != "after" || string(toBytes(e.Args[1])) != "\x07\x08\x09" {
				t.Fatalf("broadcast %#v", e.Args)
			}
		})
	}
}

func toBytes(v any) []byte {
	switch x := v.(type) {
	case []byte:
		return x
	case interface{ Bytes() []byte }:
		return x.Bytes()
	}
	return nil
}

func TestUpgradeWithNodeClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for this test (socket.io-client 4.8.4 from node_modules): %v", err)
	}
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			ts := newTestServer(t, engine.Config{WebSocket: wsConfig(r.goroutines)})
			out, err := exec.Command(node, "testdata/upgrade_client.mjs", ts.url).CombinedOutput()
			if err != nil {
				t.Fatalf("node client: %v\n%s\n(run `npm ci` in the repository root if socket.io-client is missing)", err, out)
			}
			var got struct {
				InitialTransport, Transport, Broadcast string
				BigEcho                                int
				BinaryEcho, BroadcastBinary            []int
				Error                                  string
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("node client output %q: %v", out, err)
			}
			if got.InitialTransport != "polling" || got.Transport != "websocket" {
				t.Fatalf("transports %q -> %q, want polling -> websocket", got.InitialTransport, got.Transport)
			}
			if got.BigEcho != 200000 || !equalInts(got.BinaryEcho, 1, 2, 3) || got.Broadcast != "hello" || !equalInts(got.BroadcastBinary, 9, 8) {
				t.Fatalf("node client saw %+v", got)
			}
		})
	}
}

func equalInts(got []int, want ...int) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestPingPongKeepsConnection(t *testing.T) {
	ts := newTestServer(t, engine.Config{PingInterval: 100 * time.Millisecond, PingTimeout: 300 * time.Millisecond})
	c := dialWS(t, ts.url, nil)
	c.connect()
	pings := 0
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		_ = c.c.SetReadDeadline(time.Now().Add(time.Second))
		_, b, err := c.c.ReadMessage()
		if err != nil {
			t.Fatalf("connection ended while answering pings: %v", err)
		}
		if string(b) == "2" {
			pings++
			c.send("3")
		}
	}
	if pings < 5 {
		t.Fatalf("%d pings in a second at a 100ms interval", pings)
	}
	c.send(`421["echo","still here"]`)
	if got := c.read(); got != `431["still here"]` {
		t.Fatalf("ack %q", got)
	}
}

func TestPingTimeoutSendsCloseFrame(t *testing.T) {
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			ts := newTestServer(t, engine.Config{PingInterval: 300 * time.Millisecond, PingTimeout: 300 * time.Millisecond, WebSocket: wsConfig(r.goroutines)})
			c := dialWS(t, ts.url, nil)
			c.connect()
			// Never answer: Node sends a close frame without a status.
			if code := c.closeCode(5 * time.Second); code != websocket.CloseNoStatusReceived {
				t.Fatalf("close code %d, want %d (no status, as Node)", code, websocket.CloseNoStatusReceived)
			}
			waitFor(t, "the disconnect", func() bool { return len(ts.disconnects()) == 1 })
			if got := ts.disconnects()[0]; !strings.HasPrefix(got, "ping timeout") {
				t.Fatalf("disconnect reason %q", got)
			}
		})
	}
}

func TestMessageAboveMaxPayloadCloses1009(t *testing.T) {
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			ts := newTestServer(t, engine.Config{MaxPayload: 1000, WebSocket: wsConfig(r.goroutines)})
			c := dialWS(t, ts.url, nil)
			c.connect()
			c.send(`42["echo","` + strings.Repeat("z", 2000) + `"]`)
			if code := c.closeCode(5 * time.Second); code != websocket.CloseMessageTooBig {
				t.Fatalf("close code %d, want 1009", code)
			}
			waitFor(t, "the disconnect", func() bool { return len(ts.disconnects()) == 1 })
			if got := ts.disconnects()[0]; !strings.HasPrefix(got, "transport error") {
				t.Fatalf("disconnect reason %q", got)
			}
		})
	}
}

func TestClientCloseIsAnswered(t *testing.T) {
	ts := newTestServer(t, engine.Config{})
	c := dialWS(t, ts.url, nil)
	c.connect()
	msg := websocket.FormatCloseMessage(4001, "bye")
	if err := c.c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if code := c.closeCode(5 * time.Second); code != 4001 {
		t.Fatalf("close answer %d, want the client's 4001 echoed", code)
	}
	waitFor(t, "the disconnect", func() bool { return len(ts.disconnects()) == 1 })
}

// TestSlowConsumer checks the policy on a client that stops reading:
// volatile broadcasts are dropped while it has a backlog, then the
// connection is closed with the reason once the backlog passes MaxQueue.
func TestSlowConsumer(t *testing.T) {
	cfg := engine.Config{}
	cfg.WebSocket.MaxQueue = 256 << 10
	ts := newTestServer(t, cfg)
	dialer := &websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		}}
		return d.DialContext(ctx, network, addr)
	}}
	c := dialWS(t, ts.url, dialer)
	c.connect() // and from now on, never read
	io := ts.e.IO()
	payload := strings.Repeat("p", 16<<10)
	for i := 0; ts.metric(t, "parley_ws_write_queue_bytes", "", "") == 0; i++ {
		if i == 4000 {
			t.Fatal("no write backlog after 64 MB of broadcasts to a client that does not read")
		}
		_ = io.Emit("bcast", payload)
	}
	for range 10 {
		_ = io.Volatile().Emit("bcast", payload)
	}
	if n := ts.metric(t, "parley_ws_volatile_drops_total", "", ""); n != 10 {
		t.Fatalf("volatile drops = %v, want 10", n)
	}
	if n := ts.metric(t, "parley_ws_connections", "", ""); n != 1 {
		t.Fatalf("dropping volatile packets closed the connection")
	}
	for i := 0; ts.metric(t, "parley_ws_slow_consumer_closes_total", "reason", "queue_full") == 0; i++ {
		if i == 100 {
			t.Fatal("connection not closed after its queue passed MaxQueue")
		}
		_ = io.Emit("bcast", payload)
	}
	waitFor(t, "the disconnect", func() bool { return len(ts.disconnects()) == 1 })
	if got := ts.disconnects()[0]; !strings.HasPrefix(got, "transport error") || !strings.Contains(got, "slow consumer") {
		t.Fatalf("disconnect %q, want a transport error naming the slow consumer", got)
	}
	// The closing connection gives its queue back on its own goroutine.
	waitFor(t, "the write queue gauge back to 0", func() bool {
		return ts.metric(t, "parley_ws_write_queue_bytes", "", "") == 0
	})
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
