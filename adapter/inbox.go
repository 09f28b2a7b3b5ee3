package adapter

import (
	"log/slog"
	"sync"
	"time"
)

// inbox runs tasks one at a time, in the order they were added, on a
// goroutine that exists only while there is work. Each namespace has one, so
// messages from the cluster apply in order per namespace without ever
// blocking the Redis subscriber, and an idle namespace costs no goroutine.
type inbox struct {
	log *slog.Logger
	// running counts the drain goroutines of every inbox of the Node, so
	// Close can wait for all of them, those of closed namespaces included.
	running *sync.WaitGroup

	mu    sync.Mutex
	tasks []func()
	busy  bool
	idle  sync.Cond // signalled when the queue drains
	// added and ran count tasks, so flushed can wait for the ones queued
	// before it without waiting for later ones; progress, made by a
	// waiter, is closed when a task has run.
	added, ran uint64
	progress   chan struct{}
}

func newInbox(log *slog.Logger, running *sync.WaitGroup) *inbox {
	b := &inbox{log: log, running: running}
	b.idle.L = &b.mu
	return b
}

// add queues task.
func (b *inbox) add(task func()) {
	b.mu.Lock()
	b.tasks = append(b.tasks, task)
	b.added++
	start := !b.busy
	b.busy = true
	b.mu.Unlock()
	if start {
		b.running.Add(1)
		go b.drain()
	}
}

func (b *inbox) drain() {
	defer b.running.Done()
	b.mu.Lock()
	for len(b.tasks) > 0 {
		task := b.tasks[0]
		b.tasks[0] = nil
		b.tasks = b.tasks[1:]
		b.mu.Unlock()
		b.run(task)
		b.mu.Lock()
		b.ran++
		if b.progress != nil {
			close(b.progress)
			b.progress = nil
		}
	}
	b.busy = false
	b.tasks = nil // release a grown backing array
	b.idle.Broadcast()
	b.mu.Unlock()
}

// ranCount is how many tasks have run.
func (b *inbox) ranCount() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ran
}

// flushed waits until every task added before the call has run, for at
// most limit; it reports whether they all ran.
func (b *inbox) flushed(limit time.Duration) bool {
	b.mu.Lock()
	target := b.added
	if b.ran >= target {
		b.mu.Unlock()
		return true
	}
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for b.ran < target {
		if b.progress == nil {
			b.progress = make(chan struct{})
		}
		ch := b.progress
		b.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			return false
		}
		b.mu.Lock()
	}
	b.mu.Unlock()
	return true
}

// run isolates the node from a panicking listener: a bad message or a buggy
// server-side handler is logged, not fatal.
func (b *inbox) run(task func()) {
	defer func() {
		if r := recover(); r != nil {
			b.log.Error("adapter: panic while applying a cluster message", "panic", r)
		}
	}()
	task()
}

// wait blocks until every queued task has run.
func (b *inbox) wait() {
	b.mu.Lock()
	for b.busy {
		b.idle.Wait()
	}
	b.mu.Unlock()
}
