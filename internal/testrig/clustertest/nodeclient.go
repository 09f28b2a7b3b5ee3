package clustertest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// NodeClients runs socket.io-client 4.8.4 clients (testdata/client.mjs), the
// reference for connection state recovery: they reconnect by themselves
// within a few hundred milliseconds and send their session's pid and last
// offset when they do.
type NodeClients struct {
	*nodeProcess
	mu    sync.Mutex
	names []string
}

// StartNodeClients starts the clients' process.
func StartNodeClients(t testing.TB) *NodeClients {
	t.Helper()
	var ports struct{ Control int }
	return &NodeClients{nodeProcess: startNodeProcess(t, "node clients", "clients", "client.mjs", nil, &ports)}
}

// Connect connects client name to url (base URL and namespace) with auth
// and returns its socket id.
func (c *NodeClients) Connect(t testing.TB, name, url string, auth map[string]any) string {
	t.Helper()
	res, _ := c.Call(t, "connect", map[string]any{"name": name, "url": url, "auth": auth}).(map[string]any)
	c.mu.Lock()
	c.names = append(c.names, name)
	c.mu.Unlock()
	return fmt.Sprint(res["id"])
}

// Names lists the clients connected so far.
func (c *NodeClients) Names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.names...)
}

// ClientState is what a client knows of its connection.
type ClientState struct {
	ID        string
	Connected bool
	Recovered bool
}

// State returns client name's state.
func (c *NodeClients) State(t testing.TB, name string) ClientState {
	t.Helper()
	m, _ := c.Call(t, "state", map[string]any{"name": name}).(map[string]any)
	s := ClientState{ID: fmt.Sprint(m["id"])}
	s.Connected, _ = m["connected"].(bool)
	s.Recovered, _ = m["recovered"].(bool)
	return s
}

// Events returns every event client name received, connect and disconnect
// included, in order.
func (c *NodeClients) Events(t testing.TB, name string) []Event {
	t.Helper()
	list, _ := c.Call(t, "events", map[string]any{"name": name}).([]any)
	out := make([]Event, 0, len(list))
	for _, it := range list {
		m, _ := it.(map[string]any)
		args, _ := m["args"].([]any)
		out = append(out, Event{Name: fmt.Sprint(m["event"]), Args: args})
	}
	return out
}

// Find returns the arguments of the first event named event that client
// name received with tag as its first argument; ok is false if none came
// yet. Unlike Events it transfers that event only.
func (c *NodeClients) Find(t testing.TB, name, event string, tag any) (args []any, ok bool) {
	t.Helper()
	m, _ := c.Call(t, "find", map[string]any{"name": name, "event": event, "tag": tag}).(map[string]any)
	if m == nil {
		return nil, false
	}
	args, _ = m["args"].([]any)
	return args, true
}

// Close disconnects client name for good.
func (c *NodeClients) Close(t testing.TB, name string) {
	t.Helper()
	c.Call(t, "close", map[string]any{"name": name})
}

// Emit has client name emit event with args (binary as []byte or JSBinary).
func (c *NodeClients) Emit(t testing.TB, name, event string, args ...any) {
	t.Helper()
	c.Call(t, "emit", map[string]any{"name": name, "event": event, "args": args})
}

// EmitWithAck has client name emit event with args and an ack, and
// returns the ack's arguments, or the client's error (its timeout).
func (c *NodeClients) EmitWithAck(t testing.TB, name string, timeout time.Duration, event string, args ...any) ([]any, error) {
	t.Helper()
	res, _ := c.Call(t, "emitWithAck", map[string]any{"name": name, "event": event, "args": args, "timeout": timeout.Milliseconds()}).(map[string]any)
	out, _ := res["args"].([]any)
	if msg, ok := res["error"].(string); ok {
		return out, errors.New(msg)
	}
	return out, nil
}

// JSBinary is binary a Node client sends as a given JavaScript type: As is
// "arraybuffer", "uint8array", "view" (a Uint8Array over the middle of a
// larger buffer) or "" (a Buffer).
type JSBinary struct {
	Data []byte
	As   string
}
