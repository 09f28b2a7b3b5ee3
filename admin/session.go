package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// SessionStore keeps the session ids the admin UI hands to dashboards that
// logged in with credentials (the "session" event); a dashboard that
// reconnects with one is let in without them. The store of
// @socket.io/admin-ui's RedisStore keeps "socket.io-admin#<id>" keys: one
// that does the same shares sessions with Node nodes.
type SessionStore interface {
	// Exists reports whether id is a session still valid.
	Exists(ctx context.Context, id string) (bool, error)
	// Save records a new session id.
	Save(ctx context.Context, id string) error
}

// memoryStore is a SessionStore of one node.
type memoryStore struct {
	ttl time.Duration

	mu      sync.Mutex
	expires map[string]time.Time
}

// NewMemoryStore returns a SessionStore in memory, whose sessions last
// ttl.
func NewMemoryStore(ttl time.Duration) SessionStore {
	return &memoryStore{ttl: ttl, expires: make(map[string]time.Time)}
}

// Exists implements SessionStore.
func (m *memoryStore) Exists(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	exp, ok := m.expires[id]
	return ok && time.Now().Before(exp), nil
}

// Save implements SessionStore; it drops the sessions that expired, so
// the map holds only live ones.
func (m *memoryStore) Save(_ context.Context, id string) error {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, exp := range m.expires {
		if !now.Before(exp) {
			delete(m.expires, k)
		}
	}
	m.expires[id] = now.Add(m.ttl)
	return nil
}

// newSessionID returns a session id as instrument makes them: 8 random
// bytes in hex.
func newSessionID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
