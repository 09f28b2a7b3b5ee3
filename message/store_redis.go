package message

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

var _ Store = (*Redis)(nil)

// DefaultTTL is how long a user's history lives after the last message
// saved to it.
const DefaultTTL = 24 * time.Hour

// RedisConfig configures a Redis store.
type RedisConfig struct {
	// Prefix is prepended to every key. On a Redis Cluster it must contain a
	// hash tag (e.g. "{parley}:") so that all histories share a slot.
	// default: "" (keys are exactly the reference server's messages:<userID>)
	Prefix string
	// HistoryLimit is how many of a user's newest messages are kept.
	// default: 1000 (DefaultHistoryLimit)
	HistoryLimit int
	// TTL is how long a history lives after the last message saved to it.
	// default: 24h (DefaultTTL)
	TTL time.Duration
	// Logger receives a warning for each unreadable stored message.
	// default: slog.Default()
	Logger *slog.Logger
}

// Redis is a Store in Redis, shared by every node of a cluster of chat
// servers. Each user's history is a list of JSON messages.
type Redis struct {
	rdb   redis.UniversalClient
	keys  keys
	limit int
	ttl   time.Duration
	log   *slog.Logger
}

// NewRedis returns a store that keeps messages in rdb. It does not contact
// Redis.
func NewRedis(rdb redis.UniversalClient, cfg RedisConfig) (*Redis, error) {
	if rdb == nil {
		return nil, fmt.Errorf("message: nil Redis client")
	}
	limit, err := historyLimit(cfg.HistoryLimit)
	if err != nil {
		return nil, err
	}
	if cfg.TTL < 0 {
		return nil, fmt.Errorf("message: negative TTL %v", cfg.TTL)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := checkCluster(rdb, cfg.Prefix); err != nil {
		return nil, err
	}
	return &Redis{rdb: rdb, keys: keys{prefix: cfg.Prefix}, limit: limit, ttl: cfg.TTL, log: cfg.Logger}, nil
}

// Save appends m to the histories of its sender and recipient (once when
// they are the same), trims each to the newest HistoryLimit messages and
// restarts its TTL, all in one MULTI/EXEC.
func (r *Redis) Save(ctx context.Context, m Message) error {
	data, err := encode(m)
	if err != nil {
		return fmt.Errorf("message: save: %w", err)
	}
	users := []string{m.From}
	if m.To != m.From {
		users = append(users, m.To)
	}
	_, err = r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, u := range users {
			key := r.keys.messages(u)
			p.RPush(ctx, key, data)
			p.LTrim(ctx, key, int64(-r.limit), -1)
			p.PExpire(ctx, key, r.ttl)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("message: save: %w", err)
	}
	return nil
}

// ForUser returns userID's messages, oldest first. An unreadable entry is
// logged with its key and skipped, so one bad entry does not hide a
// user's whole history.
func (r *Redis) ForUser(ctx context.Context, userID string) ([]Message, error) {
	key := r.keys.messages(userID)
	entries, err := r.rdb.LRange(ctx, key, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("message: for user: %w", err)
	}
	msgs := make([]Message, 0, len(entries))
	for i, e := range entries {
		m, err := decode(e)
		if err != nil {
			r.log.WarnContext(ctx, "message: skipping unreadable stored message",
				"key", key, "index", i, "err", err)
			continue
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// decode reads one stored message. Anything but a JSON object is refused:
// json.Unmarshal would turn "null" into an empty message.
func decode(e string) (Message, error) {
	var m Message
	if !strings.HasPrefix(e, "{") {
		return m, errors.New("not a JSON object")
	}
	err := json.Unmarshal([]byte(e), &m)
	return m, err
}

// encode writes the storage form {"content","from","to"}, without the HTML
// escaping Go adds by default, so that for ordinary text the bytes match what
// the reference server (JSON.stringify) stores.
func encode(m Message) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), nil
}
