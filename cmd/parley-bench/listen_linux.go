//go:build linux

package main

import (
	"encoding/binary"
	"fmt"
	"syscall"
)

// listenBacklog returns the accept queue's length and limit of the IPv4
// TCP socket listening on port (ss's Recv-Q and Send-Q). It asks the
// kernel's sock_diag for listening sockets only: `ss -l` also asks for
// closed ones, which walks every connection (50 ms of system time with
// 40,000 of them), too costly to sample during a connection storm.
func listenBacklog(port int) (queued, limit int, err error) {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, syscall.NETLINK_INET_DIAG)
	if err != nil {
		return 0, 0, fmt.Errorf("sock_diag: %w", err)
	}
	defer syscall.Close(fd)
	if err := syscall.Sendto(fd, listenDumpRequest(), 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return 0, 0, fmt.Errorf("sock_diag: %w", err)
	}
	buf := make([]byte, 32<<10)
	found := false
	for {
		n, _, err := syscall.Recvfrom(fd, buf, 0)
		if err != nil {
			return 0, 0, fmt.Errorf("sock_diag: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return 0, 0, fmt.Errorf("sock_diag: %w", err)
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case syscall.NLMSG_DONE:
				if !found {
					return 0, 0, fmt.Errorf("sock_diag: nothing listens on port %d", port)
				}
				return queued, limit, nil
			case syscall.NLMSG_ERROR:
				return 0, 0, fmt.Errorf("sock_diag: error answer")
			}
			if q, l, ok := parseDiagListen(m.Data, port); ok {
				queued, limit, found = q, l, true
			}
		}
	}
}

// sockDiagByFamily is the netlink message type of an inet_diag_req_v2.
const sockDiagByFamily = 20

// listenDumpRequest is a netlink dump request (struct nlmsghdr, then struct
// inet_diag_req_v2) for the IPv4 TCP sockets in state LISTEN.
func listenDumpRequest() []byte {
	req := make([]byte, 16+56)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], sockDiagByFamily)
	binary.NativeEndian.PutUint16(req[6:], syscall.NLM_F_REQUEST|syscall.NLM_F_DUMP)
	req[16] = syscall.AF_INET
	req[17] = syscall.IPPROTO_TCP
	binary.NativeEndian.PutUint32(req[20:], 1<<10) // 1 << TCP_LISTEN
	return req
}

// parseDiagListen reads a struct inet_diag_msg: the source port (network
// order) at 4, then idiag_rqueue and idiag_wqueue at 56 and 60, which for
// a listening socket are its accept queue's length and limit.
func parseDiagListen(msg []byte, port int) (queued, limit int, ok bool) {
	if len(msg) < 72 || int(binary.BigEndian.Uint16(msg[4:])) != port {
		return 0, 0, false
	}
	return int(binary.NativeEndian.Uint32(msg[56:])), int(binary.NativeEndian.Uint32(msg[60:])), true
}
