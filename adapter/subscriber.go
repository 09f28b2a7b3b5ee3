package adapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Subscription supervision limits.
const (
	minBackoff = 100 * time.Millisecond // first wait before reconnecting
	maxBackoff = 2 * time.Second        // longest wait between attempts
	// commandTimeout bounds one (un)subscribe exchange, dial included.
	commandTimeout = 5 * time.Second
)

// PING payloads: a session's first PING follows its subscription of
// everything (sessionPrefix and the change number it covers), later changes
// each send one (seqPrefix and their number), the health check its own.
const (
	sessionPrefix = "parley-session:"
	seqPrefix     = "parley:"
	healthPayload = "parley-health"
)

var errNotSubscribed = errors.New("adapter: not subscribed to Redis yet")

// subscription is what a transport subscribes through: one supervised
// connection (subscriber), or one per Redis Cluster master for shard
// channels (shardLinks).
type subscription interface {
	// add subscribes to channels and patterns, remove unsubscribes; both
	// return once the commands are written (or queued for the next
	// connection), without waiting for Redis's confirmation.
	add(channels, patterns []string)
	remove(channels, patterns []string)
	// ready returns nil while every subscription is confirmed.
	ready() error
	// up reports whether the connections are live (the subscribed gauge).
	up() bool
	close()
}

// pubsubTarget is the client a subscriber opens its connections on: the
// Node's client, or one master of a Redis Cluster.
type pubsubTarget interface {
	Subscribe(ctx context.Context, channels ...string) *redis.PubSub
}

// subscriberHooks let the owner of a subscriber follow it.
type subscriberHooks struct {
	// state runs after the subscription came up or went down.
	state func()
	// stale runs when Redis says shard channels are served elsewhere: the
	// channel of an SUNSUBSCRIBE Redis sent on its own after a slot
	// migration or a failover (the subscriber forgets it), or nil after a
	// MOVED reply (some channel of this connection).
	stale func(channels []string)
}

// subscriber keeps one Redis Pub/Sub connection subscribed to a changing
// set of channels and patterns (or, in shard mode, shard channels), shared
// by every namespace of the Node (the Node adapter opens a connection per
// namespace instead).
//
// A session is one connection: it subscribes to everything wanted, then
// reads until the connection fails or the health check finds it silent. The
// supervisor then starts a new session after a backoff, so a Redis restart
// is survived and every subscription restored. go-redis's PubSub reconnects
// on its own too, but silently; a session never outlives its first error,
// which keeps the loss visible (Ready, logs, metrics).
//
// Readiness is exact: every subscription change sends a PING numbered
// after it, and Redis answers in order, so the subscription set is confirmed
// once the PONG of the latest change has come back.
type subscriber struct {
	target  pubsubTarget
	shard   bool // SSUBSCRIBE instead of SUBSCRIBE (no patterns then)
	log     *slog.Logger
	m       *metrics
	deliver func(*redis.Message)
	health  time.Duration
	hooks   subscriberHooks
	retries *throttledLog

	// cmdMu orders the (un)subscribe commands of add and remove, so Redis
	// sees them in the order the sets changed. It is held across their
	// writes (bounded by commandTimeout): namespaces are created and closed
	// rarely, and the message path never takes it.
	cmdMu sync.Mutex

	mu       sync.Mutex
	ps       *redis.PubSub // the current session's, nil between sessions
	channels map[string]struct{}
	// unsubs counts, per shard channel, the SUNSUBSCRIBEs written on the
	// current session and not answered yet: Redis answers in order, so a
	// reply finds its count above zero when it answers ours, and at zero
	// when Redis unsubscribed on its own. (Asking the set instead would
	// take a channel removed and added again before the reply for one
	// Redis dropped, and forget a channel still subscribed and wanted.)
	unsubs   map[string]int
	patterns map[string]struct{}
	want     uint64 // number of the latest subscription change
	got      uint64 // latest number Redis confirmed in this session
	live     bool   // this session's subscriptions were confirmed once
	ever     bool   // some session was live (so the next one is a reconnect)
	downErr  error  // why the subscription is not live
	downAt   time.Time

	// wake tells the supervisor a first channel is wanted.
	wake chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

func newSubscriber(target pubsubTarget, shard bool, deliver func(*redis.Message), health time.Duration, hooks subscriberHooks, m *metrics, log *slog.Logger) *subscriber {
	s := &subscriber{
		target:   target,
		shard:    shard,
		log:      log,
		m:        m,
		deliver:  deliver,
		health:   health,
		hooks:    hooks,
		retries:  newThrottledLog(log, 10*time.Second),
		channels: make(map[string]struct{}),
		patterns: make(map[string]struct{}),
		unsubs:   make(map[string]int),
		downErr:  errNotSubscribed,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.run()
	return s
}

// up reports whether the connection's subscriptions were confirmed.
func (s *subscriber) up() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

// empty reports whether nothing is wanted any more.
func (s *subscriber) empty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.channels) == 0 && len(s.patterns) == 0
}

