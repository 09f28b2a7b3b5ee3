package adapter

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/wire"
)

func newTestRequests() *requests {
	return newRequests(newMetrics(nil, slog.New(slog.DiscardHandler)))
}

// TestRequestLifecycle: a request completes on its last expected response,
// times out with Node's message and the partial result, or fails on close;
// each way it leaves the table (and the pending gauge) exactly once.
func TestRequestLifecycle(t *testing.T) {
	reqs := newTestRequests()
	done := make(chan error, 3)
	var got []string
	collect := func(r *wire.Response) bool {
		if r.Kind != wire.RoomsResult {
			return false
		}
		got = append(got, r.Rooms...)
		return true
	}
	complete := &request{id: "a", expected: 2, collect: collect, onDone: func(err error) { done <- err }}
	reqs.add(complete, time.Minute)
	reqs.deliver(&wire.Response{Kind: wire.RoomsResult, RequestID: "a", Rooms: []string{"r1"}})
	reqs.deliver(&wire.Response{Kind: wire.Done, RequestID: "a"}) // not an answer to this request
	if value(reqs.m.requests) != 1 {
		t.Fatalf("pending = %v, want 1", value(reqs.m.requests))
	}
	reqs.deliver(&wire.Response{Kind: wire.RoomsResult, RequestID: "a", Rooms: []string{"r2"}})
	if err := <-done; err != nil || len(got) != 2 {
		t.Fatalf("completion: %v, %v", err, got)
	}

	late := &request{id: "b", expected: 3, collect: collect, onDone: func(err error) { done <- err }}
	reqs.add(late, 20*time.Millisecond)
	reqs.deliver(&wire.Response{Kind: wire.RoomsResult, RequestID: "b"})
	if err := <-done; err == nil || err.Error() != "timeout reached: only 1 responses received out of 3" {
		t.Fatalf("timeout: %v", err)
	}
	if value(reqs.m.timeouts) != 1 {
		t.Errorf("timeouts = %v", value(reqs.m.timeouts))
	}

	closed := &request{id: "c", expected: 1, collect: collect, onDone: func(err error) { done <- err }}
	reqs.add(closed, time.Minute)
	reqs.closeAll(ErrClosed)
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("close: %v", err)
	}
	if reqs.deliver(&wire.Response{Kind: wire.RoomsResult, RequestID: "c"}) {
		t.Errorf("a finished request still takes responses")
	}
	if n := value(reqs.m.requests); n != 0 || len(reqs.all) != 0 {
		t.Errorf("pending = %v, table %d, want 0", n, len(reqs.all))
	}
}

// TestRelayRequest: an acked broadcast's request relays every response until
// its deadline, then forgets the id.
func TestRelayRequest(t *testing.T) {
	reqs := newTestRequests()
	var relayed int
	reqs.add(&request{id: "x", relay: func(*wire.Response) { relayed++ }}, 30*time.Millisecond)
	for range 3 {
		reqs.deliver(&wire.Response{Kind: wire.BroadcastAck, RequestID: "x"})
	}
	if relayed != 3 || !reqs.has("x") {
		t.Fatalf("relayed %d, pending %v", relayed, reqs.has("x"))
	}
	deadline := time.Now().Add(5 * time.Second)
	for reqs.has("x") {
		if time.Now().After(deadline) {
			t.Fatal("the request outlived its deadline")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// has reports whether id is one of the pending requests.
func (t *requests) has(id string) bool {
	t.mu.Lock()
	_, ok := t.all[id]
	t.mu.Unlock()
	return ok
}
