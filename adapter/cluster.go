package adapter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/internal/wire"
)

// transport is what a protocol (classic, sharded, streams) provides to the
// core: encoding, publishing and subscribing. It feeds what it receives to
// core.receive and core.receiveResponse.
type transport interface {
	// watch starts receiving the messages of namespace nsp; unwatch stops.
	// Each namespace is watched at most once at a time.
	watch(nsp string)
	unwatch(nsp string)
	// publish sends m to the other nodes, in the order of the calls. With
	// wait it returns once Redis took the message (with the message's
	// offset where the protocol has one); without, it returns at once and
	// failures are logged and counted.
	publish(m *wire.Message, wait bool) (offset string, err error)
	// respond sends r to the node that asked (requester is its uid).
	respond(requester, nsp string, r *wire.Response)
	// serverCount counts the nodes that serve nsp, this one included.
	serverCount(ctx context.Context, nsp string) (int64, error)
	// ready reports whether messages from the cluster are being received.
	ready() error
	// close stops the transport's goroutines after flushing, until ctx is
	// done, what waits to be published.
	close(ctx context.Context) error
}

// sessionStore is a transport that persists disconnected sessions in Redis
// and restores them on any node (streams).
type sessionStore interface {
	// persist stores s for window, without waiting.
	persist(s wire.Session, window time.Duration)
	// restore takes the session of pid and the packets of namespace nsp
	// sent to it after offset; result labels the outcome for the metrics.
	restore(ctx context.Context, nsp, pid, offset string) (s wire.Session, missed []any, result string, err error)
	// position is the stream id of the last entry read for nsp's stream,
	// "" before the first.
	position(nsp string) string
}

// roomSubscriber is a transport that subscribes per room (sharded, dynamic
// modes). Both calls come from the socket join and leave paths, so they must
// not wait on Redis.
type roomSubscriber interface {
	roomCreated(nsp, room string, private bool)
	roomDeleted(nsp, room string, private bool)
}

// core is the protocol-independent part of a Node: the namespaces'
// registry, request bookkeeping, and the dispatch of received messages.
type core struct {
	uid string
	// clusterProtocol is set for the ClusterAdapter protocol (sharded,
	// streams), which has no allRooms request.
	clusterProtocol bool
	cfg             Config
	log             *slog.Logger
	errs            *throttledLog // for errors that repeat while Redis is away
	bad             *throttledLog // for malformed messages
	unencodable     *throttledLog // for payloads the cluster cannot carry
	m               *metrics
	tr              transport
	reqs            *requests
	// responses runs response handling (user callbacks) off the subscriber.
	responses *inbox
	// inboxes counts the running inbox goroutines (see inbox.running).
	inboxes sync.WaitGroup

	mu     sync.RWMutex
	nsps   map[string]*NamespaceAdapter
	closed atomic.Bool
}

func newCore(cfg Config, clusterProtocol bool) *core {
	m := newMetrics(cfg.Registerer, cfg.Logger)
	c := &core{
		uid:             randomID(),
		clusterProtocol: clusterProtocol,
		cfg:             cfg,
		log:             cfg.Logger,
		m:               m,
		reqs:            newRequests(m),
		nsps:            make(map[string]*NamespaceAdapter),
	}
	c.responses = newInbox(cfg.Logger, &c.inboxes)
	c.log = c.log.With("node", c.uid)
	c.errs = newThrottledLog(c.log, 10*time.Second)
	c.bad = newThrottledLog(c.log, 10*time.Second)
	c.unencodable = newThrottledLog(c.log, 10*time.Second)
	return c
}

// randomID returns 16 hex characters, the form socket.io's cluster adapter
// uses for node and request ids.
func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// register makes a the adapter of its namespace. A second adapter for the
// same namespace (a namespace removed and made again, or a second server on
// the same Node) replaces the first without a second subscription, so the
// server count, which counts subscriptions, stays right.
func (c *core) register(a *NamespaceAdapter) {
	c.mu.Lock()
	old, existed := c.nsps[a.name]
	c.nsps[a.name] = a
	c.mu.Unlock()
	if existed && old.nsp.Server() != a.nsp.Server() {
		c.log.Error("adapter: one Node serves two socket.io servers; only the last one's namespace receives the cluster's messages (give each server its own Node)", "nsp", a.name)
	}
	if !existed && !c.closed.Load() {
		c.tr.watch(a.name)
	}
}

