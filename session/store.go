// Package session stores the chat's login sessions: a secret session ID that a
// browser keeps, mapped to the public user ID and username it stands for.
//
// A Store is safe for concurrent use. Every method takes a context and returns
// an error; a session that does not exist is reported as ErrNotFound so that
// callers can tell "unknown" from "Redis is down".
package session

import (
	"context"
	"errors"
)

// ErrNotFound is returned by Find when no session has the given ID.
var ErrNotFound = errors.New("session: not found")

// Session is one login. ID is the secret bearer token held by the browser;
// UserID is public (it is broadcast to every user) and always differs from ID.
type Session struct {
	ID        string
	UserID    string
	Username  string
	Connected bool
}

// Store keeps sessions.
type Store interface {
	// Find returns the session with the given ID, or ErrNotFound.
	Find(ctx context.Context, id string) (Session, error)
	// FindUser returns the live session of the user with the given public
	// ID, or ErrNotFound.
	FindUser(ctx context.Context, userID string) (Session, error)
	// Save creates or replaces a session (and refreshes its expiry where the
	// implementation has one).
	Save(ctx context.Context, s Session) error
	// All returns every stored session, in no particular order.
	All(ctx context.Context) ([]Session, error)
}
