package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-chat/parley/internal/testrig/chattest"
	"github.com/parley-chat/parley/server"
)

// The Go socket.io client starts a network monitor goroutine at init that
// lives as long as the process: it is not ours to check.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

// transports are the ways a socket.io client reaches the server; the chat
// must behave the same on each.
var transports = []chattest.Transport{chattest.Polling, chattest.WebSocket, chattest.Upgrade}

func transportName(tr chattest.Transport) string {
	if tr == chattest.Upgrade {
		return "upgrade"
	}
	return string(tr)
}

// forEachTransport runs test once per transport.
func forEachTransport(t *testing.T, test func(t *testing.T, tr chattest.Transport)) {
	for _, tr := range transports {
		t.Run(transportName(tr), func(t *testing.T) { test(t, tr) })
	}
}

// node is one Parley server running in the test process.
type node struct {
	URL string
	srv *server.Server
	log *logBuffer
}

// startNode serves cfg on a loopback port until the test ends, then shuts
// the server down the way SIGTERM does and checks that it stopped in time.
func startNode(t *testing.T, cfg server.Config) *node {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	logs := &logBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv := server.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("server did not stop within 15 s of its context ending")
		}
	})
	return &node{URL: "http://" + ln.Addr().String(), srv: srv, log: logs}
}

// logBuffer collects a server's log lines for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// user is a logged-in client with what the server told it.
type user struct {
	*chattest.Client
	SessionID string
	UserID    string
	Users     []map[string]any
}

// login connects a new user with a username and waits for session and users.
func login(t *testing.T, base, name string, tr chattest.Transport) *user {
	t.Helper()
	return connectAs(t, base, map[string]any{"username": name}, tr)
}

// resume connects another socket (a tab, a reload) of u's session.
func resume(t *testing.T, base string, u *user, tr chattest.Transport) *user {
	t.Helper()
	return connectAs(t, base, map[string]any{"sessionID": u.SessionID}, tr)
}

func connectAs(t *testing.T, base string, auth map[string]any, tr chattest.Transport) *user {
	t.Helper()
	c := chattest.Dial(t, base, auth, tr)
	c.Wait("connect", nil)
	sess := c.Wait("session", nil)
	c.Wait("users", nil)
	// session must come before users: the client computes "self" from it.
	order := eventNames(c.All())
	if si, ui := indexOf(order, "session"), indexOf(order, "users"); si > ui {
		t.Fatalf("events in order %v: users before session", order)
	}
	payload := object(t, sess.Args)
	u := &user{Client: c, SessionID: str(t, payload, "sessionID"), UserID: str(t, payload, "userID")}
	u.Users = userEntries(t, c.Events("users")[0].Args)
	return u
}

