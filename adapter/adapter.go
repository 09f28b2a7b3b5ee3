// Package adapter connects the Socket.IO servers of several Parley nodes
// through Redis, speaking the wire protocols of the Node.js adapters, so Go
// and Node.js nodes form one cluster and emitters (package emitter, or
// @socket.io/redis-emitter for the classic protocol) reach both.
//
// Three protocols, each interoperable with its Node.js counterpart:
//
//   - NewClassic: @socket.io/redis-adapter's createAdapter (Pub/Sub; every
//     node receives every broadcast);
//   - NewSharded: its createShardedAdapter (Redis 7 sharded Pub/Sub, with
//     per-room channels in the dynamic modes, for a Redis Cluster);
//   - NewStreams: @socket.io/redis-streams-adapter 0.3 (broadcasts through
//     a Redis stream, at least once between nodes, and connection state
//     recovery across nodes).
//
// A Node is one process's membership in such a cluster. Its NewAdapter is
// the Socket.IO server's adapter; the server then creates one
// NamespaceAdapter per namespace from it:
//
//	node, err := adapter.NewClassic(rdb, adapter.Config{})
//	io := socketio.New(socketio.Config{Adapter: node.NewAdapter})
//	...
//	io.Close(ctx)
//	node.Close(ctx)
//
// Layout, after socket.io's own ClusterAdapter: one protocol-independent
// core (cluster.go; namespace.go and apply.go for the two directions of a
// namespace; requests.go; recovery.go for sessions) owns request
// bookkeeping, counting and the local application of remote operations; a
// thin transport per protocol (classic.go, sharded.go, streams.go) names
// channels, encodes, publishes (publisher.go) and feeds what its
// subscription (subscriber.go, subscriber_shards.go) or stream reader
// (streams_reader.go) receives to the core.
//
// One Redis Pub/Sub connection per Node (per master of a Redis Cluster for
// shard channels) carries every namespace's subscriptions. It is supervised:
// a lost or silent connection is replaced with backoff, every subscription
// restored (shard channels routed again to the master that owns their slot
// after a slot migration or a failover), and Ready reports the outage
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
// Lock order: Node (core) locks, then a request's; shardLinks' routeMu, then
// its mu, then a subscriber's cmdMu, then its mu; the publisher's, the
// readers' and the inboxes' locks are leaves.
package adapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/parley-chat/parley/internal/wire"
	"github.com/parley-chat/parley/socketio"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Config configures a Node. The zero value works.
