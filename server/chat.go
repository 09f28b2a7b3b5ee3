package server

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/parley-chat/parley/message"
	"github.com/parley-chat/parley/presence"
	"github.com/parley-chat/parley/session"
	"github.com/parley-chat/parley/socketio"
)

// storeTimeout bounds every store call made while handling one event, so a
// stalled Redis delays a client by seconds, not forever.
const storeTimeout = 5 * time.Second

// chat implements the private-messaging protocol on a Socket.IO server.
type chat struct {
	io        *socketio.Server
	sessions  session.Store
	messages  message.Store
	presence  presence.Tracker
	announcer Announcer
	maxChars  int
	// refresh is how often an active socket saves its session again
	// (sessionRefresh; tests shorten it).
	refresh time.Duration
	log     *slog.Logger
}

// user is what a socket carries once authenticated (its Socket.Data). It is
// also what fetchSockets shows other nodes, so the secret session id stays
// out of its JSON form.
type user struct {
	SessionID string `json:"-"`
	UserID    string `json:"userID"`
	Username  string `json:"username"`
	// saved is when this socket last saved the session (which restarts its
	// expiry). Only the socket's own handlers touch it, and they run one at
	// a time.
	saved time.Time
}

// sessionRefresh is how often a socket that keeps sending messages saves
// its session again, so that an active user's session does not expire
// while connected (connects and disconnects save it too).
const sessionRefresh = 10 * time.Minute

func userOf(s *socketio.Socket) (*user, bool) {
	u, ok := s.Data().(*user)
	return u, ok
}

func storeContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), storeTimeout)
}

// register installs the chat on the server's main namespace.
func (c *chat) register() {
	c.io.Use(c.authenticate)
	c.io.OnConnection(c.onConnection)
}

// onConnection runs on the socket's reading goroutine, before any of its
// events.
func (c *chat) onConnection(s *socketio.Socket) {
	u, ok := userOf(s)
	if !ok {
		s.Disconnect(true)
		return
	}
	// A malformed packet closes the connection; say who sent it.
	s.OnError(func(err error) {
		c.log.Info("chat: socket error", "socket", s.ID(), "user", u.UserID, "err", err)
	})
	ctx, cancel := storeContext()
	defer cancel()
	if _, err := c.presence.Join(ctx, u.UserID, s.ID()); err != nil {
		c.fail(s, "presence join", err)
		return
	}
	// From here on the socket counts as live: whatever happens next, its
	// disconnect must be counted too, exactly once. A heartbeat or a
	// transport error may disconnect it on another goroutine at any time,
	// before the handler below is in place.
	var once sync.Once
	leave := func(socketio.DisconnectReason) { once.Do(func() { c.onDisconnect(u, s.ID()) }) }
	s.OnDisconnect(leave)
	if !s.Connected() {
		leave("")
		return
	}
	if err := c.saveSession(ctx, u); err != nil {
		c.fail(s, "session save", err)
		return
	}
	_ = s.Emit("session", map[string]any{"sessionID": u.SessionID, "userID": u.UserID})
	s.Join(u.UserID)
	users, err := c.userList(ctx, u.UserID)
	if err != nil {
		c.fail(s, "user list", err)
		return
	}
	_ = s.Emit("users", users)
	s.On("private message", func(args socketio.Args, ack socketio.Ack) { c.onPrivateMessage(s, u, args, ack) })
	c.announceOnline(ctx, u.UserID, u.Username, s.ID())
}

// fail ends a connection the server could not set up (a store is down). The
// client sees a transport close and reconnects with backoff.
func (c *chat) fail(s *socketio.Socket, step string, err error) {
	c.log.Error("chat: connection set-up failed, disconnecting", "step", step, "socket", s.ID(), "err", err)
	s.Disconnect(true)
}

// userPayload is one user as the client expects it in users and user
// connected: connected and messages are always present (the Vue client
// relies on both). A struct rather than a map: the users event of a large
// chat holds one per stored session, and structs build and encode in about
// half the time.
type userPayload struct {
	UserID    string            `json:"userID"`
	Username  string            `json:"username"`
	Connected bool              `json:"connected"`
	Messages  []message.Message `json:"messages"`
}

