package clustertest

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testrig"
)

// RepoRoot returns the directory holding go.mod (and node_modules).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("clustertest: no go.mod above the test's directory")
		}
		dir = parent
	}
}

// RequireNode fails the test when node or the npm packages the Node peers
// need are missing.
func RequireNode(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("clustertest: node is required for the interop tests (install Node.js 20+): %v", err)
	}
	root := RepoRoot(t)
	for _, pkg := range []string{"socket.io", "socket.io-client", "@socket.io/redis-adapter", "@socket.io/redis-emitter", "@socket.io/redis-streams-adapter", "redis", "notepack.io"} {
		if _, err := os.Stat(filepath.Join(root, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("clustertest: node package %s is missing: run npm ci in %s", pkg, root)
		}
	}
}

// NodePeer is a Node.js socket.io 4.8 server in the test cluster with one of
// the Node adapters (@socket.io/redis-adapter 8.3 classic, with an
// @socket.io/redis-emitter 5.1, or sharded; @socket.io/redis-streams-adapter
// 0.3.1), run by testdata/peer.mjs and driven over its control port.
type NodePeer struct {
	*nodeProcess
	url string
}

var _ Member = (*NodePeer)(nil)

// NodePeerOptions tune StartNodePeer.
type NodePeerOptions struct {
	// Namespaces are served besides "/".
	Namespaces []string
	// RequestsTimeout is the adapter's requestsTimeout (classic; the
	// cluster adapters wait 5 s). default: 5s
	RequestsTimeout time.Duration
	// Adapter is "classic", "sharded" or "streams". default: "classic"
	Adapter string
	// SubscriptionMode is the sharded adapter's. default: "dynamic"
	SubscriptionMode string
	// Recovery turns connection state recovery on (2 minutes, middlewares
	// skipped). default: off
	Recovery bool
	// Cluster makes redisURL the seed of a Redis Cluster. default: false
	Cluster bool
}

// StartNodePeer starts a Node.js node on the Redis at redisURL. It serves
// its namespaces like a GoNode does.
func StartNodePeer(t testing.TB, name, redisURL string, o NodePeerOptions) *NodePeer {
	t.Helper()
	env := []string{"REDIS_URL=" + redisURL, "NAME=" + name, "NSPS=" + strings.Join(o.Namespaces, ",")}
	if o.RequestsTimeout > 0 {
		env = append(env, fmt.Sprintf("REQUESTS_TIMEOUT=%d", o.RequestsTimeout.Milliseconds()))
	}
	if o.Adapter != "" {
		env = append(env, "ADAPTER="+o.Adapter)
	}
	if o.SubscriptionMode != "" {
		env = append(env, "SUBSCRIPTION_MODE="+o.SubscriptionMode)
	}
	if o.Recovery {
		env = append(env, "RECOVERY=1")
	}
	if o.Cluster {
		env = append(env, "REDIS_CLUSTER=1")
	}
	var ports struct{ Port, Control int }
	proc := startNodeProcess(t, "node peer", name, "peer.mjs", env, &ports)
	return &NodePeer{nodeProcess: proc, url: fmt.Sprintf("http://127.0.0.1:%d", ports.Port)}
}

// ToControl turns []byte into the control channel's {"$bin": base64}.
func ToControl(v any) any {
	return testrig.MapLeaves(v, func(v any) any {
		switch x := v.(type) {
		case []byte:
			return map[string]any{"$bin": base64.StdEncoding.EncodeToString(x)}
		case JSBinary:
			return map[string]any{"$bin": base64.StdEncoding.EncodeToString(x.Data), "as": x.As}
		case time.Time:
			return map[string]any{"$date": x.UnixMilli()}
		}
		return v
	})
}

// FromControl is the reverse of ToControl.
func FromControl(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = FromControl(e)
		}
		return out
	case map[string]any:
		if b, ok := x["$bin"].(string); ok && len(x) == 1 {
			data, _ := base64.StdEncoding.DecodeString(b)
			return data
		}
		if ms, ok := x["$date"].(float64); ok && len(x) == 1 {
			return time.UnixMilli(int64(ms)).UTC()
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = FromControl(e)
		}
		return out
	}
	return v
}

// Name returns the peer's name.
func (p *NodePeer) Name() string { return p.name }

// URL returns the base URL clients dial.
func (p *NodePeer) URL() string { return p.url }

