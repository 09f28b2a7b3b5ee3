// Package chattest drives Parley from tests with socket.io clients: it
// records every event a client receives so a test can wait for the ones it
// expects, in order, with a deadline.
package chattest

import (
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	client "github.com/zishang520/socket.io/clients/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// WaitTimeout is how long Wait waits for an event.
const WaitTimeout = 10 * time.Second

// Event is one received event.
type Event struct {
	Name string
	Args []any
}

// Client is a recording socket.io client.
type Client struct {
	t         testing.TB
	conn      conn
	closeOnce sync.Once
	*recorder
}

// conn is one client connection: the Go library's client over WebSocket, or
// the raw protocol client over long polling.
type conn interface {
	// emit sends an event; ack, when not nil, receives the ack's arguments.
	emit(event string, args []any, ack func([]any)) error
	close()
}

// Transport selects how a client connects.
type Transport string

// Transports a client can use.
const (
	Polling   Transport = "polling"   // long-polling only
	WebSocket Transport = "websocket" // WebSocket only
	Upgrade   Transport = ""          // polling, then upgrade (the browser default)
	// GoClient is the Go library's socket.io client over WebSocket.
	GoClient Transport = "go-client"
)

// Dial connects a new client (its own connection, no reconnection) to the
// main namespace of the server at base, with the given auth payload. It does
// not wait for the connection: use Wait("connect") or Wait("connect_error").
//
// Polling, WebSocket and Upgrade clients speak the protocol directly
// (raw.go); GoClient is the Go library's client, which tests use to show it
// works with Parley (over WebSocket only: it loses emits over long polling).
func Dial(t testing.TB, base string, auth map[string]any, tr Transport) *Client {
	t.Helper()
	return DialWith(t, base, auth, tr, Options{})
}

// Options tune a client.
type Options struct {
	// Record, when set, chooses the events the client keeps (by name);
	// the others are dropped on arrival, which keeps thousands of clients
	// in one test light. default: every event
	Record func(name string) bool
}

// DialWith is Dial with options.
func DialWith(t testing.TB, base string, auth map[string]any, tr Transport, o Options) *Client {
	t.Helper()
	c := &Client{t: t, recorder: newRecorder()}
	c.recorder.keep = o.Record
	var err error
	switch tr {
	case GoClient:
		c.conn, err = dialLibrary(c.recorder, base, auth)
	case WebSocket:
		c.conn, err = dialRaw(c.recorder, base, auth, rawWebSocket)
	case Upgrade:
		c.conn, err = dialRaw(c.recorder, base, auth, rawUpgrade)
	default:
		c.conn, err = dialRaw(c.recorder, base, auth, rawPolling)
	}
	if err != nil {
		t.Fatalf("chattest: dial %s over %q: %v", base, tr, err)
	}
	t.Cleanup(c.Close)
	return c
}

// Wait returns the first received event named name for which match (nil
// matches anything) is true, waiting up to WaitTimeout. It fails the test
// otherwise.
func (c *Client) Wait(name string, match func(args []any) bool) Event {
	c.t.Helper()
	e, ok := c.WaitFor(name, match, WaitTimeout)
	if !ok {
		if os.Getenv("CHATTEST_DUMP") != "" {
			_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
		}
		c.t.Fatalf("chattest: no %q event within %s; received: %s", name, WaitTimeout, c.summary())
	}
	return e
}

// Emit sends an event without an ack.
func (c *Client) Emit(event string, args ...any) {
	c.t.Helper()
	if err := c.conn.emit(event, args, nil); err != nil {
		c.t.Fatalf("chattest: emit %s: %v", event, err)
	}
}

// EmitAck sends an event with an ack callback and returns the ack's
// arguments, failing the test if none comes within WaitTimeout.
func (c *Client) EmitAck(event string, args ...any) []any {
	c.t.Helper()
	got := make(chan []any, 1)
	if err := c.conn.emit(event, args, func(res []any) { got <- res }); err != nil {
		c.t.Fatalf("chattest: emit %s: %v", event, err)
	}
	select {
	case res := <-got:
		return res
	case <-time.After(WaitTimeout + time.Second):
		c.t.Fatalf("chattest: no ack for %s within %s", event, WaitTimeout)
		return nil
	}
}

// Close disconnects the client. It may be called more than once.
func (c *Client) Close() { c.closeOnce.Do(c.conn.close) }

// libraryConn is the Go library's socket.io client.
type libraryConn struct{ s *client.Socket }

// dialLibrary connects the Go library's client. Its Connect can send the
// CONNECT packet twice when the Engine.IO connection opens while Connect
// runs (the server then closes the connection), and under load an open
// sometimes never completes: so the connection is opened first, Connect is
// called once it is open, and an open that hangs is abandoned and retried.
func dialLibrary(rec *recorder, base string, auth map[string]any) (*libraryConn, error) {
	var err error
	for range 5 {
		var l *libraryConn
		if l, err = openLibrary(rec, base, auth); err == nil {
			return l, nil
		}
	}
	return nil, err
}

func openLibrary(rec *recorder, base string, auth map[string]any) (*libraryConn, error) {
	opts := client.DefaultOptions()
	opts.SetForceNew(true)
	opts.SetReconnection(false)
	opts.SetAutoConnect(false)
	opts.SetAuth(auth)
	opts.SetTransports(types.NewSet(client.WebSocket))
	s, err := client.Connect(strings.TrimRight(base, "/")+"/", opts)
	if err != nil {
		return nil, err
	}
	opened := make(chan error, 1)
	s.Io().Open(func(err error) { opened <- err })
	select {
	case err := <-opened:
		if err != nil {
			s.Disconnect()
			return nil, err
		}
	case <-time.After(2 * time.Second):
		s.Disconnect()
		return nil, errors.New("chattest: the Go client's connection did not open within 2 s")
	}
	for _, name := range []string{"connect", "connect_error", "disconnect"} {
		_ = s.On(types.EventName(name), func(args ...any) { rec.record(Event{Name: name, Args: args}) })
	}
	s.OnAny(func(args ...any) {
		if len(args) == 0 {
			return
		}
		name, _ := args[0].(string)
		rec.record(Event{Name: name, Args: args[1:]})
	})
	s.Connect()
	return &libraryConn{s: s}, nil
}

func (l *libraryConn) emit(event string, args []any, ack func([]any)) error {
	if ack == nil {
		return l.s.Emit(event, args...)
	}
	l.s.Timeout(WaitTimeout).EmitWithAck(event, args...)(func(res []any, err error) {
		if err != nil {
			res = []any{fmt.Sprintf("ack error: %v", err)}
		}
		ack(res)
	})
	return nil
}

func (l *libraryConn) close() { l.s.Disconnect() }

// recorder keeps every event a client received, in order.
type recorder struct {
	keep   func(name string) bool
	mu     sync.Mutex
	events []Event
	notify chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1)} }

func (r *recorder) record(e Event) {
	if r.keep != nil && !r.keep(e.Name) {
		return
	}
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// Events returns the events received so far with the given name.
func (r *recorder) Events(name string) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, e := range r.events {
		if e.Name == name {
			out = append(out, e)
		}
	}
	return out
}

// All returns every event received so far.
func (r *recorder) All() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// WaitFor is Wait without failing: ok is false after timeout.
func (r *recorder) WaitFor(name string, match func(args []any) bool, timeout time.Duration) (Event, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		for _, e := range r.Events(name) {
			if match == nil || match(e.Args) {
				return e, true
			}
		}
		select {
		case <-r.notify:
		case <-deadline.C:
			return Event{}, false
		}
	}
}

func (r *recorder) summary() string {
	var b strings.Builder
	for _, e := range r.All() {
		fmt.Fprintf(&b, "\n  %s %v", e.Name, e.Args)
	}
	return b.String()
}
