package adapter

import (
	"log/slog"
	"sync"
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
	for {
		b.mu.Lock()
		if len(b.tasks) == 0 {
			b.busy = false
			b.tasks = nil // release a grown backing array
			b.idle.Broadcast()
			b.mu.Unlock()
			return
		}
		task := b.tasks[0]
		b.tasks[0] = nil
		b.tasks = b.tasks[1:]
		b.mu.Unlock()
		b.run(task)
	}
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
