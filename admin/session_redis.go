package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisStore is a SessionStore in Redis, shared by the nodes of a cluster.
type redisStore struct {
	client redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// NewRedisStore returns a SessionStore in Redis with the keys of
// @socket.io/admin-ui's RedisStore: prefix + "#" + id, holding "true", for
// ttl. The defaults (prefix "", ttl 0) are instrument's: "socket.io-admin"
// and 24 hours. Nodes behind a load balancer share sessions through it,
// Node nodes using a RedisStore with the same prefix included.
func NewRedisStore(client redis.UniversalClient, prefix string, ttl time.Duration) SessionStore {
	if prefix == "" {
		prefix = "socket.io-admin"
	}
	if ttl <= 0 {
		ttl = sessionTTL
	}
	return &redisStore{client: client, prefix: prefix, ttl: ttl}
}

func (r *redisStore) key(id string) string { return r.prefix + "#" + id }

// Exists implements SessionStore.
func (r *redisStore) Exists(ctx context.Context, id string) (bool, error) {
	n, err := r.client.Exists(ctx, r.key(id)).Result()
	if err != nil {
		return false, fmt.Errorf("admin: session store: %w", err)
	}
	return n == 1, nil
}

// Save implements SessionStore.
func (r *redisStore) Save(ctx context.Context, id string) error {
	if err := r.client.Set(ctx, r.key(id), "true", r.ttl).Err(); err != nil {
		return fmt.Errorf("admin: session store: %w", err)
	}
	return nil
}