// expectUnsubscribed counts the SUNSUBSCRIBEs about to be written on the
// current session; s.mu is held.
func (s *subscriber) expectUnsubscribed(channels []string) {
	if !s.shard {
		return
	}
	for _, c := range channels {
		s.unsubs[c]++
	}
}

// unsubscribed takes Redis's SUNSUBSCRIBE reply for channel. When it
// answers one of ours it is only counted; when Redis sent it on its own
// (the channel's slot moved), the channel is forgotten, and unsubscribed
// reports whether it was still wanted.
func (s *subscriber) unsubscribed(channel string) (moved bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.unsubs[channel]; n > 0 {
		if n == 1 {
			delete(s.unsubs, channel)
		} else {
			s.unsubs[channel] = n - 1
		}
		return false
	}
	_, ok := s.channels[channel]
	delete(s.channels, channel)
	return ok
}

func (s *subscriber) changed() {
	if s.hooks.state != nil {
		s.hooks.state()
	}
}

// ready returns nil while every wanted subscription is confirmed by Redis.
func (s *subscriber) ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.live:
		return s.downErr
	case s.got < s.want:
		return errors.New("adapter: subscribing to a new namespace")
	}
	return nil
}

// add subscribes to channels and patterns, now if a session is up, else
// when the next one starts.
func (s *subscriber) add(channels, patterns []string) {
	s.cmdMu.Lock()
	defer s.cmdMu.Unlock()
	s.mu.Lock()
	for _, c := range channels {
		s.channels[c] = struct{}{}
	}
	for _, p := range patterns {
		s.patterns[p] = struct{}{}
	}
	s.want++
	seq, ps := s.want, s.ps
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	if ps == nil {
		return
	}
	if err := s.subscribeOn(ps, channels, patterns, seqPrefix+strconv.FormatUint(seq, 10)); err != nil {
		s.log.Warn("adapter: subscribing failed, reconnecting", "channels", channels, "patterns", patterns, "err", err)
		_ = ps.Close() // the next session subscribes to everything
	}
}

// remove unsubscribes from channels and patterns.
func (s *subscriber) remove(channels, patterns []string) {
	s.cmdMu.Lock()
	defer s.cmdMu.Unlock()
	s.mu.Lock()
	for _, c := range channels {
		delete(s.channels, c)
	}
	for _, p := range patterns {
		delete(s.patterns, p)
	}
	ps := s.ps
	if ps != nil {
		s.expectUnsubscribed(channels)
	}
	s.mu.Unlock()
	if ps == nil {
		return
	}
	if err := s.unsubscribeOn(ps, channels, patterns); err != nil {
		s.log.Warn("adapter: unsubscribing failed, reconnecting", "channels", channels, "patterns", patterns, "err", err)
		_ = ps.Close()
	}
}

// subscribeOn subscribes, then PINGs with payload; the PONG confirms the
// subscriptions (Redis answers a connection's commands in order).
func (s *subscriber) subscribeOn(ps *redis.PubSub, channels, patterns []string, payload string) error {
	ctx, cancel := context.WithTimeout(s.ctx, commandTimeout)
	defer cancel()
	switch {
	case s.shard:
		// One command per channel: a Redis Cluster refuses an SSUBSCRIBE
		// whose channels are in different slots.
		for _, ch := range channels {
			if err := ps.SSubscribe(ctx, ch); err != nil {
				return err
			}
		}
	case len(channels) > 0:
		// Channels first: on a Cluster client the first command's channel
		// picks the node, and a channel maps to a master, a pattern to any
		// node.
		if err := ps.Subscribe(ctx, channels...); err != nil {
			return err
		}
	}
	if len(patterns) > 0 {
		if err := ps.PSubscribe(ctx, patterns...); err != nil {
			return err
		}
	}
	return ps.Ping(ctx, payload)
}

