package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// recordSeparator separates the packets of an Engine.IO 4 polling payload.
const recordSeparator = 0x1e

// pollClient is a raw Engine.IO 4 client on HTTP long-polling only, as a
// browser without WebSocket would be: one keep-alive connection for its
// GETs, one for its POSTs, and one goroutine for each.
type pollClient struct {
	path      string // the session's polling path
	get, post *httpConn

	mu      sync.Mutex
	pending []byte        // packets for the next POST
	kick    chan struct{} // pending is not empty
	done    chan struct{} // the session has ended
	once    sync.Once

	// onEvent, when set before run, receives every event ("2…") and ack
	// ("3…") as a Socket.IO packet.
	onEvent func(c *pollClient, pkt []byte)
	// echoID numbers the client's echo events; only onEvent touches it.
	echoID int
	closed atomic.Bool
}

var errSessionClosed = errors.New("session closed by the server")

// dialPolling opens an Engine.IO session by long-polling to base
// (http://host:port) from the local address src, and connects to the main
// namespace.
func dialPolling(base string, src net.IP, timeout time.Duration) (*pollClient, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	c := &pollClient{
		get:  newHTTPConn(u.Host, src, timeout),
		post: newHTTPConn(u.Host, src, timeout),
		kick: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	deadline := time.Now().Add(timeout)
	c.get.setDeadline(deadline)
	c.post.setDeadline(deadline)
	if err := c.handshake(); err != nil {
		c.get.close()
		c.post.close()
		return nil, err
	}
	c.get.setDeadline(time.Time{})
	c.post.setDeadline(time.Time{})
	return c, nil
}

// handshake opens the session (GET without sid), sends the Socket.IO
// CONNECT by POST and polls until the server's CONNECT answer.
func (c *pollClient) handshake() error {
	status, body, err := c.get.do("/socket.io/?EIO=4&transport=polling", nil, nil)
	if err != nil {
		return err
	}
	if status != 200 {
		return fmt.Errorf("%w: handshake status %d: %.100q", errRefused, status, body)
	}
	open, _ := nextPacket(body)
	var hs struct {
		SID string `json:"sid"`
	}
	if len(open) == 0 || open[0] != '0' || json.Unmarshal(open[1:], &hs) != nil || hs.SID == "" {
		return fmt.Errorf("no open packet: %.100q", body)
	}
	c.path = "/socket.io/?EIO=4&transport=polling&sid=" + url.QueryEscape(hs.SID)
	if status, body, err = c.post.do(c.path, []byte("40"), nil); err != nil {
		return err
	} else if status != 200 {
		return fmt.Errorf("%w: CONNECT post status %d: %.100q", errRefused, status, body)
	}
	for {
		status, body, err := c.get.do(c.path, nil, nil)
		if err != nil {
			return err
		}
		if status != 200 {
			return fmt.Errorf("poll status %d: %.100q", status, body)
		}
		connected := false
		for pkt, rest := nextPacket(body); pkt != nil; pkt, rest = nextPacket(rest) {
			if len(pkt) >= 2 && pkt[0] == '4' && pkt[1] == '0' {
				connected = true
			} else if err := c.handle(pkt); err != nil {
				return err
			}
		}
		if connected {
			return nil
		}
	}
}

// run polls until the session ends, answering pings and passing events on;
// the POSTs go from a second goroutine. It reports whether the server ended
// the session (as opposed to this client closing it).
func (c *pollClient) run() (dropped bool) {
	go c.postLoop()
	var buf []byte
	for {
		status, body, err := c.get.do(c.path, nil, buf)
		if err != nil || status != 200 {
			break
		}
		buf = body
		if err := c.handlePayload(body); err != nil {
			break
		}
	}
	c.end()
	return !c.closed.Load()
}

func (c *pollClient) handlePayload(payload []byte) error {
	for pkt, rest := nextPacket(payload); pkt != nil; pkt, rest = nextPacket(rest) {
		if err := c.handle(pkt); err != nil {
			return err
		}
	}
	return nil
}

// handle acts on one Engine.IO packet; it fails when the session or the
// namespace is closed.
func (c *pollClient) handle(pkt []byte) error {
	switch pkt[0] {
	case '1':
		return errSessionClosed
	case '2':
		c.send([]byte("3"))
	case '4':
		if len(pkt) < 2 {
			return nil
		}
		switch pkt[1] {
		case '1':
			return errSessionClosed
		case '4':
			return fmt.Errorf("%w: connect error %.100q", errRefused, pkt)
		case '2', '3':
			if c.onEvent != nil {
				c.onEvent(c, pkt[1:])
			}
		}
	}
	return nil // noop, binary (not used here), unknown
}

// send queues one packet for the next POST.
func (c *pollClient) send(pkt []byte) {
	c.mu.Lock()
	c.pending = appendPacket(c.pending, pkt)
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// postLoop sends what was queued, one POST at a time (Engine.IO servers
// refuse overlapping POSTs): what is queued during a POST goes in the next.
func (c *pollClient) postLoop() {
	var body, buf []byte
	for {
		select {
		case <-c.kick:
		case <-c.done:
			return
		}
		c.mu.Lock()
		body, c.pending = c.pending, body[:0]
		c.mu.Unlock()
		if len(body) == 0 {
			continue
		}
		status, resp, err := c.post.do(c.path, body, buf)
		if err != nil || status != 200 {
			c.end()
			return
		}
		buf = resp
	}
}

// end closes both connections once, which ends both goroutines.
func (c *pollClient) end() {
	c.once.Do(func() {
		close(c.done)
		c.get.shutdown()
		c.post.shutdown()
	})
}

func (c *pollClient) close() {
	c.closed.Store(true)
	c.end()
}

// reopened counts the keep-alive connections opened again so far.
func (c *pollClient) reopened() int64 { return c.get.reopened.Load() + c.post.reopened.Load() }

// appendPacket appends one packet to a polling payload.
func appendPacket(payload, pkt []byte) []byte {
	if len(payload) > 0 {
		payload = append(payload, recordSeparator)
	}
	return append(payload, pkt...)
}

// nextPacket returns the first packet of a polling payload and the rest;
// pkt is nil when none is left. Empty packets are skipped.
func nextPacket(payload []byte) (pkt, rest []byte) {
	for len(payload) > 0 {
		var found bool
		pkt, payload, found = bytes.Cut(payload, []byte{recordSeparator})
		if !found {
			payload = nil
		}
		if len(pkt) > 0 {
			return pkt, payload
		}
	}
	return nil, nil
}
