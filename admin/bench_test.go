package admin

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/parley-chat/parley/socketio"
)

// The costs of the admin UI on the paths that matter, with no dashboard
// connected: broadcasts to many clients, and events from a client. "off"
// is a server that was never instrumented.
//
//	go test -run - -bench . -benchmem ./admin/

var benchModes = []struct {
	name string
	cfg  *Config
}{
	{"off", nil},
	{"production", &Config{NoAuth: true}},
	{"development", &Config{NoAuth: true, Mode: Development}},
}

// benchServer is a server, instrumented as cfg says (nil: not), with
// clients connected to "/" over WebSocket; each client counts the events
// it receives.
func benchServer(b *testing.B, cfg *Config, clients int, onEvent func()) (*socketio.Server, []*websocket.Conn, []*atomic.Int64) {
	b.Helper()
	quiet := slog.New(slog.DiscardHandler)
	io := socketio.New(socketio.Config{Logger: quiet})
	io.OnConnection(func(s *socketio.Socket) {
		s.On("ev", func(socketio.Args, socketio.Ack) { onEvent() })
	})
	var a *Admin
	if cfg != nil {
		c := *cfg
		c.Logger = quiet
		var err error
		if a, err = Instrument(io, c); err != nil {
			b.Fatal(err)
		}
	}
	ts := httptest.NewServer(io)
	counts := make([]*atomic.Int64, clients)
	var conns []*websocket.Conn
	var wg sync.WaitGroup
	for i := range counts {
		ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
		if err != nil {
			b.Fatal(err)
		}
		_, _, _ = ws.ReadMessage()
		_ = ws.WriteMessage(websocket.TextMessage, []byte("40"))
		_, _, _ = ws.ReadMessage()
		conns = append(conns, ws)
		counts[i] = new(atomic.Int64)
		wg.Go(func() {
			for {
				_, msg, err := ws.ReadMessage()
				if err != nil {
					return
				}
				if strings.HasPrefix(string(msg), "42") {
					counts[i].Add(1)
				}
			}
		})
	}
	b.Cleanup(func() {
		if a != nil {
			_ = a.Close()
		}
		for _, ws := range conns {
			_ = ws.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = io.Close(ctx)
		ts.Close()
		wg.Wait()
	})
	return io, conns, counts
}

func BenchmarkBroadcast100(b *testing.B) {
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			io, _, counts := benchServer(b, m.cfg, 100, func() {})
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				_ = io.Emit("tick", 1)
			}
			for _, c := range counts {
				for c.Load() < int64(b.N) {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
}

func BenchmarkEventsReceived(b *testing.B) {
	event := []byte(`42["ev",{"text":"hello","n":1}]`)
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			var got atomic.Int64
			_, conns, _ := benchServer(b, m.cfg, 1, func() { got.Add(1) })
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := conns[0].WriteMessage(websocket.TextMessage, event); err != nil {
					b.Fatal(err)
				}
			}
			for got.Load() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
		})
	}
}
