package wstransport

import (
	"syscall"
)

// setupRaw enables non-blocking write attempts on plain sockets. Other
// connections (TLS) write through the queue's goroutine only.
func (t *Transport) setupRaw() {
	sc, ok := t.conn.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	t.raw = raw
	t.writeFn = t.writeFD
}

// tryWrite writes what the socket takes without blocking. Called under mu.
func (t *Transport) tryWrite(b []byte) (int, error) {
	if t.raw == nil {
		return 0, nil
	}
	t.wbuf = b
	err := t.raw.Write(t.writeFn)
	n, werr := t.wn, t.werr
	t.wbuf, t.werr = nil, nil
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

// writeFD is the RawConn callback of tryWrite; it never waits.
func (t *Transport) writeFD(fd uintptr) bool {
	for {
		n, err := syscall.Write(int(fd), t.wbuf)
		if err == syscall.EINTR {
			continue
		}
		t.wn, t.werr = n, err
		return true
	}
}
