package adapter

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/wire"
)

// streams is the transport of @socket.io/redis-streams-adapter 0.3: the
// messages every node must get (broadcasts without acks, joins, leaves,
// disconnects) go through a Redis stream, read by one reader per stream from
// the last entry it read, so a Redis outage or a slow node loses nothing
// still in the stream; requests and responses, which are only useful while
// their requester waits, go over Pub/Sub as msgpack, on "{prefix}#{nsp}#"
// and "{prefix}#{nsp}#{uid}#".
//
// Footgun shared with Node: "socket.io#/#" is also the classic adapter's
// broadcast channel; never run both protocols with one prefix on one Redis.
type streams struct {
	c     *core
	rdb   redis.UniversalClient
	cfg   StreamsConfig
	names wire.Cluster
	pub   *publisher
	sub   subscription

	mu      sync.Mutex
	routes  map[string]string        // subscribed channel → namespace
	readers map[string]*streamReader // by stream
	closed  bool
}

var _ sessionStore = (*streams)(nil)

func newStreams(c *core, rdb redis.UniversalClient, cfg StreamsConfig) *streams {
	t := &streams{
		c:       c,
		rdb:     rdb,
		cfg:     cfg,
		names:   wire.Cluster{Prefix: cfg.Prefix},
		pub:     newPublisher(rdb, cfg.PublishQueue, nil, c.m, c.log),
		routes:  make(map[string]string),
		readers: make(map[string]*streamReader),
	}
	hooks := subscriberHooks{state: t.stateChanged}
	if cc, ok := rdb.(*redis.ClusterClient); ok && cfg.UseShardedPubSub {
		t.sub = newShardLinks(cc, t.onMessage, cfg.HealthCheckInterval, t.stateChanged, c.m, c.log)
	} else {
		t.sub = newSubscriber(rdb, cfg.UseShardedPubSub, t.onMessage, cfg.HealthCheckInterval, hooks, c.m, c.log)
	}
	return t
}

// stateChanged sets the subscribed gauge: 1 while the Pub/Sub connection
// and every stream reader work.
func (t *streams) stateChanged() {
	up := t.sub.up()
	t.mu.Lock()
	for _, r := range t.readers {
		up = up && r.failure() == nil
	}
	t.mu.Unlock()
	t.c.m.setSubscribed(up)
}

func (t *streams) stream(nsp string) string {
	return wire.StreamName(t.cfg.StreamName, t.cfg.StreamCount, nsp)
}

// watch subscribes to the namespace's channels and makes sure its stream
// is read. Readers run until the Node closes: a namespace that comes back
// finds its stream's reader where it was.
func (t *streams) watch(nsp string) {
	channels := []string{t.names.Channel(nsp), t.names.NodeChannel(nsp, t.c.uid)}
	stream := t.stream(nsp)
	if wire.NegativeStream(t.cfg.StreamCount, nsp) {
		t.c.log.Warn("adapter: this namespace's stream has a negative index, which Node.js nodes never read (a quirk of @socket.io/redis-streams-adapter): their clients miss its broadcasts; choose another StreamCount",
			"nsp", nsp, "stream", stream)
	}
	t.mu.Lock()
	for _, ch := range channels {
		t.routes[ch] = nsp
	}
	if _, ok := t.readers[stream]; !ok && !t.closed {
		t.readers[stream] = startStreamReader(t, stream)
	}
	t.mu.Unlock()
	t.sub.add(channels, nil)
}

func (t *streams) unwatch(nsp string) {
	channels := []string{t.names.Channel(nsp), t.names.NodeChannel(nsp, t.c.uid)}
	t.mu.Lock()
	for _, ch := range channels {
		delete(t.routes, ch)
	}
	t.mu.Unlock()
	t.sub.remove(channels, nil)
}

// onMessage hands a request or response from Pub/Sub to the core.
func (t *streams) onMessage(msg *redis.Message) {
	t.mu.Lock()
	nsp, ok := t.routes[msg.Channel]
	t.mu.Unlock()
	if ok {
		t.c.receiveCluster(msg.Channel, nsp, msg.Payload)
	}
}

