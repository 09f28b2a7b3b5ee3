package wstransport

import (
	"net"
	"sync"
	"syscall"
)

// rawConnOf returns the descriptor access of a plain socket, which lets
// writes be tried without blocking; nil for other connections (TLS), which
// write through the queue's goroutine only.
func rawConnOf(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// rawWriter carries the arguments and results of one non-blocking write
// through RawConn.Write's callback. Pooled, so that neither a connection
// nor a write allocates a closure.
type rawWriter struct {
	buf []byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

var rawWriters = sync.Pool{New: func() any {
	w := &rawWriter{}
	w.fn = w.write
	return w
}}

// write is the RawConn callback; it never waits.
func (w *rawWriter) write(fd uintptr) bool {
	for {
		n, err := syscall.Write(int(fd), w.buf)
		if err == syscall.EINTR {
			continue
		}
		w.n, w.err = n, err
		return true
	}
}

// tryWrite writes what the socket takes without blocking. Called under mu.
func (t *outbound) tryWrite(b []byte) (int, error) {
	if t.raw == nil {
		return 0, nil
	}
	w := rawWriters.Get().(*rawWriter)
	w.buf = b
	err := t.raw.Write(w.fn)
	n, werr := w.n, w.err
	w.buf, w.err = nil, nil
	rawWriters.Put(w)
	switch {
	case err != nil:
		return 0, err
	case werr == syscall.EAGAIN:
		return max(n, 0), nil
	case werr != nil:
		return 0, werr
	}
	return n, nil
}
