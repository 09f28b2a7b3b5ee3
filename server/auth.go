package server

import (
	"errors"

	"github.com/parley-chat/parley/session"
	"github.com/parley-chat/parley/socketio"
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
func (c *chat) authenticate(s *socketio.Socket) error {
	auth := s.Auth()
	if id, ok := auth["sessionID"].(string); ok && id != "" && len(id) <= maxSessionIDLength {
		ctx, cancel := storeContext()
		sess, err := c.sessions.Find(ctx, id)
		cancel()
		switch {
		case err == nil:
			s.SetData(&user{SessionID: sess.ID, UserID: sess.UserID, Username: sess.Username})
			return nil
		case !errors.Is(err, session.ErrNotFound):
			c.log.Error("chat: session lookup failed", "socket", s.ID(), "err", err)
			return errors.New(reasonUnavailable)
		}
	}
	name, ok := normalizeUsername(auth["username"])
	if !ok {
		c.log.Debug("chat: connection refused", "socket", s.ID(), "reason", reasonInvalidUsername)
		return errors.New(reasonInvalidUsername)
	}
	s.SetData(&user{SessionID: newSessionID(), UserID: newUserID(), Username: name})
	return nil
}
