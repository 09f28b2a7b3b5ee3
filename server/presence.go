package server

import (
	"context"

	"github.com/parley-chat/parley/session"
	"github.com/parley-chat/parley/socketio"
)

// Announcer delivers the chat's presence events (user connected, user
// disconnected) to every socket of the chat, on every node.
//
// Presence stays right only if every node sees the announcements about a user
// in one order, and if Announce returns once the event is ordered that way:
// the chat re-checks presence after announcing a user offline, and announces
// the user again if it came back meanwhile.
type Announcer interface {
	// Announce emits event with payload to every socket except the socket
	// whose ID is except ("" for none).
	Announce(ctx context.Context, except, event string, payload any) error
}

// localAnnouncer emits through this node's Socket.IO server, which delivers
// synchronously: right for one node.
type localAnnouncer struct{ io *socketio.Server }

func (a localAnnouncer) Announce(_ context.Context, except, event string, payload any) error {
	op := a.io.Local()
	if except != "" {
		op = op.Except(except)
	}
	return op.Emit(event, payload)
}

// announceOnline tells everybody but the socket except that userID is
// online. The reference server does it on every connection, even a second
// tab; clients treat it as idempotent.
func (c *chat) announceOnline(ctx context.Context, userID, username, except string) {
	if err := c.announcer.Announce(ctx, except, "user connected", userEntry(userID, username, true, nil)); err != nil {
		c.log.Error("chat: announcing a user online failed", "user", userID, "err", err)
	}
}

// onDisconnect counts a socket out. Only the user's last socket makes the
// user offline.
func (c *chat) onDisconnect(u *user, socketID string) {
	ctx, cancel := storeContext()
	defer cancel()
	last, err := c.presence.Leave(ctx, u.UserID, socketID)
	if err != nil {
		c.log.Error("chat: presence leave failed", "user", u.UserID, "socket", socketID, "err", err)
		return
	}
	if last {
		c.markOffline(ctx, []string{u.UserID})
	}
}

// markOffline announces users that have no live socket left and records it
// in their sessions, then re-checks them: one that came back while it was
// announced (a fast reload landing on another node) is announced online
// again. Because the announcer orders events the same way on every node and
// the re-check follows the announcement, every peer ends with the right
// state whatever the interleaving.
func (c *chat) markOffline(ctx context.Context, userIDs []string) {
	for _, id := range userIDs {
		if err := c.announcer.Announce(ctx, "", "user disconnected", id); err != nil {
			c.log.Error("chat: announcing a user offline failed", "user", id, "err", err)
		}
		c.saveConnected(ctx, id, false)
	}
	online, err := c.presence.Online(ctx, userIDs)
	if err != nil {
		c.log.Error("chat: presence re-check failed", "users", len(userIDs), "err", err)
		return
	}
	for _, id := range userIDs {
		if online[id] {
			c.markOnline(ctx, id)
		}
	}
}

// markOnline announces a user online again and records it.
func (c *chat) markOnline(ctx context.Context, userID string) {
	s, err := c.sessions.FindUser(ctx, userID)
	if err != nil {
		c.log.Error("chat: looking up a user to announce failed", "user", userID, "err", err)
		return
	}
	c.announceOnline(ctx, userID, s.Username, "")
	c.recordConnected(ctx, s, true)
}

// presenceChanged handles changes the tracker found without a Join or Leave
// on this node: users whose last socket was on a node that died, and users
// of this node restored after the cluster had taken it for dead.
func (c *chat) presenceChanged(userIDs []string, online bool) {
	ctx, cancel := storeContext()
	defer cancel()
	if !online {
		c.markOffline(ctx, userIDs)
		return
	}
	for _, id := range userIDs {
		c.markOnline(ctx, id)
	}
}

// saveConnected records the user's presence in its session (the reference
// layout keeps it there; the users event reads the tracker instead).
func (c *chat) saveConnected(ctx context.Context, userID string, connected bool) {
	s, err := c.sessions.FindUser(ctx, userID)
	if err != nil {
		c.log.Error("chat: looking up a session to record presence failed", "user", userID, "err", err)
		return
	}
	c.recordConnected(ctx, s, connected)
}

// recordConnected is saveConnected for a session already looked up.
func (c *chat) recordConnected(ctx context.Context, s session.Session, connected bool) {
	s.Connected = connected
	if err := c.sessions.Save(ctx, s); err != nil {
		c.log.Error("chat: saving presence in the session failed", "user", s.UserID, "connected", connected, "err", err)
	}
}