func (s *subscriber) unsubscribeOn(ps *redis.PubSub, channels, patterns []string) error {
	ctx, cancel := context.WithTimeout(s.ctx, commandTimeout)
	defer cancel()
	if s.shard {
		for _, ch := range channels {
			if err := ps.SUnsubscribe(ctx, ch); err != nil {
				return err
			}
		}
		return nil
	}
	if len(channels) > 0 {
		if err := ps.Unsubscribe(ctx, channels...); err != nil {
			return err
		}
	}
	if len(patterns) > 0 {
		return ps.PUnsubscribe(ctx, patterns...)
	}
	return nil
}

// run supervises sessions until close.
func (s *subscriber) run() {
	defer close(s.done)
	backoff := minBackoff
	for s.waitForChannels() {
		live, err := s.session()
		if s.ctx.Err() != nil {
			return
		}
		s.setDown(err)
		if live {
			backoff = minBackoff
		}
		// Full jitter keeps a fleet of nodes from reconnecting in step.
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// waitForChannels returns once a channel is wanted, or false on close. A
// session starts with a channel subscription because on a Cluster client
// the first command's channel chooses the node: its slot's master, which
// the server count asks. (A session opened by a PING would go to any node,
// and go-redis does not always know the replicas to ask.)
func (s *subscriber) waitForChannels() bool {
	for {
		s.mu.Lock()
		n := len(s.channels)
		s.mu.Unlock()
		if n > 0 {
			return true
		}
		select {
		case <-s.wake:
		case <-s.ctx.Done():
			return false
		}
	}
}

// session runs one connection: subscribe to everything, then read. It
// reports whether the subscriptions were confirmed, and why it ended.
func (s *subscriber) session() (live bool, err error) {
	ps := s.target.Subscribe(s.ctx)
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		_ = ps.Close()
		return false, s.ctx.Err()
	}
	s.ps, s.got = ps, 0
	clear(s.unsubs) // the replies of an earlier connection never come
	channels, patterns, seq := slices.Collect(maps.Keys(s.channels)), slices.Collect(maps.Keys(s.patterns)), s.want
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.ps = nil
		s.mu.Unlock()
		_ = ps.Close()
	}()
	if err := s.subscribeOn(ps, channels, patterns, sessionPrefix+strconv.FormatUint(seq, 10)); err != nil {
		return false, err
	}
	if err := s.dropRemoved(ps, channels, patterns); err != nil {
		return false, err
	}
	return s.receive(ps)
}

// dropRemoved unsubscribes what remove took out of the sets while the
// session was subscribing from an older copy of them.
func (s *subscriber) dropRemoved(ps *redis.PubSub, channels, patterns []string) error {
	s.mu.Lock()
	goneC := missing(channels, s.channels)
	goneP := missing(patterns, s.patterns)
	s.expectUnsubscribed(goneC)
	s.mu.Unlock()
	if len(goneC) == 0 && len(goneP) == 0 {
		return nil
	}
	return s.unsubscribeOn(ps, goneC, goneP)
}

// receive reads the session's messages until its connection fails.
func (s *subscriber) receive(ps *redis.PubSub) (live bool, err error) {
	wd := startWatchdog(ps, s.health)
	defer wd.stop()
	for {
		msg, err := ps.Receive(s.ctx)
		if err != nil {
			if why := wd.reason(); why != nil {
				err = why
			}
			if s.replyError(err) {
				wd.alive()
				continue
			}
			return live, err
		}
		wd.alive()
		switch m := msg.(type) {
		case *redis.Message:
			s.deliver(m)
		case *redis.Subscription:
			// An SUNSUBSCRIBE of a channel still wanted is Redis's own:
			// the channel's slot moved to another master.
			if m.Kind == "sunsubscribe" && s.unsubscribed(m.Channel) {
				s.log.Info("adapter: Redis moved a shard channel away", "channel", m.Channel)
				s.staleRoute([]string{m.Channel})
			}
		case *redis.Pong:
			// Live once everything the session subscribed to is
			// confirmed; a change made meanwhile may be confirmed first.
			if seq, ok := strings.CutPrefix(m.Payload, sessionPrefix); ok {
				n, _ := strconv.ParseUint(seq, 10, 64)
				s.confirm(n)
				live = true
				s.setLive()
			} else if seq, ok := strings.CutPrefix(m.Payload, seqPrefix); ok {
				n, _ := strconv.ParseUint(seq, 10, 64)
				s.confirm(n)
			}
		}
	}
}

