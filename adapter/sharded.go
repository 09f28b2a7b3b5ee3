package adapter

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/wire"
)

// sharded is the transport of @socket.io/redis-adapter's
// createShardedAdapter: ClusterAdapter messages, JSON (msgpack when they
// carry binary), over sharded Pub/Sub. Each namespace has a main channel
// "{prefix}#{nsp}#" that every node subscribes to and where everything but
// single-room broadcasts goes, and each node a response channel
// "{prefix}#{nsp}#{uid}#"; in the dynamic modes each room has a channel too,
// subscribed by the nodes that have local members in it.
type sharded struct {
	c     *core
	rdb   redis.UniversalClient
	names wire.Cluster
	mode  wire.ShardedMode
	pub   *publisher
	sub   subscription
	// rooms runs the room channels' (un)subscriptions in order, off the
	// socket join and leave paths.
	rooms *inbox
	// stuck and stuckAt (the tasks rooms had run) are roomsWritten's, on
	// the publisher's goroutine.
	stuck   bool
	stuckAt uint64
	slow    *throttledLog

	mu     sync.RWMutex
	routes map[string]string              // subscribed channel → namespace
	dyn    map[string]map[string]struct{} // namespace → its subscribed room channels
}

var _ roomSubscriber = (*sharded)(nil)

func newSharded(c *core, rdb redis.UniversalClient, cfg Config, mode wire.ShardedMode) *sharded {
	t := &sharded{
		c:      c,
		rdb:    rdb,
		names:  wire.Cluster{Prefix: cfg.Prefix},
		mode:   mode,
		rooms:  newInbox(c.log, &c.inboxes),
		slow:   newThrottledLog(c.log, 10*time.Second),
		routes: make(map[string]string),
		dyn:    make(map[string]map[string]struct{}),
	}
	var before func()
	if mode != wire.ShardedStatic {
		before = t.roomsWritten
	}
	t.pub = newPublisher(rdb, cfg.PublishQueue, before, c.m, c.log)
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		t.sub = newShardLinks(cc, t.onMessage, cfg.HealthCheckInterval, t.stateChanged, c.m, c.log)
	} else {
		t.sub = newSubscriber(rdb, true, t.onMessage, cfg.HealthCheckInterval, subscriberHooks{state: t.stateChanged}, c.m, c.log)
	}
	return t
}

// roomGate bounds how long a pipeline of publications waits for room
// subscriptions (a subscription write is itself bounded by commandTimeout).
const roomGate = time.Second

// roomsWritten holds a pipeline of this node's publications until the room
// channel subscriptions requested before them are written to Redis. When a
// socket joins a room and is then announced (the chat's "user connected",
// a fetchSockets answer listing it), Redis thereby has the subscription
// before the announcement, so a broadcast to the room that another node
// sends in reaction reaches the new member; without the hold the reaction
// could reach Redis first and miss it, as it can with Node's sharded
// adapter. When Redis is too slow to take the subscription in time, the
// pipeline goes anyway, and while that write stays stuck (Redis
// unreachable) later pipelines do not wait again.
func (t *sharded) roomsWritten() {
	if t.stuck {
		if t.rooms.ranCount() == t.stuckAt {
			return
		}
		t.stuck = false
	}
	if !t.rooms.flushed(roomGate) {
		t.stuck, t.stuckAt = true, t.rooms.ranCount()
		t.slow.log("adapter: room subscriptions are slow to reach Redis; publishing without waiting for them", "waited", roomGate)
	}
}

func (t *sharded) stateChanged() { t.c.m.setSubscribed(t.sub.up()) }

func (t *sharded) watch(nsp string) {
	channels := []string{t.names.Channel(nsp), t.names.NodeChannel(nsp, t.c.uid)}
	t.mu.Lock()
	for _, ch := range channels {
		t.routes[ch] = nsp
	}
	t.dyn[nsp] = make(map[string]struct{})
	t.mu.Unlock()
	t.sub.add(channels, nil)
}

func (t *sharded) unwatch(nsp string) {
	channels := []string{t.names.Channel(nsp), t.names.NodeChannel(nsp, t.c.uid)}
	t.mu.Lock()
	for ch := range t.dyn[nsp] {
		channels = append(channels, ch)
	}
	delete(t.dyn, nsp)
	for _, ch := range channels {
		delete(t.routes, ch)
	}
	t.mu.Unlock()
	t.sub.remove(channels, nil)
}

