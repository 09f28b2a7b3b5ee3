package socketio

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

var soakCycles = flag.Int("soak.cycles", 0, "connect/disconnect cycles of TestSoakConnectDisconnect (default 100,000; 10,000 under the race detector)")

// soakHeapSlack is how much more live heap than at the start the soak
// tolerates once every session has ended: room for what the runtime and
// net/http keep (caches, the buckets of maps that grew and do not shrink),
// measured between 60 and 180 KB whatever the number of cycles. A leak
// would grow with the cycles: a session holds more than a kilobyte on the
// server (its Conn with the request's headers, its client and Socket), so
// one session in ten leaking over 10,000 cycles, or one in a hundred over
// 100,000, goes over the slack (1 MiB is 105 bytes a cycle at 10,000, 10
// at 100,000).
const soakHeapSlack = 1 << 20

// TestSoakConnectDisconnect connects and disconnects clients many times,
// over WebSocket and long polling alternately, from many goroutines: each
// cycle opens an Engine.IO session, joins "/" (the connection handler
// joins a room and registers handlers), and leaves, by a close packet or
// by dropping the TCP connection (WebSocket), or by a close packet (polling).
// Once every session has ended, the goroutines and the live heap must be
// back where they were before the first cycle, and the server must hold no
// session, socket or timer.
//
// It runs 100,000 cycles without the race detector (40 to 60 s on two
// cores), 10,000 with it (make test, about 25 s); for the full figure:
//
//	go test -run TestSoakConnectDisconnect -count=1 -v ./socketio
func TestSoakConnectDisconnect(t *testing.T) {
	cycles := *soakCycles
	if cycles <= 0 {
		cycles = 100_000
		if raceEnabled {
			cycles = 10_000
		}
	}
	var connected, disconnected atomic.Int64
	io := New(Config{Logger: slog.New(slog.DiscardHandler)})
	io.OnConnection(func(s *Socket) {
		connected.Add(1)
		s.Join("soak")
		s.On("ping", func(_ Args, ack Ack) { _ = ack.Send("pong") })
		s.OnDisconnect(func(DisconnectReason) { disconnected.Add(1) })
	})
	ts := httptest.NewServer(io)
	defer ts.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := io.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	c := &soakClient{
		pollURL: ts.URL + "/socket.io/?EIO=4&transport=polling",
		wsURL:   "ws" + strings.TrimPrefix(ts.URL, "http") + "/socket.io/?EIO=4&transport=websocket",
		http:    &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: soakWorkers}, Timeout: 10 * time.Second},
	}
	defer c.http.CloseIdleConnections()

	// Warm up (the WebSocket readiness loop starts with the first
	// connection; pools fill), then take the baseline.
	c.run(t, 200)
	idle := func() bool {
		return io.Engine().ClientsCount() == 0 && io.Sockets().SocketCount() == 0 && io.Engine().Timers().Len() == 0
	}
	c.settle(t, idle)
	goroutines, heap := runtime.NumGoroutine(), liveHeap()
	baseline := goleak.IgnoreCurrent()

	start := time.Now()
	c.run(t, cycles)
	elapsed := time.Since(start)
	c.settle(t, idle)
	settled := time.Since(start) - elapsed
	var after int
	back := time.Now()
	for deadline := back.Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		// Readers that the WebSocket transport started beyond its pool
		// while the cycles kept its workers busy stop after 10 s idle.
		if after = runtime.NumGoroutine(); after <= goroutines || time.Now().After(deadline) {
			break
		}
	}
	waited := time.Since(back)
	if err := goleak.Find(baseline); err != nil {
		t.Errorf("goroutines left after %d cycles: %v", cycles, err)
	}
	heapAfter := liveHeap()
	if total := int64(cycles + 200); connected.Load() != total || disconnected.Load() != total {
		t.Errorf("%d connections and %d disconnections, want %d of each", connected.Load(), disconnected.Load(), total)
	}
	t.Logf("%d cycles (half WebSocket, half polling) in %v: %.0f cycles/s, %d goroutines", cycles, elapsed.Round(time.Millisecond), float64(cycles)/elapsed.Seconds(), soakWorkers)
	t.Logf("no session, socket or timer left %v after the last cycle; goroutines back %v later", settled.Round(time.Millisecond), waited.Round(time.Millisecond))
	t.Logf("goroutines: %d before, %d after; live heap: %d KB before, %d KB after (%+d bytes, %.1f per cycle)", goroutines, after, heap>>10, heapAfter>>10, int64(heapAfter)-int64(heap), float64(int64(heapAfter)-int64(heap))/float64(cycles))
	if int64(heapAfter)-int64(heap) > soakHeapSlack {
		t.Errorf("live heap grew by %d bytes over %d cycles (slack %d)", int64(heapAfter)-int64(heap), cycles, soakHeapSlack)
	}
}

