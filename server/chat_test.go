package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testrig/chattest"
	"github.com/parley-chat/parley/server"
)

// quiet is how long a test waits to be confident an event is NOT coming.
// It is not a performance bound: a correct server never sends the event.
const quiet = 700 * time.Millisecond

func TestInvalidUsernameIsRefused(t *testing.T) {
	n := startNode(t, server.Config{})
	cases := map[string]string{
		"no auth":                   ``,
		"empty auth":                `{}`,
		"empty":                     `{"username":""}`,
		"blank":                     `{"username":" \t "}`,
		"33 characters":             `{"username":"` + strings.Repeat("é", 33) + `"}`,
		"not a string":              `{"username":42}`,
		"an object":                 `{"username":{"x":1}}`,
		"null":                      `{"username":null}`,
		"control character":         `{"username":"al\u0000ice"}`,
		"unknown session":           `{"sessionID":"0123456789abcdef0123456789abcdef"}`,
		"unknown session, no name":  `{"sessionID":"nope","username":""}`,
		"session id of wrong type":  `{"sessionID":12}`,
		"overlong session, no name": `{"sessionID":"` + strings.Repeat("a", 5000) + `"}`,
	}
	for name, auth := range cases {
		t.Run(name, func(t *testing.T) {
			// Node's exact bytes: the Vue client shows its login form on
			// exactly this message.
			if got := connectRaw(t, n.URL, auth); got != `44{"message":"invalid username"}` {
				t.Fatalf("answer to 40%s = %q, want the invalid username CONNECT_ERROR", auth, got)
			}
		})
	}
}

func TestUsernameIsTrimmedAndMayBe32Characters(t *testing.T) {
	n := startNode(t, server.Config{})
	long := strings.Repeat("é", 32)
	a := login(t, n.URL, "  alice\t", chattest.WebSocket)
	b := login(t, n.URL, long, chattest.WebSocket)
	if got := entryFor(t, b.Users, a.UserID)["username"]; got != "alice" {
		t.Fatalf("username = %q, want it trimmed to %q", got, "alice")
	}
	if got := entryFor(t, b.Users, b.UserID)["username"]; got != long {
		t.Fatalf("a 32-character username became %q", got)
	}
}

func TestLoginGivesSessionThenUsers(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr chattest.Transport) {
		n := startNode(t, server.Config{})
		a := login(t, n.URL, "alice", tr)
		if len(a.SessionID) < 32 || !hex.MatchString(a.SessionID) {
			t.Fatalf("sessionID %q: want at least 128 bits as hex", a.SessionID)
		}
		if a.UserID == "" || a.UserID == a.SessionID || strings.Contains(a.SessionID, a.UserID) {
			t.Fatalf("userID %q must be set and unrelated to sessionID %q", a.UserID, a.SessionID)
		}
		self := entryFor(t, a.Users, a.UserID)
		if self["username"] != "alice" || self["connected"] != true || len(messagesOf(t, self)) != 0 {
			t.Fatalf("own entry = %v", self)
		}
		b := login(t, n.URL, "bob", tr)
		if b.SessionID == a.SessionID || b.UserID == a.UserID {
			t.Fatal("two logins share an id")
		}
		if len(b.Users) != 2 || entryFor(t, b.Users, a.UserID)["connected"] != true {
			t.Fatalf("bob's users = %v, want alice (online) and bob", b.Users)
		}
	})
}

func TestUserConnectedGoesToOthersOnly(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr chattest.Transport) {
		n := startNode(t, server.Config{})
		a := login(t, n.URL, "alice", tr)
		b := login(t, n.URL, "bob", tr)
		e := a.Wait("user connected", isUser(b.UserID))
		got := object(t, e.Args)
		checkUserEntry(t, got)
		if got["username"] != "bob" || got["connected"] != true || len(messagesOf(t, got)) != 0 {
			t.Fatalf("user connected = %v", got)
		}
		barrier(t, n.URL, b)
		if n := countMatching(b.Client, "user connected", isUser(b.UserID)); n != 0 {
			t.Fatalf("bob was told %d times that he connected", n)
		}
	})
}

