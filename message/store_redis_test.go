package message

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testrig/redistest"
	"github.com/redis/go-redis/v9"
)

// prefixes makes every test's keys unique on a shared server.
var prefixes atomic.Int64

func newRedisStore(t *testing.T, rdb redis.UniversalClient, cfg RedisConfig) *Redis {
	t.Helper()
	st, err := NewRedis(rdb, cfg)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	return st
}

func TestRedis(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	testStore(t, func(t *testing.T, limit int) Store {
		prefix := fmt.Sprintf("test%d:", prefixes.Add(1))
		return newRedisStore(t, rdb, RedisConfig{Prefix: prefix, HistoryLimit: limit})
	})
}

func TestRedisCluster(t *testing.T) {
	rdb := redistest.StartCluster(t, redistest.ClusterConfig{}).Client(t)
	if _, err := NewRedis(rdb, RedisConfig{}); !errors.Is(err, errNeedHashTag) {
		t.Fatalf("NewRedis(cluster, no hash tag) error = %v, want errNeedHashTag", err)
	}
	testStore(t, func(t *testing.T, limit int) Store {
		prefix := fmt.Sprintf("{test%d}:", prefixes.Add(1))
		return newRedisStore(t, rdb, RedisConfig{Prefix: prefix, HistoryLimit: limit})
	})
}

func TestRedisKeyLayout(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	st := newRedisStore(t, rdb, RedisConfig{})
	ctx := ctxFor(t)
	save(t, st, Message{Content: "<b>hi</b> & bye", From: "alice", To: "bob"})
	want := `{"content":"<b>hi</b> & bye","from":"alice","to":"bob"}`
	for _, key := range []string{"messages:alice", "messages:bob"} {
		got, err := rdb.LRange(ctx, key, 0, -1).Result()
		if err != nil || len(got) != 1 || got[0] != want {
			t.Fatalf("LRANGE %s = %q, %v; want [%s]", key, got, err, want)
		}
		if ttl := rdb.PTTL(ctx, key).Val(); ttl < 23*time.Hour || ttl > 24*time.Hour {
			t.Fatalf("PTTL %s = %v, want about 24h", key, ttl)
		}
	}
}

func TestRedisSkipsCorruptEntries(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	var (
		mu   sync.Mutex
		logs bytes.Buffer
	)
	logger := slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &logs}, nil))
	st := newRedisStore(t, rdb, RedisConfig{Logger: logger})
	ctx := ctxFor(t)
	good1 := Message{Content: "one", From: "alice", To: "bob"}
	good2 := Message{Content: "two", From: "bob", To: "alice"}
	save(t, st, good1)
	if err := rdb.RPush(ctx, "messages:alice", "not json", "null", `{"content":`).Err(); err != nil {
		t.Fatalf("RPUSH: %v", err)
	}
	save(t, st, good2)

	assertHistory(t, st, "alice", []Message{good1, good2})
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logs.String(), "key=messages:alice"); n != 3 {
		t.Fatalf("%d log lines name the key, want 3:\n%s", n, logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	st := newRedisStore(t, rdb, RedisConfig{})
	ctx := ctxFor(t)
	m := Message{Content: "hi", From: "alice", To: "bob"}

	srv.Kill()
	if err := st.Save(ctx, m); err == nil || !strings.HasPrefix(err.Error(), "message: ") {
		t.Fatalf("Save with Redis down: error %v, want a wrapped Redis error", err)
	}
	if _, err := st.ForUser(ctx, "alice"); err == nil || !strings.HasPrefix(err.Error(), "message: ") {
		t.Fatalf("ForUser with Redis down: error %v, want a wrapped Redis error", err)
	}

	srv.Restart()
	save(t, st, m)
	assertHistory(t, st, "bob", []Message{m})
}
