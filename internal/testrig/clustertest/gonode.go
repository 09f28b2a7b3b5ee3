package clustertest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/adapter"
	"github.com/parley-chat/parley/socketio"
)

// Logger returns a logger for test nodes: silent, unless PARLEY_TEST_LOG is
// set, then debug lines on stderr.
func Logger() *slog.Logger {
	if os.Getenv("PARLEY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// GoNode is a Parley node: Parley's Socket.IO server with its own
// adapter.Node and its own Redis client, on an httptest server.
type GoNode struct {
	t        testing.TB
	name     string
	IO       *socketio.Server
	Node     *adapter.Node
	Registry *prometheus.Registry
	http     *httptest.Server

	mu   sync.Mutex
	sse  map[string][][]any
	once sync.Once
}

var _ Member = (*GoNode)(nil)

// GoNodeOptions tune StartGoNode.
type GoNodeOptions struct {
	// Config configures the adapter; its Registerer and (if nil) Logger
	// are set by StartGoNode.
	Config adapter.Config
	// Adapter builds the node's adapter from its client and Config.
	// default: adapter.NewClassic (see also Sharded and Streams)
	Adapter func(redis.UniversalClient, adapter.Config) (*adapter.Node, error)
	// Recovery turns connection state recovery on (2 minutes, middlewares
	// skipped, as a Node.js peer with Recovery). default: off
	Recovery bool
	// Namespaces are served besides "/".
	Namespaces []string
	// Server, when set, adjusts the server's configuration.
	Server func(*socketio.Config)
}

// StartGoNode starts a Parley node on rdb. Every namespace it serves gives
// each socket {name, node} as data (name from the auth), joins it to the
// auth's rooms, records server-side "sse" events and answers their acks
// with {node, arg}, except when arg is "mute-<node name>", and relays what
// its clients send in "relay" events (see Relay).
func StartGoNode(t testing.TB, name string, rdb redis.UniversalClient, o GoNodeOptions) *GoNode {
	t.Helper()
	n := &GoNode{t: t, name: name, Registry: prometheus.NewRegistry(), sse: make(map[string][][]any)}
	cfg := o.Config
	cfg.Registerer = n.Registry
	if cfg.Logger == nil {
		cfg.Logger = Logger().With("test_node", name)
	}
	build := o.Adapter
	if build == nil {
		build = adapter.NewClassic
	}
	node, err := build(rdb, cfg)
	if err != nil {
		t.Fatalf("clustertest: building the adapter: %v", err)
	}
	n.Node = node
	scfg := socketio.Config{Adapter: node.NewAdapter, Logger: cfg.Logger}
	if o.Recovery {
		scfg.Recovery = &socketio.Recovery{MaxDisconnection: 2 * time.Minute}
	}
	if o.Server != nil {
		o.Server(&scfg)
	}
	n.IO = socketio.New(scfg)
	for _, nsp := range append([]string{"/"}, o.Namespaces...) {
		n.Serve(n.IO.Of(nsp))
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", n.IO)
	n.http = httptest.NewServer(mux)
	t.Cleanup(n.Stop)
	return n
}

// Sharded builds sharded adapters in mode.
func Sharded(mode adapter.SubscriptionMode) func(redis.UniversalClient, adapter.Config) (*adapter.Node, error) {
	return func(rdb redis.UniversalClient, cfg adapter.Config) (*adapter.Node, error) {
		return adapter.NewSharded(rdb, adapter.ShardedConfig{Config: cfg, SubscriptionMode: mode})
	}
}

// Streams builds streams adapters with sc (its Config is the node's).
func Streams(sc adapter.StreamsConfig) func(redis.UniversalClient, adapter.Config) (*adapter.Node, error) {
	return func(rdb redis.UniversalClient, cfg adapter.Config) (*adapter.Node, error) {
		sc.Config = cfg
		return adapter.NewStreams(rdb, sc)
	}
}

// Stop shuts the node down gracefully before the test ends (it is stopped
// at the end of the test otherwise): the socket.io server closes its
// sockets ("server shutting down"), then the adapter's Node closes, sending
// what waits to be published.
func (n *GoNode) Stop() { n.once.Do(n.stop) }

func (n *GoNode) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.IO.Close(ctx); err != nil {
		n.t.Errorf("clustertest: %s: closing the server: %v", n.name, err)
	}
	n.http.Close()
	if err := n.Node.Close(ctx); err != nil {
		n.t.Errorf("clustertest: %s: Node.Close: %v", n.name, err)
	}
}

// Serve sets nsp up as StartGoNode does its namespaces (for namespaces
// created later, such as dynamic ones).
func (n *GoNode) Serve(nsp *socketio.Namespace) {
	name := nsp.Name()
	nsp.OnConnection(func(s *socketio.Socket) {
		auth := s.Auth()
		s.SetData(map[string]any{"name": auth["name"], "node": n.name})
		if rooms, ok := auth["rooms"].([]any); ok {
			for _, r := range rooms {
				s.Join(fmt.Sprint(r))
			}
		}
		s.On("relay", func(args socketio.Args, ack socketio.Ack) { n.relay(nsp, s, args, ack) })
	})
	nsp.OnServerSideEmit(relaySSE, n.answerRelay)
	nsp.OnServerSideEmit("sse", func(args socketio.Args, ack socketio.Ack) {
		values := make([]any, args.Len())
		for i := range values {
			values[i] = args.Value(i)
		}
		if ack.Requested() && first(values) != "mute-"+n.name {
			_ = ack.Send(map[string]any{"node": n.name, "arg": first(values)})
		}
		n.mu.Lock()
		n.sse[name] = append(n.sse[name], values)
		n.mu.Unlock()
	})
}

func first(args []any) any {
	if len(args) == 0 {
		return nil
	}
	return args[0]
}

// Name returns the node's name.
func (n *GoNode) Name() string { return n.name }

// URL returns the base URL clients dial.
func (n *GoNode) URL() string { return n.http.URL }

// Adapter returns the adapter of namespace nsp.
func (n *GoNode) Adapter(nsp string) *adapter.NamespaceAdapter {
	return n.IO.Of(nsp).Adapter().(*adapter.NamespaceAdapter)
}

func (n *GoNode) operator(nsp string, to Target) socketio.BroadcastOperator {
	op := n.IO.Of(nsp).To(to.Rooms...).Except(to.Except...)
	if to.Volatile {
		op = op.Volatile()
	}
	if to.Compress != nil {
		op = op.Compress(*to.Compress)
	}
	if to.Local {
		op = op.Local()
	}
	return op
}

// Emit broadcasts an event.
func (n *GoNode) Emit(t testing.TB, nsp string, to Target, ev string, args ...any) {
	if err := n.operator(nsp, to).Emit(ev, args...); err != nil {
		t.Fatalf("clustertest: %s: emit: %v", n.name, err)
	}
}

// EmitWithAck broadcasts with acks; each client's answer is its first
// argument.
func (n *GoNode) EmitWithAck(t testing.TB, nsp string, to Target, timeout time.Duration, ev string, args ...any) ([]any, error) {
	type result struct {
		args []any
		err  error
	}
	done := make(chan result, 1)
	err := n.operator(nsp, to).Timeout(timeout).EmitWithAck(ev, func(res []socketio.Args, err error) {
		done <- result{firstValues(res), err}
	}, args...)
	if err != nil {
		return nil, err
	}
	select {
	case r := <-done:
		return r.args, r.err
	case <-time.After(timeout + WaitFor):
		t.Fatalf("clustertest: %s: broadcast with acks never completed", n.name)
		return nil, nil
	}
}

// firstValues returns the first argument of each answer.
func firstValues(res []socketio.Args) []any {
	out := make([]any, len(res))
	for i, a := range res {
		out[i] = a.Value(0)
	}
	return out
}

func (n *GoNode) fetch(nsp string, to Target) ([]*socketio.RemoteSocket, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*WaitFor)
	defer cancel()
	return n.operator(nsp, to).FetchSockets(ctx)
}

// FetchSockets returns the matching sockets of the cluster.
func (n *GoNode) FetchSockets(_ testing.TB, nsp string, to Target) ([]Socket, error) {
	sockets, err := n.fetch(nsp, to)
	out := make([]Socket, 0, len(sockets))
	for _, s := range sockets {
		out = append(out, describe(s))
	}
	return out, err
}

func describe(s *socketio.RemoteSocket) Socket {
	d := Socket{ID: s.ID, Rooms: s.Rooms}
	d.Data, _ = s.Data.(map[string]any)
	h := s.Handshake
	query := map[string]any{}
	for k, v := range h.Query {
		query[k] = v
	}
	headers := map[string]any{}
	for k, v := range h.Headers {
		headers[k] = v
	}
	d.Handshake = map[string]any{
		"headers": headers, "time": h.Time, "address": h.Address, "xdomain": h.XDomain,
		"secure": h.Secure, "issued": h.Issued, "url": h.URL, "query": query, "auth": h.Auth,
	}
	return d
}

func (n *GoNode) remote(t testing.TB, nsp, id string) *socketio.RemoteSocket {
	sockets, err := n.fetch(nsp, Target{Rooms: []string{id}})
	if err != nil {
		t.Fatalf("clustertest: %s: fetch %s: %v", n.name, id, err)
	}
	for _, s := range sockets {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("clustertest: %s: no socket %s in the cluster", n.name, id)
	return nil
}

// RemoteEmit emits to one socket through its RemoteSocket.
func (n *GoNode) RemoteEmit(t testing.TB, nsp, id, ev string, args ...any) {
	if err := n.remote(t, nsp, id).Emit(ev, args...); err != nil {
		t.Fatalf("clustertest: %s: remote emit: %v", n.name, err)
	}
}

// RemoteJoin makes one socket join room through its RemoteSocket.
func (n *GoNode) RemoteJoin(t testing.TB, nsp, id, room string) {
	if err := n.remote(t, nsp, id).Join(room); err != nil {
		t.Fatalf("clustertest: %s: remote join: %v", n.name, err)
	}
}

// RemoteLeave makes one socket leave room through its RemoteSocket.
func (n *GoNode) RemoteLeave(t testing.TB, nsp, id, room string) {
	if err := n.remote(t, nsp, id).Leave(room); err != nil {
		t.Fatalf("clustertest: %s: remote leave: %v", n.name, err)
	}
}

// RemoteDisconnect disconnects one socket through its RemoteSocket.
func (n *GoNode) RemoteDisconnect(t testing.TB, nsp, id string, close bool) {
	if err := n.remote(t, nsp, id).Disconnect(close); err != nil {
		t.Fatalf("clustertest: %s: remote disconnect: %v", n.name, err)
	}
}

// SocketsJoin makes the matching sockets join rooms.
func (n *GoNode) SocketsJoin(t testing.TB, nsp string, to Target, rooms ...string) {
	if err := n.operator(nsp, to).SocketsJoin(rooms...); err != nil {
		t.Fatalf("clustertest: %s: socketsJoin: %v", n.name, err)
	}
}

// SocketsLeave makes the matching sockets leave rooms.
func (n *GoNode) SocketsLeave(t testing.TB, nsp string, to Target, rooms ...string) {
	if err := n.operator(nsp, to).SocketsLeave(rooms...); err != nil {
		t.Fatalf("clustertest: %s: socketsLeave: %v", n.name, err)
	}
}

// DisconnectSockets disconnects the matching sockets.
func (n *GoNode) DisconnectSockets(t testing.TB, nsp string, to Target, close bool) {
	if err := n.operator(nsp, to).DisconnectSockets(close); err != nil {
		t.Fatalf("clustertest: %s: disconnectSockets: %v", n.name, err)
	}
}

// ServerSideEmit sends a server-side event to the other nodes.
func (n *GoNode) ServerSideEmit(t testing.TB, nsp, ev string, args ...any) {
	if err := n.IO.Of(nsp).ServerSideEmit(ev, args...); err != nil {
		t.Fatalf("clustertest: %s: serverSideEmit: %v", n.name, err)
	}
}

// ServerSideEmitWithAck sends a server-side event and collects the answers
// (each node's first argument).
func (n *GoNode) ServerSideEmitWithAck(t testing.TB, nsp, ev string, args ...any) ([]any, error) {
	type result struct {
		args []any
		err  error
	}
	done := make(chan result, 1)
	err := n.IO.Of(nsp).ServerSideEmitWithAck(ev, func(res []socketio.Args, err error) { done <- result{firstValues(res), err} }, args...)
	if err != nil {
		return nil, err
	}
	select {
	case r := <-done:
		return r.args, r.err
	case <-time.After(2 * WaitFor):
		t.Fatalf("clustertest: %s: serverSideEmitWithAck never completed", n.name)
		return nil, nil
	}
}

// ServerCount returns the adapter's server count.
func (n *GoNode) ServerCount(_ testing.TB, nsp string) int64 {
	c, _ := n.IO.Of(nsp).ServerCount(context.Background())
	return int64(c)
}

// AllRooms returns the rooms of the cluster.
func (n *GoNode) AllRooms(_ testing.TB, nsp string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), WaitFor)
	defer cancel()
	return n.Adapter(nsp).AllRooms(ctx)
}

// ServerSideEvents returns the "sse" events received in nsp.
func (n *GoNode) ServerSideEvents(_ testing.TB, nsp string) [][]any {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([][]any(nil), n.sse[nsp]...)
}

// WaitReady waits until the nodes' subscriptions are confirmed by Redis
// (from then on each node counts in every other's server count).
func WaitReady(t testing.TB, nodes ...*GoNode) {
	t.Helper()
	Eventually(t, "nodes ready", func() error {
		for _, n := range nodes {
			if err := n.Node.Ready(); err != nil {
				return fmt.Errorf("%s: %w", n.name, err)
			}
		}
		return nil
	})
}
