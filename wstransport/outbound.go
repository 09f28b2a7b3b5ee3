package wstransport

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"
)

// Kind says how a write is treated when the socket cannot take it at once.
type Kind int

// Write kinds.
const (
	// Data is queued behind what waits, up to Config.MaxQueue.
	Data Kind = iota
	// Volatile is dropped while the connection has a backlog.
	Volatile
	// Priority goes ahead of the backlog (after a frame already begun):
	// the heartbeat tests that the client is alive, not how far behind it
	// is (MaxQueue and WriteTimeout bound that).
	Priority
	kindClose // queued regardless of the limit; ends data
)

// outbound is a connection's write path: a mutex, a non-blocking write,
// and when the socket is full, a bounded queue drained by a short-lived
// goroutine under a write deadline.
type outbound struct {
	srv *Server
	nc  net.Conn
	raw syscall.RawConn // set when writes can be tried without blocking
	c   *Conn           // the connection it writes for

	mu               sync.Mutex // guards the write state below
	queue            net.Buffers
	queued           int
	headPartial      bool // queue[0] is the rest of a frame begun on the wire
	flushing         bool
	closeSent        bool
	finishAfterFlush bool
	done             bool
	closeTimer       *time.Timer
}

// maxBatch bounds one vectored write of the backlog, so that a heartbeat
// queued meanwhile waits for at most this much data.
const maxBatch = 64 << 10

// send writes b (one or more complete frames) or queues what the socket
// does not take at once. It reports whether b was written or queued. b must
// not be modified afterwards: it may stay queued, and fan-out shares it
// between connections.
func (t *outbound) send(b []byte, kind Kind) bool {
	t.mu.Lock()
	if t.done || t.closeSent {
		t.mu.Unlock()
		return false
	}
	if kind == kindClose {
		t.closeSent = true
	}
	if len(t.queue) == 0 && !t.flushing {
		n, err := t.tryWrite(b)
		if err != nil {
			t.mu.Unlock()
			t.c.abort("write error", fmt.Errorf("wstransport: write: %w", err))
			return false
		}
		if n == len(b) {
			t.mu.Unlock()
			return true
		}
		if n > 0 {
			t.headPartial = true // nothing may be queued before the rest
		}
		b = b[n:] // the rest of a frame already begun must follow
	} else if kind == Volatile {
		t.mu.Unlock()
		t.srv.metrics.volatileDrops.Inc()
		return false
	} else if kind == Priority {
		// The heartbeat tests that the client is alive, not how far it is
		// behind (MaxQueue and WriteTimeout bound that): a ping behind
		// seconds of backlog would time out a client that reads.
		at := 0
		if t.headPartial {
			at = 1
		}
		t.queue = slices.Insert(t.queue, at, b)
		t.queued += len(b)
		t.srv.metrics.queueBytes.Add(float64(len(b)))
		t.mu.Unlock()
		return true
	}
	if kind != kindClose && t.queued >= t.srv.cfg.MaxQueue {
		queued := t.queued
		t.mu.Unlock()
		t.slowConsumer(reasonQueueFull, fmt.Errorf("wstransport: slow consumer: %d bytes queued, the limit is %d", queued, t.srv.cfg.MaxQueue))
		return false
	}
	t.queue = append(t.queue, b)
	t.queued += len(b)
	t.srv.metrics.queueBytes.Add(float64(len(b)))
	if !t.flushing {
		t.flushing = true
		t.srv.metrics.backlogged.Inc()
		go t.flush()
	}
	t.mu.Unlock()
	return true
}

// flush drains the queue with vectored writes under the write deadline. It
// runs while a backlog exists, one per connection.
func (t *outbound) flush() {
	defer t.srv.metrics.backlogged.Dec()
	for {
		t.mu.Lock()
		bufs, n := t.takeBatch()
		if len(bufs) == 0 || t.done {
			// Inline writes check the socket's deadline too: clear it
			// before they resume.
			_ = t.nc.SetWriteDeadline(time.Time{})
			t.flushing = false
			then := t.finishAfterFlush && !t.done
			t.mu.Unlock()
			if then {
				t.c.finish()
			}
			return
		}
		t.mu.Unlock()
		_ = t.nc.SetWriteDeadline(time.Now().Add(t.srv.cfg.WriteTimeout))
		_, err := bufs.WriteTo(t.nc)
		t.mu.Lock()
		if !t.done {
			t.queued -= n
			t.srv.metrics.queueBytes.Sub(float64(n))
		}
		t.mu.Unlock()
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			t.slowConsumer(reasonWriteTimeout, fmt.Errorf("wstransport: slow consumer: backlog of %d bytes not written within %s", n, t.srv.cfg.WriteTimeout))
			return
		default:
			t.c.abort("write error", fmt.Errorf("wstransport: write: %w", err))
			return
		}
	}
}

// takeBatch takes up to maxBatch bytes of whole queue entries off the
// front of the queue (at least one entry). Called under mu.
func (t *outbound) takeBatch() (net.Buffers, int) {
	k, n := 0, 0
	for k < len(t.queue) && (k == 0 || n+len(t.queue[k]) <= maxBatch) {
		n += len(t.queue[k])
		k++
	}
	// The batch's capacity ends where the rest of the queue begins, and
	// writing it only touches its own entries: the two can share the array.
	// An emptied queue lets its array go: an idle connection keeps none.
	bufs := t.queue[:k:k]
	if k == len(t.queue) {
		t.queue = nil
	} else {
		t.queue = t.queue[k:]
	}
	t.headPartial = false
	return bufs, n
}

// slowConsumer closes a connection that cannot keep up. No close frame can
// get through its full socket: the TCP connection is dropped, and the engine
// hears a transport error with the reason.
func (t *outbound) slowConsumer(reason string, err error) {
	t.mu.Lock()
	done := t.done
	t.mu.Unlock()
	if done {
		return
	}
	t.srv.metrics.slowCloses.WithLabelValues(reason).Inc()
	t.srv.log.Warn("wstransport: closing a slow consumer", "conn", t.c.logID(), "reason", reason, "err", err)
	t.c.abort("slow consumer", err)
}

// stop ends writing: the queue is dropped and nothing more is written. It
// returns the close timer to stop, if any.
func (t *outbound) stop() *time.Timer {
	t.mu.Lock()
	t.done = true
	dropped := t.queued
	t.queue, t.queued = nil, 0
	timer := t.closeTimer
	t.mu.Unlock()
	t.srv.metrics.queueBytes.Sub(float64(dropped))
	return timer
}

// closing reports whether a close frame went out or writing stopped.
func (t *outbound) closing() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closeSent || t.done
}

// sendClose queues a close frame once and bounds the wait for the client's
// answer by Config.CloseTimeout; it reports whether the frame was queued.
func (t *outbound) sendClose(code int) bool {
	if !t.send(closeFrame(code, ""), kindClose) {
		return false
	}
	timer := time.AfterFunc(t.srv.cfg.CloseTimeout, t.c.finish)
	t.mu.Lock()
	if t.done {
		timer.Stop()
	} else {
		t.closeTimer = timer
	}
	t.mu.Unlock()
	return true
}

// afterFlush runs finish once the queue is written (at once when empty):
// the answer to a client's close frame must get out before the socket
// closes.
func (t *outbound) afterFlush() {
	t.mu.Lock()
	pending := t.flushing
	if pending {
		t.finishAfterFlush = true
	}
	t.mu.Unlock()
	if !pending {
		t.c.finish()
	}
}
