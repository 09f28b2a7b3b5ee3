//go:build linux

package main

import (
	"encoding/binary"
	"net"
	"testing"
)

func TestParseDiagListen(t *testing.T) {
	msg := make([]byte, 72)
	binary.BigEndian.PutUint16(msg[4:], 8080)
	binary.NativeEndian.PutUint32(msg[56:], 7)
	binary.NativeEndian.PutUint32(msg[60:], 511)
	if q, l, ok := parseDiagListen(msg, 8080); !ok || q != 7 || l != 511 {
		t.Errorf("got %d %d %v", q, l, ok)
	}
	if _, _, ok := parseDiagListen(msg, 8081); ok {
		t.Error("matched another port")
	}
	if _, _, ok := parseDiagListen(msg[:60], 8080); ok {
		t.Error("matched a short message")
	}
}

// TestListenBacklog reads a listener of this process through sock_diag.
func TestListenBacklog(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	queued, limit, err := listenBacklog(ln.Addr().(*net.TCPAddr).Port)
	if err != nil {
		// The storm scenario reports the accept queue through it: a kernel
		// without sock_diag (NETLINK_SOCK_DIAG) cannot run it as written.
		t.Fatalf("sock_diag: %v", err)
	}
	if queued != 0 || limit <= 0 {
		t.Errorf("queued %d, limit %d", queued, limit)
	}
}
