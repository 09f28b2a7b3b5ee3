package presence

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/hashtag"
)

var (
	_ Tracker = (*Redis)(nil)
	_ Watcher = (*Redis)(nil)
)

// Watcher is implemented by Trackers shared by several nodes, whose state
// can change without a Join or Leave on this node.
type Watcher interface {
	// Watch keeps this node's membership alive and cleans up after nodes
	// that died, until ctx ends. changed reports users whose presence
	// changed that way: online false for users whose last socket was on a
	// node that died, online true for users of this node restored after the
	// cluster had taken this node for dead (Redis was out of reach for
	// longer than the lease). It runs on Watch's goroutine.
	Watch(ctx context.Context, changed func(userIDs []string, online bool))
}

// Lua scripts; see the comments in each.
var (
	//go:embed lua/join.lua
	joinSource string
	//go:embed lua/leave.lua
	leaveSource string
	//go:embed lua/reap.lua
	reapSource string
	//go:embed lua/renew.lua
	renewSource string
	//go:embed lua/restore.lua
	restoreSource string

	joinScript    = redis.NewScript(joinSource)
	leaveScript   = redis.NewScript(leaveSource)
	reapScript    = redis.NewScript(reapSource)
	renewScript   = redis.NewScript(renewSource)
	restoreScript = redis.NewScript(restoreSource)
)

// reapBatch bounds the sockets of a dead node forgotten in one script call,
// so that no call blocks Redis for long.
const reapBatch = 500

// errNeedHashTag explains why a cluster client was refused.
var errNeedHashTag = errors.New("presence: a Redis Cluster needs a Prefix with a hash tag such as \"{parley}:\", " +
	"so that the scripts that update a user's and a node's entries together find them in one hash slot")

// RedisConfig configures a Redis tracker.
type RedisConfig struct {
	// Prefix is prepended to every key. On a Redis Cluster it must contain a
	// hash tag (e.g. "{parley}:").
	// default: ""
	Prefix string
	// Lease is how long this node counts as alive after its last renewal.
	// A node that dies without a goodbye has its users' sockets forgotten
	// within Lease + Lease/3 (default: within 20 s).
	// default: 15s
	Lease time.Duration
	// Logger receives the tracker's log lines.
	// default: slog.Default()
	Logger *slog.Logger
}

// Redis is a Tracker shared by every node of a cluster. Each node renews a
// lease in Redis. The sockets of a node whose lease runs out (it died
// without a goodbye) are forgotten by the Watch of another node, which
// reports the users left without a socket; until then (at most Lease +
// Lease/3) they still count.
//
// Keys (with the configured prefix):
//
//	presence:nodes            sorted set nodeID -> lease expiry (Redis clock, ms)
//	presence:online           set of userIDs with at least one socket
//	presence:user:<userID>    hash "<nodeID>/<socketID>" -> 1
//	presence:node:<nodeID>    set "<userID>/<socketID>", for cleaning up after the node
type Redis struct {
	rdb   redis.UniversalClient
	node  string
	lease time.Duration
	keys  redisKeys
	log   *slog.Logger

	// local mirrors this node's live sockets, to register them again if the
	// cluster took this node for dead.
	mu    sync.Mutex
	local map[string]map[string]struct{}
	// lost is set while a lease found gone waits for its sockets to be
	// registered again, so that a failed restore is retried even though the
	// lease itself was renewed.
	lost atomic.Bool
}

type redisKeys struct{ prefix string }

func (k redisKeys) nodes() string            { return k.prefix + "presence:nodes" }
func (k redisKeys) online() string           { return k.prefix + "presence:online" }
func (k redisKeys) userPrefix() string       { return k.prefix + "presence:user:" }
func (k redisKeys) nodePrefix() string       { return k.prefix + "presence:node:" }
func (k redisKeys) user(id string) string    { return k.userPrefix() + id }
func (k redisKeys) nodeSet(id string) string { return k.nodePrefix() + id }

