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
	// readBufSize is each worker's read buffer; a connection keeps only an
	// incomplete frame between reads.
	readBufSize = 16 << 10
	// readsPerEvent bounds the reads of one connection per readiness event,
	// so one busy client cannot hold a worker; the one-shot re-arm brings it
	// back at once if it still has data.
	readsPerEvent = 4
	// maxWorkers bounds the pool when handlers block.
	maxWorkers = 4096
	// workQueue is how many ready connections may wait for a worker.
	workQueue = 1024
	// stallAfter is how long no worker may finish a job while connections
	// wait before another worker is started: the workers are then blocked
	// (in a handler waiting on a store), not merely busy. Starting workers
	// for mere bursts (a connection storm) would leave hundreds of idle
	// goroutines with their buffers and grown stacks behind.
	stallAfter = 20 * time.Millisecond
	// extraIdle is how long a worker started beyond Config.Workers waits for
	// work before it stops.
	extraIdle = 10 * time.Second
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

	conns   *registry
	mu      sync.Mutex
	started bool
	stopped bool
	epfd    int
	wake    [2]int // pipe that stops the loop; registered with id 0

	work     chan pollConn
	quit     chan struct{}
	wg       sync.WaitGroup
	workers  atomic.Int32
	progress atomic.Int64 // when a worker last finished a job (Unix ns)
}

func newPoller(core int, log *slog.Logger, conns *registry) *poller {
	return &poller{log: log, core: core, conns: conns, work: make(chan pollConn, workQueue), quit: make(chan struct{})}
}

func (p *poller) workerCount() int {
	if p == nil {
		return 0
	}
	return int(p.workers.Load())
}

// pollConn is a connection the readiness loop reads: the library
// transport (Transport) or a Conn.
type pollConn interface {
	entry() *pollEntry
	rawConn() syscall.RawConn
	// consume parses bytes read; false once reading should stop.
	consume(data []byte) bool
	// readFailed ends the connection after a read error or end of stream.
	readFailed(err error)
	finish()
	isFinished() bool
	logID() string
}

// pollEntry is a connection's registration in the readiness loop.
type pollEntry struct {
	id     uint64      // in the Server's registry, and in the epoll event
	polled atomic.Bool // registered in the readiness loop
}

func (e *pollEntry) entry() *pollEntry { return e }

// add registers a connection, starting the loop on first use.
func (p *poller) add(t pollConn) error {
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
	t.entry().polled.Store(true)
	if err := p.ctl(t, epfd, syscall.EPOLL_CTL_ADD); err != nil {
		t.entry().polled.Store(false)
		return err
	}
	return nil
}

// ctl runs epoll_ctl on the connection's descriptor while the connection
// holds it open, so a concurrent close cannot hand the number to another
// socket in between.
func (p *poller) ctl(t pollConn, epfd, op int) error {
	var cerr error
	id := t.entry().id
	err := t.rawConn().Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: pollEvents, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))}
		cerr = syscall.EpollCtl(epfd, op, int(fd), &ev)
	})
	if err != nil {
		return err
	}
	return cerr
}

// rearm asks for the next readiness event of a connection.
func (p *poller) rearm(t pollConn) {
	if !t.entry().polled.Load() {
		return
	}
	p.mu.Lock()
	epfd, stopped := p.epfd, p.stopped
	p.mu.Unlock()
	if stopped {
		return
	}
	if err := p.ctl(t, epfd, syscall.EPOLL_CTL_MOD); err != nil && !t.isFinished() {
		p.log.Error("wstransport: re-arming a connection failed, closing it", "conn", t.logID(), "err", err)
		t.finish()
	}
}

// remove unregisters a connection before it is closed.
func (p *poller) remove(t pollConn) {
	if p == nil {
		return
	}
	if !t.entry().polled.Swap(false) {
		return
	}
	p.mu.Lock()
	epfd, stopped := p.epfd, p.stopped
	p.mu.Unlock()
	if !stopped {
		_ = p.ctl(t, epfd, syscall.EPOLL_CTL_DEL) // closing the socket would do it too
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
		go p.worker(true)
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
			if t := p.conns.get(id); t != nil && t.entry().polled.Load() {
				p.dispatch(t)
			}
		}
	}
}

// dispatch queues t for the workers. While they are stalled (blocked in
// handlers: a connection middleware may wait on a store for seconds), it
// starts another worker so that other connections, and their pongs, are
// still read.
func (p *poller) dispatch(t pollConn) {
	select {
	case p.work <- t:
		if len(p.work) > 1 && time.Now().UnixNano()-p.progress.Load() > int64(stallAfter) {
			p.spawn()
		}
		return
	default:
	}
	p.spawn()
	select {
	case p.work <- t:
	case <-p.quit:
	}
}

func (p *poller) spawn() {
	if p.workers.Load() >= maxWorkers {
		return
	}
	p.workers.Add(1)
	p.wg.Add(1)
	p.progress.Store(time.Now().UnixNano()) // one at a time per stall period
	go p.worker(false)
}

// worker reads ready connections. Extra workers stop after extraIdle.
func (p *poller) worker(core bool) {
	defer p.wg.Done()
	defer p.workers.Add(-1)
	rd := newRawReader()
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
			if onReadable(t, rd) {
				p.rearm(t)
			}
			p.progress.Store(time.Now().UnixNano())
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
func onReadable(t pollConn, rd *rawReader) bool {
	for range readsPerEvent {
		if err := t.rawConn().Read(rd.fn); err != nil {
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
		case n < len(rd.buf):
			return true // drained; the re-arm reports anything newer
		}
	}
	return true
}
