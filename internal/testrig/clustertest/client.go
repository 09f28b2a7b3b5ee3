// Package clustertest runs Socket.IO clusters for tests on real parts: Parley
// nodes (the library's server with an adapter.Node, on httptest servers),
// Node.js socket.io 4.8 nodes with @socket.io/redis-adapter 8.3 (separate
// processes, see testdata/peer.mjs), and Go socket.io clients that record
// what they receive. Member drives either kind of node through one
// interface, so a scenario can run from a Parley node and from a Node node.
//
// Helpers fail the test (t.Fatalf) on errors, so call them from the test's
// goroutine. Everything started is stopped by t.Cleanup.
package clustertest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	client "github.com/zishang520/socket.io/clients/socket/v3"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// WaitFor is how long helpers wait for something that should happen.
const WaitFor = 10 * time.Second

// Client is a Go socket.io client (zishang520) that records the events it
// receives and answers server acks with its ack reply.
type Client struct {
	Name string
	sock *client.Socket

	mu       sync.Mutex
	events   []Event
	ackReply func(ev string, args []any) []any
	notify   chan struct{}
}

// Event is one received event.
type Event struct {
	Name string
	Args []any
}

// Dial connects a client to namespace nsp of the server at base, with auth
// {name, rooms} and query who=name, and waits until it is connected. By
// default it answers every ack with its name.
//
// It works around two races in the library's client (v3.0.6). Socket.Connect
// opens the connection and then, if it is already open, sends the CONNECT
// packet itself, while its "open" listener may have sent it too: the server
// sees a second CONNECT and closes the connection ("invalid state"), so the
// client disconnects with "transport close" just after connecting. Opening
// the connection first and calling Connect only once it is open sends one
// CONNECT. And an open that never completes (seen about once in 30 dials
// under the race detector, against Node's server as much as Parley's) is
// abandoned and dialled again.
func Dial(t testing.TB, base, nsp, name string, rooms ...string) *Client {
	t.Helper()
	for range connectAttempts {
		if c := dialOnce(t, base, nsp, name, rooms); c != nil {
			return c
		}
	}
	t.Fatalf("clustertest: client %s could not connect to %s%s in %d attempts", name, base, nsp, connectAttempts)
	return nil
}

// connectAttempts and connectAttempt bound Dial's retries.
const (
	connectAttempts = 5
	connectAttempt  = 2 * time.Second
)

// dialOnce makes one attempt; it returns nil when the connection did not
// complete in time.
func dialOnce(t testing.TB, base, nsp, name string, rooms []string) *Client {
	t.Helper()
	opts := client.DefaultOptions()
	opts.SetForceNew(true)
	opts.SetReconnection(false)
	opts.SetAutoConnect(false)
	opts.SetTransports(types.NewSet(client.WebSocket))
	r := make([]any, len(rooms))
	for i, room := range rooms {
		r[i] = room
	}
	opts.SetAuth(map[string]any{"name": name, "rooms": r})
	opts.SetQuery(map[string][]string{"who": {name}})
	s, err := client.Connect(strings.TrimRight(base, "/")+nsp, opts)
	if err != nil {
		t.Fatalf("clustertest: dial %s%s: %v", base, nsp, err)
	}
	c := &Client{Name: name, sock: s, notify: make(chan struct{}, 1)}
	c.ackReply = func(string, []any) []any { return []any{name} }
	for _, ev := range []string{"connect", "connect_error", "disconnect"} {
		_ = s.On(types.EventName(ev), func(args ...any) { c.record(ev, args) })
	}
	s.OnAny(c.onEvent)
	t.Cleanup(func() { s.Disconnect() })

	opened := make(chan error, 1)
	s.Io().Open(func(err error) { opened <- err })
	select {
	case err := <-opened:
		if err != nil {
			t.Fatalf("clustertest: client %s: open: %v", name, err)
		}
	case <-time.After(connectAttempt):
		s.Disconnect()
		return nil
	}
	s.Connect()
	if _, ok := c.WaitFor("connect", nil, connectAttempt); ok {
		return c
	}
	if args, failed := c.WaitFor("connect_error", nil, 0); failed {
		t.Fatalf("clustertest: client %s: connect_error %v", name, args)
	}
	s.Disconnect()
	return nil
}