func TestPrivateMessageReachesRecipientAndOtherTabsOnly(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr chattest.Transport) {
		n := startNode(t, server.Config{})
		a1 := login(t, n.URL, "alice", tr)
		a2 := resume(t, n.URL, a1, tr)
		if a2.SessionID != a1.SessionID || a2.UserID != a1.UserID {
			t.Fatalf("second tab got session %s/%s, want %s/%s", a2.SessionID, a2.UserID, a1.SessionID, a1.UserID)
		}
		b := login(t, n.URL, "bob", tr)
		want := msg{"hello <b>bob</b> 🦊", a1.UserID, b.UserID}
		wantOK(t, send(t, a1, map[string]any{"content": want.Content, "to": b.UserID}))
		if got := asMsg(t, b.Wait("private message", isPrivate(want.Content)).Args); got != want {
			t.Fatalf("bob got %+v, want %+v", got, want)
		}
		if got := asMsg(t, a2.Wait("private message", isPrivate(want.Content)).Args); got != want {
			t.Fatalf("alice's other tab got %+v, want %+v", got, want)
		}
		barrier(t, n.URL, a1)
		if n := len(a1.Events("private message")); n != 1 { // the barrier's
			t.Fatalf("the sending socket got %d private messages, want only the barrier's", n)
		}
		for _, c := range []*user{b, a2} {
			if n := countMatching(c.Client, "private message", isPrivate(want.Content)); n != 1 {
				t.Fatalf("a recipient socket got the message %d times", n)
			}
		}
	})
}

func TestMessageToSelf(t *testing.T) {
	n := startNode(t, server.Config{})
	a1 := login(t, n.URL, "alice", chattest.WebSocket)
	a2 := resume(t, n.URL, a1, chattest.Polling)
	wantOK(t, send(t, a1, map[string]any{"content": "note to self", "to": a1.UserID}))
	a2.Wait("private message", isPrivate("note to self"))
	barrier(t, n.URL, a1)
	if n := countMatching(a1.Client, "private message", isPrivate("note to self")); n != 0 {
		t.Fatal("the sending socket got its own message")
	}
	a3 := resume(t, n.URL, a1, chattest.WebSocket)
	got := messagesOf(t, entryFor(t, a3.Users, a1.UserID))
	if len(got) != 1 || got[0] != (msg{"note to self", a1.UserID, a1.UserID}) {
		t.Fatalf("own history = %+v, want the message once", got)
	}
}

func TestHistoryIsSentOnReload(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr chattest.Transport) {
		n := startNode(t, server.Config{})
		a := login(t, n.URL, "alice", tr)
		b := login(t, n.URL, "bob", tr)
		c := login(t, n.URL, "carol", tr)
		wantOK(t, send(t, a, map[string]any{"content": "1", "to": b.UserID}))
		b.Wait("private message", isPrivate("1"))
		wantOK(t, send(t, b, map[string]any{"content": "2", "to": a.UserID}))
		a.Wait("private message", isPrivate("2"))
		wantOK(t, send(t, a, map[string]any{"content": "3", "to": c.UserID}))
		b.Close()

		again := resume(t, n.URL, b, tr)
		if again.SessionID != b.SessionID || again.UserID != b.UserID {
			t.Fatal("reload did not restore the session")
		}
		want := []msg{{"1", a.UserID, b.UserID}, {"2", b.UserID, a.UserID}}
		if got := messagesOf(t, entryFor(t, again.Users, a.UserID)); !equalMsgs(got, want) {
			t.Fatalf("history with alice = %+v, want %+v", got, want)
		}
		if got := messagesOf(t, entryFor(t, again.Users, c.UserID)); len(got) != 0 {
			t.Fatalf("bob sees alice's messages to carol: %+v", got)
		}
	})
}

