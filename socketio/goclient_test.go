package socketio

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	libclient "github.com/zishang520/socket.io/clients/socket/v3"
	libsocket "github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/parley-chat/parley/internal/testrig"
)

// TestGoLibraryClient checks the core with the Go library's socket.io
// client (github.com/zishang520/socket.io/clients/socket/v3) over
// WebSocket: connect, emit with ack, an ack the server asks for, a
// broadcast to two clients, and binary both ways (1 MiB and nested
// attachments included), compared byte for byte. (Over long polling the
// library's client connects but its emits with ack never get their answer,
// from Node's socket.io 4.8 as from Parley: it is not tested there.)
func TestGoLibraryClient(t *testing.T) {
	rs := newRig(t).start(rigOptions{})
	a := dialGoClient(t, rs.url)
	b := dialGoClient(t, rs.url)

	res := a.emitWithAck(t, "echo", "hi", 2, map[string]any{"k": []any{true, nil}})
	if want := []any{"hi", float64(2), map[string]any{"k": []any{true, nil}}}; !reflect.DeepEqual(res, want) {
		t.Fatalf("echo ack %#v, want %#v", res, want)
	}

	// The server asks, the client answers.
	a.sock.Emit("ask", map[string]any{"tag": "go", "event": "question", "timeoutMs": 5000, "args": []any{"q"}})
	got := a.wait(t, "ask-result")
	if r, _ := got[0].(map[string]any); r["err"] != nil || !reflect.DeepEqual(r["args"], []any{"answer", "q"}) {
		t.Fatalf("ask-result %#v", got)
	}

	if err := rs.io.Emit("news", "hello", 7); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*goClient{a, b} {
		if got := c.wait(t, "news"); !reflect.DeepEqual(got, []any{"hello", float64(7)}) {
			t.Fatalf("broadcast %#v", got)
		}
	}

	// Binary to the server: what it decoded, byte for byte.
	bin := []any{pattern(1000), map[string]any{"nested": []any{pattern(3), "s"}}, []byte{}}
	shapes := a.emitWithAck(t, "digest", bin...)
	want := make([]any, len(bin))
	for i, v := range bin {
		want[i] = shape(v)
	}
	if !reflect.DeepEqual(jsonish(shapes), jsonish(want)) {
		t.Fatalf("the server decoded %#v, want %#v", shapes, want)
	}
	// Binary from the server, in an event and in an ack.
	fromAck := a.emitWithAck(t, "server-binary")
	fromEvent := a.wait(t, "server-binary")
	for name, got := range map[string][]any{"ack": fromAck, "event": fromEvent} {
		if !reflect.DeepEqual(plainBytes(got), jsonish(binaryFixture())) {
			t.Fatalf("binary %s from the server differs: %.200v", name, plainBytes(got))
		}
	}
}

// goClient is a connected client of the Go library that records events.
type goClient struct {
	sock *libclient.Socket

	mu     sync.Mutex
	events map[string][][]any
	notify chan struct{}
}

// dialGoClient connects the library's client over WebSocket, working
// around its quirks (see internal/testrig/clustertest): the connection is opened
// first and the socket connected once it is open (Connect on a connection
// that opens meanwhile sends CONNECT twice), and an open that hangs is
// retried.
func dialGoClient(t *testing.T, base string) *goClient {
	t.Helper()
	for range 5 {
		opts := libclient.DefaultOptions()
		opts.SetForceNew(true)
		opts.SetReconnection(false)
		opts.SetAutoConnect(false)
		opts.SetTransports(types.NewSet(libclient.WebSocket))
		s, err := libclient.Connect(strings.TrimRight(base, "/")+"/", opts)
		if err != nil {
			t.Fatal(err)
		}
		c := &goClient{sock: s, events: map[string][][]any{}, notify: make(chan struct{}, 1)}
		record := func(name string, args []any) {
			c.mu.Lock()
			c.events[name] = append(c.events[name], args)
			c.mu.Unlock()
			select {
			case c.notify <- struct{}{}:
			default:
			}
		}
		for _, name := range []string{"connect", "connect_error", "disconnect"} {
			_ = s.On(types.EventName(name), func(args ...any) { record(name, args) })
		}
		s.OnAny(func(args ...any) {
			name, _ := args[0].(string)
			rest := args[1:]
			if n := len(rest); n > 0 {
				if ack, ok := rest[n-1].(libsocket.Ack); ok {
					rest = rest[:n-1]
					ack(append([]any{"answer"}, rest...), nil)
				}
			}
			record(name, rest)
		})
		opened := make(chan error, 1)
		s.Io().Open(func(err error) { opened <- err })
		select {
		case err := <-opened:
			if err != nil {
				t.Fatalf("open: %v", err)
			}
		case <-time.After(2 * time.Second):
			s.Disconnect()
			continue
		}
		s.Connect()
		t.Cleanup(func() { s.Disconnect() })
		c.wait(t, "connect")
		return c
	}
	t.Fatal("the Go client's connection did not open in 5 attempts")
	return nil
}

// wait returns the args of the first event named name, received already
// or within 10 s; it is taken off the record.
func (c *goClient) wait(t *testing.T, name string) []any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		if got := c.events[name]; len(got) > 0 {
			c.events[name] = got[1:]
			c.mu.Unlock()
			return got[0]
		}
		c.mu.Unlock()
		select {
		case <-c.notify:
		case <-deadline:
			c.mu.Lock()
			defer c.mu.Unlock()
			t.Fatalf("no %s event within 10 s; got %v", name, c.events)
		}
	}
}

func (c *goClient) emitWithAck(t *testing.T, ev string, args ...any) []any {
	t.Helper()
	done := make(chan []any, 1)
	c.sock.Timeout(10*time.Second).EmitWithAck(ev, args...)(func(res []any, err error) {
		if err != nil {
			res = []any{fmt.Sprintf("ack error: %v", err)}
		}
		done <- res
	})
	select {
	case res := <-done:
		return res
	case <-time.After(11 * time.Second):
		t.Fatalf("no ack for %s", ev)
		return nil
	}
}

// plainBytes turns the library's buffers into []byte, and numbers into
// float64, for comparisons.
func plainBytes(v []any) any {
	return testrig.MapLeaves(v, func(v any) any {
		if b, ok := v.(types.BufferInterface); ok {
			return append([]byte{}, b.Bytes()...)
		}
		return v
	})
}

// jsonish returns v with integers as float64, as JSON decodes them.
func jsonish(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonish(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonish(e)
		}
		return out
	}
	return v
}
