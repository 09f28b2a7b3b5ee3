package timers

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type counter struct {
	n    atomic.Int32
	done chan struct{}
}

func (c *counter) Expire() {
	c.n.Add(1)
	if c.done != nil {
		c.done <- struct{}{}
	}
}

func TestFiresInOrderOfDeadline(t *testing.T) {
	h := New()
	defer h.Close()
	order := make(chan int, 3)
	var timers [3]Timer
	for i, d := range []time.Duration{30, 10, 20} {
		h.Schedule(&timers[i], d*time.Millisecond, expirerFunc(func() { order <- i }))
	}
	want := []int{1, 2, 0}
	for _, w := range want {
		select {
		case got := <-order:
			if got != w {
				t.Fatalf("fired %d, want %d", got, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("timer did not fire")
		}
	}
	if h.Len() != 0 {
		t.Fatalf("Len = %d after every timer fired", h.Len())
	}
}

type expirerFunc func()

func (f expirerFunc) Expire() { f() }

func TestStopAndReschedule(t *testing.T) {
	h := New()
	defer h.Close()
	var a, b Timer
	c := &counter{done: make(chan struct{}, 2)}
	h.Schedule(&a, 10*time.Millisecond, c)
	if !h.Stop(&a) {
		t.Fatal("Stop of a pending timer reported false")
	}
	if h.Stop(&a) {
		t.Fatal("second Stop reported true")
	}
	h.Schedule(&b, time.Hour, c)
	h.Schedule(&b, 5*time.Millisecond, c) // brought forward
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatal("rescheduled timer did not fire")
	}
	time.Sleep(30 * time.Millisecond)
	if n := c.n.Load(); n != 1 {
		t.Fatalf("%d expiries, want 1 (the stopped timer must not fire)", n)
	}
	if a.Pending() || b.Pending() {
		t.Fatal("timers still pending")
	}
}

func TestManyTimersEachFireOnce(t *testing.T) {
	h := New()
	defer h.Close()
	const n = 2000
	timers := make([]Timer, n)
	c := &counter{}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < n; i += 4 {
				if i%7 == 0 {
					// Rescheduled while pending: the first deadline must
					// not pass before the second Schedule, or the timer
					// rightly fires twice.
					h.Schedule(&timers[i], time.Hour+time.Duration(i%50)*time.Millisecond, c)
					h.Schedule(&timers[i], time.Duration(i%13)*time.Millisecond, c)
					continue
				}
				h.Schedule(&timers[i], time.Duration(i%50)*time.Millisecond, c)
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for c.n.Load() < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := c.n.Load(); got != n {
		t.Fatalf("%d expiries, want %d", got, n)
	}
}

func TestCloseDropsPending(t *testing.T) {
	h := New()
	var a Timer
	c := &counter{}
	h.Schedule(&a, time.Millisecond, c)
	h.Close()
	h.Schedule(&a, time.Millisecond, c)
	time.Sleep(20 * time.Millisecond)
	if c.n.Load() != 0 || a.Pending() {
		t.Fatal("a closed heap fired a timer")
	}
}

func BenchmarkScheduleStop(b *testing.B) {
	h := New()
	defer h.Close()
	timers := make([]Timer, 20000)
	c := &counter{}
	for i := range timers {
		h.Schedule(&timers[i], time.Hour+time.Duration(i), c)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := &timers[i%len(timers)]
		h.Schedule(t, time.Hour+time.Duration(i), c)
	}
}