func targetArgs(nsp string, to Target) map[string]any {
	m := map[string]any{"nsp": nsp, "rooms": orEmpty(to.Rooms), "except": orEmpty(to.Except), "volatile": to.Volatile, "local": to.Local}
	if to.Compress != nil {
		m["compress"] = *to.Compress
	}
	return m
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Emit broadcasts an event.
func (p *NodePeer) Emit(t testing.TB, nsp string, to Target, ev string, args ...any) {
	m := targetArgs(nsp, to)
	m["event"], m["args"] = ev, args
	p.Call(t, "emit", m)
}

// EmitWithAck broadcasts with acks.
func (p *NodePeer) EmitWithAck(t testing.TB, nsp string, to Target, timeout time.Duration, ev string, args ...any) ([]any, error) {
	m := targetArgs(nsp, to)
	m["event"], m["args"], m["timeout"] = ev, args, timeout.Milliseconds()
	return ackResult(p.Call(t, "emitWithAck", m))
}

func ackResult(v any) ([]any, error) {
	m, _ := v.(map[string]any)
	responses, _ := m["responses"].([]any)
	if msg, ok := m["error"].(string); ok {
		return responses, errors.New(msg)
	}
	return responses, nil
}

// FetchSockets returns the matching sockets of the cluster.
func (p *NodePeer) FetchSockets(_ testing.TB, nsp string, to Target) ([]Socket, error) {
	res, err := p.Try("fetchSockets", targetArgs(nsp, to))
	if err != nil {
		return nil, err
	}
	return socketList(res), nil
}

func socketList(v any) []Socket {
	list, _ := v.([]any)
	out := make([]Socket, 0, len(list))
	for _, it := range list {
		m, _ := it.(map[string]any)
		s := Socket{ID: fmt.Sprint(m["id"])}
		s.Data, _ = m["data"].(map[string]any)
		s.Handshake, _ = m["handshake"].(map[string]any)
		rooms, _ := m["rooms"].([]any)
		for _, r := range rooms {
			s.Rooms = append(s.Rooms, fmt.Sprint(r))
		}
		out = append(out, s)
	}
	return out
}

// RemoteEmit emits to one socket through its RemoteSocket.
func (p *NodePeer) RemoteEmit(t testing.TB, nsp, id, ev string, args ...any) {
	p.Call(t, "remoteEmit", map[string]any{"nsp": nsp, "id": id, "event": ev, "args": args})
}

// RemoteJoin makes one socket join room through its RemoteSocket.
func (p *NodePeer) RemoteJoin(t testing.TB, nsp, id, room string) {
	p.Call(t, "remoteJoin", map[string]any{"nsp": nsp, "id": id, "room": room})
}

// RemoteLeave makes one socket leave room through its RemoteSocket.
func (p *NodePeer) RemoteLeave(t testing.TB, nsp, id, room string) {
	p.Call(t, "remoteLeave", map[string]any{"nsp": nsp, "id": id, "room": room})
}

// RemoteDisconnect disconnects one socket through its RemoteSocket.
func (p *NodePeer) RemoteDisconnect(t testing.TB, nsp, id string, close bool) {
	p.Call(t, "remoteDisconnect", map[string]any{"nsp": nsp, "id": id, "close": close})
}

// SocketsJoin makes the matching sockets join rooms.
func (p *NodePeer) SocketsJoin(t testing.TB, nsp string, to Target, rooms ...string) {
	m := targetArgs(nsp, to)
	m["join"] = rooms
	p.Call(t, "socketsJoin", m)
}

// SocketsLeave makes the matching sockets leave rooms.
func (p *NodePeer) SocketsLeave(t testing.TB, nsp string, to Target, rooms ...string) {
	m := targetArgs(nsp, to)
	m["leave"] = rooms
	p.Call(t, "socketsLeave", m)
}

// DisconnectSockets disconnects the matching sockets.
func (p *NodePeer) DisconnectSockets(t testing.TB, nsp string, to Target, close bool) {
	m := targetArgs(nsp, to)
	m["close"] = close
	p.Call(t, "disconnectSockets", m)
}

// ServerSideEmit sends a server-side event to the other nodes.
func (p *NodePeer) ServerSideEmit(t testing.TB, nsp, ev string, args ...any) {
	p.Call(t, "serverSideEmit", map[string]any{"nsp": nsp, "event": ev, "args": args})
}

// ServerSideEmitWithAck sends a server-side event and collects the answers.
func (p *NodePeer) ServerSideEmitWithAck(t testing.TB, nsp, ev string, args ...any) ([]any, error) {
	return ackResult(p.Call(t, "serverSideEmit", map[string]any{"nsp": nsp, "event": ev, "args": args, "ack": true}))
}

// ServerCount returns the adapter's server count.
func (p *NodePeer) ServerCount(t testing.TB, nsp string) int64 {
	n, _ := p.Call(t, "serverCount", map[string]any{"nsp": nsp}).(float64)
	return int64(n)
}

// AllRooms returns the rooms of the cluster.
func (p *NodePeer) AllRooms(_ testing.TB, nsp string) ([]string, error) {
	res, err := p.Try("allRooms", map[string]any{"nsp": nsp})
	list, _ := res.([]any)
	out := make([]string, len(list))
	for i, r := range list {
		out[i] = fmt.Sprint(r)
	}
	return out, err
}

// ServerSideEvents returns the "sse" events received in nsp.
func (p *NodePeer) ServerSideEvents(t testing.TB, nsp string) [][]any {
	list, _ := p.Call(t, "sse", map[string]any{"nsp": nsp}).([]any)
	out := make([][]any, len(list))
	for i, e := range list {
		out[i], _ = e.([]any)
	}
	return out
}