type Config struct {
	// Prefix starts every channel name (the Node adapters' "key" or
	// "channelPrefix").
	// default: "socket.io"
	Prefix string
	// RequestsTimeout bounds fetchSockets (unless the operator sets its own
	// timeout), allRooms and serverSideEmit with acks. default: 5s
	RequestsTimeout time.Duration
	// PublishOnSpecificResponseChannel (classic protocol only) sends this
	// node's responses to the requesting node's own response channel
	// instead of the shared one. Every node of the cluster must run
	// @socket.io/redis-adapter 7.1 or later (or Parley) to read them. The
	// sharded and streams protocols always answer on the requester's own
	// channel. default: false
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
	// Logger receives the adapter's log lines. default: slog.Default()
	Logger *slog.Logger
	// Registerer, when set, registers the adapter's Prometheus metrics:
	// parley_adapter_published_total{kind}, _publish_errors_total,
	// _publish_dropped_total, _encode_errors_total{kind},
	// _received_total{kind}, _malformed_total,
	// _redis_reconnects_total, _subscribed (gauge, 1 while up),
	// _pending_requests (gauge), _request_timeouts_total, and for the
	// streams protocol _stream_read_errors_total and
	// _session_restores_total{result}. Nodes sharing a Registerer share the
	// collectors.
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

// ErrClosed is returned by operations on a closed Node.
var ErrClosed = errors.New("adapter: closed")

// Node is this process's member of a Socket.IO cluster over Redis. Its
// NewAdapter is the socketio.AdapterFunc of the server.
type Node struct {
	core *core
}

var _ socketio.AdapterFunc = (*Node)(nil).NewAdapter

// NewClassic returns a Node speaking the protocol of @socket.io/redis-adapter
// 8.3's createAdapter (classic pub/sub). rdb may be a standalone, Sentinel or
// Cluster client; the Node never closes it.
func NewClassic(rdb redis.UniversalClient, cfg Config) (*Node, error) {
	if rdb == nil {
		return nil, errNilClient
	}
	cfg = cfg.withDefaults()
	c := newCore(cfg, false)
	c.tr = newClassic(c, rdb, cfg)
	return &Node{core: c}, nil
}

var errNilClient = errors.New("adapter: nil Redis client")

// SubscriptionMode is which channels a sharded Node subscribes to, the
// subscriptionMode of the Node adapter. Every node of a cluster must use the
// same mode: a node publishes a room's broadcasts on the channels its own
// mode implies, which nodes of another mode may not listen to.
type SubscriptionMode string

// Subscription modes.
const (
	// ModeDynamic adds one channel per room that is not a socket id, for
	// as long as the room has a local socket: a broadcast to one room
	// reaches only the nodes that have members of it.
	ModeDynamic SubscriptionMode = "dynamic"
	// ModeStatic listens to the namespace's main channel and the node's
	// response channel only: every node receives every broadcast.
	ModeStatic SubscriptionMode = "static"
	// ModeDynamicPrivate also subscribes to the channel of every socket id
	// (one shard channel per connected socket).
	ModeDynamicPrivate SubscriptionMode = "dynamic-private"
)

// ShardedConfig configures a sharded Node. The zero value works.
type ShardedConfig struct {
	// Config holds the settings every protocol shares;
	// PublishOnSpecificResponseChannel does not apply.
	Config
	// SubscriptionMode must be the same on every node of the cluster.
	// default: ModeDynamic
	SubscriptionMode SubscriptionMode
}

// NewSharded returns a Node speaking the protocol of @socket.io/redis-adapter
// 8.3's createShardedAdapter: ClusterAdapter messages over sharded Pub/Sub
// (SPUBLISH / SSUBSCRIBE, Redis 7 or later). rdb is a Cluster client (one
// subscription connection per master) or a standalone one; the Node never
// closes it.
func NewSharded(rdb redis.UniversalClient, cfg ShardedConfig) (*Node, error) {
	if rdb == nil {
		return nil, errNilClient
	}
	mode, err := cfg.SubscriptionMode.wire()
	if err != nil {
		return nil, err
	}
	base := cfg.Config.withDefaults()
	c := newCore(base, true)
	c.tr = newSharded(c, rdb, base, mode)
	return &Node{core: c}, nil
}

func (m SubscriptionMode) wire() (wire.ShardedMode, error) {
	switch m {
	case "", ModeDynamic:
		return wire.ShardedDynamic, nil
	case ModeStatic:
		return wire.ShardedStatic, nil
	case ModeDynamicPrivate:
		return wire.ShardedDynamicPrivate, nil
	}
	return 0, fmt.Errorf("adapter: unknown subscription mode %q (want dynamic, static or dynamic-private)", string(m))
}

// StreamsConfig configures a streams Node. The zero value works; the
// defaults are those of @socket.io/redis-streams-adapter 0.3.1.
type StreamsConfig struct {
	// Config holds the settings every protocol shares: Prefix names the
	// Pub/Sub channels of requests and responses ("channelPrefix");
	// PublishOnSpecificResponseChannel does not apply.
	Config
	// StreamName is the Redis stream broadcasts go through.
	// default: "socket.io"
	StreamName string
	// StreamCount spreads namespaces over StreamName-0 ..
	// StreamName-(StreamCount-1) by a hash of their name, as Node does,
	// quirk included: a namespace whose hash is negative gets a negative
	// index (StreamName--3) that Node nodes never read; Parley reads it and
	// logs a warning. default: 1
	StreamCount int
	// MaxLen trims the stream approximately (XADD MAXLEN ~): a client can
	// recover only packets still in the stream. default: 10000
	MaxLen int64
	// ReadCount is the most entries one XREAD returns. default: 100
	ReadCount int64
	// BlockTime is how long one XREAD waits for new entries. default: 5s
	BlockTime time.Duration
	// SessionKeyPrefix starts the keys of persisted sessions.
	// default: "sio:session:"
	SessionKeyPrefix string
	// UseShardedPubSub sends requests and responses with SPUBLISH /
	// SSUBSCRIBE (Redis 7) instead of PUBLISH / SUBSCRIBE. default: false
	UseShardedPubSub bool
	// OnlyPlaintext writes stream data as JSON without looking for binary
	// (faster; binary arguments then arrive as JSON objects). default: false
	OnlyPlaintext bool
	// RestoreBatch is the COUNT of each XRANGE that reads the packets a
	// recovering client missed. default: 100
	RestoreBatch int64
	// RestoreLimit bounds how many stream entries one recovery reads; a
	// client that missed more is not recovered (it gets a new session,
	// which it can tell), rather than recovered with packets missing.
	// default: 10000
	RestoreLimit int64
}

func (c StreamsConfig) withDefaults() StreamsConfig {
	c.Config = c.Config.withDefaults()
	if c.StreamName == "" {
		c.StreamName = "socket.io"
	}
	if c.StreamCount <= 0 {
		c.StreamCount = 1
	}
	if c.MaxLen <= 0 {
		c.MaxLen = 10000
	}
	if c.ReadCount <= 0 {
		c.ReadCount = 100
	}
	if c.BlockTime <= 0 {
		c.BlockTime = 5 * time.Second
	}
	if c.SessionKeyPrefix == "" {
		c.SessionKeyPrefix = "sio:session:"
	}
	if c.RestoreBatch <= 0 {
		c.RestoreBatch = 100
	}
	if c.RestoreLimit <= 0 {
		c.RestoreLimit = 10000
	}
	return c
}

// NewStreams returns a Node speaking the protocol of
// @socket.io/redis-streams-adapter 0.3.1: broadcasts and room operations
// through a Redis stream (XADD MAXLEN ~, read by one dedicated XREAD BLOCK
// connection per stream that resumes from the last entry it read),
// requests and responses over Pub/Sub, and connection state recovery
// across nodes when the server enables it. rdb is a standalone (or
// Sentinel) client or a Cluster client; the Node never closes it.
func NewStreams(rdb redis.UniversalClient, cfg StreamsConfig) (*Node, error) {
	switch rdb.(type) {
	case nil:
		return nil, errNilClient
	case *redis.Client, *redis.ClusterClient:
	default:
		return nil, fmt.Errorf("adapter: the streams protocol needs a *redis.Client or *redis.ClusterClient (for its dedicated XREAD connection), got %T", rdb)
	}
	cfg = cfg.withDefaults()
	c := newCore(cfg.Config, true)
	c.tr = newStreams(c, rdb, cfg)
	return &Node{core: c}, nil
}

// NewAdapter creates the adapter of a namespace: set it as the server's
// socketio.Config.Adapter, which calls it once per namespace.
func (n *Node) NewAdapter(nsp *socketio.Namespace) socketio.Adapter { return n.core.newNamespace(nsp) }

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