func (c *Client) onEvent(args ...any) {
	if len(args) == 0 {
		return
	}
	name, _ := args[0].(string)
	rest := args[1:]
	if n := len(rest); n > 0 {
		if ack, ok := rest[n-1].(socket.Ack); ok {
			rest = rest[:n-1]
			c.mu.Lock()
			reply := c.ackReply
			c.mu.Unlock()
			if reply != nil {
				ack(reply(name, rest), nil)
			}
		}
	}
	c.record(name, rest)
}

// SetAckReply sets how the client answers acks; nil leaves them unanswered.
func (c *Client) SetAckReply(f func(ev string, args []any) []any) {
	c.mu.Lock()
	c.ackReply = f
	c.mu.Unlock()
}

// ID is the client's socket id.
func (c *Client) ID() string { return string(c.sock.Id()) }

// Emit sends an event to the server.
func (c *Client) Emit(t testing.TB, ev string, args ...any) {
	t.Helper()
	if err := c.sock.Emit(ev, args...); err != nil {
		t.Fatalf("clustertest: %s: emit %s: %v", c.Name, ev, err)
	}
}

// EmitWithAck sends an event with an ack and returns the ack's arguments,
// or an error after timeout.
func (c *Client) EmitWithAck(t testing.TB, timeout time.Duration, ev string, args ...any) ([]any, error) {
	t.Helper()
	type result struct {
		args []any
		err  error
	}
	done := make(chan result, 1)
	c.sock.Timeout(timeout).EmitWithAck(ev, args...)(func(res []any, err error) { done <- result{res, err} })
	select {
	case r := <-done:
		return r.args, r.err
	case <-time.After(timeout + WaitFor):
		t.Fatalf("clustertest: %s: the ack of %s never came", c.Name, ev)
		return nil, nil
	}
}

// EchoAcks makes the client answer every ack with one argument, the list
// of the event's arguments (binary as []byte), as the Node clients do.
func (c *Client) EchoAcks() {
	c.SetAckReply(func(_ string, args []any) []any { return []any{Plain(args)} })
}

// Plain turns the values a Go client receives into plain Go values: the
// library's binary types become []byte.
func Plain(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Plain(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Plain(e)
		}
		return out
	case interface{ Bytes() []byte }:
		if b := x.Bytes(); b != nil {
			return append([]byte{}, b...)
		}
		return []byte{}
	}
	return v
}

// Close disconnects the client.
func (c *Client) Close() { c.sock.Disconnect() }

func (c *Client) record(name string, args []any) {
	c.mu.Lock()
	c.events = append(c.events, Event{name, args})
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// Received returns the arguments of the events named name received so far.
func (c *Client) Received(name string) [][]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out [][]any
	for _, e := range c.events {
		if e.Name == name {
			out = append(out, e.Args)
		}
	}
	return out
}

// Got reports whether an event named name whose first argument is tag
// arrived.
func (c *Client) Got(name string, tag any) bool {
	return slices.ContainsFunc(c.Received(name), WithArg(tag))
}

// Wait returns the arguments of the first event named name that match
// accepts (nil accepts any), failing the test after WaitFor.
func (c *Client) Wait(t testing.TB, name string, match func([]any) bool) []any {
	t.Helper()
	args, ok := c.WaitFor(name, match, WaitFor)
	if !ok {
		t.Fatalf("clustertest: client %s: no %q event within %v; got:%s", c.Name, name, WaitFor, c.summary())
	}
	return args
}

// WaitFor is Wait without failing: ok is false after d.
func (c *Client) WaitFor(name string, match func([]any) bool, d time.Duration) (args []any, ok bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		for _, args := range c.Received(name) {
			if match == nil || match(args) {
				return args, true
			}
		}
		select {
		case <-c.notify:
		case <-timer.C:
			return nil, false
		}
	}
}

func (c *Client) summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, e := range c.events {
		fmt.Fprintf(&b, "\n  %s %v", e.Name, e.Args)
	}
	return b.String()
}

// WithArg matches events whose first argument prints as tag.
func WithArg(tag any) func([]any) bool {
	return func(args []any) bool { return len(args) > 0 && fmt.Sprint(args[0]) == fmt.Sprint(tag) }
}

// Eventually polls check until it returns nil, failing after WaitFor.
func Eventually(t testing.TB, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(WaitFor)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("clustertest: %s: still failing after %v: %v", what, WaitFor, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
