// Package timers holds many deadlines in one structure: a heap of Timers
// served by one goroutine and one runtime timer, so that an idle
// connection's heartbeat or a pending ack costs a few words in its owner's
// struct instead of a goroutine or a runtime timer of its own.
//
// A Timer is embedded by value in the struct it belongs to and armed with
// Heap.Schedule; when it is due, the Heap calls its Expirer on a goroutine of
// the Heap's. Expirers must return quickly (write a ping, mark a flag, hand
// the rest to another goroutine): timers due at the same moment wait
// meanwhile.
//
// Concurrency: a Heap's methods are safe for concurrent use. A Timer belongs
// to one Heap; Schedule and Stop on it may race with its expiry, which is
// then either delivered once or not at all (Stop reports which).
package timers

import (
	"sync"
	"time"
)

// Expirer is told that its Timer is due.
type Expirer interface {
	// Expire runs on a goroutine of the Heap's, without any lock held.
	// Two timers' Expire calls may run at the same time.
	Expire()
}

// Timer is one deadline. Its zero value is an idle timer; it must not be
// copied once scheduled.
type Timer struct {
	when int64 // Unix nanoseconds
	pos  int32 // index in the heap + 1; 0 when not scheduled
	f    Expirer
}

// Pending reports whether t is scheduled. Only meaningful under the caller's
// own synchronisation (the Heap may fire it at any moment).
func (t *Timer) Pending() bool { return t.pos != 0 }

// Heap is a set of Timers served by one goroutine.
type Heap struct {
	mu      sync.Mutex
	items   []*Timer
	next    int64 // when the runtime timer is set to fire; 0 when unset
	rt      *time.Timer
	stopped bool
	due     []*Timer // scratch space of fire, used by its goroutine only
}

// New returns a Heap. Its goroutine runs only while a Timer is due; Close
// stops it for good.
func New() *Heap {
	h := &Heap{}
	h.rt = time.AfterFunc(time.Hour, h.fire)
	h.rt.Stop()
	return h
}

// Schedule arms t to call f after d, replacing any deadline t had.
func (h *Heap) Schedule(t *Timer, d time.Duration, f Expirer) {
	when := time.Now().Add(d).UnixNano()
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return
	}
	t.f = f
	t.when = when
	if t.pos == 0 {
		h.items = append(h.items, t)
		t.pos = int32(len(h.items))
		h.up(len(h.items) - 1)
	} else {
		i := int(t.pos - 1)
		h.up(i)
		h.down(int(t.pos - 1))
	}
	h.arm()
	h.mu.Unlock()
}

// Stop disarms t. It reports whether t was pending (and will now not fire).
func (h *Heap) Stop(t *Timer) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t.pos == 0 {
		return false
	}
	h.remove(int(t.pos - 1))
	return true
}

// Len returns the number of pending timers.
func (h *Heap) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.items)
}

// Close drops every pending timer and stops the Heap; Schedule does nothing
// afterwards.
func (h *Heap) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	for _, t := range h.items {
		t.pos = 0
	}
	h.items = nil
	h.rt.Stop()
}

// arm sets the runtime timer to the earliest deadline. Called under mu.
func (h *Heap) arm() {
	if len(h.items) == 0 {
		return
	}
	first := h.items[0].when
	if h.next != 0 && h.next <= first {
		return // it fires early enough; fire re-arms for the rest
	}
	h.next = first
	h.rt.Reset(time.Duration(first - time.Now().UnixNano()))
}

// fire runs the due timers, on the runtime timer's goroutine. When Schedule
// brings the runtime timer forward while a fire runs, two may overlap; each
// takes only what is due under mu, so every timer still fires once.
func (h *Heap) fire() {
	h.mu.Lock()
	h.next = 0
	now := time.Now().UnixNano()
	due := h.due[:0]
	for len(h.items) > 0 && h.items[0].when <= now {
		t := h.items[0]
		h.remove(0)
		due = append(due, t)
	}
	fs := make([]Expirer, len(due))
	for i, t := range due {
		fs[i] = t.f
		due[i] = nil
	}
	h.due = due[:0]
	if !h.stopped {
		h.arm()
	}
	h.mu.Unlock()
	for _, f := range fs {
		f.Expire()
	}
}

func (h *Heap) remove(i int) {
	last := len(h.items) - 1
	t := h.items[i]
	if i != last {
		h.swap(i, last)
	}
	h.items[last] = nil
	h.items = h.items[:last]
	t.pos = 0
	if i != last {
		h.up(i)
		h.down(i)
	}
	if len(h.items) == 0 && cap(h.items) > 1024 {
		h.items = nil // an emptied storm leaves no large array behind
	}
}

func (h *Heap) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].pos = int32(i + 1)
	h.items[j].pos = int32(j + 1)
}

func (h *Heap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h.items[p].when <= h.items[i].when {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h *Heap) down(i int) {
	n := len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.items[r].when < h.items[l].when {
			m = r
		}
		if h.items[i].when <= h.items[m].when {
			return
		}
		h.swap(i, m)
		i = m
	}
}
