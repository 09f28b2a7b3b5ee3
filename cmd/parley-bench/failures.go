package main

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// isRefusal tells whether the server turned a connection down (a reset
// answer to the SYN, or a refusal in the handshake) rather than the
// connection failing on the way.
func isRefusal(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, errRefused)
}

// failReason names why a handshake failed, without the addresses and
// ports, so that the failures of a connection storm can be counted by kind.
func failReason(err error) string {
	op := ""
	var oe *net.OpError
	if errors.As(err, &oe) {
		op = oe.Op + ": "
	}
	var ne net.Error
	switch {
	case errors.Is(err, errRefused):
		return err.Error()
	case errors.Is(err, syscall.ECONNREFUSED):
		return op + "connection refused (ECONNREFUSED)"
	case errors.Is(err, syscall.ECONNRESET):
		return op + "connection reset (ECONNRESET)"
	case errors.Is(err, syscall.EPIPE):
		return op + "broken pipe (EPIPE)"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return op + "no local port free (EADDRNOTAVAIL)"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return op + "too many open files"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return op + "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return op + "closed by the server (EOF)"
	case oe != nil:
		return op + oe.Err.Error()
	}
	return err.Error()
}
