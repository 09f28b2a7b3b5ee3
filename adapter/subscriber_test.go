package adapter

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/testrig/redistest"
)

// TestShardChannelLeftAndJoinedAgain unsubscribes a room's shard channel
// and subscribes it again before Redis's reply to the SUNSUBSCRIBE is read
// (a room that empties and fills at once, as when its only user
// reconnects). That reply answers the subscriber's own command, not a slot
// that moved: the channel stays wanted, so the next connection, after Redis
// drops the first, subscribes it again.
func TestShardChannelLeftAndJoinedAgain(t *testing.T) {
	r := redistest.Start(t)
	rdb := r.Client(t)
	ctx := context.Background()
	const gate, room = "gate", "socket.io#/#room#"

	// The first message on gate holds the reading goroutine until the
	// channel has been removed and added again.
	held, release := make(chan struct{}), make(chan struct{})
	got := make(chan string, 16)
	deliver := func(m *redis.Message) {
		if m.Channel == gate && m.Payload == "hold" {
			close(held)
			<-release
			return
		}
		got <- m.Channel + " " + m.Payload
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := newMetrics(prometheus.NewRegistry(), log)
	s := newSubscriber(r.Client(t), true, deliver, time.Minute, subscriberHooks{}, m, log)
	t.Cleanup(s.close)

	s.add([]string{gate, room}, nil)
	waitFor(t, "the first subscription", func() bool { return s.ready() == nil })
	if err := rdb.SPublish(ctx, gate, "hold").Err(); err != nil {
		t.Fatal(err)
	}
	<-held
	s.remove([]string{room}, nil)
	s.add([]string{room}, nil)
	close(release)
	waitFor(t, "the subscription again", func() bool { return s.ready() == nil })

	if err := rdb.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a new connection", func() bool { return value(m.reconnects) == 1 && s.ready() == nil })
	n, err := rdb.SPublish(ctx, room, "after").Result()
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("SPUBLISH reached %d subscribers, want 1: the room's channel was not subscribed again", n)
	}
	select {
	case msg := <-got:
		if msg != room+" after" {
			t.Fatalf("got %q", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the message on the room's channel did not arrive")
	}
}

// waitFor polls ok for up to 10 s.
func waitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