func eventNames(events []chattest.Event) []string {
	names := make([]string, len(events))
	for i, e := range events {
		names[i] = e.Name
	}
	return names
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// object returns the first argument of an event as a JSON object.
func object(t *testing.T, args []any) map[string]any {
	t.Helper()
	if len(args) == 0 {
		t.Fatalf("event without payload")
	}
	m, ok := args[0].(map[string]any)
	if !ok {
		t.Fatalf("payload %#v is not an object", args[0])
	}
	return m
}

func str(t *testing.T, m map[string]any, key string) string {
	t.Helper()
	s, ok := m[key].(string)
	if !ok {
		t.Fatalf("%q in %v is not a string", key, m)
	}
	return s
}

// userEntries reads a users payload, checking that every entry has the
// shape the Vue client relies on.
func userEntries(t *testing.T, args []any) []map[string]any {
	t.Helper()
	list, ok := args[0].([]any)
	if !ok {
		t.Fatalf("users payload %#v is not an array", args[0])
	}
	out := make([]map[string]any, 0, len(list))
	for _, it := range list {
		e, ok := it.(map[string]any)
		if !ok {
			t.Fatalf("users entry %#v is not an object", it)
		}
		checkUserEntry(t, e)
		out = append(out, e)
	}
	return out
}

// checkUserEntry asserts the four fields of a user entry and their types.
func checkUserEntry(t *testing.T, e map[string]any) {
	t.Helper()
	if len(e) != 4 {
		t.Fatalf("user entry %v: want exactly userID, username, connected, messages", e)
	}
	_ = str(t, e, "userID")
	_ = str(t, e, "username")
	if _, ok := e["connected"].(bool); !ok {
		t.Fatalf("user entry %v: connected is not a boolean", e)
	}
	if _, ok := e["messages"].([]any); !ok {
		t.Fatalf("user entry %v: messages is not an array", e)
	}
}

// entryFor returns the users entry of userID, failing if absent.
func entryFor(t *testing.T, users []map[string]any, userID string) map[string]any {
	t.Helper()
	for _, e := range users {
		if e["userID"] == userID {
			return e
		}
	}
	t.Fatalf("no entry for %s in users %v", userID, users)
	return nil
}

// messagesOf returns the messages of a users entry as {content, from, to}.
func messagesOf(t *testing.T, e map[string]any) []msg {
	t.Helper()
	var out []msg
	for _, it := range e["messages"].([]any) {
		m, ok := it.(map[string]any)
		if !ok || len(m) != 3 {
			t.Fatalf("message %#v: want exactly content, from, to", it)
		}
		out = append(out, msg{str(t, m, "content"), str(t, m, "from"), str(t, m, "to")})
	}
	return out
}

type msg struct{ Content, From, To string }

func asMsg(t *testing.T, args []any) msg {
	t.Helper()
	m := object(t, args)
	if len(m) != 3 {
		t.Fatalf("private message %v: want exactly content, from, to", m)
	}
	return msg{str(t, m, "content"), str(t, m, "from"), str(t, m, "to")}
}

// send emits a private message with an ack and returns the ack's payload.
func send(t *testing.T, u *user, payload any) map[string]any {
	t.Helper()
	res := u.EmitAck("private message", payload)
	if len(res) != 1 {
		t.Fatalf("ack %v: want one argument", res)
	}
	m, ok := res[0].(map[string]any)
	if !ok {
		t.Fatalf("ack %#v is not an object", res[0])
	}
	return m
}

func wantOK(t *testing.T, ack map[string]any) {
	t.Helper()
	if len(ack) != 1 || ack["ok"] != true {
		t.Fatalf("ack = %v, want {ok: true}", ack)
	}
}

func wantError(t *testing.T, ack map[string]any, reason string) {
	t.Helper()
	if len(ack) != 1 || ack["error"] != reason {
		t.Fatalf("ack = %v, want {error: %q}", ack, reason)
	}
}

// isPrivate matches a private message with the given content.
func isPrivate(content string) func([]any) bool {
	return func(args []any) bool {
		m, ok := args[0].(map[string]any)
		return ok && m["content"] == content
	}
}

// isUser matches a user connected / disconnected payload for userID.
func isUser(userID string) func([]any) bool {
	return func(args []any) bool {
		if s, ok := args[0].(string); ok {
			return s == userID
		}
		m, ok := args[0].(map[string]any)
		return ok && m["userID"] == userID
	}
}

// countMatching counts recorded events named name for which match is true.
func countMatching(c *chattest.Client, name string, match func([]any) bool) int {
	n := 0
	for _, e := range c.Events(name) {
		if match(e.Args) {
			n++
		}
	}
	return n
}

// barrier makes sure everything the server sent to c before now has been
// received: it sends a message from a fresh helper user to c and waits for
// it. Events are delivered in order on one connection, so anything emitted
// to c earlier has arrived by then.
func barrier(t *testing.T, base string, c *user) {
	t.Helper()
	h := login(t, base, "barrier", chattest.WebSocket)
	token := fmt.Sprintf("b%d", barriers.Add(1)) // short: tests may lower the length limit
	wantOK(t, send(t, h, map[string]any{"content": token, "to": c.UserID}))
	c.Wait("private message", isPrivate(token))
	h.Close()
}

var barriers atomic.Int64

var hex = regexp.MustCompile(`^[0-9a-f]+$`)

// httpGet fetches a URL and returns the status and body.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%q is not a JSON object: %v", s, err)
	}
	return m
}

// connectRaw opens an Engine.IO long-polling session by hand, sends the
// Socket.IO CONNECT packet with the given auth JSON ("" for none) and returns
// the first Socket.IO packet the server answers with.
func connectRaw(t *testing.T, base, auth string) string {
	t.Helper()
	status, body := httpGet(t, base+"/socket.io/?EIO=4&transport=polling")
	if status != http.StatusOK || !strings.HasPrefix(body, "0{") {
		t.Fatalf("handshake: %d %q", status, body)
	}
	sid := str(t, decodeJSON(t, body[1:]), "sid")
	poll := base + "/socket.io/?EIO=4&transport=polling&sid=" + sid
	resp, err := http.Post(poll, "text/plain;charset=UTF-8", strings.NewReader("40"+auth))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST 40%s: status %d", auth, resp.StatusCode)
	}
	status, body = httpGet(t, poll)
	if status != http.StatusOK {
		t.Fatalf("poll: %d %q", status, body)
	}
	first, _, _ := strings.Cut(body, "\x1e")
	return first
}