func equalMsgs(a, b []msg) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestUnknownSessionWithUsernameStartsANewOne(t *testing.T) {
	n := startNode(t, server.Config{})
	u := connectAs(t, n.URL, map[string]any{"sessionID": "stale", "username": "alice"}, chattest.Polling)
	if u.SessionID == "stale" {
		t.Fatal("the server adopted a session id chosen by the client")
	}
}

func TestUserDisconnectedOnlyWhenLastSocketCloses(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr chattest.Transport) {
		n := startNode(t, server.Config{})
		a1 := login(t, n.URL, "alice", tr)
		a2 := resume(t, n.URL, a1, tr)
		b := login(t, n.URL, "bob", tr)

		a1.Close()
		if _, ok := b.WaitFor("user disconnected", isUser(a1.UserID), quiet); ok {
			t.Fatal("alice was announced offline while a tab was still open")
		}
		if got := entryFor(t, login(t, n.URL, "carol", tr).Users, a1.UserID)["connected"]; got != true {
			t.Fatal("alice is listed offline while a tab is still open")
		}

		a2.Close()
		e := b.Wait("user disconnected", isUser(a1.UserID))
		if s, ok := e.Args[0].(string); !ok || s != a1.UserID {
			t.Fatalf("user disconnected payload = %#v, want the bare userID", e.Args[0])
		}
		if got := entryFor(t, login(t, n.URL, "dave", tr).Users, a1.UserID)["connected"]; got != false {
			t.Fatal("alice is listed online after her last tab closed")
		}
	})
}

// TestFastReloadKeepsUserOnline reloads a tab many times in a row, in both
// orders (old socket closed before or after the new one connects). Peers
// must end up seeing the user online, and so must a new login.
func TestFastReloadKeepsUserOnline(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr chattest.Transport) {
		n := startNode(t, server.Config{})
		a := login(t, n.URL, "alice", tr)
		b := login(t, n.URL, "bob", tr)
		cur := a
		for i := range 10 {
			if i%2 == 0 {
				cur.Close()
				cur = resume(t, n.URL, a, tr)
			} else {
				next := resume(t, n.URL, a, tr)
				cur.Close()
				cur = next
			}
		}
		barrier(t, n.URL, b)
		time.Sleep(quiet) // let late disconnects land, if the server had any
		barrier(t, n.URL, b)
		if last := lastPresence(b, a.UserID); last != "user connected" {
			t.Fatalf("bob's last presence event for alice is %q, want user connected", last)
		}
		if got := entryFor(t, login(t, n.URL, "carol", tr).Users, a.UserID)["connected"]; got != true {
			t.Fatal("alice is listed offline after fast reloads")
		}
		wantOK(t, send(t, b, map[string]any{"content": "still there?", "to": a.UserID}))
		cur.Wait("private message", isPrivate("still there?"))
	})
}

// lastPresence returns the name of the last user connected / disconnected
// event c received about userID.
func lastPresence(c *user, userID string) string {
	last := ""
	for _, e := range c.All() {
		if (e.Name == "user connected" || e.Name == "user disconnected") && isUser(userID)(e.Args) {
			last = e.Name
		}
	}
	return last
}

// TestGoLibraryClient runs a conversation with the Go socket.io client that
// zishang520 ships (over WebSocket), as a Go service talking to Parley would.
func TestGoLibraryClient(t *testing.T) {
	n := startNode(t, server.Config{})
	a := login(t, n.URL, "alice", chattest.GoClient)
	b := login(t, n.URL, "bob", chattest.GoClient)
	a.Wait("user connected", isUser(b.UserID))
	wantOK(t, send(t, a, map[string]any{"content": "hi from Go", "to": b.UserID}))
	if got := asMsg(t, b.Wait("private message", isPrivate("hi from Go")).Args); got != (msg{"hi from Go", a.UserID, b.UserID}) {
		t.Fatalf("bob got %+v", got)
	}
	wantError(t, send(t, b, "not an object"), "invalid payload")
	b.Close()
	a.Wait("user disconnected", isUser(b.UserID))
}
