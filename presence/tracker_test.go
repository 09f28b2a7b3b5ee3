package presence

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newTrackerFunc returns an empty tracker.
type newTrackerFunc func(t *testing.T) Tracker

// testTracker runs the contract every Tracker implementation must meet.
func testTracker(t *testing.T, newTracker newTrackerFunc) {
	for _, tt := range []struct {
		name string
		run  func(t *testing.T, newTracker newTrackerFunc)
	}{
		{"FirstAndLast", testFirstAndLast},
		{"LeaveUnknown", testLeaveUnknown},
		{"Online", testOnline},
		{"ReloadInEitherOrder", testReloadInEitherOrder},
		{"Concurrent", testConcurrent},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newTracker) })
	}
}

func TestMemory(t *testing.T) {
	testTracker(t, func(*testing.T) Tracker { return NewMemory() })
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func join(t *testing.T, tr Tracker, user, socket string) bool {
	t.Helper()
	first, err := tr.Join(ctxFor(t), user, socket)
	if err != nil {
		t.Fatalf("Join(%s, %s): %v", user, socket, err)
	}
	return first
}

func leave(t *testing.T, tr Tracker, user, socket string) bool {
	t.Helper()
	last, err := tr.Leave(ctxFor(t), user, socket)
	if err != nil {
		t.Fatalf("Leave(%s, %s): %v", user, socket, err)
	}
	return last
}

func online(t *testing.T, tr Tracker, users ...string) map[string]bool {
	t.Helper()
	m, err := tr.Online(ctxFor(t), users)
	if err != nil {
		t.Fatalf("Online: %v", err)
	}
	return m
}

func testFirstAndLast(t *testing.T, newTracker newTrackerFunc) {
	tr := newTracker(t)
	if !join(t, tr, "u", "s1") {
		t.Fatal("the first socket is not first")
	}
	if join(t, tr, "u", "s2") {
		t.Fatal("the second socket is first")
	}
	if join(t, tr, "u", "s2") {
		t.Fatal("joining twice with one socket made it first")
	}
	if leave(t, tr, "u", "s1") {
		t.Fatal("leaving with a socket left is last")
	}
	if !leave(t, tr, "u", "s2") {
		t.Fatal("the last socket is not last")
	}
}

func testLeaveUnknown(t *testing.T, newTracker newTrackerFunc) {
	tr := newTracker(t)
	if !leave(t, tr, "nobody", "s") {
		t.Fatal("leaving for a user without sockets must report last")
	}
	join(t, tr, "u", "s1")
	if leave(t, tr, "u", "other") {
		t.Fatal("leaving with an unknown socket reported last while s1 is live")
	}
}

func testOnline(t *testing.T, newTracker newTrackerFunc) {
	tr := newTracker(t)
	join(t, tr, "a", "s1")
	join(t, tr, "b", "s2")
	leave(t, tr, "b", "s2")
	got := online(t, tr, "a", "b", "c")
	if !got["a"] || got["b"] || got["c"] || len(got) != 3 {
		t.Fatalf("Online = %v, want a only (with an entry for each user asked)", got)
	}
	if got := online(t, tr); len(got) != 0 {
		t.Fatalf("Online() = %v", got)
	}
}

// testReloadInEitherOrder: a reload's new socket may join before or after
// the old one leaves; the user ends online either way.
func testReloadInEitherOrder(t *testing.T, newTracker newTrackerFunc) {
	tr := newTracker(t)
	join(t, tr, "u", "old")
	join(t, tr, "u", "new")
	leave(t, tr, "u", "old")
	if !online(t, tr, "u")["u"] {
		t.Fatal("offline after join-then-leave reload")
	}
	leave(t, tr, "u", "new")
	join(t, tr, "u", "newer")
	if !online(t, tr, "u")["u"] {
		t.Fatal("offline after leave-then-join reload")
	}
}

func testConcurrent(t *testing.T, newTracker newTrackerFunc) {
	tr := newTracker(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				s := fmt.Sprintf("s%d-%d", g, i)
				if _, err := tr.Join(context.Background(), "u", s); err != nil {
					t.Error(err)
				}
				if i%2 == 0 {
					if _, err := tr.Leave(context.Background(), "u", s); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	// 8 goroutines each left 10 of their 20 sockets live.
	live := 0
	for g := range 8 {
		for i := 1; i < 20; i += 2 {
			if leave(t, tr, "u", fmt.Sprintf("s%d-%d", g, i)) {
				live++
			}
		}
	}
	if live != 1 {
		t.Fatalf("only the very last of 80 live sockets may report last; %d did", live)
	}
}
