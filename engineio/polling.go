package engineio

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// polling is the long-polling transport of a session: the payload waiting
// for the client's next GET, and the requests in progress. Guarded by the
// Conn's mu.
type polling struct {
	buf []byte
	// wait is closed to wake the GET parked for data; nil when none is.
	wait chan struct{}
	// getting and posting are set while a GET or a POST is handled: a
	// second one at the same time breaks the protocol.
	getting, posting bool
	// closed is set once the session is over: a parked GET answers with
	// what is left.
	closed bool
	// closeNext makes the next poll that finds the buffer empty answer
	// with the close packet (an orderly close waiting for the packets
	// before it to go out).
	closeNext bool
	// noopOnPoll answers polls at once with a noop while an upgrade whose
	// probe went through is in progress: the client's polling must end for
	// it to send the upgrade packet (Node writes a noop every 100 ms then).
	noopOnPoll bool
}

// waiting reports whether a GET is parked: the transport is writable.
func (p *polling) waiting() bool { return p.wait != nil }

// add queues a packet for the next poll and wakes a parked one.
func (p *polling) add(_ *Conn, t PacketType, data []byte, binary bool) {
	p.buf = appendPollPacket(p.buf, t, data, binary)
	p.wake()
}

// addSegment queues encoded packets (Frames.pollSegment).
func (p *polling) addSegment(seg []byte) {
	if len(p.buf) > 0 {
		p.buf = append(p.buf, separator)
	}
	p.buf = append(p.buf, seg...)
	p.wake()
}

func (p *polling) wake() {
	if p.wait != nil {
		close(p.wait)
		p.wait = nil
	}
}

// servePoll answers a long-polling GET: at once when packets wait, else
// when the first one is written (the heartbeat writes one every
// PingInterval).
func (s *Server) servePoll(w http.ResponseWriter, r *http.Request, c *Conn) {
	c.mu.Lock()
	p := c.poll
	if p != nil && p.closed && c.state == stateClosed && len(p.buf) > 0 && !p.getting {
		// A late poll of a session the client closed (see closeNow).
		payload := p.buf
		p.buf = nil
		s.timers.Stop(&c.hb)
		c.mu.Unlock()
		s.remove(c)
		s.writePayload(w, r, payload)
		return
	}
	if p == nil || p.closed {
		c.mu.Unlock()
		s.fail(w, r, errUnknownSID)
		return
	}
	if p.getting {
		c.mu.Unlock()
		s.log.Info("engineio: two polls at once, closing the session", "sid", c.id, "remote", r.RemoteAddr)
		c.closeNow(ReasonTransportError, false)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if p.noopOnPoll && len(p.buf) == 0 && c.up != nil {
		// The upgrade's probe went through: this poll is the client's last
		// (it ends with a noop), or it was sent after the upgrade packet,
		// which travels on the WebSocket and may not have been read yet.
		// Node, reading in order of arrival, refuses the latter; give the
		// upgrade a moment to land so that Parley does too.
		done := c.up.done
		c.mu.Unlock()
		select {
		case <-done:
		case <-time.After(upgradeGrace):
		}
		c.mu.Lock()
		if c.poll != p {
			c.mu.Unlock()
			s.fail(w, r, errBadRequest)
			return
		}
	}
	p.getting = true
	if p.closeNext && len(p.buf) == 0 {
		p.closeNext = false
		p.add(c, Close, nil, false)
	}
	if p.noopOnPoll && len(p.buf) == 0 {
		p.add(c, Noop, nil, false)
	}
	if len(p.buf) == 0 {
		wait := make(chan struct{})
		p.wait = wait
		c.mu.Unlock()
		select {
		case <-wait:
		case <-r.Context().Done():
			c.mu.Lock()
			if p.wait == wait { // not woken meanwhile: the client is gone
				p.wait, p.getting = nil, false
				c.mu.Unlock()
				s.log.Debug("engineio: poll connection closed prematurely", "sid", c.id)
				c.closeNow(ReasonTransportError, false)
				return
			}
			c.mu.Unlock()
		}
		c.mu.Lock()
	}
	payload := p.buf
	p.buf, p.getting = nil, false
	closing := c.state == stateClosing && !p.closeNext
	c.mu.Unlock()
	s.writePayload(w, r, payload)
	if closing {
		c.closeNow(ReasonForcedClose, false)
	}
}

// writePayload answers a poll, compressed when large enough and the client
// accepts it.
func (s *Server) writePayload(w http.ResponseWriter, r *http.Request, payload []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	if t := s.cfg.CompressionThreshold; t > 0 && len(payload) >= t {
		if enc := acceptedEncoding(r); enc != "" {
			if z, err := compress(enc, payload); err == nil {
				h.Set("Content-Encoding", enc)
				payload = z
			}
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(payload)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(payload)
}

// upgradeGrace is how long a poll that arrives after an upgrade's probe
// waits for the upgrade packet.
const upgradeGrace = 20 * time.Millisecond

var errTooLarge = errors.New("engineio: request body above the maximum payload")

// servePost reads a polling POST: its packets, in order, then "ok".
func (s *Server) servePost(w http.ResponseWriter, r *http.Request, c *Conn) {
	if r.Header.Get("Content-Type") == "application/octet-stream" {
		// Engine.IO 4 sends binary as base64 text on long polling.
		s.log.Info("engineio: binary polling body, closing the session", "sid", c.id)
		c.closeNow(ReasonTransportError, false)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	p := c.poll
	if p == nil || p.closed {
		c.mu.Unlock()
		s.fail(w, r, errUnknownSID)
		return
	}
	if p.posting {
		c.mu.Unlock()
		s.log.Info("engineio: two posts at once, closing the session", "sid", c.id, "remote", r.RemoteAddr)
		c.closeNow(ReasonTransportError, false)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	p.posting = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		p.posting = false
		c.mu.Unlock()
	}()
	body, err := readBody(r, s.cfg.MaxPayload)
	switch {
	case errors.Is(err, errTooLarge):
		// As Node: the request is refused, the session stays (the client
		// gives up on it).
		s.log.Info("engineio: polling body above the maximum payload", "sid", c.id, "max", s.cfg.MaxPayload)
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		s.log.Debug("engineio: data request closed prematurely", "sid", c.id, "err", err)
		c.closeNow(ReasonTransportError, false)
		return
	}
	packets, err := decodePayload(validUTF8(body))
	for _, pk := range packets {
		if !c.receive(pk) {
			break
		}
	}
	if err != nil {
		s.log.Info("engineio: invalid polling payload, closing the session", "sid", c.id, "bytes", len(body), "remote", r.RemoteAddr)
		c.closeNow(ReasonParseError, false)
		writeJSONError(w, http.StatusBadRequest, codeBadRequest, "")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ok")
}

// readBody reads a request body of at most max bytes.
func readBody(r *http.Request, max int64) ([]byte, error) {
	defer func() { _ = r.Body.Close() }()
	if r.ContentLength > max {
		return nil, errTooLarge
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, errTooLarge
	}
	return buf.Bytes(), nil
}
