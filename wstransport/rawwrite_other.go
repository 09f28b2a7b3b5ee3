//go:build !linux

package wstransport

import (
	"net"
	"syscall"
)

// rawConnOf returns nil: every write goes through the queue.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

func (t *outbound) tryWrite([]byte) (int, error) { return 0, nil }
