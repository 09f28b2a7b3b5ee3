package session

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

var _ Store = (*Redis)(nil)

// DefaultTTL is how long a session lives after its last Save.
const DefaultTTL = 24 * time.Hour

//go:embed lua/save.lua
var saveSource string

var saveScript = redis.NewScript(saveSource)

// RedisConfig configures a Redis store.
type RedisConfig struct {
	// Prefix is prepended to every key. On a Redis Cluster it must contain a
	// hash tag (e.g. "{parley}:") so that all session keys share a slot.
	// default: "" (keys are exactly the reference server's session:<id>)
	Prefix string
	// TTL is how long a session lives after its last Save.
	// default: 24h (DefaultTTL)
	TTL time.Duration
}

// Redis is a Store in Redis, shared by every node of a cluster of chat
// servers. Sessions expire TTL after their last Save. All reads an index
// kept next to the sessions, never the keyspace.
type Redis struct {
	rdb  redis.UniversalClient
	keys keys
	ttl  time.Duration
}

// NewRedis returns a store that keeps sessions in rdb. It does not contact
// Redis.
func NewRedis(rdb redis.UniversalClient, cfg RedisConfig) (*Redis, error) {
	if rdb == nil {
		return nil, fmt.Errorf("session: nil Redis client")
	}
	if cfg.TTL < 0 {
		return nil, fmt.Errorf("session: negative TTL %v", cfg.TTL)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if err := checkCluster(rdb, cfg.Prefix); err != nil {
		return nil, err
	}
	return &Redis{rdb: rdb, keys: keys{prefix: cfg.Prefix}, ttl: cfg.TTL}, nil
}

// Find returns the session with the given ID, or ErrNotFound.
func (r *Redis) Find(ctx context.Context, id string) (Session, error) {
	fields, err := r.rdb.HGetAll(ctx, r.keys.session(id)).Result()
	if err != nil {
		return Session{}, fmt.Errorf("session: find: %w", err)
	}
	if len(fields) == 0 {
		return Session{}, ErrNotFound
	}
	return Session{
		ID:        id,
		UserID:    fields["userID"],
		Username:  fields["username"],
		Connected: fields["connected"] == "true",
	}, nil
}

// FindUser returns the session of the user with the given public ID, or
// ErrNotFound. Its index entry can outlive the session by up to one pruning
// pass; the session's own expiry decides.
func (r *Redis) FindUser(ctx context.Context, userID string) (Session, error) {
	id, err := r.rdb.HGet(ctx, r.keys.users(), userID).Result()
	if errors.Is(err, redis.Nil) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("session: find user: %w", err)
	}
	return r.Find(ctx, id)
}

// Save creates or replaces a session and restarts its TTL, in one atomic
// script that also updates the index read by All.
func (r *Redis) Save(ctx context.Context, s Session) error {
	if err := r.save(ctx, r.rdb, s).Err(); err != nil {
		return fmt.Errorf("session: save: %w", err)
	}
	return nil
}

func (r *Redis) save(ctx context.Context, c redis.Scripter, s Session) *redis.Cmd {
	k := []string{r.keys.session(s.ID), r.keys.expiry(), r.keys.data(), r.keys.users()}
	return saveScript.Run(ctx, c, k,
		s.ID, s.UserID, s.Username, strconv.FormatBool(s.Connected),
		r.ttl.Milliseconds(), encodeEntry(s))
}

// All returns every session that has not expired. It costs one round trip:
// Redis's clock and the values of the data index, filtered here.
func (r *Redis) All(ctx context.Context) ([]Session, error) {
	var (
		now     *redis.TimeCmd
		entries *redis.StringSliceCmd
	)
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		now = p.Time(ctx)
		entries = p.HVals(ctx, r.keys.data())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("session: all: %w", err)
	}
	nowMs := now.Val().UnixMilli()
	sessions := make([]Session, 0, len(entries.Val()))
	for _, entry := range entries.Val() {
		s, expiry, ok := decodeEntry(entry)
		if ok && expiry > nowMs {
			sessions = append(sessions, s)
		}
	}
	return sessions, nil
}

// encodeEntry writes the data index entry of s, without the expiry that the
// script prepends. The lengths make the split unambiguous whatever the
// strings contain, and carrying the ID lets All read values only (HVALS).
func encodeEntry(s Session) string {
	c := "0"
	if s.Connected {
		c = "1"
	}
	return c + ":" + strconv.Itoa(len(s.ID)) + ":" + strconv.Itoa(len(s.UserID)) + ":" +
		s.ID + s.UserID + s.Username
}

// decodeEntry parses
// "<expiry>:<connected>:<len(ID)>:<len(userID)>:<ID><userID><username>".
// An unreadable entry is skipped by All rather than failing the listing.
// It runs once per session on every connect, hence no allocation but the
// Session's own strings (which share the entry's memory).
func decodeEntry(entry string) (s Session, expiry int64, ok bool) {
	expiryText, rest, ok1 := strings.Cut(entry, ":")
	connected, rest, ok2 := strings.Cut(rest, ":")
	idLenText, rest, ok3 := strings.Cut(rest, ":")
	userLenText, rest, ok4 := strings.Cut(rest, ":")
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return Session{}, 0, false
	}
	expiry, err1 := strconv.ParseInt(expiryText, 10, 64)
	idLen, err2 := strconv.Atoi(idLenText)
	userLen, err3 := strconv.Atoi(userLenText)
	if err1 != nil || err2 != nil || err3 != nil || idLen < 0 || userLen < 0 || idLen+userLen > len(rest) {
		return Session{}, 0, false
	}
	return Session{
		ID:        rest[:idLen],
		UserID:    rest[idLen : idLen+userLen],
		Username:  rest[idLen+userLen:],
		Connected: connected == "1",
	}, expiry, true
}
