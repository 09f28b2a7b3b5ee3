package presence

import (
	"context"
	"sync"
)

var _ Tracker = (*Memory)(nil)

// Memory is a Tracker for a single node: the live sockets of each user, in
// the process's memory.
type Memory struct {
	mu      sync.Mutex
	sockets map[string]map[string]struct{} // userID -> socket IDs
}

// NewMemory returns an empty tracker.
func NewMemory() *Memory {
	return &Memory{sockets: make(map[string]map[string]struct{})}
}

// Join records socketID as live for userID.
func (m *Memory) Join(_ context.Context, userID, socketID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	set, ok := m.sockets[userID]
	if !ok {
		set = make(map[string]struct{}, 1)
		m.sockets[userID] = set
	}
	set[socketID] = struct{}{}
	return len(set) == 1, nil
}

// Leave forgets socketID.
func (m *Memory) Leave(_ context.Context, userID, socketID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	set := m.sockets[userID]
	delete(set, socketID)
	if len(set) == 0 {
		delete(m.sockets, userID)
		return true, nil
	}
	return false, nil
}

// Online reports which of userIDs have a live socket.
func (m *Memory) Online(_ context.Context, userIDs []string) (map[string]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]bool, len(userIDs))
	for _, id := range userIDs {
		out[id] = len(m.sockets[id]) > 0
	}
	return out, nil
}
