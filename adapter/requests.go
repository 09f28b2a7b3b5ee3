package adapter

import (
	"fmt"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/wire"
)

// request is a cluster request waiting for responses. It has exactly one
// owner (the table) and one deadline; whichever of completion, timeout or
// Close comes first finishes it, once.
type request struct {
	id       string
	expected int // responses that complete it; 0 means "until the deadline"
	timer    *time.Timer

	mu       sync.Mutex
	received int
	finished bool
	// collect folds one response into the request's result, under mu (so
	// the result is complete when onDone reads it); it returns false for a
	// response that does not answer this kind of request, which then does
	// not count.
	collect func(*wire.Response) bool
	// relay, set instead of collect, passes each response on without
	// counting (broadcasts with acks, whose operator does the counting). It
	// runs outside any lock because it calls user callbacks.
	relay func(*wire.Response)
	// onDone reports the result; err is nil on completion. May be nil.
	onDone func(err error)
}

// requests is the node's table of pending requests, keyed by request id.
type requests struct {
	m   *metrics
	mu  sync.Mutex
	all map[string]*request
}

func newRequests(m *metrics) *requests {
	return &requests{m: m, all: make(map[string]*request)}
}

// add registers r and arms its deadline.
func (t *requests) add(r *request, timeout time.Duration) {
	t.m.requests.Inc()
	// The timer is armed under the table's lock: finish takes that lock
	// first, so it never sees a request without its timer.
	t.mu.Lock()
	t.all[r.id] = r
	r.timer = time.AfterFunc(timeout, func() { t.expire(r) })
	t.mu.Unlock()
}

// deliver hands a response to its request, if it is still pending.
func (t *requests) deliver(resp *wire.Response) bool {
	t.mu.Lock()
	r, ok := t.all[resp.RequestID]
	t.mu.Unlock()
	if !ok {
		return false
	}
	if r.relay != nil {
		r.relay(resp)
		return true
	}
	r.mu.Lock()
	if r.finished {
		r.mu.Unlock()
		return true
	}
	if r.collect(resp) {
		r.received++
	}
	complete := r.expected > 0 && r.received >= r.expected
	r.mu.Unlock()
	if complete {
		t.finish(r, nil)
	}
	return true
}

func (t *requests) expire(r *request) {
	r.mu.Lock()
	got := r.received
	r.mu.Unlock()
	var err error
	if r.expected > 0 {
		err = fmt.Errorf("timeout reached: only %d responses received out of %d", got, r.expected)
		t.m.timeouts.Inc()
	}
	t.finish(r, err)
}

// finish removes r and reports its result once.
func (t *requests) finish(r *request, err error) {
	if t.remove(r) && r.onDone != nil {
		r.onDone(err)
	}
}

// drop removes r without reporting to it: its operation was refused before
// anything was sent.
func (t *requests) drop(r *request) { t.remove(r) }

// remove takes r out of the table, marks it finished and stops its timer;
// it reports whether r was still unfinished (the caller then reports its
// result, once).
func (t *requests) remove(r *request) bool {
	t.mu.Lock()
	if t.all[r.id] == r {
		delete(t.all, r.id)
		t.m.requests.Dec()
	}
	t.mu.Unlock()
	r.mu.Lock()
	was := r.finished
	r.finished = true
	r.mu.Unlock()
	r.timer.Stop()
	return !was
}

// closeAll fails every pending request with err.
func (t *requests) closeAll(err error) {
	t.mu.Lock()
	pending := make([]*request, 0, len(t.all))
	for _, r := range t.all {
		pending = append(pending, r)
	}
	t.mu.Unlock()
	for _, r := range pending {
		t.finish(r, err)
	}
}
