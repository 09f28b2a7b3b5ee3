package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/adapter"
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
	opts, err := redis.ParseURL(c.redisURL)
	if err != nil {
		return nil, fmt.Errorf("--redis-url: %w", err)
	}
	rdb := redis.NewClient(opts)
	p := &clusterParts{rdb: rdb}
	fail := func(err error) (*clusterParts, error) {
		_ = rdb.Close()
		return nil, err
	}
	if p.node, err = adapter.NewClassic(rdb, adapter.Config{Logger: log, Registerer: cfg.Registry, Deliverer: cfg.Engine.Fanout}); err != nil {
		return fail(err)
	}
	sessions, err := session.NewRedis(rdb, session.RedisConfig{TTL: c.sessionTTL})
	if err != nil {
		return fail(err)
	}
	messages, err := message.NewRedis(rdb, message.RedisConfig{TTL: c.sessionTTL, HistoryLimit: c.historyLimit, Logger: log})
	if err != nil {
		return fail(err)
	}
	if p.tracker, err = presence.NewRedis(rdb, presence.RedisConfig{Lease: c.presenceLease, Logger: log}); err != nil {
		return fail(err)
	}
	ns, err := emitter.New(rdb, emitter.Config{})
	if err != nil {
		return fail(err)
	}
	cfg.Engine.Adapter = p.node
	cfg.Sessions, cfg.Messages, cfg.Presence = sessions, messages, p.tracker
	cfg.Announcer = server.NewRedisAnnouncer(ns)
	cfg.Ready = func(context.Context) error { return p.node.Ready() }
	return p, nil
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
