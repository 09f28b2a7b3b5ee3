package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newStoreFunc returns an empty store whose sessions live ttl (0: default).
type newStoreFunc func(t *testing.T, ttl time.Duration) Store

// testStore runs the contract every Store implementation must meet.
func testStore(t *testing.T, newStore newStoreFunc) {
	tests := []struct {
		name string
		run  func(t *testing.T, newStore newStoreFunc)
	}{
		{"FindUnknown", testFindUnknown},
		{"SaveThenFind", testSaveThenFind},
		{"SaveReplaces", testSaveReplaces},
		{"AllListsEverySession", testAllListsEverySession},
		{"AllEmpty", testAllEmpty},
		{"ExpiredSessionsVanish", testExpiredSessionsVanish},
		{"ConcurrentSaves", testConcurrentSaves},
		{"FindUser", testFindUser},
		{"FindUserExpires", testFindUserExpires},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore) })
	}
}

func TestMemory(t *testing.T) {
	testStore(t, func(t *testing.T, ttl time.Duration) Store {
		s, err := NewMemory(MemoryConfig{TTL: ttl})
		if err != nil {
			t.Fatalf("NewMemory: %v", err)
		}
		return s
	})
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func testFindUnknown(t *testing.T, newStore newStoreFunc) {
	st := newStore(t, 0)
	_, err := st.Find(ctxFor(t), "nope")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Find(unknown) error = %v, want ErrNotFound", err)
	}
}

func testSaveThenFind(t *testing.T, newStore newStoreFunc) {
	st := newStore(t, 0)
	ctx := ctxFor(t)
	// Odd characters must survive: separators, newlines, non-ASCII, empty.
	want := []Session{
		{ID: "s1", UserID: "u1", Username: "alice", Connected: true},
		{ID: "s:2", UserID: "u:2\n", Username: "b:ob\nby 🦊", Connected: false},
		{ID: "s3", UserID: "", Username: ""},
	}
	for _, s := range want {
		if err := st.Save(ctx, s); err != nil {
			t.Fatalf("Save(%+v): %v", s, err)
		}
	}
	for _, s := range want {
		got, err := st.Find(ctx, s.ID)
		if err != nil || got != s {
			t.Fatalf("Find(%q) = %+v, %v; want %+v", s.ID, got, err, s)
		}
	}
	all, err := st.All(ctx)
	if err != nil {
		t.Fatalf("All: %v", err)
	}
	assertSameSessions(t, all, want)
}

func testSaveReplaces(t *testing.T, newStore newStoreFunc) {
	st := newStore(t, 0)
	ctx := ctxFor(t)
	s := Session{ID: "s1", UserID: "u1", Username: "alice", Connected: true}
	if err := st.Save(ctx, s); err != nil {
		t.Fatalf("Save: %v", err)
	}
	s.Connected = false
	if err := st.Save(ctx, s); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if got, err := st.Find(ctx, "s1"); err != nil || got != s {
		t.Fatalf("Find = %+v, %v; want %+v", got, err, s)
	}
	all, err := st.All(ctx)
	if err != nil {
		t.Fatalf("All: %v", err)
	}
	assertSameSessions(t, all, []Session{s})
}

func testAllListsEverySession(t *testing.T, newStore newStoreFunc) {
	st := newStore(t, 0)
	ctx := ctxFor(t)
	var want []Session
	for i := range 50 {
		s := Session{ID: fmt.Sprintf("s%d", i), UserID: fmt.Sprintf("u%d", i), Username: "user", Connected: i%2 == 0}
		want = append(want, s)
		if err := st.Save(ctx, s); err != nil {
			t.Fatalf("Save: %v", err)
		}
	}
	all, err := st.All(ctx)
	if err != nil {
		t.Fatalf("All: %v", err)
	}
	assertSameSessions(t, all, want)
}

func testAllEmpty(t *testing.T, newStore newStoreFunc) {
	all, err := newStore(t, 0).All(ctxFor(t))
	if err != nil || len(all) != 0 {
		t.Fatalf("All on an empty store = %v, %v; want nothing", all, err)
	}
}

func testExpiredSessionsVanish(t *testing.T, newStore newStoreFunc) {
	st := newStore(t, 300*time.Millisecond)
	ctx := ctxFor(t)
	s := Session{ID: "s1", UserID: "u1", Username: "alice", Connected: true}
	if err := st.Save(ctx, s); err != nil {
		t.Fatalf("Save: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, findErr := st.Find(ctx, "s1")
		all, err := st.All(ctx)
		if err != nil {
			t.Fatalf("All: %v", err)
		}
		if errors.Is(findErr, ErrNotFound) && len(all) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("5 s after a 300 ms TTL: Find error %v, All %v", findErr, all)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func testConcurrentSaves(t *testing.T, newStore newStoreFunc) {
	st := newStore(t, 0)
	ctx := ctxFor(t)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		want []Session
		errs []error
	)
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				s := Session{ID: fmt.Sprintf("s%d-%d", g, i), UserID: fmt.Sprintf("u%d-%d", g, i), Username: "x"}
				err := st.Save(ctx, s)
				mu.Lock()
				want = append(want, s)
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("Save: %v", errs[0])
	}
	all, err := st.All(ctx)
	if err != nil {
		t.Fatalf("All: %v", err)
	}
	assertSameSessions(t, all, want)
}

func assertSameSessions(t *testing.T, got, want []Session) {
	t.Helper()
	byID := func(a, b Session) int { return strings.Compare(a.ID, b.ID) }
	got, want = slices.Clone(got), slices.Clone(want)
	slices.SortFunc(got, byID)
	slices.SortFunc(want, byID)
	if !slices.Equal(got, want) {
		t.Fatalf("sessions:\n got %+v\nwant %+v", got, want)
	}
}

func testFindUser(t *testing.T, newStore newStoreFunc) {
	st := newStore(t, 0)
	ctx := ctxFor(t)
	alice := Session{ID: "s1", UserID: "u1", Username: "alice", Connected: true}
	bob := Session{ID: "s2", UserID: "u2", Username: "bob"}
	for _, s := range []Session{alice, bob} {
		if err := st.Save(ctx, s); err != nil {
			t.Fatalf("Save: %v", err)
		}
	}
	for _, want := range []Session{alice, bob} {
		if got, err := st.FindUser(ctx, want.UserID); err != nil || got != want {
			t.Fatalf("FindUser(%q) = %+v, %v; want %+v", want.UserID, got, err, want)
		}
	}
	// The secret session ID is not a user ID, and unknown users are unknown.
	for _, id := range []string{"s1", "u3", ""} {
		if _, err := st.FindUser(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("FindUser(%q) error = %v, want ErrNotFound", id, err)
		}
	}
}

func testFindUserExpires(t *testing.T, newStore newStoreFunc) {
	st := newStore(t, 300*time.Millisecond)
	ctx := ctxFor(t)
	if err := st.Save(ctx, Session{ID: "s1", UserID: "u1", Username: "alice"}); err != nil {
		t.Fatalf("Save: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := st.FindUser(ctx, "u1")
		if errors.Is(err, ErrNotFound) {
			return
		}
		if err != nil {
			t.Fatalf("FindUser: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("FindUser still finds a session 5 s after its 300 ms TTL")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
