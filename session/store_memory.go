package session

import (
	"context"
	"fmt"
	"sync"
	"time"
)

var _ Store = (*Memory)(nil)

// MemoryConfig configures a Memory store.
type MemoryConfig struct {
	// TTL is how long a session lives after its last Save, as in the Redis
	// store, so that both behave alike.
	// default: 24h (DefaultTTL)
	TTL time.Duration
}

// Memory is a Store in the process's memory, for a single chat server.
// Sessions are lost when the process exits.
type Memory struct {
	ttl time.Duration

	mu       sync.Mutex
	sessions map[string]memoryEntry
	users    map[string]string // userID -> session ID
}

type memoryEntry struct {
	session Session
	expires time.Time
}

// NewMemory returns an empty in-memory store.
func NewMemory(cfg MemoryConfig) (*Memory, error) {
	if cfg.TTL < 0 {
		return nil, fmt.Errorf("session: negative TTL %v", cfg.TTL)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	return &Memory{ttl: cfg.TTL, sessions: make(map[string]memoryEntry), users: make(map[string]string)}, nil
}

// Find returns the session with the given ID, or ErrNotFound.
func (m *Memory) Find(_ context.Context, id string) (Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.findLocked(id)
}

// findLocked is Find with m.mu held.
func (m *Memory) findLocked(id string) (Session, error) {
	e, ok := m.sessions[id]
	if !ok || !time.Now().Before(e.expires) {
		return Session{}, ErrNotFound
	}
	return e.session, nil
}

// FindUser returns the session of the user with the given public ID, or
// ErrNotFound.
func (m *Memory) FindUser(_ context.Context, userID string) (Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.users[userID]
	if !ok {
		return Session{}, ErrNotFound
	}
	return m.findLocked(id)
}

// Save creates or replaces a session and restarts its TTL.
func (m *Memory) Save(_ context.Context, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[s.ID] = memoryEntry{session: s, expires: time.Now().Add(m.ttl)}
	m.users[s.UserID] = s.ID
	return nil
}

// All returns every session that has not expired, and forgets the expired
// ones (which is what keeps the map from growing forever).
func (m *Memory) All(_ context.Context) ([]Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	all := make([]Session, 0, len(m.sessions))
	for id, e := range m.sessions {
		if !now.Before(e.expires) {
			delete(m.sessions, id)
			if m.users[e.session.UserID] == id {
				delete(m.users, e.session.UserID)
			}
			continue
		}
		all = append(all, e.session)
	}
	return all, nil
}