// onEntry hands a stream entry to its namespace; the entry id is its
// offset. Entries without a namespace are not messages (Node skips them
// too). This node's own entries are not decoded: only their offset counts.
func (t *streams) onEntry(stream string, e redis.XMessage) {
	nsp, _ := e.Values["nsp"].(string)
	if nsp == "" {
		return
	}
	if uid, _ := e.Values["uid"].(string); uid == t.c.uid {
		if a := t.c.namespace(nsp); a != nil {
			t.c.receiveOwn(a, e.ID)
		}
		return
	}
	m, err := wire.DecodeStreamEntry(e.Values)
	switch {
	case errors.Is(err, wire.ErrUnsupported):
		t.c.log.Debug("adapter: ignored a stream entry of an unknown type", "stream", stream, "id", e.ID)
	case err != nil:
		t.c.malformed(stream, err, 0)
	default:
		m.Offset = e.ID
		t.c.receive(m.Nsp, m)
	}
}

// ephemeral reports whether m goes over Pub/Sub rather than the stream:
// what only matters while its sender waits.
func ephemeral(m *wire.Message) bool {
	switch m.Kind {
	case wire.FetchSockets, wire.ServerSideEmit:
		return true
	case wire.Broadcast:
		return m.RequestID != ""
	}
	return false
}

func (t *streams) publish(m *wire.Message, wait bool) (string, error) {
	var pub *publication
	if ephemeral(m) {
		payload, err := wire.EncodeStreamsMessage(m)
		if err != nil {
			return "", unencodable(err)
		}
		pub = &publication{op: t.pubsubOp(), key: t.names.Channel(m.Nsp), payload: payload, kind: m.Kind.String()}
	} else {
		fields, err := wire.StreamFields(m, t.cfg.OnlyPlaintext)
		if err != nil {
			return "", unencodable(err)
		}
		pub = &publication{op: opXAdd, key: t.stream(m.Nsp), fields: fields, maxLen: t.cfg.MaxLen, kind: m.Kind.String()}
	}
	return t.pub.send(pub, wait)
}

func (t *streams) pubsubOp() pubOp {
	if t.cfg.UseShardedPubSub {
		return opSPublish
	}
	return opPublish
}

func (t *streams) respond(requester, nsp string, r *wire.Response) {
	r.UID, r.Nsp = t.c.uid, nsp
	payload, err := wire.EncodeStreamsResponse(r)
	if err != nil {
		t.c.refuseResponse(nsp, r, err)
		return
	}
	_, _ = t.pub.send(&publication{op: t.pubsubOp(), key: t.names.NodeChannel(nsp, requester), payload: payload, kind: "response"}, false)
}

// serverCount is PUBSUB NUMSUB (SHARDNUMSUB with sharded Pub/Sub) of the
// namespace's main channel.
func (t *streams) serverCount(ctx context.Context, nsp string) (int64, error) {
	return countSubscribers(ctx, t.rdb, t.names.Channel(nsp), t.cfg.UseShardedPubSub)
}

// ready requires the Pub/Sub subscriptions and every stream reader.
func (t *streams) ready() error {
	if err := t.sub.ready(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for stream, r := range t.readers {
		if err := r.failure(); err != nil {
			return fmt.Errorf("adapter: reading stream %s: %w", stream, err)
		}
	}
	return nil
}

// position is the id of the last entry the reader of nsp's stream read.
func (t *streams) position(nsp string) string {
	t.mu.Lock()
	r := t.readers[t.stream(nsp)]
	t.mu.Unlock()
	if r == nil {
		return ""
	}
	return r.position()
}

func (t *streams) close(ctx context.Context) error {
	t.mu.Lock()
	t.closed = true
	readers := t.readers
	t.readers = map[string]*streamReader{}
	t.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.stop()
		}()
	}
	wg.Wait()
	t.sub.close()
	return t.pub.close(ctx)
}
