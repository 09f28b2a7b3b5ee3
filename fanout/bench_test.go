package fanout_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/parley-chat/parley/engine"
)

// BenchmarkDeliver measures one broadcast to 1,000 local WebSocket
// connections through Parley's transport and fan-out; the custom metrics
// are per delivery (one recipient of one broadcast).
func BenchmarkDeliver(b *testing.B) {
	benchBroadcast(b, engine.Config{})
}

// BenchmarkDeliverStock is the same broadcast through the library's
// WebSocket transport and in-memory adapter, for comparison. The library
// writes from a goroutine per connection, so the loop can run ahead of the
// writes: its figures are a lower bound.
func BenchmarkDeliverStock(b *testing.B) {
	benchBroadcast(b, engine.Config{StockWebSocket: true, Adapter: &socket.AdapterBuilder{}})
}

func benchBroadcast(b *testing.B, cfg engine.Config) {
	const receivers = 1000
	e := engine.New(cfg)
	srv := httptest.NewServer(e)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.Shutdown(ctx)
		srv.Close()
	}()
	conns := make([]net.Conn, 0, receivers)
	for range receivers {
		c, err := rawConnect(srv.Listener.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		go func() { _, _ = io.Copy(io.Discard, c) }()
	}
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for e.IO().Sockets().Sockets().Len() < receivers {
		time.Sleep(10 * time.Millisecond)
	}
	payload := map[string]any{"t": 1732610000000, "p": strings.Repeat("x", 60)}
	io := e.IO()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		_ = io.Emit("bcast", payload)
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	deliveries := float64(b.N * receivers)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/deliveries, "allocs/delivery")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/deliveries, "B/delivery")
	b.ReportMetric(b.Elapsed().Seconds()*1e9/deliveries, "ns/delivery")
}

// rawConnect opens a WebSocket Engine.IO session and joins the main
// namespace with as little client-side allocation as possible, so that the
// process's allocation counters show the server's.
func rawConnect(addr string) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	_, err = io.WriteString(c, "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: "+addr+
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if line == "\r\n" {
			break
		}
	}
	if _, err := readFrame(br); err != nil { // open packet
		return nil, err
	}
	// "40", masked with a zero key.
	if _, err := c.Write([]byte{0x81, 0x82, 0, 0, 0, 0, '4', '0'}); err != nil {
		return nil, err
	}
	if _, err := readFrame(br); err != nil { // connect answer
		return nil, err
	}
	return c, nil
}

func readFrame(br *bufio.Reader) ([]byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return nil, err
	}
	n := int(h[1] & 0x7F)
	if n == 126 {
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return nil, err
		}
		n = int(l[0])<<8 | int(l[1])
	}
	p := make([]byte, n)
	_, err := io.ReadFull(br, p)
	return p, err
}
