package server

import (
	"errors"

	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/parley-chat/parley/session"
)

// Connect errors seen by clients as connect_error's message.
const (
	// reasonInvalidUsername is what the Vue client waits for to show its
	// login form again: an unknown session without a usable username.
	reasonInvalidUsername = "invalid username"
	// reasonUnavailable means the session store could not be asked.
	reasonUnavailable = "server unavailable, try again"
)

// maxSessionIDLength bounds what a client may present as a session id before
// it reaches the store (session ids are 32 hex characters).
const maxSessionIDLength = 64

// authenticate is the connection middleware: a known sessionID resumes its
// user; otherwise a valid username starts a new user with a new session. The
// session is saved when the connection is accepted (onConnection).
func (c *chat) authenticate(s *socket.Socket, next func(*socket.ExtendedError)) {
	auth := s.Handshake().Auth
	if id, ok := auth["sessionID"].(string); ok && id != "" && len(id) <= maxSessionIDLength {
		ctx, cancel := storeContext()
		sess, err := c.sessions.Find(ctx, id)
		cancel()
		switch {
		case err == nil:
			s.SetData(&user{SessionID: sess.ID, UserID: sess.UserID, Username: sess.Username})
			next(nil)
			return
		case !errors.Is(err, session.ErrNotFound):
			c.log.Error("chat: session lookup failed", "socket", s.Id(), "err", err)
			next(socket.NewExtendedError(reasonUnavailable, nil))
			return
		}
	}
	name, ok := normalizeUsername(auth["username"])
	if !ok {
		c.log.Debug("chat: connection refused", "socket", s.Id(), "reason", reasonInvalidUsername)
		next(socket.NewExtendedError(reasonInvalidUsername, nil))
		return
	}
	s.SetData(&user{SessionID: newSessionID(), UserID: newUserID(), Username: name})
	next(nil)
}
