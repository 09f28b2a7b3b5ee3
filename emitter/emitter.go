// Package emitter sends events and commands to a Socket.IO cluster through
// Redis from a process that is not part of it (a worker, a job, another
// service). New speaks the classic protocol, as the Node.js
// @socket.io/redis-emitter 5.1 does; NewSharded and NewStreams speak the
// ClusterAdapter protocol of the sharded and streams adapters, which no
// Node emitter on npm reaches. Parley nodes and Node.js nodes running the
// matching adapter act on what it publishes.
//
//	ns, err := emitter.New(rdb, emitter.Config{})          // or NewSharded, NewStreams
//	err = ns.To("room1").Except("room2").Emit(ctx, "news", "hello")
//	err = ns.Of("/admin").In("room1").SocketsJoin(ctx, "room3")
//
// An emitter only publishes: it never subscribes, so it is not counted as a
// server of the cluster, and it cannot receive acknowledgements.
//
// Concurrency: a Namespace or Broadcast is immutable; every modifier
// returns a new value, and all methods are safe for concurrent use.
package emitter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/wire"
)

// Config configures an emitter. The zero value works.
type Config struct {
	// Prefix starts every channel name; it must match the cluster's
	// adapters (their "key" option).
	// default: "socket.io"
	Prefix string
}

// reservedEvents are the event names socket.io reserves on sockets; Node's
// emitter refuses them too.
var reservedEvents = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true,
	"disconnecting": true, "newListener": true, "removeListener": true,
}

// reservedServerEvents are the names a namespace reserves for its own
// events; a server-side event so named would reach their listeners.
var reservedServerEvents = map[string]bool{"connect": true, "connection": true, "new_namespace": true}

// ErrAck is returned when an argument is a function: an emitter cannot
// receive acknowledgements.
var ErrAck = errors.New("emitter: acknowledgements are not supported")

// Namespace emits to one namespace of the cluster ("/" unless Of chose
// another).
type Namespace struct {
	rdb redis.UniversalClient
	f   format
	nsp string
}

// New returns an emitter for the main namespace "/" of the cluster whose
// classic adapters use rdb (standalone, Sentinel or Cluster client; the
// emitter never closes it).
func New(rdb redis.UniversalClient, cfg Config) (*Namespace, error) {
	if rdb == nil {
		return nil, errNilClient
	}
	return &Namespace{rdb: rdb, f: classicFormat{names: wire.Classic{Prefix: cfg.Prefix}}, nsp: "/"}, nil
}

var errNilClient = errors.New("emitter: nil Redis client")

// ShardedConfig configures an emitter for sharded adapters. The zero value
// works.
type ShardedConfig struct {
	// Prefix must match the adapters' channel prefix.
	// default: "socket.io"
	Prefix string
	// SubscriptionMode must match the adapters' ("dynamic", "static" or
	// "dynamic-private"): it decides on which channel a broadcast to one
	// room goes, as the adapters decide. Broadcasts to several rooms or to
	// everyone, and every other command, go to the namespace's main
	// channel, so they reach the nodes in the order they were sent.
	// default: "dynamic"
	SubscriptionMode string
}

// NewSharded returns an emitter for the main namespace "/" of a cluster of
// sharded adapters (@socket.io/redis-adapter's createShardedAdapter, or
// Parley's adapter.NewSharded): ClusterAdapter messages with the uid
// "emitter", SPUBLISHed.
func NewSharded(rdb redis.UniversalClient, cfg ShardedConfig) (*Namespace, error) {
	if rdb == nil {
		return nil, errNilClient
	}
	f := shardedFormat{names: wire.Cluster{Prefix: cfg.Prefix}}
	switch cfg.SubscriptionMode {
	case "", "dynamic":
		f.mode = wire.ShardedDynamic
	case "static":
		f.mode = wire.ShardedStatic
	case "dynamic-private":
		f.mode = wire.ShardedDynamicPrivate
	default:
		return nil, fmt.Errorf("emitter: unknown subscription mode %q (want dynamic, static or dynamic-private)", cfg.SubscriptionMode)
	}
	return &Namespace{rdb: rdb, f: f, nsp: "/"}, nil
}

