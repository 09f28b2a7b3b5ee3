package wstransport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// readBufSize is each loop's read buffer; a connection keeps only an
	// incomplete frame between reads.
	readBufSize = 16 << 10
	// maxLoops bounds the loops when handlers block.
	maxLoops = 4096
	// stallAfter is how long every loop may be busy with the same events
	// before another loop is started: the loops are then blocked (in a
	// handler waiting on a store), not merely busy. Starting loops for mere
	// bursts would leave idle goroutines with grown stacks behind.
	stallAfter = 20 * time.Millisecond
	// extraIdle is how long a loop started beyond Config.Workers waits for
	// events before it stops.
	extraIdle = 10 * time.Second
	// epoll flags of a connection: readable or peer closed, edge-triggered
	// (an event per arrival of data; no re-arming).
	pollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | 1<<31 // EPOLLET
)

var errPollerStopped = errors.New("wstransport: readiness loop stopped")

// poller is the readiness loop: goroutines wait in epoll_wait on one epoll
// instance and read the connections that became ready themselves, in line:
// no handoff to another goroutine, no re-arming system call per event.
// Connections are registered edge-triggered, and a connection's state word
// (pollEntry.state) makes sure one goroutine at a time reads it: an event
// that finds it busy asks the busy goroutine to read once more.
//
// The loops are long-lived (a goroutine per event would grow a new stack for
// every read). While every loop is busy for longer than stallAfter (handlers
// blocked on a store, say), a monitor starts another, so that the other
// connections, and their heartbeats, are still read; those stop again after
// extraIdle without events.
type poller struct {
	log  *slog.Logger
	core int

	conns   *registry
	mu      sync.Mutex
	started bool
	stopped bool
	epfd    int
	wake    [2]int // pipe that stops the loops; registered with id 0

	quit     chan struct{}
	busy     chan struct{} // wakes the monitor when no loop is waiting
	wg       sync.WaitGroup
	loops    atomic.Int32
	waiting  atomic.Int32 // loops inside epoll_wait
	progress atomic.Int64 // when a loop last finished its events (Unix ns)
}

// pollEntry is a connection's registration in the readiness loop.
type pollEntry struct {
	id     uint64      // in the Server's registry, and in the epoll event
	polled atomic.Bool // registered in the readiness loop
	// state is idle (0), being read (1), or being read and due for another
	// read (2): data arrived while a loop was reading.
	state atomic.Int32
	// hup is set once an event reported that the peer shut its side
	// (EPOLLRDHUP, EPOLLHUP, EPOLLERR): its end of stream then arrives with
	// the last data, in the same edge, so reads go on to it.
	hup atomic.Bool
}

func newPoller(core int, log *slog.Logger, conns *registry) *poller {
	return &poller{log: log, core: core, conns: conns, quit: make(chan struct{}), busy: make(chan struct{}, 1)}
}

func (p *poller) workerCount() int {
	if p == nil {
		return 0
	}
	return int(p.loops.Load())
}

// add registers a connection, starting the loops on first use. Data that
// arrived before is reported at once.
func (p *poller) add(t *Conn) error {
	if p == nil {
		return errPollerStopped
	}
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return errPollerStopped
	}
	if !p.started {
		if err := p.start(); err != nil {
			p.stopped = true
			p.mu.Unlock()
			p.log.Error("wstransport: readiness loop unavailable, reading with goroutines", "err", err)
			return err
		}
	}
	epfd := p.epfd
	p.mu.Unlock()
	t.polled.Store(true)
	if err := p.ctl(t, epfd, syscall.EPOLL_CTL_ADD); err != nil {
		t.polled.Store(false)
		return err
	}
	return nil
}

// ctl runs epoll_ctl on the connection's descriptor while the connection
// holds it open, so a concurrent close cannot hand the number to another
// socket in between.
func (p *poller) ctl(t *Conn, epfd, op int) error {
	var cerr error
	id := t.id
	err := t.raw.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: pollEvents, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))}
		cerr = syscall.EpollCtl(epfd, op, int(fd), &ev)
	})
	if err != nil {
		return err
	}
	return cerr
}

// remove unregisters a connection before it is closed.
func (p *poller) remove(t *Conn) {
	if p == nil {
		return
	}
	if !t.polled.Swap(false) {
		return
	}
	p.mu.Lock()
	epfd, stopped := p.epfd, p.stopped
	p.mu.Unlock()
	if !stopped {
		_ = p.ctl(t, epfd, syscall.EPOLL_CTL_DEL) // closing the socket would do it too
	}
}

// start creates the epoll instance and starts the core loops and the
// monitor. Called under mu.
func (p *poller) start() error {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("wstransport: epoll_create1: %w", err)
	}
	if err := syscall.Pipe2(p.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		_ = syscall.Close(epfd)
		return fmt.Errorf("wstransport: pipe2: %w", err)
	}
	// Level-triggered: every loop sees the wake-up and stops.
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wake[0], &ev); err != nil {
		_ = syscall.Close(epfd)
		_ = syscall.Close(p.wake[0])
		_ = syscall.Close(p.wake[1])
		return fmt.Errorf("wstransport: epoll_ctl: %w", err)
	}
	p.epfd, p.started = epfd, true
	p.progress.Store(time.Now().UnixNano())
	p.wg.Add(1 + p.core)
	go p.monitor()
	p.loops.Add(int32(p.core))
	for range p.core {
		go p.loop(true)
	}
	return nil
}