func (c *core) unregister(a *NamespaceAdapter) {
	c.mu.Lock()
	current := c.nsps[a.name] == a
	if current {
		delete(c.nsps, a.name)
	}
	c.mu.Unlock()
	if current && !c.closed.Load() {
		c.tr.unwatch(a.name)
	}
}

func (c *core) namespace(name string) *NamespaceAdapter {
	c.mu.RLock()
	a := c.nsps[name]
	c.mu.RUnlock()
	return a
}

// hasRoom reports whether a local socket of nsp is in room; the classic
// transport uses it to drop single-room broadcasts before decoding them.
func (c *core) hasRoom(nsp, room string) bool {
	a := c.namespace(nsp)
	if a == nil {
		return false
	}
	return a.HasRoom(room)
}

// receive queues a message from the cluster for its namespace. A node's own
// messages come back from Redis and are dropped here: the node applied them
// when it sent them (only their stream position is noted, in order).
func (c *core) receive(nsp string, m *wire.Message) {
	a := c.namespace(nsp)
	if a == nil {
		return
	}
	if m.UID == c.uid {
		c.receiveOwn(a, m.Offset)
		return
	}
	c.m.received.WithLabelValues(m.Kind.String()).Inc()
	a.inbox.add(func() { a.apply(m) })
}

// receiveOwn handles what this node sent coming back: only its stream
// offset matters, to sessions persisted from then on.
func (c *core) receiveOwn(a *NamespaceAdapter, offset string) {
	if offset != "" && a.recovery {
		a.inbox.add(func() { a.noteOffset(offset) })
	}
}

// receiveCluster decodes a ClusterAdapter message (the sharded and streams
// protocols' Pub/Sub) that came on a channel of namespace nsp. As in Node,
// a message names its namespace and must match the channel's.
func (c *core) receiveCluster(channel, nsp, payload string) {
	m, r, err := wire.DecodeCluster(payloadBytes(payload))
	switch {
	case errors.Is(err, wire.ErrUnsupported):
		c.log.Debug("adapter: ignored a message of an unknown type", "channel", channel)
	case err != nil:
		c.malformed(channel, err, len(payload))
	case r != nil:
		c.receiveResponse(r)
	case m.Nsp == nsp:
		c.receive(nsp, m)
	}
}

// receiveResponse hands a response to the request waiting for it.
func (c *core) receiveResponse(r *wire.Response) {
	c.m.received.WithLabelValues("response").Inc()
	c.responses.add(func() { c.reqs.deliver(r) })
}

// malformed counts and logs a message that could not be decoded.
func (c *core) malformed(channel string, err error, size int) {
	c.m.malformed.Inc()
	c.bad.log("adapter: dropped a malformed message", "channel", channel, "bytes", size, "err", err)
}

// publish sends m without waiting; the transport logs and counts Redis
// failures. The error is the encoding's (wrapping ErrUnencodable) or the
// queue's.
func (c *core) publish(m *wire.Message) error {
	if c.closed.Load() {
		return nil
	}
	_, err := c.tr.publish(m, false)
	return err
}

// publishWait sends m and waits until Redis took it, returning its stream
// offset (streams) or "".
func (c *core) publishWait(m *wire.Message) (string, error) {
	if c.closed.Load() {
		return "", ErrClosed
	}
	return c.tr.publish(m, true)
}

// respond answers a request of another node without waiting.
func (c *core) respond(requester, nsp string, r *wire.Response) {
	if c.closed.Load() {
		return
	}
	c.tr.respond(requester, nsp, r)
}

func (c *core) close(ctx context.Context) error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	c.mu.Lock()
	c.nsps = make(map[string]*NamespaceAdapter)
	c.mu.Unlock()
	c.reqs.closeAll(ErrClosed)
	// Closing the transport drops the subscription connection, which
	// unsubscribes every namespace at once.
	err := c.tr.close(ctx)
	// The subscriber has stopped, so no inbox gets new work: wait for what
	// is queued (which must not call Close, or it would wait for itself).
	c.inboxes.Wait()
	return err
}
