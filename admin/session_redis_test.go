package admin

import (
	"context"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testrig/redistest"
)

func TestRedisStore(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	client := srv.Client(t)
	store := NewRedisStore(client, "", 0)
	if ok, err := store.Exists(ctx, "abc"); ok || err != nil {
		t.Fatalf("unknown session: %v %v", ok, err)
	}
	if err := store.Save(ctx, "abc"); err != nil {
		t.Fatal(err)
	}
	if ok, err := store.Exists(ctx, "abc"); !ok || err != nil {
		t.Fatalf("saved session: %v %v", ok, err)
	}
	// The key of instrument's RedisStore, for Node nodes to share it.
	if v, err := client.Get(ctx, "socket.io-admin#abc").Result(); v != "true" || err != nil {
		t.Fatalf("the session's key holds %q (%v)", v, err)
	}
	if ttl := client.TTL(ctx, "socket.io-admin#abc").Val(); ttl <= 23*time.Hour || ttl > 24*time.Hour {
		t.Fatalf("the session's key expires in %v, want a day", ttl)
	}
	srv.Stop()
	if _, err := store.Exists(ctx, "abc"); err == nil {
		t.Fatal("no error with Redis down")
	}
}

// TestLoginWithSharedSessions logs in on one node and again, with the
// session id, on another that shares the store.
func TestLoginWithSharedSessions(t *testing.T) {
	srv := redistest.Start(t)
	store := func() SessionStore { return NewRedisStore(srv.Client(t), "parley-test", time.Minute) }
	a := startNode(t, Config{Username: "admin", PasswordHash: changeit, Sessions: store()})
	b := startNode(t, Config{Username: "admin", PasswordHash: changeit, Sessions: store()})
	runScript(t, a, "shared-session", map[string]string{"other": b.url})
}
