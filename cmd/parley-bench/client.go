package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// conn is a raw Engine.IO 4 client over WebSocket: no socket.io client
// object, just frames, so that thousands fit in one process.
type conn struct {
	nc   net.Conn
	br   *bufio.Reader
	mask [4]byte

	wmu  sync.Mutex
	wbuf []byte

	// onEvent, when set, receives every "42" packet and "43" ack payload.
	onEvent func(c *conn, pkt []byte)
	closed  atomic.Bool
}

// dial opens a WebSocket Engine.IO session to base (http://host:port) from
// the local address src, and connects to the main namespace.
func dial(base string, src net.IP, timeout time.Duration) (*conn, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: src}}
	nc, err := d.Dial("tcp", u.Host)
	if err != nil {
		return nil, err
	}
	c := &conn{nc: nc, br: bufio.NewReaderSize(nc, 1024)}
	_, _ = rand.Read(c.mask[:])
	_ = nc.SetDeadline(time.Now().Add(timeout))
	if err := c.handshake(u.Host); err != nil {
		_ = nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

func (c *conn) handshake(host string) error {
	var key [16]byte
	_, _ = rand.Read(key[:])
	req := "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " +
		base64.StdEncoding.EncodeToString(key[:]) + "\r\n\r\n"
	if _, err := io.WriteString(c.nc, req); err != nil {
		return err
	}
	status, err := c.br.ReadString('\n')
	if err != nil {
		return err
	}
	if !bytes.Contains([]byte(status), []byte(" 101 ")) {
		return fmt.Errorf("%w: upgrade answered %q", errRefused, status)
	}
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			return err
		}
		if line == "\r\n" {
			break
		}
	}
	open, err := c.readMessage(nil)
	if err != nil || len(open) == 0 || open[0] != '0' {
		return fmt.Errorf("no open packet: %q %v", open, err)
	}
	if err := c.writeText([]byte("40")); err != nil {
		return err
	}
	for {
		msg, err := c.readMessage(nil)
		if err != nil {
			return err
		}
		if bytes.HasPrefix(msg, []byte("40")) {
			return nil
		}
		if bytes.HasPrefix(msg, []byte("44")) {
			return fmt.Errorf("%w: connect error %s", errRefused, msg)
		}
	}
}

// readMessage reads one data frame's payload into buf (reused) and answers
// control frames.
func (c *conn) readMessage(buf []byte) ([]byte, error) {
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.br, h[:]); err != nil {
			return nil, err
		}
		n := int(h[1] & 0x7F)
		switch n {
		case 126:
			var l [2]byte
			if _, err := io.ReadFull(c.br, l[:]); err != nil {
				return nil, err
			}
			n = int(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			if _, err := io.ReadFull(c.br, l[:]); err != nil {
				return nil, err
			}
			n = int(binary.BigEndian.Uint64(l[:]))
		}
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(c.br, buf); err != nil {
			return nil, err
		}
		switch h[0] & 0x0F {
		case 0x8:
			return nil, errServerClosed
		case 0x1, 0x2:
			return buf, nil
		}
	}
}

var errServerClosed = errors.New("server sent a close frame")

// errRefused marks a handshake the server answered with a refusal (an HTTP
// error status, a Socket.IO CONNECT error), as opposed to a network failure.
var errRefused = errors.New("refused by the server")

// writeText sends one masked text frame.
func (c *conn) writeText(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := c.wbuf[:0]
	switch n := len(p); {
	case n < 126:
		b = append(b, 0x81, 0x80|byte(n))
	case n <= 0xFFFF:
		b = append(b, 0x81, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x81, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, c.mask[:]...)
	start := len(b)
	b = append(b, p...)
	for i := range p {
		b[start+i] ^= c.mask[i&3]
	}
	c.wbuf = b
	_, err := c.nc.Write(b)
	return err
}

// run reads until the connection ends, answering pings and passing events
// on. It reports whether the server ended the connection (as opposed to
// this client closing it).
func (c *conn) run() (dropped bool) {
	buf := make([]byte, 0, 512)
	for {
		msg, err := c.readMessage(buf)
		if err != nil {
			return !c.closed.Load()
		}
		buf = msg[:0]
		switch {
		case len(msg) == 1 && msg[0] == '2':
			if c.writeText([]byte("3")) != nil {
				return !c.closed.Load()
			}
		case len(msg) > 2 && msg[0] == '4' && (msg[1] == '2' || msg[1] == '3'):
			if c.onEvent != nil {
				c.onEvent(c, msg[1:])
			}
		case len(msg) == 1 && msg[0] == '1':
			return !c.closed.Load()
		}
	}
}

func (c *conn) close() {
	c.closed.Store(true)
	_ = c.nc.Close()
}

// stampOf returns the "t" field (Unix nanoseconds) of an event payload.
func stampOf(pkt []byte) (int64, bool) {
	i := bytes.Index(pkt, []byte(`"t":`))
	if i < 0 {
		return 0, false
	}
	j := i + 4
	k := j
	for k < len(pkt) && pkt[k] >= '0' && pkt[k] <= '9' {
		k++
	}
	v, err := strconv.ParseInt(string(pkt[j:k]), 10, 64)
	return v, err == nil
}