// replyError reports whether err is a MOVED reply to one SSUBSCRIBE (a
// shard channel this master does not serve), which leaves the connection
// usable: the channel is routed again and the session goes on.
func (s *subscriber) replyError(err error) bool {
	var reply redis.Error
	if !errors.As(err, &reply) || s.ctx.Err() != nil {
		return false
	}
	if strings.HasPrefix(err.Error(), "MOVED ") {
		s.staleRoute(nil)
		return true
	}
	// Anything else (an unknown command on a Redis older than 7, a
	// refused channel) ends the session, so Ready reports it.
	return false
}

func (s *subscriber) staleRoute(channels []string) {
	if s.hooks.stale != nil {
		s.hooks.stale(channels)
	}
}

func (s *subscriber) confirm(seq uint64) {
	s.mu.Lock()
	s.got = max(s.got, seq)
	s.mu.Unlock()
}

func (s *subscriber) setLive() {
	s.mu.Lock()
	reconnect, downFor := s.ever, time.Since(s.downAt)
	s.live, s.ever, s.downErr = true, true, nil
	s.mu.Unlock()
	s.changed()
	if reconnect {
		s.m.reconnects.Inc()
		s.log.Info("adapter: Redis subscription restored", "down_for", downFor.Round(time.Millisecond))
		return
	}
	s.log.Info("adapter: subscribed to Redis")
}

func (s *subscriber) setDown(err error) {
	s.mu.Lock()
	wasLive := s.live
	s.live, s.got = false, 0
	s.downErr = fmt.Errorf("adapter: Redis subscription down: %w", err)
	if wasLive {
		s.downAt = time.Now()
	}
	s.mu.Unlock()
	s.changed()
	if wasLive {
		s.log.Warn("adapter: Redis subscription lost, reconnecting", "err", err)
		return
	}
	s.retries.log("adapter: connecting to Redis for the subscription failed, retrying", "err", err)
}

// close ends the current session, which closes the connection and with it
// every subscription, and stops the supervisor.
func (s *subscriber) close() {
	s.cancel()
	s.mu.Lock()
	ps := s.ps
	s.mu.Unlock()
	if ps != nil {
		_ = ps.Close()
	}
	<-s.done
	s.mu.Lock()
	s.live, s.downErr = false, ErrClosed
	s.mu.Unlock()
	s.changed()
}

// missing returns the elements of list that set no longer holds.
func missing(list []string, set map[string]struct{}) []string {
	var out []string
	for _, k := range list {
		if _, ok := set[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// watchdog detects a silent connection (a half-open TCP connection reads
// nothing and reports no error): when a period passes without traffic it
// sends a PING, and when one more passes without any it closes the
// connection, which ends the session. It runs on a timer, so it costs no
// goroutine between checks.
type watchdog struct {
	ps     *redis.PubSub
	every  time.Duration
	seen   atomic.Bool // traffic since the last check
	pinged atomic.Bool // a PING is waiting for an answer

	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
	err     error
}

func startWatchdog(ps *redis.PubSub, every time.Duration) *watchdog {
	w := &watchdog{ps: ps, every: every}
	w.mu.Lock()
	w.timer = time.AfterFunc(every, w.check)
	w.mu.Unlock()
	return w
}

// alive records traffic; it is on the message path, so it is one store.
func (w *watchdog) alive() { w.seen.Store(true) }

func (w *watchdog) check() {
	if w.seen.Swap(false) {
		w.pinged.Store(false)
		w.rearm()
		return
	}
	if w.pinged.Load() {
		w.kill(fmt.Errorf("adapter: Redis did not answer a PING on the subscription within %v", w.every))
		return
	}
	w.pinged.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), w.every)
	err := w.ps.Ping(ctx, healthPayload)
	cancel()
	if err != nil {
		w.kill(fmt.Errorf("adapter: health-check PING on the subscription failed: %w", err))
		return
	}
	w.rearm()
}

func (w *watchdog) rearm() {
	w.mu.Lock()
	if !w.stopped {
		w.timer.Reset(w.every)
	}
	w.mu.Unlock()
}

func (w *watchdog) kill(err error) {
	w.mu.Lock()
	stopped := w.stopped
	if !stopped {
		w.err = err
	}
	w.mu.Unlock()
	if !stopped {
		_ = w.ps.Close()
	}
}

// reason is why the watchdog closed the connection, or nil.
func (w *watchdog) reason() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *watchdog) stop() {
	w.mu.Lock()
	w.stopped = true
	w.timer.Stop()
	w.mu.Unlock()
}
