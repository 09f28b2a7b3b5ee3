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
	"github.com/zishang520/socket.io/servers/engine/v3/transports"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/parley-chat/parley/adapter"
	"github.com/parley-chat/parley/fanout"
	"github.com/parley-chat/parley/wstransport"
)

// Logger returns a logger for test nodes: silent, unless PARLEY_TEST_LOG is
// set, then debug lines on stderr.
func Logger() *slog.Logger {
	if os.Getenv("PARLEY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// GoNode is a Parley node: the library's socket.io server with Parley's
// WebSocket transport, its own adapter.Node delivering through Parley's
// fan-out (as the binary runs them) and its own Redis client, on an
// httptest server.
type GoNode struct {
	t        testing.TB
	name     string
	IO       *socket.Server
	Node     *adapter.Node
	Registry *prometheus.Registry
	http     *httptest.Server
	ws       *wstransport.Builder

	mu   sync.Mutex
	sse  map[string][][]any
	once sync.Once
}

var _ Member = (*GoNode)(nil)

// GoNodeOptions tune StartGoNode.
type GoNodeOptions struct {
	// Config configures the adapter; its Registerer and (if nil) Logger
	// and Deliverer are set by StartGoNode.
	Config adapter.Config
	// Stock serves with the library's own WebSocket transport and
	// delivery instead of Parley's.
	Stock bool
	// Adapter builds the node's adapter from its client and Config.
	// default: adapter.NewClassic (see also Sharded and Streams)
	Adapter func(redis.UniversalClient, adapter.Config) (*adapter.Node, error)
	// Recovery turns connection state recovery on (2 minutes, middlewares
	// skipped, as a Node.js peer with Recovery). default: off
	Recovery bool
	// Namespaces are served besides "/".
	Namespaces []string
	// ServerOptions, when set, adjusts the server's options.
	ServerOptions func(*socket.ServerOptions)
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
	if cfg.Deliverer == nil && !o.Stock {
		cfg.Deliverer = fanout.New(fanout.Config{})
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
	opts := socket.DefaultServerOptions()
	opts.SetAdapter(node)
	opts.SetServeClient(false)
	if o.Stock {
		opts.SetTransports(types.NewSet(socket.WebSocket))
	} else {
		n.ws = wstransport.NewBuilder(wstransport.Config{Logger: cfg.Logger})
		opts.SetTransports(types.NewSet[transports.TransportCtor](n.ws))
	}
	if o.Recovery {
		csr := &socket.ConnectionStateRecovery{}
		csr.SetMaxDisconnectionDuration(2 * 60 * 1000)
		csr.SetSkipMiddlewares(true)
		opts.SetConnectionStateRecovery(csr)
	}
	if o.ServerOptions != nil {
		o.ServerOptions(opts)
	}
	n.IO = socket.NewServer(nil, opts)
	for _, nsp := range append([]string{"/"}, o.Namespaces...) {
		n.serve(nsp)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", n.IO.ServeHandler(nil))
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
	n.IO.Close(nil)
	n.http.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n.ws != nil {
		if err := n.ws.Shutdown(ctx); err != nil {
			n.t.Errorf("clustertest: %s: transport shutdown: %v", n.name, err)
		}
	}
	if err := n.Node.Close(ctx); err != nil {
		n.t.Errorf("clustertest: %s: Node.Close: %v", n.name, err)
	}
}

func (n *GoNode) serve(name any) {
	nsp := n.IO.Of(name, nil)
	n.Serve(nsp)
}

// Serve sets nsp up as StartGoNode does its namespaces (for namespaces
// created later, such as dynamic ones).
func (n *GoNode) Serve(nsp socket.Namespace) {
	name := nsp.Name()
	_ = nsp.On("connection", func(args ...any) {
		s := args[0].(*socket.Socket)
		auth := s.Handshake().Auth
		s.SetData(map[string]any{"name": auth["name"], "node": n.name})
		if rooms, ok := auth["rooms"].([]any); ok {
			for _, r := range rooms {
				s.Join(socket.Room(fmt.Sprint(r)))
			}
		}
		_ = s.On("relay", func(args ...any) { n.relay(nsp, s, args) })
	})
	_ = nsp.On(relaySSE, func(args ...any) { n.answerRelay(args) })
	_ = nsp.On("sse", func(args ...any) {
		if ack, ok := args[len(args)-1].(socket.Ack); ok {
			args = args[:len(args)-1]
			if first(args) != "mute-"+n.name {
				ack([]any{map[string]any{"node": n.name, "arg": first(args)}}, nil)
			}
		}
		n.mu.Lock()
		n.sse[name] = append(n.sse[name], args)
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
	return n.IO.Of(nsp, nil).Adapter().(*adapter.NamespaceAdapter)
}

func (n *GoNode) operator(nsp string, to Target) *socket.BroadcastOperator {
	rooms, except := types.NewSet[socket.Room](), types.NewSet[socket.Room]()
	for _, r := range to.Rooms {
		rooms.Add(socket.Room(r))
	}
	for _, r := range to.Except {
		except.Add(socket.Room(r))
	}
	op := socket.NewBroadcastOperator(n.IO.Of(nsp, nil).Adapter(), rooms, except, &socket.BroadcastFlags{})
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

// EmitWithAck broadcasts with acks.
func (n *GoNode) EmitWithAck(t testing.TB, nsp string, to Target, timeout time.Duration, ev string, args ...any) ([]any, error) {
	type result struct {
		args []any
		err  error
	}
	done := make(chan result, 1)
	n.operator(nsp, to).Timeout(timeout).EmitWithAck(ev, args...)(func(res []any, err error) {
		done <- result{res, err}
	})
	select {
	case r := <-done:
		return r.args, r.err
	case <-time.After(timeout + WaitFor):
		t.Fatalf("clustertest: %s: broadcast with acks never completed", n.name)
		return nil, nil
	}
}

func (n *GoNode) fetch(t testing.TB, nsp string, to Target) ([]*socket.RemoteSocket, error) {
	type result struct {
		sockets []*socket.RemoteSocket
		err     error
	}
	done := make(chan result, 1)
	n.operator(nsp, to).FetchSockets()(func(s []*socket.RemoteSocket, err error) { done <- result{s, err} })
	select {
	case r := <-done:
		return r.sockets, r.err
	case <-time.After(2 * WaitFor):
		t.Fatalf("clustertest: %s: fetchSockets never completed", n.name)
		return nil, nil
	}
}

// FetchSockets returns the matching sockets of the cluster.
func (n *GoNode) FetchSockets(t testing.TB, nsp string, to Target) ([]Socket, error) {
	sockets, err := n.fetch(t, nsp, to)
	out := make([]Socket, 0, len(sockets))
	for _, s := range sockets {
		out = append(out, describe(s))
	}
	return out, err
}

func describe(s *socket.RemoteSocket) Socket {
	d := Socket{ID: string(s.Id()), Handshake: map[string]any{}}
	for _, r := range s.Rooms().Keys() {
		d.Rooms = append(d.Rooms, string(r))
	}
	d.Data, _ = s.Data().(map[string]any)
	if h := s.Handshake(); h != nil {
		query := map[string]any{}
		for k, v := range h.Query {
			query[k] = v
		}
		headers := map[string]any{}
		for k, v := range h.Headers {
			headers[k] = v
		}
		d.Handshake = map[string]any{
			"headers": headers, "time": h.Time, "address": h.Address, "xdomain": h.Xdomain,
			"secure": h.Secure, "issued": h.Issued, "url": h.Url, "query": query, "auth": h.Auth,
		}
	}
	return d
}

func (n *GoNode) remote(t testing.TB, nsp, id string) *socket.RemoteSocket {
	sockets, err := n.fetch(t, nsp, Target{Rooms: []string{id}})
	if err != nil {
		t.Fatalf("clustertest: %s: fetch %s: %v", n.name, id, err)
	}
	for _, s := range sockets {
		if string(s.Id()) == id {
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
	n.remote(t, nsp, id).Join(socket.Room(room))
}

// RemoteLeave makes one socket leave room through its RemoteSocket.
func (n *GoNode) RemoteLeave(t testing.TB, nsp, id, room string) {
	n.remote(t, nsp, id).Leave(socket.Room(room))
}

// RemoteDisconnect disconnects one socket through its RemoteSocket.
func (n *GoNode) RemoteDisconnect(t testing.TB, nsp, id string, close bool) {
	n.remote(t, nsp, id).Disconnect(close)
}

// SocketsJoin makes the matching sockets join rooms.
func (n *GoNode) SocketsJoin(_ testing.TB, nsp string, to Target, rooms ...string) {
	n.operator(nsp, to).SocketsJoin(socketRooms(rooms)...)
}

// SocketsLeave makes the matching sockets leave rooms.
func (n *GoNode) SocketsLeave(_ testing.TB, nsp string, to Target, rooms ...string) {
	n.operator(nsp, to).SocketsLeave(socketRooms(rooms)...)
}

// DisconnectSockets disconnects the matching sockets.
func (n *GoNode) DisconnectSockets(_ testing.TB, nsp string, to Target, close bool) {
	n.operator(nsp, to).DisconnectSockets(close)
}

func socketRooms(rooms []string) []socket.Room {
	out := make([]socket.Room, len(rooms))
	for i, r := range rooms {
		out[i] = socket.Room(r)
	}
	return out
}

// ServerSideEmit sends a server-side event to the other nodes.
func (n *GoNode) ServerSideEmit(t testing.TB, nsp, ev string, args ...any) {
	if err := n.IO.Of(nsp, nil).ServerSideEmit(ev, args...); err != nil {
		t.Fatalf("clustertest: %s: serverSideEmit: %v", n.name, err)
	}
}

// ServerSideEmitWithAck sends a server-side event and collects the answers.
func (n *GoNode) ServerSideEmitWithAck(t testing.TB, nsp, ev string, args ...any) ([]any, error) {
	type result struct {
		args []any
		err  error
	}
	done := make(chan result, 1)
	err := n.IO.Of(nsp, nil).ServerSideEmitWithAck(ev, args...)(func(res []any, err error) { done <- result{res, err} })
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
	return n.IO.Of(nsp, nil).Adapter().ServerCount()
}

// AllRooms returns the rooms of the cluster.
func (n *GoNode) AllRooms(_ testing.TB, nsp string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), WaitFor)
	defer cancel()
	rooms, err := n.Adapter(nsp).AllRooms(ctx)
	out := make([]string, len(rooms))
	for i, r := range rooms {
		out[i] = string(r)
	}
	return out, err
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
