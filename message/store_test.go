package message

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newStoreFunc returns an empty store keeping limit messages per user
// (0: default).
type newStoreFunc func(t *testing.T, limit int) Store

// testStore runs the contract every Store implementation must meet.
func testStore(t *testing.T, newStore newStoreFunc) {
	tests := []struct {
		name string
		run  func(t *testing.T, newStore newStoreFunc)
	}{
		{"UnknownUserHasNoMessages", testUnknownUser},
		{"BothSidesSeeTheMessage", testBothSides},
		{"SelfMessageStoredOnce", testSelfMessage},
		{"HistoryKeepsNewest", testHistoryLimit},
		{"ConcurrentSaves", testConcurrentSaves},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore) })
	}
}

func TestMemory(t *testing.T) {
	testStore(t, func(t *testing.T, limit int) Store {
		s, err := NewMemory(MemoryConfig{HistoryLimit: limit})
		if err != nil {
			t.Fatalf("NewMemory: %v", err)
		}
		return s
	})
}

func TestNewMemoryRefusesNegativeLimit(t *testing.T) {
	if _, err := NewMemory(MemoryConfig{HistoryLimit: -1}); err == nil {
		t.Fatal("NewMemory accepted a negative HistoryLimit")
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func save(t *testing.T, st Store, msgs ...Message) {
	t.Helper()
	for _, m := range msgs {
		if err := st.Save(ctxFor(t), m); err != nil {
			t.Fatalf("Save(%+v): %v", m, err)
		}
	}
}

func assertHistory(t *testing.T, st Store, userID string, want []Message) {
	t.Helper()
	got, err := st.ForUser(ctxFor(t), userID)
	if err != nil {
		t.Fatalf("ForUser(%q): %v", userID, err)
	}
	if got == nil || !slices.Equal(got, want) {
		t.Fatalf("ForUser(%q):\n got %#v\nwant %#v", userID, got, want)
	}
}

func testUnknownUser(t *testing.T, newStore newStoreFunc) {
	assertHistory(t, newStore(t, 0), "nobody", []Message{})
}

func testBothSides(t *testing.T, newStore newStoreFunc) {
	st := newStore(t, 0)
	m1 := Message{Content: "hi bob <3 & \"quotes\" 🦊\n", From: "alice", To: "bob"}
	m2 := Message{Content: "hi alice", From: "bob", To: "alice"}
	m3 := Message{Content: "carol here", From: "carol", To: "bob"}
	save(t, st, m1, m2, m3)
	assertHistory(t, st, "alice", []Message{m1, m2})
	assertHistory(t, st, "bob", []Message{m1, m2, m3})
	assertHistory(t, st, "carol", []Message{m3})
}

func testSelfMessage(t *testing.T, newStore newStoreFunc) {
	st := newStore(t, 0)
	m := Message{Content: "note to self", From: "alice", To: "alice"}
	save(t, st, m)
	assertHistory(t, st, "alice", []Message{m})
}

func testHistoryLimit(t *testing.T, newStore newStoreFunc) {
	st := newStore(t, 5)
	var sent []Message
	for i := range 8 {
		from, to := "alice", "bob"
		if i%2 == 1 {
			from, to = to, from
		}
		m := Message{Content: fmt.Sprint(i), From: from, To: to}
		sent = append(sent, m)
		save(t, st, m)
	}
	assertHistory(t, st, "alice", sent[3:])
	assertHistory(t, st, "bob", sent[3:])
}

func testConcurrentSaves(t *testing.T, newStore newStoreFunc) {
	st := newStore(t, 0)
	ctx := ctxFor(t)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				m := Message{Content: fmt.Sprintf("%d-%d", g, i), From: fmt.Sprintf("u%d", g), To: "hub"}
				if err := st.Save(ctx, m); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("Save: %v", errs[0])
	}
	hub, err := st.ForUser(ctx, "hub")
	if err != nil || len(hub) != 80 {
		t.Fatalf("ForUser(hub) = %d messages, %v; want 80", len(hub), err)
	}
	// Each sender's own messages keep their order in the shared history.
	next := map[string]int{}
	for _, m := range hub {
		if want := fmt.Sprintf("%s-%d", m.From[1:], next[m.From]); m.Content != want {
			t.Fatalf("out of order: got %q, want %q", m.Content, want)
		}
		next[m.From]++
	}
}