// StreamsConfig configures an emitter for streams adapters. The zero value
// works; it must match the adapters' settings.
type StreamsConfig struct {
	// StreamName is the adapters' stream. default: "socket.io"
	StreamName string
	// StreamCount is the adapters' number of streams. default: 1
	StreamCount int
	// MaxLen trims the stream approximately, as the adapters do.
	// default: 10000
	MaxLen int64
}

// NewStreams returns an emitter for the main namespace "/" of a cluster of
// streams adapters (@socket.io/redis-streams-adapter, or Parley's
// adapter.NewStreams): every command is a stream entry with the uid
// "emitter", the format of the monorepo's @socket.io/redis-streams-emitter.
// Being in the stream, its broadcasts are recoverable by clients that
// missed them.
func NewStreams(rdb redis.UniversalClient, cfg StreamsConfig) (*Namespace, error) {
	if rdb == nil {
		return nil, errNilClient
	}
	if cfg.StreamName == "" {
		cfg.StreamName = "socket.io"
	}
	if cfg.StreamCount <= 0 {
		cfg.StreamCount = 1
	}
	if cfg.MaxLen <= 0 {
		cfg.MaxLen = 10000
	}
	return &Namespace{rdb: rdb, f: streamsFormat(cfg), nsp: "/"}, nil
}

// Of returns an emitter for namespace nsp; a missing leading "/" is added,
// as Node's emitter does.
func (n *Namespace) Of(nsp string) *Namespace {
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	return &Namespace{rdb: n.rdb, f: n.f, nsp: nsp}
}

// Name returns the namespace's name.
func (n *Namespace) Name() string { return n.nsp }

func (n *Namespace) all() *Broadcast { return &Broadcast{ns: n} }

// To targets sockets in any of rooms.
func (n *Namespace) To(rooms ...string) *Broadcast { return n.all().To(rooms...) }

// In is To.
func (n *Namespace) In(rooms ...string) *Broadcast { return n.all().To(rooms...) }

// Except leaves out sockets in any of rooms.
func (n *Namespace) Except(rooms ...string) *Broadcast { return n.all().Except(rooms...) }

// Volatile marks the next event as droppable by nodes whose client is not
// ready for it.
func (n *Namespace) Volatile() *Broadcast { return n.all().Volatile() }

// Compress sets whether the nodes compress the next event.
func (n *Namespace) Compress(compress bool) *Broadcast { return n.all().Compress(compress) }

// Emit sends event with args to every socket of the namespace.
func (n *Namespace) Emit(ctx context.Context, event string, args ...any) error {
	return n.all().Emit(ctx, event, args...)
}

// SocketsJoin makes every socket of the namespace join rooms.
func (n *Namespace) SocketsJoin(ctx context.Context, rooms ...string) error {
	return n.all().SocketsJoin(ctx, rooms...)
}

// SocketsLeave makes every socket of the namespace leave rooms.
func (n *Namespace) SocketsLeave(ctx context.Context, rooms ...string) error {
	return n.all().SocketsLeave(ctx, rooms...)
}

// DisconnectSockets disconnects every socket of the namespace; with
// closeConn, their underlying connections too.
func (n *Namespace) DisconnectSockets(ctx context.Context, closeConn bool) error {
	return n.all().DisconnectSockets(ctx, closeConn)
}

// ServerSideEmit sends event with args to the namespace's server-side
// listeners on every node (socket.io's serverSideEmit, without acks).
func (n *Namespace) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	if reservedServerEvents[event] {
		return fmt.Errorf("emitter: %q is a reserved event name", event)
	}
	if slices.ContainsFunc(args, isFunc) {
		return ErrAck
	}
	data, err := payload(wire.Payload, event, args)
	if err != nil {
		return err
	}
	m := &wire.Message{Kind: wire.ServerSideEmit, UID: wire.EmitterUID, Nsp: n.nsp, Data: data}
	return n.f.publish(ctx, n.rdb, m)
}

// Broadcast emits to the sockets its rooms select.
type Broadcast struct {
	ns     *Namespace
	rooms  []string
	except []string
	flags  wire.Flags
}