// NewRedis returns a tracker for this node, with a fresh random node ID. It
// does not contact Redis.
func NewRedis(rdb redis.UniversalClient, cfg RedisConfig) (*Redis, error) {
	if rdb == nil {
		return nil, errors.New("presence: nil Redis client")
	}
	if cfg.Lease < 0 {
		return nil, fmt.Errorf("presence: negative lease %v", cfg.Lease)
	}
	if cfg.Lease == 0 {
		cfg.Lease = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if hashtag.Required(rdb, cfg.Prefix) {
		return nil, errNeedHashTag
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Redis{rdb: rdb, node: hex.EncodeToString(b), lease: cfg.Lease, keys: redisKeys{cfg.Prefix},
		log: cfg.Logger, local: make(map[string]map[string]struct{})}, nil
}

// Node returns this node's ID in the presence keys.
func (r *Redis) Node() string { return r.node }

// Join records socketID as a live socket of userID on this node.
func (r *Redis) Join(ctx context.Context, userID, socketID string) (bool, error) {
	r.remember(userID, socketID, true)
	live, err := r.run(ctx, joinScript, userID, socketID)
	if err != nil {
		r.remember(userID, socketID, false)
		return false, fmt.Errorf("presence: join: %w", err)
	}
	return live == 1, nil
}

// Leave forgets socketID.
func (r *Redis) Leave(ctx context.Context, userID, socketID string) (bool, error) {
	r.remember(userID, socketID, false)
	live, err := r.run(ctx, leaveScript, userID, socketID)
	if err != nil {
		return false, fmt.Errorf("presence: leave: %w", err)
	}
	return live == 0, nil
}

func (r *Redis) run(ctx context.Context, s *redis.Script, userID, socketID string) (int64, error) {
	keys := []string{r.keys.online(), r.keys.user(userID), r.keys.nodeSet(r.node)}
	return s.Run(ctx, r.rdb, keys, r.node, socketID, userID).Int64()
}

func (r *Redis) remember(userID, socketID string, live bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.local[userID]
	if live {
		if set == nil {
			set = make(map[string]struct{}, 1)
			r.local[userID] = set
		}
		set[socketID] = struct{}{}
		return
	}
	delete(set, socketID)
	if len(set) == 0 {
		delete(r.local, userID)
	}
}

// Online reports which of userIDs have a socket, in one round trip. For a
// long list (the whole user list of a connect) it reads the set of online
// users instead of asking about each, which costs in proportion to the
// users online rather than to the users asked about.
func (r *Redis) Online(ctx context.Context, userIDs []string) (map[string]bool, error) {
	out := make(map[string]bool, len(userIDs))
	if len(userIDs) > 1000 {
		members, err := r.rdb.SMembers(ctx, r.keys.online()).Result()
		if err != nil {
			return nil, fmt.Errorf("presence: online: %w", err)
		}
		on := make(map[string]struct{}, len(members))
		for _, m := range members {
			on[m] = struct{}{}
		}
		for _, id := range userIDs {
			_, out[id] = on[id]
		}
		return out, nil
	}
	members := make([]any, len(userIDs))
	for i, id := range userIDs {
		members[i] = id
	}
	if len(members) == 0 {
		return out, nil
	}
	on, err := r.rdb.SMIsMember(ctx, r.keys.online(), members...).Result()
	if err != nil {
		return nil, fmt.Errorf("presence: online: %w", err)
	}
	for i, id := range userIDs {
		out[id] = i < len(on) && on[i]
	}
	return out, nil
}

// Watch renews this node's lease every Lease/3 and cleans up after dead
// nodes, until ctx ends. Sockets joined before its first renewal count from
// that renewal on (which reports their users online).
func (r *Redis) Watch(ctx context.Context, changed func(userIDs []string, online bool)) {
	tick := time.NewTicker(r.lease / 3)
	defer tick.Stop()
	for {
		r.renew(ctx, changed)
		r.reap(ctx, changed)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// renew extends this node's lease. If the lease was gone (the cluster took
// this node for dead while Redis was out of reach), it registers this
// node's sockets again and reports their users online. The sockets are
// listed only then: a renewal that finds its lease alive sends nothing but
// the node's id, however many sockets the node holds.
func (r *Redis) renew(ctx context.Context, changed func([]string, bool)) {
	ctx, cancel := context.WithTimeout(ctx, r.lease/3)
	defer cancel()
	gone, err := renewScript.Run(ctx, r.rdb, []string{r.keys.nodes()}, r.node, r.lease.Milliseconds()).Int64()
	if err == nil && gone == 1 {
		r.lost.Store(true)
	}
	if err == nil && r.lost.Load() {
		if err = r.restore(ctx, changed); err == nil {
			r.lost.Store(false)
		}
	}
	if err != nil && (ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded)) {
		r.log.Warn("presence: renewing this node's lease failed", "node", r.node, "err", err)
	}
}

// restore registers this node's sockets again and reports their users
// online.
func (r *Redis) restore(ctx context.Context, changed func([]string, bool)) error {
	entries, users := r.snapshot()
	keys := []string{r.keys.nodeSet(r.node), r.keys.online()}
	args := append([]any{r.node, r.keys.userPrefix()}, entries...)
	if err := restoreScript.Run(ctx, r.rdb, keys, args...).Err(); err != nil {
		return err
	}
	if len(users) > 0 {
		r.log.Warn("presence: this node had been taken for dead; its users are registered again",
			"node", r.node, "users", len(users))
		changed(users, true)
	}
	return nil
}

// snapshot returns this node's sockets as "<userID>/<socketID>" entries and
// the users that have them.
func (r *Redis) snapshot() (entries []any, users []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for u, sockets := range r.local {
		users = append(users, u)
		for s := range sockets {
			entries = append(entries, u+"/"+s)
		}
	}
	return entries, users
}

// reap forgets the sockets of nodes whose lease ran out and reports the
// users left without a live socket.
func (r *Redis) reap(ctx context.Context, changed func([]string, bool)) {
	for ctx.Err() == nil {
		res, err := reapScript.Run(ctx, r.rdb, []string{r.keys.nodes(), r.keys.online()},
			r.keys.userPrefix(), r.keys.nodePrefix(), reapBatch).StringSlice()
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn("presence: cleaning up after dead nodes failed", "err", err)
			}
			return
		}
		if len(res) < 2 || res[0] == "" {
			return
		}
		if offline := res[2:]; len(offline) > 0 {
			r.log.Info("presence: a node died; its users are offline", "dead_node", res[0], "users", len(offline))
			changed(offline, false)
		}
	}
}

// Close ends this node's lease (call it on shutdown, after every socket has
// left). The other nodes then forget whatever sockets of this node are
// still registered, as for a node that died, and announce their users.
func (r *Redis) Close(ctx context.Context) error {
	if err := r.rdb.ZAdd(ctx, r.keys.nodes(), redis.Z{Score: 0, Member: r.node}).Err(); err != nil {
		return fmt.Errorf("presence: close: %w", err)
	}
	return nil
}
