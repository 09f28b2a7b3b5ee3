package adapter

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// shardLinks subscribes to shard channels on a Redis Cluster. A shard
// channel is served by the master that owns its hash slot (go-redis's
// cluster PubSub, one connection to one node, cannot hold channels of
// several masters), so there is one supervised subscriber per master, each
// holding the channels of that master's slots.
//
// Routes go stale when a slot migrates or a replica takes over from its
// master. Redis then tells the subscribers (an SUNSUBSCRIBE it sends on its
// own, or MOVED), or the old master's connection fails; either way every
// channel is routed again, from go-redis's reloaded view of the slots, until
// each is confirmed on the master that owns it.
type shardLinks struct {
	cc      *redis.ClusterClient
	deliver func(*redis.Message)
	health  time.Duration
	m       *metrics
	log     *slog.Logger
	// state runs when the links' combined state may have changed.
	state func()

	// routeMu orders routing work (add, remove, reroute); it is held across
	// go-redis's slot lookups, never on the message path.
	routeMu sync.Mutex

	mu    sync.Mutex
	where map[string]string      // channel → master address, "" while unrouted
	links map[string]*subscriber // by master address
	// suspect holds, for a channel Redis said moved away, the master it
	// left: go-redis's view of the slots may still name that master for a
	// while (the cluster gossips the change), so routing waits for a view
	// that names another one, for a few rounds.
	suspect map[string]string
	tries   map[string]int

	kick   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

var _ subscription = (*shardLinks)(nil)

func newShardLinks(cc *redis.ClusterClient, deliver func(*redis.Message), health time.Duration, state func(), m *metrics, log *slog.Logger) *shardLinks {
	l := &shardLinks{
		cc: cc, deliver: deliver, health: health, m: m, log: log, state: state,
		where:   make(map[string]string),
		links:   make(map[string]*subscriber),
		suspect: make(map[string]string),
		tries:   make(map[string]int),
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	go l.run()
	return l
}

// add subscribes to channels, each on its slot's master.
func (l *shardLinks) add(channels, _ []string) {
	l.routeMu.Lock()
	defer l.routeMu.Unlock()
	l.mu.Lock()
	for _, ch := range channels {
		if _, ok := l.where[ch]; !ok {
			l.where[ch] = ""
		}
	}
	l.mu.Unlock()
	if !l.route(channels) {
		l.reroute()
	}
}

// remove unsubscribes from channels and drops the links left empty.
func (l *shardLinks) remove(channels, _ []string) {
	l.routeMu.Lock()
	defer l.routeMu.Unlock()
	byLink := map[string][]string{}
	l.mu.Lock()
	for _, ch := range channels {
		if addr, ok := l.where[ch]; ok {
			delete(l.where, ch)
			if addr != "" {
				byLink[addr] = append(byLink[addr], ch)
			}
		}
	}
	l.mu.Unlock()
	for addr, chs := range byLink {
		l.unlink(addr, chs)
	}
}

// staleTries is how many rounds routing waits for go-redis to stop naming
// the master a channel left (it may be right after all: a false alarm).
const staleTries = 5

// route subscribes each channel on the master go-redis says owns it,
// moving it from another link if needed. It reports whether every channel
// found its master. Called with routeMu held.
func (l *shardLinks) route(channels []string) bool {
	ok := true
	moves := map[string][]string{} // old address → channels leaving it
	for _, ch := range channels {
		ctx, cancel := context.WithTimeout(l.ctx, commandTimeout)
		node, err := l.cc.MasterForKey(ctx, ch)
		cancel()
		if err != nil {
			ok = false
			continue
		}
		addr := node.Options().Addr
		link, prev, settled := l.place(ch, addr, node)
		if !settled {
			ok = false
		}
		if link == nil {
			continue
		}
		link.add([]string{ch}, nil)
		if prev != "" && prev != addr {
			moves[prev] = append(moves[prev], ch)
		}
	}
	for addr, chs := range moves {
		l.log.Info("adapter: shard channels moved to another master", "from", addr, "channels", len(chs))
		l.unlink(addr, chs)
	}
	return ok
}

// place records that ch belongs on addr. It returns the link to subscribe
// it on (nil when there is nothing to do) and the address it leaves;
// settled is false while go-redis still names a master ch just left.
func (l *shardLinks) place(ch, addr string, node *redis.Client) (link *subscriber, prev string, settled bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, wanted := l.where[ch]
	if !wanted || cur == addr {
		return nil, "", true
	}
	prev = cur
	if left, ok := l.suspect[ch]; ok {
		if left == addr && l.tries[ch] < staleTries {
			l.tries[ch]++
			return nil, "", false
		}
		delete(l.suspect, ch)
		delete(l.tries, ch)
		if prev == "" {
			prev = left
		}
	}
	l.where[ch] = addr
	link = l.links[addr]
	if link == nil {
		link = newSubscriber(node, true, l.deliver, l.health, subscriberHooks{
			state: l.linkChanged,
			stale: func(chs []string) { l.stale(addr, chs) },
		}, l.m, l.log.With("redis_master", addr))
		l.links[addr] = link
	}
	return link, prev, true
}

// stale marks channels of the link of addr as unrouted (all of them for
// nil) and asks for routing.
func (l *shardLinks) stale(addr string, channels []string) {
	l.mu.Lock()
	if channels == nil {
		for ch, at := range l.where {
			if at == addr {
				channels = append(channels, ch)
			}
		}
	}
	for _, ch := range channels {
		if l.where[ch] == addr {
			l.where[ch] = ""
			l.suspect[ch] = addr
			l.tries[ch] = 0
		}
	}
	l.mu.Unlock()
	l.reroute()
}

// unlink takes channels off the link of addr, closing it once empty.
func (l *shardLinks) unlink(addr string, channels []string) {
	l.mu.Lock()
	link := l.links[addr]
	l.mu.Unlock()
	if link == nil {
		return
	}
	link.remove(channels, nil)
	if !link.empty() {
		return
	}
	l.mu.Lock()
	delete(l.links, addr)
	l.mu.Unlock()
	link.close()
	l.linkChanged()
}

// reroute asks the supervisor to route every channel again.
func (l *shardLinks) reroute() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

func (l *shardLinks) linkChanged() {
	if !l.up() {
		l.reroute()
	}
	if l.state != nil {
		l.state()
	}
}

// run reroutes on demand: it has go-redis reload the cluster's slots, routes
// every channel again, and repeats with backoff until every channel is
// confirmed on its master.
func (l *shardLinks) run() {
	defer close(l.done)
	for {
		select {
		case <-l.kick:
		case <-l.ctx.Done():
			return
		}
		for backoff := minBackoff; ; backoff = min(2*backoff, maxBackoff) {
			l.cc.ReloadState(l.ctx)
			select {
			case <-time.After(backoff):
			case <-l.ctx.Done():
				return
			}
			if l.settle() {
				break
			}
		}
	}
}

// settle routes every channel again and reports whether all are confirmed.
func (l *shardLinks) settle() bool {
	l.routeMu.Lock()
	defer l.routeMu.Unlock()
	l.mu.Lock()
	channels := slices.Collect(maps.Keys(l.where))
	l.mu.Unlock()
	routed := l.route(channels)
	return routed && l.ready() == nil
}

// ready returns nil once every channel is subscribed and confirmed.
func (l *shardLinks) ready() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.where) == 0 {
		return errNotSubscribed
	}
	for ch, addr := range l.where {
		if addr == "" {
			return fmt.Errorf("adapter: shard channel %s has no master yet", ch)
		}
	}
	for addr, link := range l.links {
		if err := link.ready(); err != nil {
			return fmt.Errorf("adapter: master %s: %w", addr, err)
		}
	}
	return nil
}

// up reports whether every link's connection is live.
func (l *shardLinks) up() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, link := range l.links {
		if !link.up() {
			return false
		}
	}
	return len(l.links) > 0
}

func (l *shardLinks) close() {
	l.cancel()
	<-l.done
	l.routeMu.Lock()
	defer l.routeMu.Unlock()
	l.mu.Lock()
	links := l.links
	l.links = map[string]*subscriber{}
	l.mu.Unlock()
	for _, link := range links {
		link.close()
	}
	if l.state != nil {
		l.state()
	}
}
