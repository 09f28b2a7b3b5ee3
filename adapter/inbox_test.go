package adapter

import (
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// TestInboxFlushed: flushed waits for the tasks queued before it, not for
// later ones, and gives up after its limit.
func TestInboxFlushed(t *testing.T) {
	var running sync.WaitGroup
	b := newInbox(slog.New(slog.NewTextHandler(io.Discard, nil)), &running)
	if !b.flushed(time.Millisecond) {
		t.Fatal("an empty inbox is not flushed")
	}
	first, second := make(chan struct{}), make(chan struct{})
	b.add(func() { <-first })
	// Once flushed is waiting (it made its progress channel), another task
	// is queued, which it must not wait for, and the first is released.
	go func() {
		for !b.waiting() {
			time.Sleep(time.Millisecond)
		}
		b.add(func() { <-second })
		close(first)
	}()
	if !b.flushed(10 * time.Second) {
		t.Fatal("flushed gave up though the task queued before it ran")
	}
	if got := b.ranCount(); got != 1 {
		t.Fatalf("ran %d tasks, want 1", got)
	}
	if b.flushed(20 * time.Millisecond) {
		t.Fatal("flushed while a task queued before it was blocked")
	}
	close(second)
	running.Wait()
}

// waiting reports whether flushed is waiting for a task.
func (b *inbox) waiting() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.progress != nil
}
