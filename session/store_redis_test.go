package session

import (
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testrig/redistest"
	"github.com/redis/go-redis/v9"
)

// prefixes makes every test's keys unique on a shared server.
var prefixes atomic.Int64

func newRedisStore(t testing.TB, rdb redis.UniversalClient, prefix string, ttl time.Duration) *Redis {
	t.Helper()
	st, err := NewRedis(rdb, RedisConfig{Prefix: prefix, TTL: ttl})
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	return st
}

func TestRedis(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	testStore(t, func(t *testing.T, ttl time.Duration) Store {
		return newRedisStore(t, rdb, fmt.Sprintf("test%d:", prefixes.Add(1)), ttl)
	})
}

func TestRedisCluster(t *testing.T) {
	rdb := redistest.StartCluster(t, redistest.ClusterConfig{}).Client(t)
	if _, err := NewRedis(rdb, RedisConfig{}); !errors.Is(err, errNeedHashTag) {
		t.Fatalf("NewRedis(cluster, no hash tag) error = %v, want errNeedHashTag", err)
	}
	testStore(t, func(t *testing.T, ttl time.Duration) Store {
		return newRedisStore(t, rdb, fmt.Sprintf("{test%d}:", prefixes.Add(1)), ttl)
	})
}

func TestRedisKeyLayout(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	st := newRedisStore(t, rdb, "", 0)
	ctx := ctxFor(t)
	if err := st.Save(ctx, Session{ID: "sid", UserID: "uid", Username: "alice", Connected: true}); err != nil {
		t.Fatalf("Save: %v", err)
	}
	fields, err := rdb.HGetAll(ctx, "session:sid").Result()
	if err != nil {
		t.Fatalf("HGETALL: %v", err)
	}
	want := map[string]string{"userID": "uid", "username": "alice", "connected": "true"}
	if fmt.Sprint(fields) != fmt.Sprint(want) {
		t.Fatalf("session:sid = %v, want %v", fields, want)
	}
	if ttl := rdb.PTTL(ctx, "session:sid").Val(); ttl < 23*time.Hour || ttl > 24*time.Hour {
		t.Fatalf("PTTL session:sid = %v, want about 24h", ttl)
	}
	if n := rdb.ZCard(ctx, "sessions:expiry").Val(); n != 1 {
		t.Fatalf("ZCARD sessions:expiry = %d, want 1", n)
	}
}

func TestRedisSaveRefreshesTTL(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	st := newRedisStore(t, rdb, "", time.Hour)
	ctx := ctxFor(t)
	s := Session{ID: "sid", UserID: "uid", Username: "alice"}
	if err := st.Save(ctx, s); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if err := rdb.PExpire(ctx, "session:sid", time.Second).Err(); err != nil {
		t.Fatalf("PEXPIRE: %v", err)
	}
	if err := st.Save(ctx, s); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if ttl := rdb.PTTL(ctx, "session:sid").Val(); ttl < 59*time.Minute {
		t.Fatalf("PTTL after a second Save = %v, want about 1h", ttl)
	}
}

func TestRedisPrunesExpiredIndexEntries(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	ctx := ctxFor(t)
	short := newRedisStore(t, rdb, "", 100*time.Millisecond)
	for i := range 5 {
		if err := short.Save(ctx, Session{ID: strconv.Itoa(i), UserID: "u" + strconv.Itoa(i)}); err != nil {
			t.Fatalf("Save: %v", err)
		}
	}
	time.Sleep(200 * time.Millisecond) // let all five expire
	long := newRedisStore(t, rdb, "", 0)
	if err := long.Save(ctx, Session{ID: "live", UserID: "u-live"}); err != nil {
		t.Fatalf("Save: %v", err)
	}
	z := rdb.ZCard(ctx, "sessions:expiry").Val()
	h := rdb.HLen(ctx, "sessions:data").Val()
	u := rdb.HKeys(ctx, "sessions:users").Val()
	if z != 1 || h != 1 || len(u) != 1 || u[0] != "u-live" {
		t.Fatalf("indexes after pruning: zset %d, data %d, users %v; want 1, 1, [u-live]", z, h, u)
	}
}

func TestRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	st := newRedisStore(t, rdb, "", 0)
	ctx := ctxFor(t)
	s := Session{ID: "sid", UserID: "uid", Username: "alice"}

	srv.Kill()
	if _, err := st.Find(ctx, "sid"); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Find with Redis down: error %v, want a Redis error", err)
	}
	if err := st.Save(ctx, s); err == nil {
		t.Fatal("Save with Redis down succeeded")
	}
	if _, err := st.All(ctx); err == nil {
		t.Fatal("All with Redis down succeeded")
	}

	srv.Restart()
	if err := st.Save(ctx, s); err != nil {
		t.Fatalf("Save after restart: %v", err)
	}
	if got, err := st.Find(ctx, "sid"); err != nil || got != s {
		t.Fatalf("Find after restart = %+v, %v", got, err)
	}
	if all, err := st.All(ctx); err != nil || len(all) != 1 {
		t.Fatalf("All after restart = %v, %v", all, err)
	}
}

func TestDecodeEntryRejectsGarbage(t *testing.T) {
	for _, entry := range []string{"", "1:1", "1:1:1:ab", "x:1:1:1:ab", "1:1:x:1:ab", "1:1:1:x:ab",
		"1:1:2:1:ab", "1:1:-1:1:ab", "1:1:1:-1:ab"} {
		if _, _, ok := decodeEntry(entry); ok {
			t.Errorf("decodeEntry(%q) accepted garbage", entry)
		}
	}
}

// populate saves n sessions through pipelines of the save script.
func populate(b *testing.B, rdb redis.UniversalClient, st *Redis, n int) []Session {
	ctx := b.Context()
	if err := saveScript.Load(ctx, rdb).Err(); err != nil {
		b.Fatalf("SCRIPT LOAD: %v", err)
	}
	sessions := make([]Session, n)
	for i := range sessions {
		sessions[i] = Session{
			ID:       fmt.Sprintf("%016x", i),
			UserID:   fmt.Sprintf("%016x", i+n),
			Username: "user" + strconv.Itoa(i),
		}
	}
	for start := 0; start < n; start += 1000 {
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, s := range sessions[start:min(start+1000, n)] {
				st.save(ctx, p, s)
			}
			return nil
		})
		if err != nil {
			b.Fatalf("populate: %v", err)
		}
	}
	return sessions
}

func BenchmarkRedisAll100k(b *testing.B) {
	rdb := redistest.Start(b).Client(b)
	st := newRedisStore(b, rdb, "", 0)
	populate(b, rdb, st, 100_000)
	ctx := b.Context()
	for b.Loop() {
		all, err := st.All(ctx)
		if err != nil || len(all) != 100_000 {
			b.Fatalf("All = %d sessions, %v", len(all), err)
		}
	}
}

// BenchmarkRedisConnect does a connection's session work with 100,000
// users known: Find the session, Save it as connected, list All.
func BenchmarkRedisConnect(b *testing.B) {
	rdb := redistest.Start(b).Client(b)
	st := newRedisStore(b, rdb, "", 0)
	sessions := populate(b, rdb, st, 100_000)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		s, err := st.Find(ctx, sessions[i%len(sessions)].ID)
		if err != nil {
			b.Fatalf("Find: %v", err)
		}
		s.Connected = true
		if err := st.Save(ctx, s); err != nil {
			b.Fatalf("Save: %v", err)
		}
		if _, err := st.All(ctx); err != nil {
			b.Fatalf("All: %v", err)
		}
		i++
	}
}