// hasChannel reports whether this node listens to the room's own channel
// while it has local members. Node's rule in dynamic mode is "rooms that are
// not socket ids", and its senders tell socket ids by their length (20
// characters, Node's socket ids). The library's socket ids are 24
// characters long, so every sender, Node or Parley, publishes a broadcast to
// one Parley socket on that socket's channel: a Parley node therefore also
// listens to the channels of its sockets whose ids do not look like socket
// ids (one shard channel per socket, as in dynamic-private mode).
func (t *sharded) hasChannel(room string, private bool) bool {
	switch t.mode {
	case wire.ShardedDynamicPrivate:
		return true
	case wire.ShardedDynamic:
		return !private || !wire.LooksLikeSocketID(room)
	}
	return false
}

func (t *sharded) roomCreated(nsp, room string, private bool) {
	if !t.hasChannel(room, private) {
		return
	}
	ch := t.names.RoomChannel(nsp, room)
	t.rooms.add(func() {
		t.mu.Lock()
		set, watched := t.dyn[nsp]
		_, had := set[ch]
		if watched && !had {
			set[ch] = struct{}{}
			t.routes[ch] = nsp
		}
		t.mu.Unlock()
		if watched && !had {
			t.sub.add([]string{ch}, nil)
		}
	})
}

func (t *sharded) roomDeleted(nsp, room string, private bool) {
	if !t.hasChannel(room, private) {
		return
	}
	ch := t.names.RoomChannel(nsp, room)
	t.rooms.add(func() {
		t.mu.Lock()
		_, had := t.dyn[nsp][ch]
		if had {
			delete(t.dyn[nsp], ch)
			delete(t.routes, ch)
		}
		t.mu.Unlock()
		if had {
			t.sub.remove([]string{ch}, nil)
		}
	})
}

// onMessage hands what a subscription receives, on its goroutine, to the
// core with the channel's namespace.
func (t *sharded) onMessage(msg *redis.Message) {
	t.mu.RLock()
	nsp, ok := t.routes[msg.Channel]
	t.mu.RUnlock()
	if ok { // else unsubscribed while the message was on its way
		t.c.receiveCluster(msg.Channel, nsp, msg.Payload)
	}
}

func (t *sharded) publish(m *wire.Message, wait bool) (string, error) {
	payload, err := wire.EncodeShardedMessage(m)
	if err != nil {
		return "", unencodable(err)
	}
	return t.pub.send(&publication{op: opSPublish, key: t.names.ShardedChannel(m, t.mode), payload: payload, kind: m.Kind.String()}, wait)
}

func (t *sharded) respond(requester, nsp string, r *wire.Response) {
	r.UID, r.Nsp = t.c.uid, nsp
	payload, err := wire.EncodeShardedResponse(r)
	if err != nil {
		t.c.refuseResponse(nsp, r, err)
		return
	}
	_, _ = t.pub.send(&publication{op: opSPublish, key: t.names.NodeChannel(nsp, requester), payload: payload, kind: "response"}, false)
}

// serverCount is PUBSUB SHARDNUMSUB of the main channel, summed over the
// masters of a Redis Cluster (only the master owning the channel's slot
// counts subscribers; the others answer 0), as Node sums it.
func (t *sharded) serverCount(ctx context.Context, nsp string) (int64, error) {
	return countSubscribers(ctx, t.rdb, t.names.Channel(nsp), true)
}

// countSubscribers is PUBSUB NUMSUB (or SHARDNUMSUB) of channel. On a Redis
// Cluster it sums the masters' answers and, for classic channels, the
// replicas' too (a ReadOnly client subscribes there).
func countSubscribers(ctx context.Context, rdb redis.UniversalClient, channel string, shard bool) (int64, error) {
	count := func(ctx context.Context, c redis.UniversalClient) (int64, error) {
		var (
			n   map[string]int64
			err error
		)
		if shard {
			n, err = c.PubSubShardNumSub(ctx, channel).Result()
		} else {
			n, err = c.PubSubNumSub(ctx, channel).Result()
		}
		return n[channel], err
	}
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		return count(ctx, rdb)
	}
	var total atomic.Int64
	each := cc.ForEachShard
	if shard {
		each = cc.ForEachMaster
	}
	err := each(ctx, func(ctx context.Context, node *redis.Client) error {
		n, err := count(ctx, node)
		total.Add(n)
		return err
	})
	return total.Load(), err
}

func (t *sharded) ready() error { return t.sub.ready() }

func (t *sharded) close(ctx context.Context) error {
	t.sub.close()
	return t.pub.close(ctx)
}