// loop waits for readiness and reads the ready connections. Extra loops
// stop after extraIdle without events.
func (p *poller) loop(core bool) {
	defer p.wg.Done()
	defer p.loops.Add(-1)
	rd := newRawReader()
	events := make([]syscall.EpollEvent, 128)
	timeout := -1
	if !core {
		timeout = int(extraIdle / time.Millisecond)
	}
	for {
		p.waiting.Add(1)
		n, err := syscall.EpollWait(p.epfd, events, timeout)
		if p.waiting.Add(-1) == 0 {
			select {
			case p.busy <- struct{}{}:
			default:
			}
		}
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			p.log.Error("wstransport: epoll_wait failed, readiness loop stopped", "err", err)
			return
		}
		if n == 0 && !core {
			return // idle extra loop
		}
		for i := range n {
			id := uint64(uint32(events[i].Fd)) | uint64(uint32(events[i].Pad))<<32
			if id == 0 {
				return // woken by shutdown
			}
			if t := p.conns.get(id); t != nil && t.polled.Load() {
				if events[i].Events&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
					t.pollEntry.hup.Store(true)
				}
				p.handle(t, rd)
			}
		}
		p.progress.Store(time.Now().UnixNano())
	}
}

// handle reads a ready connection, unless another loop is reading it: that
// one is then told to read once more.
func (p *poller) handle(t *Conn, rd *rawReader) {
	e := &t.pollEntry
	for !e.state.CompareAndSwap(0, 1) {
		if e.state.CompareAndSwap(1, 2) || e.state.Load() == 2 {
			return
		}
	}
	for {
		if !readReady(t, rd) {
			return // the connection ended; it stays "busy" for good
		}
		if e.state.CompareAndSwap(1, 0) {
			return
		}
		e.state.Store(1) // data came meanwhile: read again
	}
}

// monitor starts a loop when every loop has been busy for stallAfter.
func (p *poller) monitor() {
	defer p.wg.Done()
	timer := time.NewTimer(stallAfter)
	defer timer.Stop()
	for {
		select {
		case <-p.busy:
		case <-p.quit:
			return
		}
		for p.waiting.Load() == 0 {
			timer.Reset(stallAfter)
			select {
			case <-timer.C:
			case <-p.quit:
				return
			}
			stalled := time.Now().UnixNano()-p.progress.Load() > int64(stallAfter)
			if p.waiting.Load() == 0 && stalled && p.loops.Load() < maxLoops {
				p.loops.Add(1)
				p.wg.Add(1)
				p.progress.Store(time.Now().UnixNano()) // one at a time per stall period
				go p.loop(false)
			}
		}
	}
}

// shutdown stops the loops and waits for them until ctx is done.
// Connections are not closed here.
func (p *poller) shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	started, stopped := p.started, p.stopped
	p.stopped = true
	p.mu.Unlock()
	if !started || stopped {
		return nil
	}
	_, _ = syscall.Write(p.wake[1], []byte{1})
	close(p.quit)
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("wstransport: shutdown: readiness loops still busy: %w", ctx.Err())
	}
	_ = syscall.Close(p.epfd)
	_ = syscall.Close(p.wake[0])
	_ = syscall.Close(p.wake[1])
	return nil
}

// rawReader is a loop's read buffer with a pre-bound RawConn callback.
type rawReader struct {
	buf []byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

func newRawReader() *rawReader {
	r := &rawReader{buf: make([]byte, readBufSize)}
	r.fn = r.readFD
	return r
}

func (r *rawReader) readFD(fd uintptr) bool {
	for {
		n, err := syscall.Read(int(fd), r.buf)
		if err == syscall.EINTR {
			continue
		}
		r.n, r.err = max(n, 0), err
		return true
	}
}

// readReady reads what a ready connection has without blocking, until the
// socket is drained: with edge-triggered readiness, data left unread would
// not be reported again. It returns false once the connection has ended.
func readReady(t *Conn, rd *rawReader) bool {
	for {
		if err := t.raw.Read(rd.fn); err != nil {
			t.readFailed(err)
			return false
		}
		n, err := rd.n, rd.err
		if n > 0 && !t.consume(rd.buf[:n]) {
			return false
		}
		switch {
		case err == syscall.EAGAIN:
			return true
		case err != nil:
			t.readFailed(err)
			return false
		case n == 0:
			t.readFailed(io.EOF)
			return false
		case n < len(rd.buf) && !t.pollEntry.hup.Load():
			// Drained: data arriving from now on raises a new event. Not
			// so the end of a stream that came with this data: after a
			// hang-up, reading goes on until it returns 0.
			return true
		}
	}
}
