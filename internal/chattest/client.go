// Package chattest drives Parley from tests with the Go socket.io client: it
// records every event a client receives so a test can wait for the ones it
// expects, in order, with a deadline.
package chattest

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	client "github.com/zishang520/socket.io/clients/socket/v3"
	"github.com/zishang520/socket.io/servers/socket/v3"
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
	t      testing.TB
	Socket *client.Socket

	mu     sync.Mutex
	events []Event
	notify chan struct{}
}

// Transport selects how a client connects.
type Transport string

// Transports a client can use.
const (
	Polling   Transport = "polling"   // long-polling only
	WebSocket Transport = "websocket" // WebSocket only
	Upgrade   Transport = ""          // polling, then upgrade (the browser default)
)

// Dial connects a new client (its own connection, no reconnection) to the
// main namespace of the server at base, with the given auth payload. It does
// not wait for the connection: use Wait("connect") or Wait("connect_error").
func Dial(t testing.TB, base string, auth map[string]any, tr Transport) *Client {
	t.Helper()
	opts := client.DefaultOptions()
	opts.SetForceNew(true)
	opts.SetReconnection(false)
	opts.SetAuth(auth)
	switch tr {
	case Polling:
		opts.SetTransports(types.NewSet(client.Polling))
	case WebSocket:
		opts.SetTransports(types.NewSet(client.WebSocket))
	}
	s, err := client.Connect(strings.TrimRight(base, "/")+"/", opts)
	if err != nil {
		t.Fatalf("chattest: dial %s: %v", base, err)
	}
	c := &Client{t: t, Socket: s, notify: make(chan struct{}, 1)}
	for _, name := range []string{"connect", "connect_error", "disconnect"} {
		_ = s.On(types.EventName(name), c.recorder(name))
	}
	s.OnAny(func(args ...any) {
		if len(args) == 0 {
			return
		}
		name, _ := args[0].(string)
		c.record(Event{Name: name, Args: args[1:]})
	})
	t.Cleanup(c.Close)
	return c
}

func (c *Client) recorder(name string) types.EventListener {
	return func(args ...any) { c.record(Event{Name: name, Args: args}) }
}

func (c *Client) record(e Event) {
	c.mu.Lock()
	c.events = append(c.events, e)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// Events returns the events received so far with the given name.
func (c *Client) Events(name string) []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Event
	for _, e := range c.events {
		if e.Name == name {
			out = append(out, e)
		}
	}
	return out
}

// All returns every event received so far.
func (c *Client) All() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...)
}

// Wait returns the first received event named name for which match (nil
// matches anything) is true, waiting up to WaitTimeout. It fails the test
// otherwise.
func (c *Client) Wait(name string, match func(args []any) bool) Event {
	c.t.Helper()
	e, ok := c.WaitFor(name, match, WaitTimeout)
	if !ok {
		c.t.Fatalf("chattest: no %q event within %s; received: %s", name, WaitTimeout, c.summary())
	}
	return e
}

// WaitFor is Wait without failing: ok is false after timeout.
func (c *Client) WaitFor(name string, match func(args []any) bool, timeout time.Duration) (Event, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		for _, e := range c.Events(name) {
			if match == nil || match(e.Args) {
				return e, true
			}
		}
		select {
		case <-c.notify:
		case <-deadline.C:
			return Event{}, false
		}
	}
}

func (c *Client) summary() string {
	var b strings.Builder
	for _, e := range c.All() {
		fmt.Fprintf(&b, "\n  %s %v", e.Name, e.Args)
	}
	return b.String()
}

// Emit sends an event without an ack.
func (c *Client) Emit(event string, args ...any) {
	c.t.Helper()
	if err := c.Socket.Emit(event, args...); err != nil {
		c.t.Fatalf("chattest: emit %s: %v", event, err)
	}
}

// EmitAck sends an event with an ack callback and returns the ack's
// arguments, failing the test if none comes within WaitTimeout.
func (c *Client) EmitAck(event string, args ...any) []any {
	c.t.Helper()
	got := make(chan []any, 1)
	c.Socket.Timeout(WaitTimeout).EmitWithAck(event, args...)(func(res []any, err error) {
		if err != nil {
			res = []any{fmt.Sprintf("ack error: %v", err)}
		}
		got <- res
	})
	select {
	case res := <-got:
		return res
	case <-time.After(WaitTimeout + time.Second):
		c.t.Fatalf("chattest: no ack for %s", event)
		return nil
	}
}

// Close disconnects the client.
func (c *Client) Close() { c.Socket.Disconnect() }

// Ack is the server-side ack callback type, re-exported for tests that
// build handlers.
type Ack = socket.Ack

// URL joins base and path.
func URL(base, path string) string {
	u, err := url.JoinPath(base, path)
	if err != nil {
		return base + path
	}
	return u
}