func (b *Broadcast) clone() *Broadcast {
	c := *b
	c.rooms = append([]string(nil), b.rooms...)
	c.except = append([]string(nil), b.except...)
	return &c
}

// To adds rooms to the target: sockets in any of them.
func (b *Broadcast) To(rooms ...string) *Broadcast {
	c := b.clone()
	c.rooms = appendNew(c.rooms, rooms)
	return c
}

// In is To.
func (b *Broadcast) In(rooms ...string) *Broadcast { return b.To(rooms...) }

// Except leaves out sockets in any of rooms.
func (b *Broadcast) Except(rooms ...string) *Broadcast {
	c := b.clone()
	c.except = appendNew(c.except, rooms)
	return c
}

// Volatile marks the event as droppable by nodes whose client is not ready
// for it.
func (b *Broadcast) Volatile() *Broadcast {
	c := b.clone()
	c.flags.Volatile = true
	return c
}

// Compress sets whether the nodes compress the event.
func (b *Broadcast) Compress(compress bool) *Broadcast {
	c := b.clone()
	c.flags.Compress = &compress
	return c
}

func (b *Broadcast) message(kind wire.Kind) *wire.Message {
	return &wire.Message{Kind: kind, Nsp: b.ns.nsp, Opts: wire.Options{Rooms: b.rooms, Except: b.except, Flags: b.flags}}
}

// Emit sends event with args to the target sockets, as a Parley node
// sends what its handlers emit: byte buffers (the socket.io library's
// *types.BytesBuffer, *bytes.Buffer, other readers) as binary, numbers as
// JavaScript reads them (integers beyond ±2^53 as the nearest double),
// structs as encoding/json writes them. Arguments the cluster cannot carry
// (channels, complex numbers, structs whose content would be lost, values
// nested more than 1,000 levels deep, more than 10 binary attachments,
// which socket.io clients refuse) are an error, and nothing is published.
func (b *Broadcast) Emit(ctx context.Context, event string, args ...any) error {
	if reservedEvents[event] {
		return fmt.Errorf("emitter: %q is a reserved event name", event)
	}
	if slices.ContainsFunc(args, isFunc) {
		return ErrAck
	}
	data, err := payload(wire.BroadcastPayload, event, args)
	if err != nil {
		return err
	}
	m := b.message(wire.Broadcast)
	m.UID = wire.EmitterUID
	m.Data = data
	return b.ns.f.publish(ctx, b.ns.rdb, m)
}

// payload makes an event's arguments what a Parley node would send for
// them (see wire.Payload): byte buffers and readers as binary, numbers as
// JavaScript reads them, structs as encoding/json writes them. build is
// wire.BroadcastPayload for what goes to clients (more binary attachments
// than socket.io clients accept are refused, as a node refuses them), and
// wire.Payload for what goes to servers.
func payload(build func([]any) ([]any, error), event string, args []any) ([]any, error) {
	data, err := build(append([]any{event}, args...))
	if err != nil {
		return nil, fmt.Errorf("emitter: %q: %w", event, err)
	}
	return data, nil
}

// SocketsJoin makes the target sockets join rooms.
func (b *Broadcast) SocketsJoin(ctx context.Context, rooms ...string) error {
	m := b.message(wire.SocketsJoin)
	m.Rooms = rooms
	return b.ns.f.publish(ctx, b.ns.rdb, m)
}

// SocketsLeave makes the target sockets leave rooms.
func (b *Broadcast) SocketsLeave(ctx context.Context, rooms ...string) error {
	m := b.message(wire.SocketsLeave)
	m.Rooms = rooms
	return b.ns.f.publish(ctx, b.ns.rdb, m)
}

// DisconnectSockets disconnects the target sockets; with closeConn, their
// underlying connections too.
func (b *Broadcast) DisconnectSockets(ctx context.Context, closeConn bool) error {
	m := b.message(wire.DisconnectSockets)
	m.Close = closeConn
	return b.ns.f.publish(ctx, b.ns.rdb, m)
}

// appendNew appends the rooms not in list yet (rooms are a set, as in
// Node's operators).
func appendNew(list, rooms []string) []string {
	for _, r := range rooms {
		if !slices.Contains(list, r) {
			list = append(list, r)
		}
	}
	return list
}
