package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/adapter"
	"github.com/parley-chat/parley/admin"
	"github.com/parley-chat/parley/emitter"
	"github.com/parley-chat/parley/message"
	"github.com/parley-chat/parley/presence"
	"github.com/parley-chat/parley/server"
	"github.com/parley-chat/parley/session"
)

// clusterParts are what --redis-url adds to a node: one Redis client shared
// by the adapter, the stores, the presence tracker and the announcer.
type clusterParts struct {
	rdb     redis.UniversalClient
	node    *adapter.Node
	tracker *presence.Redis
}

// joinCluster connects the node's parts to Redis and fills them into cfg.
// Nothing is contacted yet: the adapter subscribes once the server creates
// its namespaces, and a Redis that is not up yet is waited for.
func joinCluster(c config, cfg *server.Config, log *slog.Logger) (*clusterParts, error) {
	rdb, err := redisClient(c)
	if err != nil {
		return nil, err
	}
	p := &clusterParts{rdb: rdb}
	fail := func(err error) (*clusterParts, error) {
		_ = rdb.Close()
		return nil, err
	}
	base := adapter.Config{Logger: log, Registerer: cfg.Registry}
	if p.node, err = newAdapter(c, rdb, base); err != nil {
		return fail(err)
	}
	// On a Redis Cluster every store's keys share the hash tag {parley},
	// so each store's scripts find their keys in one slot.
	prefix := ""
	if c.redisCluster {
		prefix = "{parley}:"
	}
	sessions, err := session.NewRedis(rdb, session.RedisConfig{Prefix: prefix, TTL: c.sessionTTL})
	if err != nil {
		return fail(err)
	}
	messages, err := message.NewRedis(rdb, message.RedisConfig{Prefix: prefix, TTL: c.sessionTTL, HistoryLimit: c.historyLimit, Logger: log})
	if err != nil {
		return fail(err)
	}
	if p.tracker, err = presence.NewRedis(rdb, presence.RedisConfig{Prefix: prefix, Lease: c.presenceLease, Logger: log}); err != nil {
		return fail(err)
	}
	ns, err := newEmitter(c, rdb)
	if err != nil {
		return fail(err)
	}
	cfg.SocketIO.Adapter = p.node.NewAdapter
	cfg.Sessions, cfg.Messages, cfg.Presence = sessions, messages, p.tracker
	cfg.Announcer = server.NewRedisAnnouncer(ns)
	if cfg.Admin != nil {
		// A dashboard behind the load balancer reconnects to any node
		// with the session id it got from one (instrument's RedisStore
		// keys, shared with Node.js nodes).
		cfg.Admin.Sessions = admin.NewRedisStore(rdb, "", 0)
	}
	cfg.Ready = func(context.Context) error { return p.node.Ready() }
	return p, nil
}

// redisClient builds the one client of the node: a Cluster client for
// --redis-cluster (seed nodes: the URL's host and its addr parameters).
func redisClient(c config) (redis.UniversalClient, error) {
	if c.redisCluster {
		opts, err := redis.ParseClusterURL(c.redisURL)
		if err != nil {
			return nil, fmt.Errorf("--redis-url: %w", err)
		}
		return redis.NewClusterClient(opts), nil
	}
	opts, err := redis.ParseURL(c.redisURL)
	if err != nil {
		return nil, fmt.Errorf("--redis-url: %w", err)
	}
	return redis.NewClient(opts), nil
}

// newAdapter builds the adapter --adapter names, with the Node.js adapters'
// defaults, so Node.js nodes with the same adapter can join the cluster.
func newAdapter(c config, rdb redis.UniversalClient, base adapter.Config) (*adapter.Node, error) {
	switch c.adapter {
	case adapterSharded:
		return adapter.NewSharded(rdb, adapter.ShardedConfig{Config: base})
	case adapterStreams:
		return adapter.NewStreams(rdb, adapter.StreamsConfig{Config: base})
	}
	return adapter.NewClassic(rdb, base)
}

// newEmitter builds the emitter the chat announces presence with: the
// format of the adapter, so it reaches every node (Parley or Node.js). Each
// sends all announcements to one channel or stream, which keeps them in one
// order on every node.
func newEmitter(c config, rdb redis.UniversalClient) (*emitter.Namespace, error) {
	switch c.adapter {
	case adapterSharded:
		return emitter.NewSharded(rdb, emitter.ShardedConfig{})
	case adapterStreams:
		return emitter.NewStreams(rdb, emitter.StreamsConfig{})
	}
	return emitter.New(rdb, emitter.Config{})
}

// leave ends the node's membership after the server stopped: the presence
// lease, then the adapter's subscriptions, then the Redis client.
func (p *clusterParts) leave(ctx context.Context) error {
	return errors.Join(p.tracker.Close(ctx), p.node.Close(ctx), p.rdb.Close())
}

// redactURL hides the password of a Redis URL in logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
