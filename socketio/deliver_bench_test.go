package socketio

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
)

// BenchmarkDeliver measures one broadcast to 1,000 local WebSocket
// connections: encoded once by the memory adapter, framed once, written to
// every connection. The custom metrics are per delivery (one recipient of
// one broadcast); the clients read with as little allocation as possible,
// so that the process's counters show the server's.
func BenchmarkDeliver(b *testing.B) {
	const receivers = 1000
	server := New(Config{})
	srv := httptest.NewServer(server)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = server.Close(ctx)
		srv.Close()
	}()
	conns := make([]net.Conn, 0, receivers)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range receivers {
		c, err := benchConnect(srv.Listener.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		go func() { _, _ = io.Copy(io.Discard, c) }()
	}
	for len(server.Sockets().LocalSockets()) < receivers {
		time.Sleep(10 * time.Millisecond)
	}
	payload := map[string]any{"t": 1732610000000, "p": strings.Repeat("x", 60)}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		if err := server.Emit("bcast", payload); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	deliveries := float64(b.N * receivers)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/deliveries, "allocs/delivery")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/deliveries, "B/delivery")
	b.ReportMetric(b.Elapsed().Seconds()*1e9/deliveries, "ns/delivery")
}

// benchConnect opens a WebSocket session and joins the main namespace over
// a raw TCP connection.
func benchConnect(addr string) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	_, err = io.WriteString(c, "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: "+addr+
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	if err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			c.Close()
			return nil, err
		}
		if line == "\r\n" {
			break
		}
	}
	// The open packet, then "40" masked with a zero key, then the CONNECT
	// answer.
	if err := skipFrame(br); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := c.Write([]byte{0x81, 0x82, 0, 0, 0, 0, '4', '0'}); err != nil {
		c.Close()
		return nil, err
	}
	if err := skipFrame(br); err != nil {
		c.Close()
		return nil, err
	}
	if br.Buffered() > 0 {
		c.Close()
		return nil, errors.New("unexpected bytes after the CONNECT answer")
	}
	return c, nil
}

func skipFrame(br *bufio.Reader) error {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return err
	}
	n := int64(h[1] & 0x7F)
	if n == 126 {
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return err
		}
		n = int64(l[0])<<8 | int64(l[1])
	}
	_, err := io.CopyN(io.Discard, br, n)
	return err
}
