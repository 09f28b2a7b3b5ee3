package wstransport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// readBufSize is each worker's read buffer; a connection keeps only an
	// incomplete frame between reads.
	readBufSize = 16 << 10
	// readsPerEvent bounds the reads of one connection per readiness event,
	// so one busy client cannot hold a worker; the one-shot re-arm brings it
	// back at once if it still has data.
	readsPerEvent = 4
	// maxWorkers bounds the pool when handlers block.
	maxWorkers = 4096
	// extraIdle is how long a worker started beyond Config.Workers waits for
	// work before it stops.
	extraIdle = time.Minute
	// epoll flags of a connection: readable or peer closed, one event per
	// arming.
	pollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | 1<<30 // EPOLLONESHOT
)

var errPollerStopped = errors.New("wstransport: readiness loop stopped")

// poller is the readiness loop: one goroutine waits in epoll_wait and hands
// each ready connection to a worker. Connections are registered one-shot,
// so a connection is read by one worker at a time and re-armed after.
// Workers are long-lived: a goroutine per readable event would grow a new
// stack for the library's deep call chains every time.
type poller struct {
	log  *slog.Logger
	core int

	mu      sync.Mutex
	conns   map[uint64]*Transport
	next    uint64
	started bool
	stopped bool
	epfd    int
	wake    [2]int // pipe that stops the loop; registered with id 0

	work    chan *Transport
	quit    chan struct{}
	wg      sync.WaitGroup
	workers atomic.Int32
}

func newPoller(core int, log *slog.Logger) *poller {
	return &poller{log: log, core: core, conns: map[uint64]*Transport{}, work: make(chan *Transport), quit: make(chan struct{})}
}

func (p *poller) workerCount() int {
	if p == nil {
		return 0
	}
	return int(p.workers.Load())
}

// add registers a connection, starting the loop on first use.
func (p *poller) add(t *Transport) error {
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
	p.next++
	id := p.next
	p.conns[id] = t
	epfd := p.epfd
	p.mu.Unlock()
	t.pollID.Store(id)
	if err := p.ctl(t, epfd, syscall.EPOLL_CTL_ADD, id); err != nil {
		t.pollID.Store(0)
		p.mu.Lock()
		delete(p.conns, id)
		p.mu.Unlock()
		return err
	}
	return nil
}

// ctl runs epoll_ctl on the connection's descriptor while the connection
// holds it open, so a concurrent close cannot hand the number to another
// socket in between.
func (p *poller) ctl(t *Transport, epfd, op int, id uint64) error {
	var cerr error
	err := t.raw.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: pollEvents, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))}
		cerr = syscall.EpollCtl(epfd, op, int(fd), &ev)
	})
	if err != nil {
		return err
	}
	return cerr
}

// rearm asks for the next readiness event of a connection.
func (p *poller) rearm(t *Transport) {
	id := t.pollID.Load()
	if id == 0 {
		return
	}
	p.mu.Lock()
	epfd, stopped := p.epfd, p.stopped
	p.mu.Unlock()
	if stopped {
		return
	}
	if err := p.ctl(t, epfd, syscall.EPOLL_CTL_MOD, id); err != nil && !t.finished.Load() {
		p.log.Error("wstransport: re-arming a connection failed, closing it", "sid", t.Sid(), "err", err)
		t.finish()
	}
}

// remove unregisters a connection before it is closed.
func (p *poller) remove(t *Transport) {
	if p == nil {
		return
	}
	id := t.pollID.Swap(0)
	if id == 0 {
		return
	}
	p.mu.Lock()
	delete(p.conns, id)
	epfd, stopped := p.epfd, p.stopped
	p.mu.Unlock()
	if !stopped {
		_ = p.ctl(t, epfd, syscall.EPOLL_CTL_DEL, id) // closing the socket would do it too
	}
}

// start creates the epoll instance and starts the loop and the core
// workers. Called under mu.
func (p *poller) start() error {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("wstransport: epoll_create1: %w", err)
	}
	if err := syscall.Pipe2(p.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		_ = syscall.Close(epfd)
		return fmt.Errorf("wstransport: pipe2: %w", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wake[0], &ev); err != nil {
		_ = syscall.Close(epfd)
		_ = syscall.Close(p.wake[0])
		_ = syscall.Close(p.wake[1])
		return fmt.Errorf("wstransport: epoll_ctl: %w", err)
	}
	p.epfd, p.started = epfd, true
	p.wg.Add(1 + p.core)
	go p.loop(epfd)
	p.workers.Add(int32(p.core))
	for range p.core {
		go p.worker(nil, true)
	}
	return nil
}

// loop waits for readiness and dispatches connections to workers.
func (p *poller) loop(epfd int) {
	defer p.wg.Done()
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(epfd, events, -1)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			p.log.Error("wstransport: epoll_wait failed, readiness loop stopped", "err", err)
			return
		}
		for i := range n {
			id := uint64(uint32(events[i].Fd)) | uint64(uint32(events[i].Pad))<<32
			if id == 0 {
				return // woken by shutdown
			}
			p.mu.Lock()
			t := p.conns[id]
			p.mu.Unlock()
			if t != nil {
				p.dispatch(t)
			}
		}
	}
}

// dispatch hands t to an idle worker, or to a new one while all are busy
// (a connection middleware may block on a store for seconds).
func (p *poller) dispatch(t *Transport) {
	select {
	case p.work <- t:
		return
	default:
	}
	if p.workers.Load() < maxWorkers {
		p.workers.Add(1)
		p.wg.Add(1)
		go p.worker(t, false)
		return
	}
	select {
	case p.work <- t:
	case <-p.quit:
	}
}

// worker reads ready connections. Extra workers stop after extraIdle.
func (p *poller) worker(first *Transport, core bool) {
	defer p.wg.Done()
	defer p.workers.Add(-1)
	rd := newRawReader()
	if first != nil {
		p.serve(rd, first)
	}
	var idle <-chan time.Time
	var timer *time.Timer
	if !core {
		timer = time.NewTimer(extraIdle)
		defer timer.Stop()
		idle = timer.C
	}
	for {
		select {
		case t := <-p.work:
			p.serve(rd, t)
			if timer != nil {
				timer.Reset(extraIdle)
			}
		case <-idle:
			return
		case <-p.quit:
			return
		}
	}
}

func (p *poller) serve(rd *rawReader, t *Transport) {
	if t.onReadable(rd) {
		p.rearm(t)
	}
}

// shutdown stops the loop and the workers and waits for them until ctx is
// done. Connections are not closed here.
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
		return fmt.Errorf("wstransport: shutdown: workers still busy: %w", ctx.Err())
	}
	_ = syscall.Close(p.epfd)
	_ = syscall.Close(p.wake[0])
	_ = syscall.Close(p.wake[1])
	return nil
}

// rawReader is a worker's read buffer with a pre-bound RawConn callback.
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

// onReadable reads what a ready connection has without blocking. It
// returns whether the connection must be re-armed.
func (t *Transport) onReadable(rd *rawReader) bool {
	for range readsPerEvent {
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
			t.readFailed(errEOF)
			return false
		case n < len(rd.buf):
			return true // drained; the re-arm reports anything newer
		}
	}
	return true
}