// soakWorkers is how many goroutines run cycles at once.
const soakWorkers = 16

// liveHeap returns the bytes of live heap objects after two collections
// (the second empties the sync.Pools the first moved aside).
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// soakClient runs raw cycles.
type soakClient struct {
	pollURL, wsURL string
	http           *http.Client
}

// run runs n cycles on soakWorkers goroutines, failing the test at the
// first cycle that goes wrong.
func (c *soakClient) run(t *testing.T, n int) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for range soakWorkers {
		wg.Go(func() {
			for failed.Load() == nil {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				var err error
				if i%2 == 0 {
					err = c.websocket(i%4 == 0)
				} else {
					err = c.polling()
				}
				if err != nil {
					err = fmt.Errorf("cycle %d: %w", i, err)
					failed.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		t.Fatal(*err)
	}
}

// settle waits until the server is idle and the client's keep-alive
// connections (and the server's goroutines serving them) are gone.
func (c *soakClient) settle(t *testing.T, idle func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !idle() {
		if time.Now().After(deadline) {
			t.Fatal("the server still holds sessions, sockets or timers 10 s after the last cycle")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.http.CloseIdleConnections()
	time.Sleep(100 * time.Millisecond)
}

// websocket opens a WebSocket session, joins "/", and leaves with a close
// packet (waiting for the server to close) or by dropping the connection.
func (c *soakClient) websocket(closePacket bool) error {
	ws, _, err := websocket.DefaultDialer.Dial(c.wsURL, nil)
	if err != nil {
		return err
	}
	defer func() {
		if tcp, ok := ws.UnderlyingConn().(*net.TCPConn); ok {
			_ = tcp.SetLinger(0) // no TIME_WAIT: 100,000 cycles would use up the ports
		}
		_ = ws.Close()
	}()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, msg, err := ws.ReadMessage(); err != nil || !bytes.HasPrefix(msg, []byte("0{")) {
		return fmt.Errorf("open packet %q: %v", msg, err)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte("40")); err != nil {
		return err
	}
	if _, msg, err := ws.ReadMessage(); err != nil || !bytes.HasPrefix(msg, []byte("40{")) {
		return fmt.Errorf("CONNECT answer %q: %v", msg, err)
	}
	if !closePacket {
		return nil
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte("1")); err != nil {
		return err
	}
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return nil
			}
			return fmt.Errorf("after the close packet: %v", err)
		}
	}
}

// polling opens a polling session, joins "/", and leaves with a close
// packet.
func (c *soakClient) polling() error {
	body, err := c.do("GET", c.pollURL, "")
	if err != nil {
		return err
	}
	if !strings.HasPrefix(body, `0{"sid":"`) {
		return fmt.Errorf("handshake %q", body)
	}
	url := c.pollURL + "&sid=" + body[9:29]
	if body, err := c.do("POST", url, "40"); err != nil || body != "ok" {
		return fmt.Errorf("POST 40: %q %v", body, err)
	}
	if body, err := c.do("GET", url, ""); err != nil || !strings.HasPrefix(body, "40{") {
		return fmt.Errorf("CONNECT answer %q: %v", body, err)
	}
	if body, err := c.do("POST", url, "1"); err != nil || body != "ok" {
		return fmt.Errorf("POST 1: %q %v", body, err)
	}
	return nil
}

func (c *soakClient) do(method, url, body string) (string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("%s: status %d %q", method, resp.StatusCode, b)
	}
	return string(b), err
}
