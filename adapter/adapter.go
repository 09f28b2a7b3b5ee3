// Package adapter connects the Socket.IO servers of several Parley nodes
// through Redis, speaking the wire protocol of the Node.js
// @socket.io/redis-adapter 8.3, so Go and Node.js nodes form one cluster and
// @socket.io/redis-emitter (or package emitter) reaches both.
//
// A Node is one process's membership in such a cluster. Give it to the server
// options as the adapter constructor; the library then creates one
// NamespaceAdapter per namespace from it:
//
//	node, err := adapter.NewClassic(rdb, adapter.Config{})
//	opts.SetAdapter(node)
//	...
//	io.Close(nil)
//	node.Close(ctx)
//
// Layout, after socket.io's own ClusterAdapter: one protocol-independent
// core (cluster.go; namespace.go and apply.go for the two directions of a
// namespace; requests.go) owns request bookkeeping, counting and the local
// application of remote operations; a transport per protocol (classic.go)
// names channels, encodes, publishes (publisher.go) and feeds what its
// subscription (subscriber.go) receives to the core.
//
// One Redis Pub/Sub connection per Node carries every namespace's
// subscriptions. It is supervised: a lost or silent connection is replaced
// with backoff, every subscription restored, and Ready reports the outage
// meanwhile. Local delivery never depends on Redis.
//
// Concurrency: every exported method is safe for concurrent use. Publishing
// never holds a lock while waiting on Redis: messages are encoded in the
// caller's goroutine and handed to one ordered publisher per Node. Messages
// received from Redis are decoded on the subscriber goroutine and applied in
// order, per namespace, on that namespace's own goroutine (started only
// while there is work), so a slow namespace or listener never stalls the
// Redis connection. Listeners of server-side events run there and must not
// call Node.Close.
//
// Lock order: Node (core) locks, then a request's; the subscriber's cmdMu,
// then its mu; the publisher's and the inboxes' locks are leaves.
package adapter

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/servers/socket/v3"
)

// Config configures a Node. The zero value works.
type Config struct {
	// Prefix starts every channel name (the Node adapter's "key").
	// default: "socket.io"
	Prefix string
	// RequestsTimeout bounds fetchSockets (unless the operator sets its own
	// timeout), allRooms and serverSideEmit with acks. default: 5s
	RequestsTimeout time.Duration
	// PublishOnSpecificResponseChannel sends this node's responses to the
	// requesting node's own response channel instead of the shared one.
	// Every node of the cluster must run @socket.io/redis-adapter 7.1 or
	// later (or Parley) to read them. default: false
	PublishOnSpecificResponseChannel bool
	// PublishQueue is how many messages may wait for Redis; beyond it new
	// publishes fail (and are counted) rather than grow memory while Redis
	// is away. default: 10000
	PublishQueue int
	// HealthCheckInterval is how long the subscription connection may stay
	// silent before a PING checks it; when the PING is not answered within
	// as long again, the connection counts as lost (this catches half-open
	// connections, which report no error). default: 5s
	HealthCheckInterval time.Duration
	// Deliverer writes broadcasts to this node's sockets, both this node's
	// own and those received from the cluster. Parley passes its encode-once
	// fan-out (*fanout.Fanout). default: the library's in-memory adapter
	// (one encode, then a write through the engine per socket)
	Deliverer Deliverer
	// Logger receives the adapter's log lines. default: slog.Default()
	Logger *slog.Logger
	// Registerer, when set, registers the adapter's Prometheus metrics:
	// parley_adapter_published_total{kind}, _publish_errors_total,
	// _publish_dropped_total, _received_total{kind}, _malformed_total,
	// _redis_reconnects_total, _subscribed (gauge, 1 while up),
	// _pending_requests (gauge) and _request_timeouts_total. Nodes sharing
	// a Registerer share the collectors.
	// default: none
	Registerer prometheus.Registerer
}

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = "socket.io"
	}
	if c.RequestsTimeout <= 0 {
		c.RequestsTimeout = 5 * time.Second
	}
	if c.PublishQueue <= 0 {
		c.PublishQueue = 10000
	}
	if c.HealthCheckInterval <= 0 {
		c.HealthCheckInterval = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Deliverer delivers a broadcast to the local sockets of a namespace
// adapter that opts selects (see package fanout for the contract). Packets
// with an ack id never go through it.
type Deliverer interface {
	Deliver(a socket.Adapter, p *parser.Packet, opts *socket.BroadcastOptions)
}

// ErrClosed is returned by operations on a closed Node.
var ErrClosed = errors.New("adapter: closed")

// Node is this process's member of a Socket.IO cluster over Redis. It is a
// socket.AdapterConstructor.
type Node struct {
	core *core
}

var _ socket.AdapterConstructor = (*Node)(nil)

// NewClassic returns a Node speaking the protocol of @socket.io/redis-adapter
// 8.3's createAdapter (classic pub/sub). rdb may be a standalone, Sentinel or
// Cluster client; the Node never closes it.
func NewClassic(rdb redis.UniversalClient, cfg Config) (*Node, error) {
	if rdb == nil {
		return nil, errors.New("adapter: nil Redis client")
	}
	cfg = cfg.withDefaults()
	c := newCore(cfg)
	c.tr = newClassic(c, rdb, cfg)
	return &Node{core: c}, nil
}

// New creates the adapter of a namespace. The socket.io server calls it once
// per namespace.
func (n *Node) New(nsp socket.Namespace) socket.Adapter { return n.core.newNamespace(nsp) }

// UID is the node's id in the cluster.
func (n *Node) UID() string { return n.core.uid }

// Ready returns nil while the node receives the cluster's messages (every
// subscription confirmed by Redis), and the reason otherwise: not yet
// subscribed, Redis unreachable or silent, or ErrClosed.
func (n *Node) Ready() error { return n.core.tr.ready() }

// Close fails pending requests, drops the subscription connection (which
// unsubscribes every namespace), sends what waits to be published (until ctx
// is done) and stops the Node's goroutines. Close the socket.io server
// first, so nothing is published after. Ready reports ErrClosed afterwards.
func (n *Node) Close(ctx context.Context) error { return n.core.close(ctx) }
