package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/internal/testrig/chattest"
	"github.com/parley-chat/parley/server"
)

// TestInvalidPrivateMessagesAreRefused sends every kind of bad payload, with
// and without an ack. Each is refused with a reason, none is delivered or
// stored, and the connection keeps working.
func TestInvalidPrivateMessagesAreRefused(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr chattest.Transport) {
		n := startNode(t, server.Config{MaxMessageChars: 10})
		a := login(t, n.URL, "alice", tr)
		b := login(t, n.URL, "bob", tr)
		cases := []struct {
			name    string
			payload any
			reason  string
		}{
			{"a string", "hello", "invalid payload"},
			{"a number", 42, "invalid payload"},
			{"null", nil, "invalid payload"},
			{"an array", []any{"hello", b.UserID}, "invalid payload"},
			{"no content", map[string]any{"to": b.UserID}, "content must be a non-empty string"},
			{"empty content", map[string]any{"content": "", "to": b.UserID}, "content must be a non-empty string"},
			{"content a number", map[string]any{"content": 7, "to": b.UserID}, "content must be a non-empty string"},
			{"content an object", map[string]any{"content": map[string]any{"x": "y"}, "to": b.UserID}, "content must be a non-empty string"},
			{"content too long", map[string]any{"content": strings.Repeat("ü", 11), "to": b.UserID}, "content too long"},
			{"no recipient", map[string]any{"content": "hi"}, "to must be a user id"},
			{"recipient a number", map[string]any{"content": "hi", "to": 3}, "to must be a user id"},
			{"unknown recipient", map[string]any{"content": "hi", "to": "0000000000000000"}, "unknown recipient"},
			{"session id as recipient", map[string]any{"content": "hi", "to": b.SessionID}, "unknown recipient"},
		}
		for _, c := range cases {
			wantError(t, send(t, a, c.payload), c.reason)
			a.Emit("private message", c.payload) // without an ack: dropped silently
		}
		a.Emit("private message") // no payload at all
		// Exactly the limit (in characters, not bytes) is fine.
		wantOK(t, send(t, a, map[string]any{"content": strings.Repeat("ü", 10), "to": b.UserID}))
		b.Wait("private message", isPrivate(strings.Repeat("ü", 10)))
		barrier(t, n.URL, b)
		if got := len(b.Events("private message")); got != 2 { // the valid one and the barrier
			t.Fatalf("bob received %d private messages, want 2", got)
		}
		again := resume(t, n.URL, b, tr)
		if got := messagesOf(t, entryFor(t, again.Users, a.UserID)); len(got) != 1 {
			t.Fatalf("stored history = %+v, want only the valid message", got)
		}
		if !strings.Contains(n.log.String(), "private message refused") {
			t.Fatal("refused messages were not logged")
		}
	})
}

// TestOtherEventsAreHarmless checks that unknown events, events with odd
// arguments and reserved names do not disturb the server.
func TestOtherEventsAreHarmless(t *testing.T) {
	n := startNode(t, server.Config{})
	a := login(t, n.URL, "alice", chattest.WebSocket)
	b := login(t, n.URL, "bob", chattest.WebSocket)
	a.Emit("no such event", map[string]any{"x": 1})
	a.Emit("users")
	a.Emit("session", map[string]any{"sessionID": b.SessionID})
	a.Emit("private message", map[string]any{"content": "x", "to": b.UserID}, "extra", 3)
	b.Wait("private message", isPrivate("x"))
	wantOK(t, send(t, a, map[string]any{"content": "still fine", "to": b.UserID}))
	b.Wait("private message", isPrivate("still fine"))
}

// TestMalformedPacketIsLoggedAndClosed sends a packet the Socket.IO parser
// cannot decode over a raw WebSocket: the server closes that connection (as
// Node does), logs why with the socket's id, and keeps serving others.
func TestMalformedPacketIsLoggedAndClosed(t *testing.T) {
	n := startNode(t, server.Config{})
	wsURL := "ws" + strings.TrimPrefix(n.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	ws, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	read := func() string {
		t.Helper()
		_, m, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(m)
	}
	if m := read(); !strings.HasPrefix(m, "0{") {
		t.Fatalf("open packet = %q", m)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`40{"username":"mallory"}`)); err != nil {
		t.Fatal(err)
	}
	for m := ""; !strings.HasPrefix(m, `42["users"`); m = read() {
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte("4zzz not a packet")); err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			break // closed by the server
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(n.log.String(), "chat: socket error") {
		if time.Now().After(deadline) {
			t.Fatalf("no log line for the malformed packet:\n%s", n.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	a := login(t, n.URL, "alice", chattest.WebSocket)
	b := login(t, n.URL, "bob", chattest.WebSocket)
	wantOK(t, send(t, a, map[string]any{"content": "still serving", "to": b.UserID}))
}
