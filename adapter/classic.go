package adapter

import (
	"context"
	"errors"
	"strings"
	"sync"
	"unsafe"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/wire"
)

// channelRole tells what a subscribed channel or pattern carries.
type channelRole uint8

const (
	roleBroadcast channelRole = iota + 1 // the namespace's broadcast pattern
	roleRequest                          // its request channel
	roleResponse                         // its shared or node-specific response channel
)

// route maps a subscribed channel or pattern to its namespace.
type route struct {
	nsp  string
	role channelRole
}

// classic is the transport of @socket.io/redis-adapter's createAdapter:
// broadcasts as msgpack [uid, packet, opts] on "{prefix}#{nsp}#" (or the
// room's own channel), requests and responses as JSON (msgpack for acked
// broadcasts) on "{prefix}-request#{nsp}#" and "{prefix}-response#{nsp}#".
//
// Unlike the Node adapter, which subscribes one connection per namespace,
// every namespace shares the subscriber's connection; what Redis counts per
// namespace (one request-channel subscriber per node) stays the same.
type classic struct {
	c     *core
	rdb   redis.UniversalClient
	names wire.Classic
	pub   *publisher
	sub   *subscriber
	// specific sends responses to the requester's own channel.
	specific bool

	mu     sync.RWMutex
	routes map[string]route // by channel (SUBSCRIBE) or pattern (PSUBSCRIBE)
}

func newClassic(c *core, rdb redis.UniversalClient, cfg Config) *classic {
	t := &classic{
		c:        c,
		rdb:      rdb,
		names:    wire.Classic{Prefix: cfg.Prefix},
		pub:      newPublisher(rdb, cfg.PublishQueue, nil, c.m, c.log),
		specific: cfg.PublishOnSpecificResponseChannel,
		routes:   make(map[string]route),
	}
	t.sub = newSubscriber(rdb, false, t.onMessage, cfg.HealthCheckInterval, subscriberHooks{state: t.stateChanged}, c.m, c.log)
	return t
}

func (t *classic) stateChanged() { t.c.m.setSubscribed(t.sub.up()) }

// pattern is the namespace's broadcast pattern, with the glob characters of
// the prefix and name escaped so it matches this namespace's channels only.
// (Node does not escape; its pattern may match more, which it then filters.)
func (t *classic) pattern(nsp string) string {
	return globEscaper.Replace(t.names.BroadcastChannel(nsp)) + "*"
}

var globEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)

func (t *classic) channels(nsp string) []string {
	return []string{
		t.names.RequestChannel(nsp),
		t.names.ResponseChannel(nsp),
		t.names.NodeResponseChannel(nsp, t.c.uid),
	}
}

func (t *classic) watch(nsp string) {
	pattern, channels := t.pattern(nsp), t.channels(nsp)
	t.mu.Lock()
	t.routes[pattern] = route{nsp, roleBroadcast}
	t.routes[channels[0]] = route{nsp, roleRequest}
	t.routes[channels[1]] = route{nsp, roleResponse}
	t.routes[channels[2]] = route{nsp, roleResponse}
	t.mu.Unlock()
	t.sub.add(channels, []string{pattern})
}

func (t *classic) unwatch(nsp string) {
	pattern, channels := t.pattern(nsp), t.channels(nsp)
	t.mu.Lock()
	delete(t.routes, pattern)
	for _, ch := range channels {
		delete(t.routes, ch)
	}
	t.mu.Unlock()
	t.sub.remove(channels, []string{pattern})
}

// onMessage dispatches what the subscriber receives. It runs on the
// subscriber's goroutine: it decodes and queues, nothing more.
func (t *classic) onMessage(msg *redis.Message) {
	key := msg.Channel
	if msg.Pattern != "" {
		key = msg.Pattern
	}
	t.mu.RLock()
	r, ok := t.routes[key]
	t.mu.RUnlock()
	if !ok {
		return // a namespace unsubscribed while the message was on its way
	}
	switch r.role {
	case roleBroadcast:
		t.onBroadcast(r.nsp, msg.Channel, msg.Payload)
	case roleRequest:
		t.onRequest(r.nsp, msg.Channel, msg.Payload)
	case roleResponse:
		t.onResponse(msg.Channel, msg.Payload)
	}
}

