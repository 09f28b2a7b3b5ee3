package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestFailReason(t *testing.T) {
	dialErr := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)}
	}
	cases := []struct {
		err     error
		reason  string
		refusal bool
	}{
		{dialErr(syscall.ECONNREFUSED), "dial: connection refused (ECONNREFUSED)", true},
		{dialErr(syscall.EADDRNOTAVAIL), "dial: no local port free (EADDRNOTAVAIL)", false},
		{&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, "read: timeout", false},
		{&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, "read: connection reset (ECONNRESET)", false},
		{fmt.Errorf("wrapped: %w", io.ErrUnexpectedEOF), "closed by the server (EOF)", false},
		{fmt.Errorf("%w: upgrade answered %q", errRefused, "HTTP/1.1 503 x"), `refused by the server: upgrade answered "HTTP/1.1 503 x"`, true},
	}
	for _, c := range cases {
		if got := failReason(c.err); got != c.reason {
			t.Errorf("failReason(%v) = %q, want %q", c.err, got, c.reason)
		}
		if got := isRefusal(c.err); got != c.refusal {
			t.Errorf("isRefusal(%v) = %v", c.err, got)
		}
	}
}
