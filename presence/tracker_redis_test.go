package presence

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/testrig/redistest"
)

var prefixes atomic.Int64

// newRedisTracker returns a tracker whose lease is already current.
func newRedisTracker(t *testing.T, rdb redis.UniversalClient, prefix string, lease time.Duration) *Redis {
	t.Helper()
	tr, err := NewRedis(rdb, RedisConfig{Prefix: prefix, Lease: lease})
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	tr.renew(ctxFor(t), func([]string, bool) {})
	return tr
}

func TestRedis(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	testTracker(t, func(t *testing.T) Tracker {
		return newRedisTracker(t, rdb, fmt.Sprintf("t%d:", prefixes.Add(1)), time.Minute)
	})
}

func TestRedisCluster(t *testing.T) {
	rdb := redistest.StartCluster(t, redistest.ClusterConfig{}).Client(t)
	if _, err := NewRedis(rdb, RedisConfig{}); !errors.Is(err, errNeedHashTag) {
		t.Fatalf("NewRedis(cluster, no hash tag) error = %v, want errNeedHashTag", err)
	}
	testTracker(t, func(t *testing.T) Tracker {
		return newRedisTracker(t, rdb, fmt.Sprintf("{t%d}:", prefixes.Add(1)), time.Minute)
	})
}

// changes records what Watch reports.
type changes struct {
	mu  sync.Mutex
	got []string // "+user" or "-user"
}

func (c *changes) add(users []string, online bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, u := range users {
		sign := "-"
		if online {
			sign = "+"
		}
		c.got = append(c.got, sign+u)
	}
}

func (c *changes) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

// watch runs tr.Watch until the returned stop is called (or the test ends).
func watch(t *testing.T, tr *Redis, c *changes) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tr.Watch(ctx, c.add)
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10 s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRedisDeadNodeUsersGoOffline: a node that stops renewing its lease (it
// died without a goodbye) loses its sockets, and another node announces the
// users it leaves without a live socket, once.
func TestRedisDeadNodeUsersGoOffline(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	const lease = 300 * time.Millisecond
	a := newRedisTracker(t, rdb, "", lease)
	b := newRedisTracker(t, rdb, "", lease)
	var seenByB, seenByC changes
	stopA := watch(t, a, &changes{})
	watch(t, b, &seenByB)
	c := newRedisTracker(t, rdb, "", lease)
	watch(t, c, &seenByC)

	join(t, a, "only-on-a", "s1")
	join(t, a, "on-both", "s2")
	join(t, b, "on-both", "s3")
	if got := online(t, b, "only-on-a", "on-both"); !got["only-on-a"] || !got["on-both"] {
		t.Fatalf("Online = %v before the death", got)
	}

	stopA() // a dies: no Leave, no Close
	eventually(t, "only-on-a announced offline", func() bool {
		return len(seenByB.list())+len(seenByC.list()) > 0
	})
	time.Sleep(2 * lease) // any second announcement would come by now
	all := append(seenByB.list(), seenByC.list()...)
	if !slices.Equal(all, []string{"-only-on-a"}) {
		t.Fatalf("announced %v, want exactly [-only-on-a] once across the cluster", all)
	}
	if got := online(t, b, "only-on-a", "on-both"); got["only-on-a"] || !got["on-both"] {
		t.Fatalf("Online = %v after the death, want on-both only", got)
	}
	if n := rdb.Exists(ctxFor(t), "presence:node:"+a.Node(), "presence:user:only-on-a").Val(); n != 0 {
		t.Fatalf("%d keys of the dead node remain", n)
	}
}

// TestRedisNodeTakenForDeadComesBack: a node cut off from Redis for longer
// than its lease is cleaned up by the others; when it renews again it
// registers its sockets again and reports its users online.
func TestRedisNodeTakenForDeadComesBack(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	const lease = 300 * time.Millisecond
	a := newRedisTracker(t, rdb, "", lease)
	b := newRedisTracker(t, rdb, "", lease)
	var seenByA, seenByB changes
	watch(t, b, &seenByB)
	join(t, a, "u", "s1") // a never renews: it looks dead
	eventually(t, "u announced offline", func() bool { return slices.Contains(seenByB.list(), "-u") })
	if online(t, b, "u")["u"] {
		t.Fatal("u is online while its node is taken for dead")
	}
	watch(t, a, &seenByA)
	eventually(t, "u restored by its node", func() bool { return slices.Contains(seenByA.list(), "+u") })
	if !online(t, b, "u")["u"] {
		t.Fatal("u is offline after its node came back")
	}
	if !leave(t, a, "u", "s1") {
		t.Fatal("the restored socket's leave is not the last")
	}
}

// TestRedisCloseHandsLeftoversToTheOthers: Close ends the lease; sockets the
// node failed to remove are then cleaned up by the others.
func TestRedisCloseHandsLeftoversToTheOthers(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	const lease = 300 * time.Millisecond
	a := newRedisTracker(t, rdb, "", time.Minute)
	b := newRedisTracker(t, rdb, "", lease)
	join(t, a, "u", "s1")
	if err := a.Close(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	var seen changes
	watch(t, b, &seen)
	eventually(t, "u announced offline", func() bool { return slices.Contains(seen.list(), "-u") })
	if online(t, b, "u")["u"] {
		t.Fatal("u is online after its closed node was cleaned up")
	}
}

func TestRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	tr := newRedisTracker(t, rdb, "", time.Minute)
	srv.Kill()
	ctx := ctxFor(t)
	if _, err := tr.Join(ctx, "u", "s"); err == nil {
		t.Fatal("Join with Redis down succeeded")
	}
	if _, err := tr.Leave(ctx, "u", "s"); err == nil {
		t.Fatal("Leave with Redis down succeeded")
	}
	if _, err := tr.Online(ctx, []string{"u"}); err == nil {
		t.Fatal("Online with Redis down succeeded")
	}
	srv.Restart()
	// The restarted Redis is empty: the next renewal registers the node and
	// its (here: none) sockets again.
	tr.renew(ctx, func([]string, bool) {})
	if !join(t, tr, "u", "s") || !online(t, tr, "u")["u"] {
		t.Fatal("the tracker does not work after Redis came back")
	}
}

// BenchmarkRedisOnline measures the presence part of a connect: Online for
// every user of the list, at the sizes in the names.
func BenchmarkRedisOnline(b *testing.B) {
	rdb := redistest.Start(b).Client(b)
	ctx := context.Background()
	tr, _ := NewRedis(rdb, RedisConfig{})
	tr.renew(ctx, func([]string, bool) {})
	for _, n := range []int{1000, 100000} {
		users := make([]string, n)
		for i := range users {
			users[i] = fmt.Sprintf("user%06d", i)
			if i%10 == 0 { // one user in ten online
				if _, err := tr.Join(ctx, users[i], "s"); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := tr.Online(ctx, users); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