// payloadBytes views a payload without copying it; the decoders only read
// their input and copy what they keep.
func payloadBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func (t *classic) onBroadcast(nsp, channel, payload string) {
	room, ok := t.names.ChannelRoom(nsp, channel)
	if !ok {
		return
	}
	// A single-room broadcast is dropped unread when no local socket is in
	// the room: with the pattern subscription every node receives every
	// broadcast, and most rooms live on few nodes.
	if room != "" && !t.c.hasRoom(nsp, room) {
		if alt, numeric := wire.NumericRoom(room); !numeric || !t.c.hasRoom(nsp, alt) {
			t.c.m.received.WithLabelValues("skipped").Inc()
			return
		}
	}
	if wire.ClassicBroadcastFrom(payloadBytes(payload), t.c.uid) {
		return // this node's own broadcast, delivered when it was sent
	}
	m, err := wire.DecodeClassicBroadcast(payloadBytes(payload))
	if err != nil {
		t.c.malformed(channel, err, len(payload))
		return
	}
	if m.Nsp != nsp {
		return // another namespace's message on a channel matching ours
	}
	t.c.receive(nsp, m)
}

func (t *classic) onRequest(nsp, channel, payload string) {
	m, err := wire.DecodeClassicRequest(payloadBytes(payload))
	if errors.Is(err, wire.ErrUnsupported) {
		t.c.log.Debug("adapter: ignored a request of an unknown type", "channel", channel)
		return
	}
	if err != nil {
		t.c.malformed(channel, err, len(payload))
		return
	}
	m.Nsp = nsp // classic requests name their namespace by channel only
	t.c.receive(nsp, m)
}

func (t *classic) onResponse(channel, payload string) {
	r, err := wire.DecodeClassicResponse(payloadBytes(payload))
	if err != nil {
		t.c.malformed(channel, err, len(payload))
		return
	}
	t.c.receiveResponse(r)
}

// publish encodes m in the caller's goroutine and queues it.
func (t *classic) publish(m *wire.Message, wait bool) (string, error) {
	var (
		channel string
		payload []byte
		err     error
	)
	if m.Kind == wire.Broadcast && m.RequestID == "" {
		channel = t.names.BroadcastTarget(m)
		payload, err = wire.EncodeClassicBroadcast(m)
	} else {
		channel = t.names.RequestChannel(m.Nsp)
		payload, err = wire.EncodeClassicRequest(m)
	}
	if err != nil {
		return "", unencodable(err)
	}
	pub := &publication{op: opPublish, key: channel, payload: payload, kind: m.Kind.String()}
	return t.pub.send(pub, wait)
}

// respond sends r to the shared response channel, or to the requester's own
// one when so configured. Server-side emit acks always go to the shared
// channel, as Node's adapter sends them.
func (t *classic) respond(requester, nsp string, r *wire.Response) {
	payload, err := wire.EncodeClassicResponse(r)
	if err != nil {
		t.c.refuseResponse(nsp, r, err)
		return
	}
	channel := t.names.ResponseChannel(nsp)
	if t.specific && requester != "" && r.Kind != wire.ServerSideEmitAck {
		channel = t.names.NodeResponseChannel(nsp, requester)
	}
	_, _ = t.pub.send(&publication{op: opPublish, key: channel, payload: payload, kind: "response"}, false)
}

// serverCount is PUBSUB NUMSUB of the namespace's request channel, summed
// over the nodes of a Redis Cluster: the masters, where subscriptions made
// by channel land (see subscriber.waitForChannels), and the replicas go-redis
// knows of, where a ReadOnly client's land.
func (t *classic) serverCount(ctx context.Context, nsp string) (int64, error) {
	return countSubscribers(ctx, t.rdb, t.names.RequestChannel(nsp), false)
}

func (t *classic) ready() error { return t.sub.ready() }

// close drops the subscription connection (and with it every subscription),
// then sends what waits to be published.
func (t *classic) close(ctx context.Context) error {
	t.sub.close()
	return t.pub.close(ctx)
}
