package message

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

var _ Store = (*Memory)(nil)

// DefaultHistoryLimit is how many messages a user's history keeps.
const DefaultHistoryLimit = 1000

// MemoryConfig configures a Memory store.
type MemoryConfig struct {
	// HistoryLimit is how many of a user's newest messages are kept.
	// default: 1000 (DefaultHistoryLimit)
	HistoryLimit int
}

// Memory is a Store in the process's memory, for a single chat server.
// Messages are lost when the process exits; they do not expire otherwise.
type Memory struct {
	limit int

	mu      sync.Mutex
	history map[string][]Message
}

// NewMemory returns an empty in-memory store.
func NewMemory(cfg MemoryConfig) (*Memory, error) {
	limit, err := historyLimit(cfg.HistoryLimit)
	if err != nil {
		return nil, err
	}
	return &Memory{limit: limit, history: make(map[string][]Message)}, nil
}

func historyLimit(n int) (int, error) {
	switch {
	case n < 0:
		return 0, fmt.Errorf("message: negative HistoryLimit %d", n)
	case n == 0:
		return DefaultHistoryLimit, nil
	}
	return n, nil
}

// Save appends m to the histories of its sender and recipient (once when
// they are the same), dropping the oldest beyond the limit.
func (s *Memory) Save(_ context.Context, m Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appendTo(m.From, m)
	if m.To != m.From {
		s.appendTo(m.To, m)
	}
	return nil
}

func (s *Memory) appendTo(userID string, m Message) {
	h := append(s.history[userID], m)
	if len(h) > s.limit {
		// Reslicing keeps the dropped messages in the backing array only
		// until the next append outgrows it, so memory stays bounded
		// without copying the whole history on every message.
		h = h[len(h)-s.limit:]
	}
	s.history[userID] = h
}

// ForUser returns userID's messages, oldest first.
func (s *Memory) ForUser(_ context.Context, userID string) ([]Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := slices.Clone(s.history[userID])
	if h == nil {
		h = []Message{}
	}
	return h, nil
}