func userEntry(userID, username string, connected bool, messages []message.Message) userPayload {
	if messages == nil {
		messages = []message.Message{}
	}
	return userPayload{UserID: userID, Username: username, Connected: connected, Messages: messages}
}

// userList builds the "users" event: every known user with the messages the
// connecting user exchanged with them, oldest first.
func (c *chat) userList(ctx context.Context, me string) ([]userPayload, error) {
	all, err := c.sessions.All(ctx)
	if err != nil {
		return nil, err
	}
	history, err := c.messages.ForUser(ctx, me)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(all))
	for _, s := range all {
		ids = append(ids, s.UserID)
	}
	online, err := c.presence.Online(ctx, ids)
	if err != nil {
		return nil, err
	}
	byPeer := make(map[string][]message.Message)
	for _, m := range history {
		peer := m.From
		if peer == me {
			peer = m.To
		}
		byPeer[peer] = append(byPeer[peer], m)
	}
	list := make([]userPayload, 0, len(all))
	seen := make(map[string]bool, len(all))
	for _, s := range all {
		if seen[s.UserID] {
			continue
		}
		seen[s.UserID] = true
		list = append(list, userEntry(s.UserID, s.Username, online[s.UserID], byPeer[s.UserID]))
	}
	return list, nil
}

// onPrivateMessage stores a message, then delivers it to the recipient's
// sockets and the sender's other sockets. Nothing is delivered that was not
// stored, and nothing invalid is stored.
func (c *chat) onPrivateMessage(s *socketio.Socket, u *user, args socketio.Args, ack socketio.Ack) {
	ctx, cancel := storeContext()
	defer cancel()
	msg, err := c.checkMessage(ctx, u, args.Value(0))
	if err != nil {
		c.log.Info("chat: private message refused", "socket", s.ID(), "user", u.UserID, "reason", err)
		_ = ack.Send(map[string]any{"error": err.Error()})
		return
	}
	if err := c.messages.Save(ctx, msg); err != nil {
		c.log.Error("chat: storing a private message failed", "socket", s.ID(), "user", u.UserID, "err", err)
		_ = ack.Send(map[string]any{"error": errNotStored.Error()})
		return
	}
	// s.To excludes the sending socket; a socket in both rooms gets it once.
	if err := s.To(msg.To, msg.From).Emit("private message", msg); err != nil {
		c.log.Error("chat: delivering a private message failed", "socket", s.ID(), "user", u.UserID, "err", err)
	}
	_ = ack.Send(map[string]any{"ok": true})
	// An active user's session is saved again now and then, which restarts
	// its expiry. A failure only costs the refresh: it is logged.
	if time.Since(u.saved) > c.refresh {
		if err := c.saveSession(ctx, u); err != nil {
			c.log.Warn("chat: refreshing a session failed", "user", u.UserID, "err", err)
		}
	}
}

// saveSession saves a connected socket's session, which restarts its
// expiry, and notes when.
func (c *chat) saveSession(ctx context.Context, u *user) error {
	s := session.Session{ID: u.SessionID, UserID: u.UserID, Username: u.Username, Connected: true}
	if err := c.sessions.Save(ctx, s); err != nil {
		return err
	}
	u.saved = time.Now()
	return nil
}

// checkMessage validates a "private message" payload and its recipient.
func (c *chat) checkMessage(ctx context.Context, u *user, payload any) (message.Message, error) {
	out, err := parsePrivateMessage(payload, c.maxChars)
	if err != nil {
		return message.Message{}, err
	}
	if out.to != u.UserID {
		if _, err := c.sessions.FindUser(ctx, out.to); errors.Is(err, session.ErrNotFound) {
			return message.Message{}, errUnknownRecipient
		} else if err != nil {
			c.log.Error("chat: looking up a recipient failed", "user", u.UserID, "to", out.to, "err", err)
			return message.Message{}, errNotStored
		}
	}
	return message.Message{Content: out.content, From: u.UserID, To: out.to}, nil
}
