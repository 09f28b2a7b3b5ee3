package admin

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/parley-chat/parley/socketio"
	"golang.org/x/crypto/bcrypt"
)

// errInvalidCredentials refuses a dashboard; the dashboard shows its
// message, as Node's instrument words it.
var errInvalidCredentials = errors.New("invalid credentials")

// storeTimeout bounds a call to the session store on the login path.
const storeTimeout = 5 * time.Second

// authenticate is the admin namespace's middleware: a dashboard gets in
// with a session id still valid, or with the username and the password of
// the bcrypt hash. The bcrypt comparison takes a while on purpose; it
// runs on the goroutine of the connecting client and delays only it.
func (a *Admin) authenticate(s *socketio.Socket) error {
	if a.validSession(s) {
		return nil
	}
	auth := s.Auth()
	user, _ := auth["username"].(string)
	pass, _ := auth["password"].(string)
	if subtle.ConstantTimeCompare([]byte(user), []byte(a.cfg.Username)) == 1 &&
		bcrypt.CompareHashAndPassword(a.hash, []byte(pass)) == nil {
		return nil
	}
	a.log.Info("admin: invalid credentials", "remote", s.Handshake().Address, "username", user)
	return errInvalidCredentials
}

// validSession reports whether the dashboard came with a session id the
// store knows.
func (a *Admin) validSession(s *socketio.Socket) bool {
	id, _ := s.Auth()["sessionId"].(string)
	if id == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(a.ctx, storeTimeout)
	defer cancel()
	ok, err := a.cfg.Sessions.Exists(ctx, id)
	if err != nil {
		a.log.Warn("admin: looking up a session", "err", err)
	}
	return ok
}

// startSession gives a dashboard that logged in with its credentials a
// session id ("session"), to log in again with it. instrument emits it from
// its middleware; a Parley socket cannot emit before it has connected, so
// it goes out first thing after, which the client sees in the same order.
func (a *Admin) startSession(s *socketio.Socket) {
	if a.validSession(s) {
		return
	}
	id := newSessionID()
	ctx, cancel := context.WithTimeout(a.ctx, storeTimeout)
	defer cancel()
	if err := a.cfg.Sessions.Save(ctx, id); err != nil {
		a.log.Warn("admin: saving a session", "err", err)
		return
	}
	_ = s.Emit("session", id)
}
