package server

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testrig/chattest"
	"github.com/parley-chat/parley/session"
)

// TestActiveSessionIsRefreshed: a user who keeps sending messages keeps a
// session that would otherwise have expired while connected.
func TestActiveSessionIsRefreshed(t *testing.T) {
	const ttl = 1500 * time.Millisecond
	sessions, err := session.NewMemory(session.MemoryConfig{TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Config{Sessions: sessions})
	srv.chat.refresh = 200 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + ln.Addr().String()

	a := chattest.Dial(t, base, map[string]any{"username": "alice"}, chattest.WebSocket)
	sess := a.Wait("session", nil).Args[0].(map[string]any)
	me := sess["userID"].(string)
	for deadline := time.Now().Add(2 * ttl); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		if res := a.EmitAck("private message", map[string]any{"content": "note", "to": me}); res[0].(map[string]any)["ok"] != true {
			t.Fatalf("ack %v", res)
		}
	}
	if _, err := sessions.FindUser(context.Background(), me); err != nil {
		t.Fatalf("the active user's session expired: %v", err)
	}
	a.Close()
	// Once idle and gone, the session expires as configured.
	time.Sleep(ttl + 200*time.Millisecond)
	if _, err := sessions.Find(context.Background(), sess["sessionID"].(string)); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("an idle session outlived its TTL: %v", err)
	}
}
